"""The report fixture of tests/unit/evaluation/conftest.py, completed with what the evaluate stage
adds to it: tracking metrics, the class confusion matrix and the detection metrics per slice,
all computed by the real metric functions on small synthetic inputs."""

from __future__ import annotations

import dataclasses
import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

from veilleur.evaluation.detection_metrics import evaluate_coco, evaluate_detection_slices
from veilleur.evaluation.report_context import ReportContext
from veilleur.evaluation.tracking_metrics import (
    FrameBoxes,
    TrackedFrame,
    TrackingEvaluation,
    evaluate_tracking,
)
from veilleur.runtime.core.taxonomy import CLASSES

_CONFTEST = Path(__file__).parents[1] / "unit" / "evaluation" / "conftest.py"


@cache
def _conftest() -> ModuleType:
    spec = importlib.util.spec_from_file_location("evaluation_report_fixture_extras", _CONFTEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tracked_clips(n_clips: int = 4, n_frames: int = 40) -> dict[str, list[TrackedFrame]]:
    """Persons walking across the view (and a parked vehicle in even clips); the tracker
    misses some boxes, adds a spurious track now and then and swaps two persons' ids halfway
    through odd clips."""
    rng = np.random.default_rng(17)
    clips: dict[str, list[TrackedFrame]] = {}
    for c in range(n_clips):
        n_people = 3 + c % 2
        start = rng.uniform(0, 300, size=(n_people, 2)) + np.arange(n_people)[:, None] * 120
        speed = rng.normal(0, 3, size=(n_people, 2))
        frames = []
        for f in range(n_frames):
            gt: list[tuple[float, ...]] = []
            pred: list[tuple[float, ...]] = []
            for p in range(n_people):
                x, y = start[p] + speed[p] * f
                box = (x, y, x + 40, y + 90)
                gt.append((p + 1, 0, *box))
                tid = 10 + p
                if c % 2 and f >= n_frames // 2 and p < 2:
                    tid = 11 - p  # persons 1 and 2 exchange ids
                if rng.uniform() > 0.12:
                    d = rng.normal(0, 3, 4)
                    pred.append((tid, 0, *(float(v) for v in np.add(box, d))))
            if c % 2 == 0:
                car = (500.0, 420.0, 640.0, 500.0)
                gt.append((99, 1, *car))
                pred.append((77, 1, *car))
            if rng.uniform() < 0.1:
                pred.append((900 + f, 0, 650.0, 20.0, 690.0, 110.0))
            frames.append(TrackedFrame(FrameBoxes.from_rows(gt), FrameBoxes.from_rows(pred)))
        clips[f"clip_{c:04d}"] = frames
    return clips


def tracking_evaluation() -> TrackingEvaluation:
    return evaluate_tracking(
        tracked_clips(),
        dict(enumerate(CLASSES)),
        n_bootstrap=200,
        seed=1,
        skipped={"clip_0009": "annotations sans identifiant de piste"},
    )


def full_context(base: ReportContext | None = None) -> ReportContext:
    """``base`` (default: the conftest's sample context) with tracking, confusion matrix and
    detection slices."""
    fixture = _conftest()
    ctx = base if base is not None else fixture.build_context()
    gt, preds = fixture._coco_fixture()
    clips = sorted({str(im["clip"]) for im in gt["images"]})
    lighting = ("day", "dusk", "night")
    clip_values = {
        "lighting": {c: lighting[i % 3] for i, c in enumerate(clips)},
        "camera_height": {c: ("< 4 m", "4–8 m")[i % 2] for i, c in enumerate(clips)},
    }
    return dataclasses.replace(
        ctx,
        detection=evaluate_coco(gt, preds, n_bootstrap=100, confusion_min_score=0.5),
        detection_slices=tuple(
            evaluate_detection_slices(gt, preds, clip_values, n_bootstrap=100, seed=2)
        ),
        tracking=tracking_evaluation(),
    )
