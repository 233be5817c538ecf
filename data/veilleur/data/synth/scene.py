"""Scene building: key actors of the scenario, hard negatives, passers-by and traffic."""

from __future__ import annotations

import numpy as np

from veilleur.data.synth.actors import Scene
from veilleur.data.synth.hard_negatives import HARD_NEGATIVES
from veilleur.data.synth.layout import Layout
from veilleur.data.synth.params import (
    NEGATIVE_SCENARIOS,
    DensityLevel,
    Lighting,
    Scenario,
    SynthParams,
    Weather,
)
from veilleur.data.synth.population import add_cyclists, add_passers_by, add_traffic
from veilleur.data.synth.scenarios import STAGERS

CONCURRENT: dict[DensityLevel, tuple[int, int]] = {
    "low": (3, 6),
    "medium": (8, 13),
    "high": (16, 24),
}


def build_scene(
    rng: np.random.Generator,
    params: SynthParams,
    layout: Layout,
    scenario: Scenario,
    lighting: Lighting,
    weather: Weather,
    density: DensityLevel,
) -> Scene:
    """Stage ``scenario`` on ``layout``: key actors, hard negatives, passers-by, traffic."""
    times = np.arange(params.n_frames, dtype=np.float64) / params.fps
    scene = Scene(layout, scenario, lighting, weather, density, params.fps, times)
    scene.hard_negatives.append("street_furniture")
    stager = STAGERS.get(scenario)
    if stager is not None:
        stager(scene, rng, params)
    names = sorted(HARD_NEGATIVES)
    if scenario == "hard_negative":
        chosen = list(rng.choice(names, size=int(rng.integers(3, 6)), replace=False))
    elif scenario in NEGATIVE_SCENARIOS:
        chosen = []
    else:
        chosen = [n for n in names if rng.random() < 0.12]
    if weather == "rain" and "puddles" not in chosen:
        chosen.append("puddles")
    for name in chosen:
        if name not in scene.hard_negatives and HARD_NEGATIVES[name](scene, rng, params):
            scene.hard_negatives.append(name)
    lo, hi = CONCURRENT[density]
    add_passers_by(scene, rng, int(rng.integers(lo, hi + 1)), params.wrong_way_tolerance_deg)
    add_cyclists(scene, rng, params.wrong_way_tolerance_deg)
    add_traffic(scene, rng)
    scene.hard_negatives = sorted(set(scene.hard_negatives))
    return scene
