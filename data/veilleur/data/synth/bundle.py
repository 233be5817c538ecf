"""Bundle generation: per clip, draw the conditions, stage the scene, render, write the files."""

from __future__ import annotations

import json
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from veilleur.data.synth.camera import sample_camera
from veilleur.data.synth.ground_truth import (
    Tracks,
    coco_document,
    density_counts,
    sort_events,
    staged_events,
    zone_events,
)
from veilleur.data.synth.layout import Layout, LayoutError, plan_layout
from veilleur.data.synth.lighting import make_lighting
from veilleur.data.synth.params import (
    NEGATIVE_SCENARIOS,
    SCENARIOS,
    DensityLevel,
    Lighting,
    Scenario,
    SynthParams,
    Weather,
)
from veilleur.data.synth.render import render_clip
from veilleur.data.synth.scene import build_scene
from veilleur.data.synth.site import dump_site, site_document
from veilleur.data.synth.writer import Mp4Writer

logger = logging.getLogger(__name__)

GENERATOR_VERSION = "veilleur-synth/1.0"
K = TypeVar("K", bound=str)


class ClipRecord(BaseModel):
    """One clip of the manifest (paths relative to the bundle folder)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    video: str
    coco: str
    events: str
    site: str
    metadata: dict[str, Any]


class Manifest(BaseModel):
    """``manifest.json`` of a bundle (contracts §3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    generator_version: str
    seed: int
    params: dict[str, Any]
    clips: list[ClipRecord]


def clip_seed(seed: int, index: int) -> int:
    """The seed of clip ``index`` (written in its events file)."""
    state = np.random.SeedSequence([seed, index]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def clip_id(index: int) -> str:
    return f"clip_{index + 1:04d}"


def _weighted(rng: np.random.Generator, weights: dict[K, float]) -> K:
    keys = list(weights)
    w = np.array([weights[k] for k in keys], dtype=np.float64)
    return keys[int(rng.choice(len(keys), p=w / w.sum()))]


def assign_scenarios(params: SynthParams) -> list[Scenario]:
    """Scenario of each clip: quotas from the weights (largest remainder), then shuffled."""
    names = [s for s in SCENARIOS if params.scenario_weights.get(s, 0.0) > 0]
    w = np.array([params.scenario_weights[s] for s in names])
    share = params.n_clips * w / w.sum()
    counts = np.floor(share).astype(int)
    order = sorted(range(len(names)), key=lambda k: (-(share[k] - counts[k]), k))
    for k in order[: params.n_clips - int(counts.sum())]:
        counts[k] += 1
    out: list[Scenario] = [names[k] for k in range(len(names)) for _ in range(counts[k])]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([params.seed, 0x5CE7A])))
    return [out[k] for k in rng.permutation(len(out))]


def _layout(rng: np.random.Generator, p: SynthParams) -> Layout:
    for _ in range(100):
        cam = sample_camera(
            rng, p.width, p.height, p.camera_height_m, p.camera_tilt_deg, p.hfov_deg
        )
        try:
            return plan_layout(rng, cam)
        except LayoutError:
            continue
    raise RuntimeError("no usable camera in 100 draws: widen camera_tilt_deg or hfov_deg")


def _dump(path: Path, doc: Any, indent: int | None) -> None:
    seps = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(doc, sort_keys=True, indent=indent, separators=seps, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def generate_clip(
    params: SynthParams, index: int, out_dir: Path, scenario: Scenario | None = None
) -> ClipRecord:
    """Generate clip ``index`` of the bundle into ``out_dir``.

    ``scenario`` defaults to the one :func:`assign_scenarios` gives that index.

    Example:
        >>> import tempfile
        >>> rec = generate_clip(SynthParams(duration_s=2.0), 0, Path(tempfile.mkdtemp()), "fire")
        >>> rec.metadata["scenario"], rec.video
        ('fire', 'clip_0001.mp4')
    """
    started = time.perf_counter()
    if scenario is None:
        scenario = assign_scenarios(
            params.model_copy(update={"n_clips": max(params.n_clips, index + 1)})
        )[index]
    cid = clip_id(index)
    seed = clip_seed(params.seed, index)
    rng = np.random.Generator(np.random.PCG64(seed))
    lighting: Lighting = _weighted(rng, params.lighting_weights)
    weather: Weather = _weighted(rng, params.weather_weights)
    density: DensityLevel = _weighted(rng, params.density_weights)
    if scenario in ("density", "crowd_rush"):
        density = "high"
    layout = _layout(rng, params)
    scene = build_scene(rng, params, layout, scenario, lighting, weather, density)
    light = make_lighting(rng, lighting, weather, layout.lamps())
    out_dir.mkdir(parents=True, exist_ok=True)
    video = f"{cid}.mp4"
    with Mp4Writer(
        out_dir / video, params.width, params.height, params.fps, params.crf, params.preset
    ) as w:
        frames = render_clip(scene, light, rng, params.noise_sigma, w.write)
    tracks = Tracks.from_frames(frames, params.width, params.height)
    exclude = set(scene.facts.density_group)
    baseline = density_counts(scene, tracks, exclude)
    max_count = int(max(3, baseline.max(initial=0) + 2, scene.facts.density_threshold))
    events = sort_events(
        zone_events(scene, tracks, params, max_count) + staged_events(scene, tracks, params)
    )
    metadata: dict[str, Any] = {
        "lighting": lighting,
        "weather": weather,
        "camera_height_m": round(layout.camera.height_m, 2),
        "camera_tilt_deg": round(layout.camera.tilt_deg, 2),
        "focal_px": round(layout.camera.focal_px, 2),
        "density": density,
        "negative": scenario in NEGATIVE_SCENARIOS,
        "hard_negatives": list(scene.hard_negatives),
        "scenario": scenario,
    }
    if metadata["negative"] and events:
        logger.warning("%s: negative scenario %s has %d event(s)", cid, scenario, len(events))
    if not metadata["negative"] and not events:
        logger.warning("%s: scenario %s produced no event (clip too short?)", cid, scenario)
    duration = params.n_frames / params.fps
    events_doc = {
        "clip": cid, "fps": params.fps, "width": params.width, "height": params.height,
        "duration_s": round(duration, 3), "seed": seed, "metadata": metadata,
        "events": [e.to_json() for e in events],
    }  # fmt: skip
    _dump(
        out_dir / f"{cid}.coco.json",
        coco_document(cid, frames, params.width, params.height, params.fps),
        None,
    )
    _dump(out_dir / f"{cid}.events.json", events_doc, 2)
    site = site_document(cid, video, layout, params, max_count)
    (out_dir / f"{cid}.site.yaml").write_text(dump_site(site), encoding="utf-8")
    logger.info(
        "%s %-14s %s/%s %d frames, %d events, %.1f s",
        cid, scenario, lighting, weather, len(frames), len(events), time.perf_counter() - started,
    )  # fmt: skip
    return ClipRecord(
        id=cid,
        video=video,
        coco=f"{cid}.coco.json",
        events=f"{cid}.events.json",
        site=f"{cid}.site.yaml",
        metadata=metadata,
    )


def _init_worker(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _clip_job(args: tuple[SynthParams, int, Path, Scenario]) -> ClipRecord:
    params, index, out_dir, scenario = args
    return generate_clip(params, index, out_dir, scenario)


def generate(params: SynthParams, out_dir: Path, workers: int = 1) -> Manifest:
    """Generate the whole bundle and its ``manifest.json`` into ``out_dir``.

    Clips are independent, so ``workers`` > 1 renders them in parallel processes; the output
    does not depend on ``workers``.

    Example:
        >>> import tempfile
        >>> m = generate(SynthParams(n_clips=1, duration_s=2.0), Path(tempfile.mkdtemp()))
        >>> len(m.clips)
        1
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    scenarios = assign_scenarios(params)
    jobs = [(params, i, out_dir, scenarios[i]) for i in range(params.n_clips)]
    if workers > 1 and len(jobs) > 1:
        ctx = multiprocessing.get_context("spawn")
        level = logging.getLogger().getEffectiveLevel()
        with ProcessPoolExecutor(workers, ctx, _init_worker, (level,)) as pool:
            clips = list(pool.map(_clip_job, jobs))
    else:
        clips = [_clip_job(job) for job in jobs]
    manifest = Manifest(
        generator_version=GENERATOR_VERSION,
        seed=params.seed,
        params=params.model_dump(mode="json"),
        clips=clips,
    )
    _dump(out_dir / "manifest.json", manifest.model_dump(mode="json"), 2)
    return manifest
