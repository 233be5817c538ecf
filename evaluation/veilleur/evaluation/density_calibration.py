"""Fit and measure the count correction of a ``densite`` rule (``veilleur calibrate-density``).

In dense crowds boxes merge and a detector undercounts. On annotated footage of the site, each
analysed frame gives a pair (people detected in the zone, people truly in the zone); the mean
true count per detected count, made non-decreasing, is the rule's ``count_correction``. The
clips are split in two halves — fitted on one, measured on the other — so the reported error
is the one the site can expect, not the fit's own.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from veilleur.evaluation.event_eval import ClipSpec
from veilleur.runtime.analytics.zones import corrected_count
from veilleur.runtime.config import DensiteRule, load_site_config
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.geometry import points_in_polygon
from veilleur.runtime.core.taxonomy import CLASS_IDS
from veilleur.runtime.engine import camera_source
from veilleur.runtime.ingest.video import read_file

FrameDetector = Callable[[ClipSpec, int, Any], Detections]
"""(clip, frame index, BGR image) → detections in pixels."""


@dataclass(frozen=True)
class CountPair:
    clip: str
    detected: int
    truth: int


@dataclass(frozen=True)
class DensityCalibration:
    """The fitted correction and its error on held-out clips."""

    rule_id: str
    points: list[tuple[float, float]]
    fit_frames: int
    holdout_frames: int
    mae_raw: float
    mae_corrected: float
    bias_raw: float
    bias_corrected: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "count_correction": [list(p) for p in self.points],
            "fit_frames": self.fit_frames,
            "holdout_frames": self.holdout_frames,
            "holdout_mae": {"raw": self.mae_raw, "corrected": self.mae_corrected},
            "holdout_bias": {"raw": self.bias_raw, "corrected": self.bias_corrected},
        }


def _in_zone(xyxy: np.ndarray, classes: np.ndarray, w: int, h: int, rule: DensiteRule,
              polygon: np.ndarray) -> int:  # fmt: skip
    wanted = np.isin(classes, [CLASS_IDS[c] for c in rule.classes])
    if not wanted.any():
        return 0
    boxes = xyxy[wanted]
    feet = np.column_stack([(boxes[:, 0] + boxes[:, 2]) / 2 / w, boxes[:, 3] / h])
    return int(points_in_polygon(feet, polygon).sum())


def count_pairs(spec: ClipSpec, rule_id: str, detect: FrameDetector) -> list[CountPair]:
    """Detected and true counts in the rule's zone, for every analysed frame of a clip."""
    site = load_site_config(spec.site)
    cam = site.cameras[0]
    rule = next((r for r in cam.rules if r.id == rule_id), None)
    if not isinstance(rule, DensiteRule):
        raise ValueError(f"{spec.site}: no densite rule {rule_id!r} on camera {cam.id!r}")
    polygon = np.asarray(cam.zone(rule.zone).points, dtype=np.float64)
    coco = json.loads(spec.coco.read_text(encoding="utf-8"))
    frame_of = {
        int(im["id"]): int(im.get("frame_index", int(im["id"]) - 1)) for im in coco["images"]
    }
    truth: dict[int, list[tuple[list[float], int]]] = defaultdict(list)
    for a in coco["annotations"]:
        x, y, bw, bh = a["bbox"]
        truth[frame_of[int(a["image_id"])]].append(
            ([x, y, x + bw, y + bh], int(a["category_id"]) - 1)
        )
    pairs: list[CountPair] = []
    for frame in read_file(camera_source(spec.site, cam), cam.analysis_fps):
        d = detect(spec, frame.index, frame.image)
        gt = truth.get(frame.index, [])
        gt_xyxy = np.asarray([b for b, _ in gt], dtype=np.float64).reshape(-1, 4)
        gt_cls = np.asarray([c for _, c in gt], dtype=np.int64)
        pairs.append(
            CountPair(
                spec.clip,
                _in_zone(d.xyxy, d.class_id, frame.width, frame.height, rule, polygon),
                _in_zone(gt_xyxy, gt_cls, frame.width, frame.height, rule, polygon),
            )
        )
    return pairs


def fit_correction(pairs: Sequence[CountPair], min_frames: int = 3) -> list[tuple[float, float]]:
    """(detected, mean true count) points, non-decreasing, from bins with ``min_frames``."""
    bins: dict[int, list[int]] = defaultdict(list)
    for p in pairs:
        if p.detected > 0:
            bins[p.detected].append(p.truth)
    points: list[tuple[float, float]] = []
    best = 0.0
    for d in sorted(bins):
        if len(bins[d]) < min_frames:
            continue
        best = max(best, float(np.mean(bins[d])))
        points.append((float(d), round(best, 3)))
    if len(points) < 2:
        raise ValueError(
            f"not enough crowded frames to fit a correction ({len(points)} detected-count "
            f"level(s) with ≥ {min_frames} frames); add annotated footage with crowds"
        )
    return points


def calibrate(
    specs: Sequence[ClipSpec], rule_id: str, detect: FrameDetector, min_frames: int = 3
) -> DensityCalibration:
    """Fit on even-numbered clips, measure on odd-numbered ones (both halves need crowds)."""
    if len(specs) < 2:
        raise ValueError("calibration needs at least two clips (one to fit, one to check)")
    fit_pairs: list[CountPair] = []
    hold_pairs: list[CountPair] = []
    for i, spec in enumerate(specs):
        (fit_pairs if i % 2 == 0 else hold_pairs).extend(count_pairs(spec, rule_id, detect))
    points = fit_correction(fit_pairs, min_frames)
    correction = tuple(points)
    raw = np.array([p.detected - p.truth for p in hold_pairs], dtype=np.float64)
    corr = np.array(
        [corrected_count(p.detected, correction) - p.truth for p in hold_pairs], dtype=np.float64
    )
    return DensityCalibration(
        rule_id=rule_id,
        points=points,
        fit_frames=len(fit_pairs),
        holdout_frames=len(hold_pairs),
        mae_raw=round(float(np.mean(np.abs(raw))), 3),
        mae_corrected=round(float(np.mean(np.abs(corr))), 3),
        bias_raw=round(float(np.mean(raw)), 3),
        bias_corrected=round(float(np.mean(corr)), 3),
    )


def onnx_frame_detector(model: Path, confidence: float) -> FrameDetector:
    from veilleur.runtime.detect.onnx import OnnxDetector

    det = OnnxDetector(model, confidence=confidence)
    return lambda _spec, _index, image: det.detect_batch([image])[0]


def ground_truth_detector(drop: float, seed: int = 0) -> FrameDetector:
    """Ground-truth boxes with a share ``drop`` missed: a stand-in for merged crowd boxes."""
    from veilleur.evaluation.event_eval import GroundTruthBoxes, GtNoise

    cache: dict[str, GroundTruthBoxes] = {}

    def detect(spec: ClipSpec, index: int, _image: Any) -> Detections:
        if spec.clip not in cache:
            cache[spec.clip] = GroundTruthBoxes(spec.coco, GtNoise(drop=drop, seed=seed))
        return cache[spec.clip](index)

    return detect


def write(path: Path, result: DensityCalibration) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
