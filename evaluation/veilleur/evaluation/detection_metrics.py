"""COCO object-detection metrics, computed by pycocotools and returned as numbers.

pycocotools is the reference engine (the one every published COCO number comes from); this
module only feeds it, silences its console output and reads its accumulated arrays back.
Undefined values (a category with no ground-truth box, an area range with no box) come back
as ``None`` rather than pycocotools' ``-1`` sentinel, and are left out of every mean, exactly
as pycocotools does.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

__all__ = ["ClassAP", "DetectionReport", "evaluate_coco"]

logger = logging.getLogger(__name__)

# Index of each summary number in COCOeval.stats (bbox / segm layout).
_STATS_INDEX = {
    "map": 0,
    "map50": 1,
    "map75": 2,
    "map_small": 3,
    "map_medium": 4,
    "map_large": 5,
    "ar1": 6,
    "ar10": 7,
    "ar100": 8,
    "ar_small": 9,
    "ar_medium": 10,
    "ar_large": 11,
}


@dataclass(frozen=True)
class ClassAP:
    """Average precision of one category.

    Attributes:
        category_id: COCO category id (taxonomy index + 1).
        name: category name as written in the ground-truth ``categories``.
        ap: AP averaged over IoU 0.50:0.95 (COCO "mAP" for this class); ``None`` when the
            category has no ground-truth box.
        ap50: AP at IoU 0.50; ``None`` when undefined.
        n_gt: number of ground-truth boxes (crowd boxes included).
        n_pred: number of predicted boxes of this category.
    """

    category_id: int
    name: str
    ap: float | None
    ap50: float | None
    n_gt: int
    n_pred: int


@dataclass(frozen=True)
class DetectionReport:
    """COCO summary metrics (all in 0–1, ``None`` when undefined).

    ``map`` is mAP@[.5:.95], ``map50``/``map75`` are mAP at IoU 0.50/0.75, ``map_small`` …
    ``map_large`` are mAP@[.5:.95] restricted to COCO area ranges, ``ar1``/``ar10``/``ar100``
    are average recall with at most 1/10/100 detections per image.
    """

    map: float | None
    map50: float | None
    map75: float | None
    map_small: float | None
    map_medium: float | None
    map_large: float | None
    ar1: float | None
    ar10: float | None
    ar100: float | None
    ar_small: float | None
    ar_medium: float | None
    ar_large: float | None
    per_class: tuple[ClassAP, ...]
    n_images: int
    n_gt_boxes: int
    n_predictions: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (``None`` stays ``None``)."""
        return asdict(self)


def _defined(value: float) -> float | None:
    """pycocotools writes -1 for "undefined"; map that (and NaN) to ``None``."""
    if not np.isfinite(value) or value < 0:
        return None
    return float(value)


def _mean_defined(values: NDArray[np.float64]) -> float | None:
    kept = values[values > -1]
    return float(np.mean(kept)) if kept.size else None


def _empty_results(coco_gt: COCO) -> COCO:
    """A results object with no detection (``COCO.loadRes`` crashes on an empty list)."""
    res = COCO()
    res.dataset = {
        "images": list(coco_gt.dataset["images"]),
        "categories": copy.deepcopy(coco_gt.dataset.get("categories", [])),
        "annotations": [],
    }
    res.createIndex()
    return res


def _check_predictions(gt_image_ids: set[int], predictions: Sequence[Mapping[str, Any]]) -> None:
    for i, pred in enumerate(predictions):
        missing = {"image_id", "category_id", "bbox", "score"} - set(pred)
        if missing:
            raise ValueError(
                f"prediction #{i} lacks {sorted(missing)}: each COCO result needs image_id, "
                "category_id, bbox [x, y, w, h] in pixels and score"
            )
        if pred["image_id"] not in gt_image_ids:
            raise ValueError(
                f"prediction #{i} refers to image_id {pred['image_id']}, which is not in the "
                "ground truth: predict on the same COCO JSON that is evaluated"
            )


def evaluate_coco(
    gt: Mapping[str, Any], predictions: Sequence[Mapping[str, Any]]
) -> DetectionReport:
    """Evaluate COCO bounding-box predictions against a COCO ground truth.

    Args:
        gt: COCO detection JSON (``images``, ``annotations``, ``categories``). Not modified.
        predictions: COCO results, one dict per box: ``image_id``, ``category_id``,
            ``bbox`` ``[x, y, w, h]`` in pixels and ``score``. Not modified. May be empty.

    Returns:
        The COCO summary numbers and per-class AP.

    Raises:
        ValueError: a prediction lacks a key or names an image absent from ``gt``.

    Example:
        >>> gt = {"images": [{"id": 1, "width": 100, "height": 100}],
        ...       "categories": [{"id": 1, "name": "person"}],
        ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
        ...                        "bbox": [10, 10, 50, 50], "area": 2500, "iscrowd": 0}]}
        >>> pred = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50], "score": 0.9}]
        >>> round(evaluate_coco(gt, pred).map or 0.0, 3)
        1.0
    """
    gt_copy = copy.deepcopy(dict(gt))
    gt_copy.setdefault("annotations", [])
    gt_copy.setdefault("categories", [])
    preds = [copy.deepcopy(dict(p)) for p in predictions]

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        coco_gt = COCO()
        coco_gt.dataset = gt_copy
        coco_gt.createIndex()
        _check_predictions(set(coco_gt.getImgIds()), preds)
        coco_dt = coco_gt.loadRes(preds) if preds else _empty_results(coco_gt)
        coco_eval = COCOeval(coco_gt, coco_dt, iouType="bbox")
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    logger.debug("pycocotools output:\n%s", sink.getvalue())

    stats = np.asarray(coco_eval.stats, dtype=np.float64)
    summary = {key: _defined(float(stats[idx])) for key, idx in _STATS_INDEX.items()}

    # precision: [T iou, R recall, K category, A area, M maxDets]; area 0 = all, M -1 = 100.
    precision = np.asarray(coco_eval.eval["precision"], dtype=np.float64)
    cat_ids = [int(c) for c in coco_eval.params.catIds]
    gt_counts = Counter(int(a["category_id"]) for a in gt_copy["annotations"])
    pred_counts = Counter(int(p["category_id"]) for p in preds)
    names = {int(c["id"]): str(c["name"]) for c in gt_copy["categories"]}
    per_class = tuple(
        ClassAP(
            category_id=cat_id,
            name=names.get(cat_id, str(cat_id)),
            ap=_mean_defined(precision[:, :, k, 0, -1]),
            ap50=_mean_defined(precision[0, :, k, 0, -1]),
            n_gt=gt_counts.get(cat_id, 0),
            n_pred=pred_counts.get(cat_id, 0),
        )
        for k, cat_id in enumerate(cat_ids)
    )
    return DetectionReport(
        **summary,
        per_class=per_class,
        n_images=len(coco_gt.getImgIds()),
        n_gt_boxes=len(gt_copy["annotations"]),
        n_predictions=len(preds),
    )
