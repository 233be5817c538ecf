"""Event-level evaluation of the runtime's analytics on annotated clips (``veilleur eval-events``).

Each clip is replayed through :class:`veilleur.runtime.engine.Engine` with its own site rules —
the code the site runs — and its alerts are matched to the clip's ground-truth events with a
stated temporal tolerance. Detections come either from an ONNX detector (what a site would
see) or from the clip's ground-truth boxes, degraded by a seeded detector-like noise (missed
boxes, jittered corners, lowered scores): the second isolates the event analytics from the
detector, so their own precision, recall and false alarms per hour can be bounded in tests.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from veilleur.evaluation.event_gt import ClipInfo, GroundTruthEvent, load_ground_truth
from veilleur.evaluation.event_matching import PredictedAlert, Tolerance
from veilleur.evaluation.event_metrics import EventEvaluation, evaluate_events
from veilleur.runtime.analytics.rules import ANALYZERS
from veilleur.runtime.config import load_site_config
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.engine import Engine, camera_source
from veilleur.runtime.ingest.video import Frame, read_file

log = logging.getLogger(__name__)

GROUND_TRUTH_SHA = "ground-truth"
"""``model_sha256`` of alerts raised on ground-truth boxes (no model involved)."""


@dataclass(frozen=True)
class GtNoise:
    """Detector-like degradation of ground-truth boxes (seeded, so runs repeat exactly).

    Attributes:
        drop: probability that a box is missed in a frame.
        jitter: standard deviation of each corner's shift, as a fraction of the box size.
        score: mean confidence given to the boxes (± 0.1).
    """

    drop: float = 0.05
    jitter: float = 0.03
    score: float = 0.8
    seed: int = 0


class GroundTruthBoxes:
    """Per-frame boxes of a clip's COCO file, as the engine's detector would return them."""

    def __init__(self, coco_path: Path, noise: GtNoise | None = None) -> None:
        doc = json.loads(coco_path.read_text(encoding="utf-8"))
        frame_of = {
            int(im["id"]): int(im.get("frame_index", int(im["id"]) - 1)) for im in doc["images"]
        }
        boxes: dict[int, list[tuple[float, float, float, float, int]]] = defaultdict(list)
        for a in doc["annotations"]:
            x, y, w, h = (float(v) for v in a["bbox"])
            boxes[frame_of[int(a["image_id"])]].append(
                (x, y, x + w, y + h, int(a["category_id"]) - 1)
            )
        self._boxes = dict(boxes)
        self.noise = noise
        self._rng = np.random.default_rng(noise.seed if noise else 0)

    def __call__(self, frame_index: int) -> Detections:
        rows = self._boxes.get(frame_index, [])
        if not rows:
            return Detections.empty()
        arr = np.asarray(rows, dtype=np.float64)
        xyxy, cls = arr[:, :4], arr[:, 4].astype(np.int64)
        conf = np.full(len(arr), 0.9)
        if self.noise is not None:
            n = self.noise
            keep = self._rng.random(len(arr)) >= n.drop
            size = np.repeat(np.maximum(xyxy[:, 2:] - xyxy[:, :2], 1.0), 2, axis=0).reshape(-1, 4)
            xyxy = xyxy + self._rng.normal(0.0, n.jitter, xyxy.shape) * size
            xyxy[:, 2:] = np.maximum(xyxy[:, 2:], xyxy[:, :2] + 1.0)
            conf = np.clip(n.score + self._rng.uniform(-0.1, 0.1, len(arr)), 0.05, 1.0)
            xyxy, cls, conf = xyxy[keep], cls[keep], conf[keep]
        return Detections.from_arrays(xyxy, conf, cls)


@dataclass(frozen=True)
class ClipSpec:
    """One annotated clip: its site configuration, COCO boxes and events files."""

    clip: str
    site: Path
    coco: Path
    events: Path


def clips_from_manifest(manifest_path: Path) -> list[ClipSpec]:
    """The clips of a synth bundle's ``manifest.json`` (contracts §3)."""
    doc = json.loads(manifest_path.read_text(encoding="utf-8"))
    base = manifest_path.parent
    return [
        ClipSpec(str(c["id"]), base / c["site"], base / c["coco"], base / c["events"])
        for c in doc["clips"]
    ]


def replay_with_boxes(spec: ClipSpec, boxes: GroundTruthBoxes) -> list[dict[str, Any]]:
    """Replay one clip through the engine with the given boxes instead of a detector."""
    site = load_site_config(spec.site)
    engine = Engine(site, detector=_NoDetector(), model_sha256=GROUND_TRUTH_SHA, clock=None)
    alerts: list[dict[str, Any]] = []
    for cam in site.cameras:
        batch: list[tuple[str, Frame, Detections]] = []
        for frame in read_file(camera_source(spec.site, cam), cam.analysis_fps):
            batch.append((cam.id, frame, boxes(frame.index)))
            if len(batch) >= 8:
                alerts.extend(a.to_dict() for a in engine.process_detections(batch))
                batch = []
        alerts.extend(a.to_dict() for a in engine.process_detections(batch))
    return [{**a, "clip": spec.clip} for a in alerts]


class _NoDetector:
    def detect_batch(self, frames: list[Any]) -> list[Detections]:  # pragma: no cover
        raise RuntimeError("ground-truth replays pass their boxes to process_detections")


@dataclass(frozen=True)
class EventsReport:
    """What ``veilleur eval-events`` prints and writes."""

    evaluation: EventEvaluation
    negatives: dict[str, Any]
    detector: str
    noise: GtNoise | None

    def to_dict(self) -> dict[str, Any]:
        ev = self.evaluation
        rows = {k: _metrics_row(m) for k, m in ev.per_event.items()}
        return {
            "detector": self.detector,
            "noise": None if self.noise is None else self.noise.__dict__,
            "tolerance_s": {"before": ev.tolerance.before_s, "after": ev.tolerance.after_s},
            "clips": ev.n_clips,
            "duration_s": round(ev.duration_s, 1),
            "per_event": rows,
            "overall": _metrics_row(ev.overall),
            "negatives": self.negatives,
        }


def _metrics_row(m: Any) -> dict[str, Any]:
    return {
        "n_gt": m.n_gt, "tp": m.tp, "fp": m.fp, "fn": m.fn,
        "precision": m.precision, "recall": m.recall, "f1": m.f1,
        "false_alarms_per_hour": m.false_alarms_per_hour, "delay_mean_s": m.delay_mean_s,
    }  # fmt: skip


def negative_false_alarms(
    alerts: Sequence[PredictedAlert], clips: Mapping[str, ClipInfo]
) -> dict[str, Any]:
    """False alarms per hour on the clips that show no event at all (normal, hard negatives)."""
    negative = {k for k, c in clips.items() if c.metadata.get("negative")}
    hours = sum(clips[k].duration_s for k in negative) / 3600.0
    per_event: dict[str, int] = dict.fromkeys((str(e) for e in ANALYZERS), 0)
    for a in alerts:
        if a.clip in negative:
            per_event[a.event] = per_event.get(a.event, 0) + 1
    return {
        "clips": len(negative),
        "hours": round(hours, 4),
        "alerts": per_event,
        "per_hour": {k: (round(v / hours, 2) if hours else None) for k, v in per_event.items()},
    }


def evaluate_clips(
    specs: Sequence[ClipSpec],
    *,
    noise: GtNoise | None = GtNoise(),
    tolerance: Tolerance | None = None,
    n_bootstrap: int = 200,
) -> EventsReport:
    """Replay every clip on its (noisy) ground-truth boxes and score the alerts."""
    gt = load_ground_truth(s.events for s in specs)
    records: list[dict[str, Any]] = []
    for i, spec in enumerate(specs):
        clip_noise = (
            None if noise is None else GtNoise(**{**noise.__dict__, "seed": noise.seed + i})
        )
        records.extend(replay_with_boxes(spec, GroundTruthBoxes(spec.coco, clip_noise)))
    alerts = [PredictedAlert.from_record(r, r["clip"]) for r in records]
    return score(
        list(gt.events), alerts, gt.clips, "ground truth (noisy)", noise, tolerance, n_bootstrap
    )


def score(
    gt: list[GroundTruthEvent],
    alerts: list[PredictedAlert],
    clips: Mapping[str, ClipInfo],
    detector: str,
    noise: GtNoise | None,
    tolerance: Tolerance | None,
    n_bootstrap: int,
) -> EventsReport:
    ev = evaluate_events(
        gt,
        alerts,
        clips,
        event_types=[str(e) for e in ANALYZERS],
        tolerance=tolerance,
        n_bootstrap=n_bootstrap,
    )
    return EventsReport(ev, negative_false_alarms(alerts, clips), detector, noise)


def format_table(report: EventsReport) -> str:
    """A plain-text table of the per-event figures."""
    d = report.to_dict()
    tol = d["tolerance_s"]
    lines = [
        f"Détecteur : {d['detector']} — {d['clips']} clips, {d['duration_s']} s, "
        f"tolérance −{tol['before']} s / +{tol['after']} s",
        f"{'événement':<18}{'GT':>4}{'VP':>5}{'FP':>5}{'FN':>5}{'précision':>11}{'rappel':>8}"
        f"{'FA/h (nég.)':>13}",
    ]
    neg = d["negatives"]["per_hour"]
    for event, row in [*d["per_event"].items(), ("total", d["overall"])]:
        fa = neg.get(event) if event != "total" else None
        lines.append(
            f"{event:<18}{row['n_gt']:>4}{row['tp']:>5}{row['fp']:>5}{row['fn']:>5}"
            f"{_pct(row['precision']):>11}{_pct(row['recall']):>8}"
            f"{'' if fa is None else f'{fa:.1f}':>13}"
        )
    lines.append(
        f"Clips négatifs : {d['negatives']['clips']} ({d['negatives']['hours'] * 60:.1f} min)"
    )
    return "\n".join(lines)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.0f} %"
