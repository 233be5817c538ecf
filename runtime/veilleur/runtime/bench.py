"""Benchmark: sustained streams × fps of the real engine, against a naive baseline (issue 3).

What is measured, on the machine that runs it:

- **engine**: :class:`~veilleur.runtime.engine.Engine` as the site runs it — the pending frame
  of every stream batched into one detector call (``batch`` caps the call size), run by the
  live runtime's own :class:`~veilleur.runtime.pipeline.DetectAnalyse` (detection of batch
  ``j + 1`` in one thread while another tracks, computes scene cues, applies the rules and
  journals batch ``j``), the detector's product session options, scene cues at the site
  default rate (``scene.cue_fps``), the project's tracker, the clip's rules plus a
  whole-frame presence rule that always fires, and a real SQLite
  :class:`~veilleur.runtime.journal.repository.Journal` in a temporary folder.
- **baseline**: the same clips, model, rules and journal, done naively: one onnxruntime call
  per frame per stream (batch 1, stream after stream, onnxruntime's default session
  options), supervision's ``sv.ByteTrack``, scene cues on every frame, all in one thread.

Frames are decoded before timing (decode is timed separately with
:func:`~veilleur.runtime.ingest.video.read_file`, per analysed frame), so the engine runs as
fast as it can: its throughput divided by the analysis rate is the number of streams this
machine sustains. Alert latency is the wall time from handing a frame to the engine to its
alert being committed in the journal.

Per-stage seconds come from :attr:`Engine.timings` (tracking, rules, journal) and from the
detector's own ``timings`` (preprocess, inference, postprocess) when it has them; otherwise
inference is timed around ``session.run`` and preprocessing is estimated by re-running
:func:`~veilleur.runtime.detect.preprocess.to_tensor` on the same frames (flagged in the
result). Each stream count runs ``repeats`` interleaved tries per mode and reports the
fastest (as ``timeit`` does: the try least slowed down by other processes).

``sweep`` adds what explains the figures: onnxruntime inference per frame for thread counts ×
spinning × batch sizes, one-pass preprocessing and C++ NMS prototypes checked against the
current code, and engine variants measured like the engine (one thread instead of two;
scene cues on every frame; other onnxruntime thread settings), to show what each change
brings.

Only runtime dependencies are imported at module level; ``supervision`` (baseline, ``dev``
extra) and the synthetic generator (``veilleur.data``) are imported when used.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from veilleur.runtime import ENGINE_VERSION
from veilleur.runtime.config import ConfigError, SiteConfig, load_site_config, parse_site_config
from veilleur.runtime.core.detections import Detections, nms
from veilleur.runtime.detect.onnx import OnnxDetector, usable_cpus
from veilleur.runtime.detect.preprocess import Preprocess, letterbox, to_tensor
from veilleur.runtime.engine import Engine
from veilleur.runtime.ingest.video import Frame, read_file
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.pipeline import DetectAnalyse
from veilleur.runtime.track.bytetrack import ByteTracker

log = logging.getLogger(__name__)

SCHEMA = "veilleur-bench/1"
STAGES = (
    "decode",
    "preprocess",
    "inference",
    "postprocess",
    "tracking",
    "scene",
    "rules",
    "journal",
    "other",
)
"""Stages reported per analysed frame. ``scene`` is the engine's scene cues (view-change
monitor, static objects); ``other`` is the rest of the engine's wall time (its own loop)."""
DETECTOR_STAGES = ("preprocess", "inference", "postprocess")
SYNTHETIC_SCENARIOS = ("intrusion", "line_crossing", "density", "wrong_way")
TARGET_RATIO = 2.0
TARGET_OVERHEAD = 0.25

# A rule that always fires on these clips: a person present anywhere for 0.4 s (one alert
# per track), so that journaling and alert latency are measured on every run.
BENCH_ZONE: dict[str, Any] = {
    "id": "bench-cadre",
    "kind": "polygon",
    "points": [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
}
BENCH_RULE: dict[str, Any] = {
    "id": "bench-presence",
    "type": "franchissement",
    "zone": "bench-cadre",
    "classes": ["person"],
    "min_duration_s": 0.4,
    "cooldown_s": 10.0,
}


class BenchError(RuntimeError):
    """The benchmark cannot run (no clip, a missing optional package...)."""


@dataclass(frozen=True)
class BenchSettings:
    """What to measure.

    Attributes:
        model: ONNX detector.
        clips: video files; stream ``i`` plays clip ``i % len(clips)`` (looped, offset).
        streams: stream counts to measure, e.g. ``(1, 2, 4, 8)``.
        seconds: seconds of video per stream in each run.
        analysis_fps: frames analysed per second and stream.
        batch: most frames per detector call; 0 = all streams at once (as the live runtime).
        adapter: detector output layout (``auto``, ``veilleur``, ``yolox``).
        baseline: also run the naive baseline (needs ``supervision``).
        sweep: also run the explanatory micro-benchmarks.
        work_dir: where journals go (a temporary folder, removed after, when None).
        repeats: tries per stream count and mode, interleaved; the fastest one is reported.
        clips_origin: how the clips were made, for the record (e.g. the synthetic settings).
        switch_interval_ms: see :class:`~veilleur.runtime.pipeline.DetectAnalyse`; restored
            after each engine try, so the baseline runs with the interpreter's default.
    """

    model: Path
    clips: tuple[Path, ...]
    streams: tuple[int, ...] = (1, 2, 4, 8)
    seconds: float = 10.0
    analysis_fps: float = 6.25
    batch: int = 0
    adapter: str = "auto"
    baseline: bool = True
    sweep: bool = False
    work_dir: Path | None = None
    repeats: int = 3
    clips_origin: str = "given"
    switch_interval_ms: float | None = None
    """GIL switch interval of the engine's pipeline (None: the interpreter's, 5 ms)."""


@dataclass
class DecodedClip:
    """A clip decoded at the analysis rate, with what its decoding cost."""

    path: Path
    frames: list[Frame]
    decode_s: float
    decode_cpu_s: float
    decoded_all: int
    decode_all_s: float
    zones: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    dropped_rules: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return self.frames[0].width

    @property
    def height(self) -> int:
        return self.frames[0].height

    def summary(self) -> dict[str, Any]:
        n = len(self.frames)
        span = self.frames[-1].t if n > 1 else 0.0
        return {
            "path": str(self.path),
            "width": self.width,
            "height": self.height,
            "analysed_frames": n,
            "decoded_frames": self.decoded_all,
            "source_fps": round(self.decoded_all / span, 2) if span > 0 else None,
            "decode_ms_per_analysed_frame": round(1e3 * self.decode_s / n, 3),
            "decode_cpu_ms_per_analysed_frame": round(1e3 * self.decode_cpu_s / n, 3),
            "decode_ms_per_decoded_frame": round(1e3 * self.decode_all_s / self.decoded_all, 3),
            "site_rules": [r["id"] for r in self.rules],
            "dropped_site_rules": self.dropped_rules,
        }


# --- inputs ---------------------------------------------------------------------------------


def synthetic_clips(out_dir: Path, count: int, seed: int = 1) -> list[Path]:
    """Generate ``count`` 10 s clips (daylight, clear, low mast) with their site files.

    Scenarios cycle through :data:`SYNTHETIC_SCENARIOS`; needs the ``veilleur.data`` package.
    """
    try:
        from veilleur.data.synth.bundle import generate_clip
        from veilleur.data.synth.params import SynthParams
    except ModuleNotFoundError as exc:  # a runtime-only install without the data package
        raise BenchError(f"--synthetic needs the veilleur.data package ({exc})") from None
    params = SynthParams.easy(seed)
    paths = []
    for i in range(count):
        scenario = SYNTHETIC_SCENARIOS[i % len(SYNTHETIC_SCENARIOS)]
        rec = generate_clip(params, i, out_dir, scenario)  # type: ignore[arg-type]
        paths.append(out_dir / rec.video)
    return paths


SYNTHETIC_ORIGIN = (
    "veilleur.data.synth, seed 1, 10 s, 704x576 H.264 12.5 fps, daylight, clear, low density, "
    "mast 3-5 m; scenarios cycle intrusion, line_crossing, density, wrong_way"
)


def _site_rules(clip: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Zones and rules of the clip's own site file (``NAME.site.yaml`` beside it), if any."""
    site_file = clip.with_name(clip.stem + ".site.yaml")
    if not site_file.is_file():
        return [], []
    try:
        cam = load_site_config(site_file).cameras[0]
    except ConfigError as exc:
        log.warning("ignoring %s: %s", site_file, exc)
        return [], []
    zones = [z.model_dump(mode="json") for z in cam.zones if z.id != BENCH_ZONE["id"]]
    rules = [r.model_dump(mode="json") for r in cam.rules if r.id != BENCH_RULE["id"]]
    return zones, rules


def decode_clip(path: Path, analysis_fps: float, max_frames: int) -> DecodedClip:
    """Decode up to ``max_frames`` analysed frames, timing :func:`read_file` (wall and CPU).

    Each pass runs twice and the cheaper is kept (the first open also pays one-time library
    set-up). The last pass decodes every frame of the same span (``analysis_fps=0``) for the
    cost per decoded frame: sampling at the analysis rate still decodes every frame.
    """
    frames: list[Frame] = []
    decode_s = decode_cpu_s = math.inf
    for _ in range(2):
        frames = []
        cpu0, t0 = time.process_time(), time.perf_counter()
        for frame in read_file(path, analysis_fps):
            frames.append(frame)
            if len(frames) >= max_frames:
                break
        decode_s = min(decode_s, time.perf_counter() - t0)
        decode_cpu_s = min(decode_cpu_s, time.process_time() - cpu0)
    if not frames:
        raise BenchError(f"{path}: no frame decoded")
    last_t = frames[-1].t
    n_all = 0
    decode_all_s = math.inf
    for _ in range(2):
        n_all = 0
        t0 = time.perf_counter()
        for frame in read_file(path, 0.0):
            n_all += 1
            if frame.t >= last_t:
                break
        decode_all_s = min(decode_all_s, time.perf_counter() - t0)
    zones, rules = _site_rules(path)
    rules, dropped = usable_rules(zones, rules, frames[0], analysis_fps)
    return DecodedClip(
        path=path,
        frames=frames,
        decode_s=decode_s,
        decode_cpu_s=decode_cpu_s,
        decoded_all=n_all,
        decode_all_s=decode_all_s,
        zones=zones,
        rules=rules,
        dropped_rules=dropped,
    )


class _NoDetections:
    def detect_batch(self, frames: list[NDArray[np.uint8]]) -> list[Detections]:
        return [Detections.empty() for _ in frames]


def usable_rules(
    zones: list[dict[str, Any]], rules: list[dict[str, Any]], frame: Frame, analysis_fps: float
) -> tuple[list[dict[str, Any]], list[str]]:
    """The clip's rules that this engine builds and runs on one frame; the others, and why.

    A site file may name a rule type that this runtime does not implement (yet): the
    benchmark then runs without that rule rather than not at all.
    """
    kept: list[dict[str, Any]] = []
    dropped: list[str] = []
    for rule in rules:
        camera = {"id": "check", "source": {"url": "check.mp4"}, "analysis_fps": analysis_fps}
        doc = {
            "version": 1,
            "site": {"name": "bench"},
            "cameras": [{**camera, "zones": zones, "rules": [rule]}],
        }
        try:
            site = parse_site_config(doc, "<bench>")
            Engine(site, _NoDetections(), "0" * 64).process_batch([("check", frame)])
        except Exception as exc:  # whatever the rule's analyser raises: run without it
            log.warning("bench: site rule %s left out (%r)", rule.get("id"), exc)
            dropped.append(f"{rule.get('id')}: {exc!r}")
        else:
            kept.append(rule)
    return kept, dropped


def bench_site(
    clips: Sequence[DecodedClip], n: int, analysis_fps: float, cue_fps: float | None = None
) -> SiteConfig:
    """``n`` cameras; camera ``i`` plays clip ``i % len(clips)`` with its rules + the bench rule.

    ``cue_fps``: the cameras' ``scene.cue_fps`` (0 = scene cues on every frame); None keeps
    the site default.
    """
    cameras = []
    for i in range(n):
        clip = clips[i % len(clips)]
        camera: dict[str, Any] = {
            "id": f"bench-{i + 1:03d}",
            "source": {"url": str(clip.path)},
            "analysis_fps": analysis_fps,
            "zones": [*clip.zones, BENCH_ZONE],
            "rules": [*clip.rules, BENCH_RULE],
        }
        if cue_fps is not None:
            camera["scene"] = {"cue_fps": cue_fps}
        cameras.append(camera)
    doc = {"version": 1, "site": {"name": "bench"}, "cameras": cameras}
    return parse_site_config(doc, "<bench>")


def stream_frames(clip: DecodedClip, count: int, offset: int, fps: float) -> list[Frame]:
    """``count`` frames of one stream: the clip looped from ``offset``, time ``j / fps``."""
    k = len(clip.frames)
    return [
        Frame(index=j, t=j / fps, image=clip.frames[(offset + j) % k].image) for j in range(count)
    ]


# --- instrumentation ------------------------------------------------------------------------


class TimedJournal(Journal):
    """A journal that notes when each entry was committed (``done[id] = perf_counter()``)."""

    def __init__(self, url_or_path: str | Path) -> None:
        super().__init__(url_or_path)
        self.done: dict[str, float] = {}

    def append(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        entry = super().append(kind, payload)
        self.done[str(payload["id"])] = time.perf_counter()
        return entry


class _TimedSession:
    """Stands in for an onnxruntime session: times ``run``, forwards everything else."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.seconds = 0.0

    def run(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self._session.run(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class DetectorClock:
    """Seconds per detector stage: the detector's own ``timings`` when it has them.

    Otherwise ``session.run`` is timed (inference), preprocessing is estimated afterwards by
    re-running ``to_tensor`` on the same frames, and postprocessing is the remainder.
    """

    def __init__(self, detector: OnnxDetector) -> None:
        self.detector = detector
        own = getattr(detector, "timings", None)
        self.native = isinstance(own, dict) and all(k in own for k in DETECTOR_STAGES)
        self._own: dict[str, float] = own if isinstance(own, dict) and self.native else {}
        self._session: _TimedSession | None = None
        if not self.native:
            self._session = _TimedSession(detector.session)
            detector.session = self._session

    @property
    def source(self) -> str:
        if self.native:
            return "detector.timings"
        return "inference: session.run timed; preprocess: to_tensor re-run; postprocess: rest"

    def snapshot(self) -> dict[str, float]:
        if self.native:
            return {k: float(self._own[k]) for k in DETECTOR_STAGES}
        assert self._session is not None
        return {"preprocess": 0.0, "inference": self._session.seconds, "postprocess": 0.0}

    def stages(
        self, before: dict[str, float], detect_s: float, batches: Sequence[Sequence[Frame]]
    ) -> dict[str, float]:
        """Seconds per detector stage since ``before`` (``detect_s``: the engine's detect)."""
        after = self.snapshot()
        out = {k: max(0.0, after[k] - before[k]) for k in DETECTOR_STAGES}
        if not self.native:
            out["preprocess"] = min(self.preprocess_cost(batches), detect_s - out["inference"])
            out["postprocess"] = max(0.0, detect_s - out["inference"] - out["preprocess"])
        return out

    def preprocess_cost(self, batches: Sequence[Sequence[Frame]]) -> float:
        info = self.detector.info
        t0 = time.perf_counter()
        for b in batches:
            to_tensor([f.image for f in b], info.input_size, info.preprocess)
        return time.perf_counter() - t0

    def close(self) -> None:
        if self._session is not None:
            self.detector.session = self._session._session
            self._session = None


class SupervisionTracker(ByteTracker):
    """``sv.ByteTrack`` behind the engine's tracker interface (the baseline's tracker).

    Set as close as it goes to :class:`ByteTracker`'s defaults, so that both keep about the
    same tracks and raise about the same alerts: new tracks from score 0.5
    (``track_activation_threshold + 0.1``), confirmed on their 2nd match, kept 2 s unmatched.
    """

    def __init__(self, analysis_fps: float) -> None:
        super().__init__()
        try:
            import supervision as sv
        except ModuleNotFoundError:
            raise BenchError(
                "the baseline needs supervision (dev extra): pip install 'veilleur[dev]', "
                "or run with --no-baseline"
            ) from None
        self._sv = sv
        with warnings.catch_warnings():  # sv.ByteTrack is deprecated in favour of `trackers`
            warnings.simplefilter("ignore")
            self._tracker = sv.ByteTrack(
                track_activation_threshold=0.4,
                lost_track_buffer=60,  # frames at 30 fps, scaled by frame_rate: 2 s
                frame_rate=analysis_fps,
                minimum_consecutive_frames=2,
            )

    def update(self, dets: Detections, t: float) -> Detections:
        sd = self._sv.Detections(
            xyxy=dets.xyxy.astype(np.float32),
            confidence=dets.confidence,
            class_id=dets.class_id.astype(int),
        )
        out = self._tracker.update_with_detections(sd)
        if len(out) == 0:
            return Detections.empty()
        return Detections.from_arrays(out.xyxy, out.confidence, out.class_id, out.tracker_id)


# --- runs -----------------------------------------------------------------------------------


def _percentile(values: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(np.asarray(values), q)) * 1e3, 2) if values else None


def _chunks(items: list[tuple[str, Frame]], size: int) -> Iterator[list[tuple[str, Frame]]]:
    size = size if size > 0 else len(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def run_mode(
    mode: str,
    site: SiteConfig,
    detector: OnnxDetector,
    clock: DetectorClock,
    streams: dict[str, list[Frame]],
    batch: int,
    decode_s_per_frame: float,
    decode_cpu_s_per_frame: float,
    journal_path: Path,
    tracker_factory: Callable[[], ByteTracker] | None = None,
    pipelined: bool | None = None,
    switch_interval_ms: float | None = None,
) -> dict[str, Any]:
    """Run every stream's frames through an :class:`Engine`; return the measured figures.

    ``mode == "engine"``: one detector call per time step with every stream's frame (at most
    ``batch``). ``mode == "baseline"``: one call per frame, stream after stream.
    ``pipelined``: through the live runtime's :class:`DetectAnalyse` (detection and analysis
    in two threads), else :meth:`Engine.process_batch` call after call in this thread;
    default: pipelined for the engine, not for the baseline.

    The first steps (a fifth of the run, at most one second of video) warm the engine up
    untimed: onnxruntime plans each input shape on its first run, and each camera builds its
    rules and scene references on its first frames.
    """
    journal = TimedJournal(journal_path)
    engine = Engine(site, detector, detector.info.sha256, journal=journal)
    if tracker_factory is not None:
        for cam in engine.cameras.values():
            cam.tracker = tracker_factory()
    n_steps = min(len(f) for f in streams.values())
    fps = site.cameras[0].analysis_fps
    warm_steps = min(n_steps // 5, math.ceil(fps))
    size = 1 if mode == "baseline" else batch
    warm: list[list[tuple[str, Frame]]] = []
    calls: list[list[tuple[str, Frame]]] = []
    for j in range(n_steps):
        step = [(cid, frames[j]) for cid, frames in streams.items()]
        (warm if j < warm_steps else calls).extend(_chunks(step, size))
    for call in warm:
        engine.process_batch(call)
    for n in sorted({len(c) for c in calls}):  # any call size the warm-up did not see
        detector.detect_batch([f.image for _, f in calls[0][:1]] * n)

    if pipelined is None:
        pipelined = mode == "engine"
    latencies: list[float] = []
    n_alerts = 0
    before = clock.snapshot()
    eng0 = dict(engine.timings)
    cues0 = sum(c.cue_updates for c in engine.cameras.values())
    cpu0, t0 = time.process_time(), time.perf_counter()
    if pipelined:
        n_alerts = _pipelined(engine, calls, journal, latencies, switch_interval_ms)
    else:
        for call in calls:
            handed = time.perf_counter()
            alerts = engine.process_batch(call)
            n_alerts += len(alerts)
            latencies.extend(journal.done[a.id] - handed for a in alerts)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    cue_updates = sum(c.cue_updates for c in engine.cameras.values()) - cues0

    spent = {k: v - eng0.get(k, 0.0) for k, v in engine.timings.items()}
    det = clock.stages(before, spent["detect"], [[f for _, f in c] for c in calls])
    frames = sum(len(c) for c in calls)
    stage_s = {
        "decode": decode_s_per_frame * frames,
        **det,
        "tracking": spent["track"],
        "scene": spent.get("scene", 0.0),
        "rules": spent["rules"],
        "journal": spent["journal"],
    }
    stage_s["other"] = max(0.0, wall - sum(v for k, v in stage_s.items() if k != "decode"))
    n_streams = len(streams)
    throughput = frames / wall
    decode_total = stage_s["decode"]
    per_frame_with_decode = (wall + decode_total) / frames
    journaled = journal.count("alert")
    return {
        "mode": mode,
        "pipelined": pipelined,
        "streams": n_streams,
        "frames": frames,
        "scene_cue_share": round(cue_updates / frames, 3),
        "warmup_frames": sum(len(c) for c in warm),
        "detector_calls": len(calls),
        "mean_batch": round(frames / len(calls), 2),
        "wall_s": round(wall, 4),
        "cpu_s": round(cpu, 4),
        "cpu_cores_busy": round(cpu / wall, 2),
        "throughput_fps": round(throughput, 2),
        "fps_per_stream": round(throughput / n_streams, 2),
        "realtime": throughput / n_streams >= fps,
        "streams_capacity": round(throughput / fps, 2),
        "streams_capacity_with_decode": round(1.0 / (per_frame_with_decode * fps), 2),
        "cpu_ms_per_frame": round(1e3 * cpu / frames, 3),
        "cpu_ms_per_frame_with_decode": round(1e3 * (cpu / frames + decode_cpu_s_per_frame), 3),
        "stages_ms_per_frame": {k: round(1e3 * stage_s[k] / frames, 3) for k in STAGES},
        "stages_s": {k: round(stage_s[k], 4) for k in STAGES},
        "overhead_outside_inference": round(1.0 - stage_s["inference"] / wall, 4),
        "overhead_outside_inference_with_decode": round(
            1.0 - stage_s["inference"] / (wall + decode_total), 4
        ),
        "latency_ms": {
            "p50": _percentile(latencies, 50),
            "p99": _percentile(latencies, 99),
            "max": round(max(latencies) * 1e3, 2) if latencies else None,
            "n": len(latencies),
        },
        "alerts": n_alerts,
        "journaled": journaled,
        "journal_chain_ok": journal.verify().ok,
    }


def engine_state_mb(
    site: SiteConfig, detector: OnnxDetector, streams: dict[str, list[Frame]], steps: int
) -> float:
    """Memory (MiB) an engine keeps per camera after ``steps`` frames of each (tracemalloc).

    Counts what Python and numpy allocate and keep: trackers, rules, scene models (view
    reference, background model), not the detector's temporaries (freed after each call).
    """
    engine = Engine(site, detector, detector.info.sha256)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for j in range(steps):
            engine.process_batch([(cid, frames[j]) for cid, frames in streams.items()])
        kept = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    return round(max(0, kept) / 2**20 / len(streams), 2)


def _pipelined(
    engine: Engine,
    calls: list[list[tuple[str, Frame]]],
    journal: TimedJournal,
    latencies: list[float],
    switch_interval_ms: float | None = None,
) -> int:
    """Run ``calls`` through the live runtime's :class:`DetectAnalyse`; return the alerts.

    The detection thread takes the next call as soon as it is free, as it takes the pending
    frames of the cameras live; latency runs from that moment to the alert's commit.
    """
    pending = iter(calls)
    n_alerts = 0

    def analysed(handed: float, _items: object, alerts: list[Any]) -> None:
        nonlocal n_alerts
        n_alerts += len(alerts)
        latencies.extend(journal.done[a.id] - handed for a in alerts)

    before = sys.getswitchinterval()
    pipe = DetectAnalyse(
        engine,
        lambda: next(pending, None),
        on_analysed=analysed,
        switch_interval_s=None if switch_interval_ms is None else switch_interval_ms / 1000,
    )
    try:
        pipe.start()
        pipe.join()
    finally:
        sys.setswitchinterval(before)
    if pipe.failed:
        raise BenchError(f"{pipe.failed} batch(es) failed in the pipeline (see the log)")
    return n_alerts


# --- explanatory micro-benchmarks -----------------------------------------------------------


def _rate(fn: Callable[[], object], min_s: float = 0.25, rounds: int = 3) -> float:
    """Seconds per call of ``fn``: the best of ``rounds`` rounds of ``min_s`` (``timeit``-like,
    after one warm-up call), so that a burst of another process does not skew the sweep."""
    fn()
    best = math.inf
    for _ in range(rounds):
        n, t0 = 0, time.perf_counter()
        while n < 3 or time.perf_counter() - t0 < min_s:
            fn()
            n += 1
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def fast_to_tensor(
    images_bgr: list[NDArray[np.uint8]], size: tuple[int, int], prep: Preprocess
) -> tuple[NDArray[np.float32], list[float]]:
    """Prototype of a cheaper ``to_tensor`` (same output): one C++ pass for the float blob.

    Letterboxes into one uint8 canvas, then ``cv2.dnn.blobFromImages`` does the channel
    swap, HWC → CHW transpose, float conversion, scaling and mean in one pass, instead of
    four numpy passes per frame; a non-unit std is applied after.
    """
    th, tw = size
    canvas = np.full((len(images_bgr), th, tw, 3), prep.pad_value, dtype=np.uint8)
    ratios: list[float] = []
    for i, img in enumerate(images_bgr):
        h, w = img.shape[:2]
        r = min(th / h, tw / w)
        nh, nw = round(h * r), round(w * r)
        canvas[i, :nh, :nw] = (
            cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR) if r != 1 else img
        )
        ratios.append(r)
    mean = tuple(m / prep.scale for m in prep.mean)
    blob = cv2.dnn.blobFromImages(
        list(canvas), prep.scale, (tw, th), mean, prep.color == "RGB", False
    )
    out = np.asarray(blob, dtype=np.float32)
    if prep.std != (1.0, 1.0, 1.0):
        out /= np.asarray(prep.std, dtype=np.float32)[None, :, None, None]
    return out, ratios


def fast_nms(
    xyxy: NDArray[np.float32], scores: NDArray[np.float32], class_id: NDArray[np.int64], iou: float
) -> NDArray[np.int64]:
    """Prototype of a C++ class-aware NMS (OpenCV) for :func:`core.detections.nms`."""
    if xyxy.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    batched: Any = cv2.dnn.NMSBoxesBatched  # its stubs want lists; it takes arrays
    keep = batched(xywh, scores, class_id.astype(np.int32), 0.0, iou)
    return np.asarray(keep, dtype=np.int64).reshape(-1)


def _session(model: Path, threads: int, spinning: bool = True) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads > 0:
        opts.intra_op_num_threads = threads
    if not spinning:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])


def _runner(session: Any, name: str, x: NDArray[np.float32]) -> Callable[[], object]:
    def run() -> object:
        return session.run(None, {name: x})

    return run


def one_per_run(detector: OnnxDetector) -> bool:
    """Whether the detector runs its model once per image (no batch axis, or batch fixed to 1)."""
    return bool(getattr(detector, "_one_per_run", getattr(detector, "_fixed_batch", False)))


def sweep(detector: OnnxDetector, images: list[NDArray[np.uint8]]) -> dict[str, Any]:
    """Micro-benchmarks that explain where the time goes and what would cut it."""
    info = detector.info
    model = info.path
    cores = os.cpu_count() or 1
    fixed = one_per_run(detector)
    batches = [b for b in (1, 2, 4, 8, 16) if b <= len(images) and (b == 1 or not fixed)]
    tensor, _ = to_tensor(images[: max(batches)], info.input_size, info.preprocess)
    name = detector.input_name

    inference: list[dict[str, Any]] = []
    for threads in sorted({0, 1, cores}):
        for spinning in (True, False):
            s = _session(model, threads, spinning)
            for b in batches:
                per_call = _rate(_runner(s, name, tensor[:b]))
                inference.append(
                    {
                        "intra_op_threads": threads or "default",
                        "spinning": spinning,
                        "batch": b,
                        "ms_per_frame": round(1e3 * per_call / b, 3),
                    }
                )

    prep_batch = images[: min(8, len(images))]
    ref, _ = to_tensor(prep_batch, info.input_size, info.preprocess)
    fast, _ = fast_to_tensor(prep_batch, info.input_size, info.preprocess)
    k = len(prep_batch)
    one_letterbox = _rate(
        lambda: letterbox(prep_batch[0], info.input_size, info.preprocess.pad_value)
    )
    preprocess = {
        "frames_per_call": k,
        "to_tensor_ms_per_frame": round(
            1e3 * _rate(lambda: to_tensor(prep_batch, info.input_size, info.preprocess)) / k, 3
        ),
        "letterbox_only_ms_per_frame": round(1e3 * one_letterbox, 3),
        "prototype_ms_per_frame": round(
            1e3 * _rate(lambda: fast_to_tensor(prep_batch, info.input_size, info.preprocess)) / k,
            3,
        ),
        "prototype_max_abs_diff": float(np.abs(ref - fast).max()),
    }

    # NMS on the model's real candidates: a detector that suppresses nothing gives them
    loose = OnnxDetector(model, confidence=detector.confidence, nms_iou=1.0, adapter=info.adapter)
    cands = loose.detect_batch(prep_batch)
    n_cands = sum(len(c) for c in cands)
    iou = detector.nms_iou

    def ours() -> None:
        for c in cands:
            nms(c.xyxy, c.confidence, c.class_id, iou)

    def proto() -> None:
        for c in cands:
            fast_nms(c.xyxy, c.confidence, c.class_id, iou)

    same = all(
        sorted(nms(c.xyxy, c.confidence, c.class_id, iou).tolist())
        == sorted(fast_nms(c.xyxy, c.confidence, c.class_id, iou).tolist())
        for c in cands
    )
    nms_result = {
        "candidates_per_frame": round(n_cands / k, 1),
        "current_ms_per_frame": round(1e3 * _rate(ours) / k, 3),
        "prototype_ms_per_frame": round(1e3 * _rate(proto) / k, 3),
        "prototype_same_boxes": same,
    }
    return {
        "cores": cores,
        "fixed_batch_model": fixed,
        "inference": inference,
        "preprocess": preprocess,
        "nms": nms_result,
    }


VARIANTS: tuple[tuple[str, bool, str, bool, float | None], ...] = (
    # name, pipelined, intra-op threads ("product": the product's default, "onnxruntime": its
    # own default, "cores-1": one less than the usable cores), spinning, scene.cue_fps (None =
    # the site default, 0 = every frame)
    ("one thread (process_batch loop)", False, "product", False, None),
    ("scene cues on every frame", True, "product", False, 0.0),
    ("onnxruntime default threads, spinning", True, "onnxruntime", True, None),
    ("intra-op threads = cores - 1, no spin", True, "cores-1", False, None),
)
"""Engine variants measured by the sweep at the largest stream count: the engine with one
change each, to show what that change brings."""


def engine_variants(
    s: BenchSettings,
    clips: Sequence[DecodedClip],
    streams: dict[str, list[Frame]],
    dec: float,
    dec_cpu: float,
    work: Path,
    reference: dict[str, Any],
) -> list[dict[str, Any]]:
    """The engine with one change each (see :data:`VARIANTS`), at ``reference``'s streams.

    Each variant has its own detector (its own session) and runs ``min(repeats, 3)`` tries;
    ``ratio_to_baseline`` compares with the baseline of ``reference``.
    """
    out: list[dict[str, Any]] = []
    n = reference["streams"]
    for name, pipelined, threads, spinning, cue_fps in VARIANTS:
        intra_op = {"product": None, "onnxruntime": -1, "cores-1": max(1, usable_cpus() - 1)}
        detector = OnnxDetector(
            s.model, adapter=s.adapter, intra_op_threads=intra_op[threads], spinning=spinning
        )
        site = bench_site(clips, n, s.analysis_fps, cue_fps)
        clock = DetectorClock(detector)
        tries = []
        n_tries = min(s.repeats, 3)
        for k in range(n_tries):
            log.info("bench: variant %r, try %d/%d", name, k + 1, n_tries)
            tries.append(
                run_mode(
                    "engine", site, detector, clock, streams, s.batch, dec, dec_cpu,
                    work / f"journal-variant-{len(out)}-{k}.db", pipelined=pipelined,
                )
            )  # fmt: skip
        clock.close()
        run = _best_run(tries)
        base = reference.get("baseline")
        out.append(
            {
                "name": name,
                "pipelined": pipelined,
                "session": detector.session_settings,
                "scene_cue_fps": "site default" if cue_fps is None else cue_fps or "every frame",
                "ratio_to_baseline": (
                    round(run["throughput_fps"] / base["throughput_fps"], 3) if base else None
                ),
                "ratio_to_engine": round(
                    run["throughput_fps"] / reference["engine"]["throughput_fps"], 3
                ),
                "run": run,
            }
        )
    return out


# --- the whole benchmark --------------------------------------------------------------------


def rss_mb() -> float | None:
    """Resident memory of this process (MiB), from /proc; None elsewhere."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def decoder_memory_mb(path: Path, analysis_fps: float, count: int = 4) -> float | None:
    """Resident memory one open decoder holds (MiB): ``count`` of them opened at once."""
    before = rss_mb()
    readers = [read_file(path, analysis_fps) for _ in range(count)]
    held = [next(r) for r in readers for _ in range(3)]
    after = rss_mb()
    del held, readers  # finalising the generators closes their containers
    if before is None or after is None:
        return None
    return round(max(0.0, after - before) / count, 2)


def _best_run(tries: list[dict[str, Any]]) -> dict[str, Any]:
    """The try of highest throughput (its stages and latencies), with every try's throughput.

    As with ``timeit``, the best try is the one least slowed by other processes; the median
    is kept beside it (``median_throughput_fps``) to show how noisy the machine was.
    """
    ranked = sorted(tries, key=lambda r: float(r["throughput_fps"]))
    run = dict(ranked[-1])
    run["tries_throughput_fps"] = [t["throughput_fps"] for t in tries]
    run["median_throughput_fps"] = round(float(np.median([t["throughput_fps"] for t in tries])), 2)
    return run


def _load() -> list[float] | None:
    return [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "engine_version": ENGINE_VERSION,
        "load_average_at_end": _load(),
    }


@contextmanager
def _work_dir(path: Path | None) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="veilleur-bench-") as tmp:
        yield Path(tmp)


def run_bench(settings: BenchSettings) -> dict[str, Any]:
    """Run the benchmark described by ``settings``; return the result document (JSON-able)."""
    s = settings
    if not s.clips:
        raise BenchError("no clip to play: give --clip or --synthetic")
    if s.repeats < 1:
        raise BenchError("--repeats must be at least 1")
    if not s.streams or min(s.streams) < 1:
        raise BenchError("--streams needs positive stream counts")
    camera = {"id": "check", "source": {"url": "check.mp4"}, "analysis_fps": s.analysis_fps}
    parse_site_config({"version": 1, "site": {"name": "bench"}, "cameras": [camera]}, "bench")
    rss_start = rss_mb()
    detector = OnnxDetector(s.model, adapter=s.adapter)  # the product's session options
    rss_model = rss_mb()
    # the naive baseline: onnxruntime's default session (a thread per core, spinning)
    naive = OnnxDetector(s.model, adapter=s.adapter, intra_op_threads=-1, spinning=True)
    per_stream = max(1, math.ceil(s.seconds * s.analysis_fps))
    clips = [decode_clip(p, s.analysis_fps, per_stream) for p in s.clips]
    memory = {
        "rss_mb_before_model": _round(rss_start),
        "rss_mb_model_loaded": _round(rss_model),
        "rss_mb_model_and_frames_loaded": _round(rss_mb()),
        "decoder_mb_per_stream": decoder_memory_mb(s.clips[0], s.analysis_fps),
    }
    clock = DetectorClock(detector)
    naive_clock = DetectorClock(naive)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    runs: list[dict[str, Any]] = []
    try:
        with _work_dir(s.work_dir) as work:
            for n in sorted(set(s.streams)):
                site = bench_site(clips, n, s.analysis_fps)
                naive_site = bench_site(clips, n, s.analysis_fps, cue_fps=0.0)
                streams: dict[str, list[Frame]] = {}
                decode_s = decode_cpu_s = 0.0
                for i, cam in enumerate(site.cameras):
                    clip = clips[i % len(clips)]
                    offset = 7 * (i // len(clips))  # streams sharing a clip show other frames
                    streams[cam.id] = stream_frames(clip, per_stream, offset, s.analysis_fps)
                    decode_s += clip.decode_s / len(clip.frames)
                    decode_cpu_s += clip.decode_cpu_s / len(clip.frames)
                dec, dec_cpu = decode_s / n, decode_cpu_s / n
                tries: dict[str, list[dict[str, Any]]] = {"engine": [], "baseline": []}
                modes = ("engine", "baseline") if s.baseline else ("engine",)
                for k in range(s.repeats):  # interleaved: a noisy spell hits both modes
                    for mode in modes:
                        log.info("bench: %d stream(s), %s, try %d/%d", n, mode, k + 1, s.repeats)
                        tries[mode].append(
                            run_mode(
                                mode, site, detector, clock, streams, s.batch, dec, dec_cpu,
                                work / f"journal-{mode}-{n}-{k}.db",
                                switch_interval_ms=s.switch_interval_ms,
                            )
                            if mode == "engine" else
                            run_mode(
                                mode, naive_site, naive, naive_clock, streams, 1, dec,
                                dec_cpu, work / f"journal-{mode}-{n}-{k}.db",
                                tracker_factory=partial(SupervisionTracker, s.analysis_fps),
                            )
                        )  # fmt: skip
                row: dict[str, Any] = {"streams": n}
                for mode in modes:
                    row[mode] = _best_run(tries[mode])
                if s.baseline:
                    row["throughput_ratio"] = round(
                        row["engine"]["throughput_fps"] / row["baseline"]["throughput_fps"], 3
                    )
                row["load_average_after"] = _load()
                runs.append(row)
            steps = min(len(f) for f in streams.values())
            memory["engine_state_mb_per_stream"] = engine_state_mb(
                site, detector, streams, min(steps, math.ceil(3 * s.analysis_fps))
            )
            sweep_result = None
            if s.sweep:
                log.info("bench: sweep")
                sweep_result = sweep(detector, [f.image for f in clips[0].frames[:16]])
                sweep_result["engine_variants"] = engine_variants(
                    s, clips, streams, dec, dec_cpu, work, runs[-1]
                )
    finally:
        clock.close()
        naive_clock.close()
    return {
        "schema": SCHEMA,
        "created_utc": started,
        "machine": machine_info(),
        "settings": {
            "model": str(s.model),
            "model_sha256": detector.info.sha256,
            "adapter": detector.info.adapter,
            "input_size": list(detector.info.input_size),
            "fixed_batch_model": one_per_run(detector),
            "providers": detector.session.get_providers(),
            "engine_session": detector.session_settings,
            "baseline_session": naive.session_settings,
            "engine_pipeline": "DetectAnalyse (detection and analysis threads, queue of 1)",
            "engine_switch_interval_ms": (
                s.switch_interval_ms
                if s.switch_interval_ms is not None
                else round(sys.getswitchinterval() * 1000, 3)
            ),
            "engine_scene_cue_fps": site.cameras[0].scene.cue_fps,
            "baseline_scene_cue_fps": "every frame",
            "streams": sorted(set(s.streams)),
            "seconds": s.seconds,
            "frames_per_stream": per_stream,
            "analysis_fps": s.analysis_fps,
            "batch": s.batch or "all streams",
            "repeats": s.repeats,
            "frames": "decoded before timing (decode measured apart, per analysed frame)",
            "clips_origin": s.clips_origin,
            "stage_source": clock.source,
        },
        "clips": [c.summary() for c in clips],
        "memory": memory,
        "runs": runs,
        "summary": summarize(runs),
        "sweep": sweep_result,
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Targets of issue 3, read at the largest stream count measured."""
    last = runs[-1]
    eng = last["engine"]
    ratio = last.get("throughput_ratio")
    ratios = [r["throughput_ratio"] for r in runs if "throughput_ratio" in r]
    overhead = eng["overhead_outside_inference"]
    return {
        "at_streams": last["streams"],
        "engine_throughput_fps": eng["throughput_fps"],
        "streams_capacity": eng["streams_capacity"],
        "streams_capacity_with_decode": eng["streams_capacity_with_decode"],
        "throughput_ratio": ratio,
        "throughput_ratio_min": min(ratios) if ratios else None,
        "overhead_outside_inference": overhead,
        "latency_ms": eng["latency_ms"],
        "targets": {
            "ratio_ge_2x": None if ratio is None else ratio >= TARGET_RATIO,
            "overhead_lt_25pct": overhead < TARGET_OVERHEAD,
        },
    }


def format_report(result: dict[str, Any]) -> str:
    """The result as readable tables (what ``veilleur bench`` prints)."""
    st = result["settings"]
    m = result["machine"]
    lines = [
        f"Veilleur bench — {m['cpu']} ({m['usable_cpus']} CPU), onnxruntime {m['onnxruntime']}",
        f"model {Path(st['model']).name} ({st['adapter']}, input {st['input_size']}, "
        f"fixed batch: {st['fixed_batch_model']}), {st['analysis_fps']} fps analysed, "
        f"{st['seconds']} s per stream, batch {st['batch']}",
    ]
    if "engine_session" in st:
        es, bs = st["engine_session"], st["baseline_session"]
        lines.append(
            f"engine: {st['engine_pipeline']}, onnxruntime intra-op threads "
            f"{es['intra_op_threads']}, spinning {'on' if es['spinning'] else 'off'}, scene "
            f"cues at {st['engine_scene_cue_fps']} fps; baseline: one thread, onnxruntime "
            f"intra-op threads {bs['intra_op_threads']}, spinning "
            f"{'on' if bs['spinning'] else 'off'}, scene cues on every frame"
        )
    for c in result["clips"]:
        lines.append(
            f"clip {Path(c['path']).name} {c['width']}x{c['height']}: decode "
            f"{c['decode_ms_per_analysed_frame']:.2f} ms per analysed frame "
            f"({c['decode_ms_per_decoded_frame']:.2f} ms per decoded frame)"
        )
    head = (
        f"{'streams':>7} {'mode':<8} {'fps tot':>8} {'fps/str':>8} {'RT':>3} {'capacity':>8} "
        f"{'ratio':>6} {'ovh.inf':>7} {'p50 ms':>7} {'p99 ms':>7} {'alerts':>6}"
    )
    lines += ["", head, "-" * len(head)]
    for r in result["runs"]:
        for mode in ("engine", "baseline"):
            x = r.get(mode)
            if x is None:
                continue
            ratio = (
                f"{r['throughput_ratio']:.2f}"
                if mode == "engine" and "throughput_ratio" in r
                else ""
            )
            lat = x["latency_ms"]
            lines.append(
                f"{r['streams']:>7} {mode:<8} {x['throughput_fps']:>8.1f} "
                f"{x['fps_per_stream']:>8.2f} {'yes' if x['realtime'] else 'no':>3} "
                f"{x['streams_capacity']:>8.1f} {ratio:>6} "
                f"{100 * x['overhead_outside_inference']:>6.1f}% "
                f"{_ms(lat['p50']):>7} {_ms(lat['p99']):>7} {x['journaled']:>6}"
            )
    last = result["runs"][-1]
    lines += ["", f"ms per analysed frame at {last['streams']} stream(s):"]
    lines.append(f"{'stage':<12} {'engine':>8} {'baseline':>9}")
    for k in STAGES:
        eng = last["engine"]["stages_ms_per_frame"][k]
        base = last.get("baseline", {}).get("stages_ms_per_frame", {}).get(k)
        lines.append(f"{k:<12} {eng:>8.3f} {'' if base is None else f'{base:.3f}':>9}")
    sm = result["summary"]
    tg = sm["targets"]
    lines += [
        "",
        f"capacity on this machine: {sm['streams_capacity']:.1f} streams at "
        f"{st['analysis_fps']} fps (frames pre-decoded), "
        f"{sm['streams_capacity_with_decode']:.1f} with decoding on the same cores",
        _verdict(
            f"throughput engine/baseline = {_num(sm['throughput_ratio'])} (target ≥ 2)",
            tg["ratio_ge_2x"],
        ),
        _verdict(
            f"overhead outside inference = {100 * sm['overhead_outside_inference']:.1f} % "
            "(target < 25 %)",
            tg["overhead_lt_25pct"],
        ),
    ]
    if result.get("sweep"):
        lines += ["", *_format_sweep(result["sweep"])]
    return "\n".join(lines)


def _format_sweep(sw: dict[str, Any]) -> list[str]:
    lines = ["sweep: onnxruntime inference ms per frame (threads / spinning × batch)"]
    rows: dict[tuple[str, bool], dict[int, float]] = {}
    for e in sw["inference"]:
        rows.setdefault((str(e["intra_op_threads"]), e["spinning"]), {})[e["batch"]] = e[
            "ms_per_frame"
        ]
    batches = sorted({b for r in rows.values() for b in r})
    lines.append(f"{'threads':>8} {'spin':>5} " + " ".join(f"{'b=' + str(b):>7}" for b in batches))
    for (threads, spin), r in rows.items():
        cells = " ".join(f"{r[b]:>7.2f}" if b in r else f"{'':>7}" for b in batches)
        lines.append(f"{threads:>8} {'yes' if spin else 'no':>5} {cells}")
    p = sw["preprocess"]
    n = sw["nms"]
    lines += [
        f"preprocess: to_tensor {p['to_tensor_ms_per_frame']:.2f} ms/frame "
        f"(letterbox alone {p['letterbox_only_ms_per_frame']:.2f}), one-pass prototype "
        f"{p['prototype_ms_per_frame']:.2f} ms/frame (max diff {p['prototype_max_abs_diff']:.2g})",
        f"NMS: {n['candidates_per_frame']} candidates/frame, current "
        f"{n['current_ms_per_frame']:.2f} ms/frame, OpenCV prototype "
        f"{n['prototype_ms_per_frame']:.2f} ms/frame (same boxes: {n['prototype_same_boxes']})",
    ]
    variants = sw.get("engine_variants") or []
    if variants:
        lines += [
            "",
            f"engine variants at {variants[0]['run']['streams']} stream(s) (one change each):",
        ]
    for v in variants:
        r = v["run"]
        lines.append(
            f"  {v['name']:<36} {r['throughput_fps']:>7.1f} fps, x{v['ratio_to_engine']:.2f} "
            f"engine, x{_num(v['ratio_to_baseline'])} baseline, overhead "
            f"{100 * r['overhead_outside_inference']:.1f} %, p50/p99 "
            f"{_ms(r['latency_ms']['p50'])}/{_ms(r['latency_ms']['p99'])} ms"
        )
    return lines


def _round(v: float | None, digits: int = 1) -> float | None:
    return None if v is None else round(v, digits)


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _verdict(text: str, ok: bool | None) -> str:
    mark = "not measured" if ok is None else ("MET" if ok else "NOT MET")
    return f"{mark:<13} {text}"
