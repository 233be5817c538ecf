"""Hard negatives: things that look like an event and are not one."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from veilleur.data.synth.actors import Bag, Beacon, Puddle, Scene, Sign
from veilleur.data.synth.layout import ZONE_FORBIDDEN
from veilleur.data.synth.params import SynthParams
from veilleur.data.synth.population import add_person, offscreen_x
from veilleur.data.synth.routes import follow, violates
from veilleur.data.synth.scenarios import (
    Points,
    corridor_route,
    duration,
    free_spot,
    line_crossers,
    standing,
)


def resting_person(scene: Scene, rng: np.random.Generator, p: SynthParams) -> bool:
    """Someone lying down to rest for the whole clip (no fall: no event)."""
    spot = free_spot(rng, scene.layout, (0.05, 0.5))
    kin = standing(scene, spot, float(rng.uniform(-math.pi, math.pi)))
    add_person(scene, rng, kin, "resting", tilt=np.full(scene.n_frames, math.pi / 2))
    return True


def sitting_person(scene: Scene, rng: np.random.Generator, p: SynthParams) -> bool:
    benches = [f for f in scene.layout.furniture if f.kind == "bench"]
    if not benches:
        return False
    for bench in benches[: int(rng.integers(1, len(benches) + 1))]:
        fwd = np.array([math.cos(bench.heading), math.sin(bench.heading)])
        for off in rng.choice([-0.55, 0.0, 0.55], size=int(rng.integers(1, 3)), replace=False):
            side = np.array([-fwd[1], fwd[0]]) * off
            spot = (bench.x + side[0] + 0.05 * fwd[0], bench.y + side[1] + 0.05 * fwd[1])
            add_person(scene, rng, standing(scene, spot, bench.heading), "sitting", sitting=True)
    return True


def bag_with_owner(scene: Scene, rng: np.random.Generator, p: SynthParams) -> bool:
    """A traveller waiting next to their bag (owner within a metre: no abandonment)."""
    spot = free_spot(rng, scene.layout, (0.05, 0.7))
    heading = float(rng.uniform(-math.pi, math.pi))
    owner = add_person(scene, rng, standing(scene, spot, heading), "waiting")
    right = np.array([math.sin(heading), -math.cos(heading)])
    pos = np.tile(np.asarray(spot) + 0.5 * right, (scene.n_frames, 1))
    dims = (0.45, 0.28, float(rng.uniform(0.5, 0.7)))
    scene.bags.append(
        Bag(scene.new_id(), owner.track_id, pos, np.zeros(scene.n_frames),
            np.full(scene.n_frames, heading), dims, (40, 40, 40))
    )  # fmt: skip
    return True


def near_zone_walker(scene: Scene, rng: np.random.Generator, p: SynthParams) -> bool:
    """A passer-by skirting the works area, 1.3–2 m outside it."""
    lay = scene.layout
    zone = lay.zones[ZONE_FORBIDDEN].world
    y = float(zone[0, 1]) - rng.uniform(1.6, 2.2)
    for _ in range(6):
        pts: Points = [(offscreen_x(lay, y, lay.side_a), y), (lay.corridor_center, y)]
        pts.append(corridor_route(lay, rng, with_flow=True)[1])
        speed = float(rng.uniform(1.0, 1.4))
        t0 = float(rng.uniform(-3.0, 0.3 * duration(scene)))
        kin = follow(pts, speed, t0, scene.times)
        if kin.present.any() and not violates(lay, kin, scene.fps, p.wrong_way_tolerance_deg, 1.0):
            add_person(scene, rng, kin, "near-zone")
            return True
    return False


def allowed_line_crossing(scene: Scene, rng: np.random.Generator, p: SynthParams) -> bool:
    d = duration(scene)
    line_crossers(scene, rng, False, float(np.clip(0.5 * d, 0.5, d - 0.5)))
    return True


def flashing_light(scene: Scene, rng: np.random.Generator, p: SynthParams) -> bool:
    zone = scene.layout.zones[ZONE_FORBIDDEN].world
    for corner in zone[rng.choice(4, size=int(rng.integers(1, 3)), replace=False)]:
        beacon = Beacon(float(corner[0]), float(corner[1]), float(rng.uniform(0.6, 1.4)),
                        float(rng.uniform(0.0, 1.0)))  # fmt: skip
        scene.beacons.append(beacon)
    return True


def luminous_sign(scene: Scene, rng: np.random.Generator, p: SynthParams) -> bool:
    x, y = free_spot(rng, scene.layout, (0.3, 0.95))
    colours = ((30, 60, 230), (20, 140, 250), (60, 200, 60), (230, 200, 40))
    colour = colours[int(rng.integers(len(colours)))]
    blink = float(rng.uniform(0.8, 2.0)) if rng.random() < 0.5 else None
    scene.signs.append(Sign(x, y, colour, float(rng.uniform(1.0, 2.0)), blink))
    return True


def puddles(scene: Scene, rng: np.random.Generator, p: SynthParams) -> bool:
    for _ in range(int(rng.integers(2, 6))):
        x, y = free_spot(rng, scene.layout, (0.0, 0.8), avoid_corridor=False)
        rx = float(rng.uniform(0.5, 1.6))
        scene.puddles.append(Puddle(x, y, rx, rx * float(rng.uniform(0.4, 0.8))))
    return True


def jogger(scene: Scene, rng: np.random.Generator, p: SynthParams) -> bool:
    """Someone running with the flow (fast, but not a crowd movement)."""
    pts = corridor_route(scene.layout, rng, with_flow=True)
    speed = float(rng.uniform(2.8, 3.6))
    length = math.hypot(pts[1][0] - pts[0][0], pts[1][1] - pts[0][1])
    t0 = float(rng.uniform(-0.6 * length / speed, 0.3 * duration(scene)))
    add_person(scene, rng, follow(pts, speed, t0, scene.times), "jogger")
    return True


HARD_NEGATIVES: dict[str, Callable[[Scene, np.random.Generator, SynthParams], bool]] = {
    "resting_person": resting_person,
    "sitting_person": sitting_person,
    "bag_with_owner": bag_with_owner,
    "near_zone_walker": near_zone_walker,
    "line_allowed_crossing": allowed_line_crossing,
    "flashing_light": flashing_light,
    "luminous_sign": luminous_sign,
    "puddles": puddles,
    "jogger": jogger,
}
"""Hard-negative name (as listed in the clip metadata) → function adding it."""
