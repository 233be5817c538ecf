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
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

__all__ = [
    "BACKGROUND",
    "ClassAP",
    "ConfusionMatrix",
    "DetectionReport",
    "DetectionSlice",
    "PRCurve",
    "accumulate_weighted",
    "confusion_matrix",
    "evaluate_coco",
    "evaluate_detection_slices",
    "percentile_interval",
    "run_cocoeval",
]

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
        ar100: average recall (IoU 0.50:0.95, at most 100 detections per image).
        ap_small, ap_medium, ap_large: AP@[.5:.95] on COCO's small / medium / large boxes.
        ap_ci, ap50_ci: bootstrap intervals of ``ap`` and ``ap50`` over clips (``None`` when
            not computed or undefined).
    """

    category_id: int
    name: str
    ap: float | None
    ap50: float | None
    n_gt: int
    n_pred: int
    ar100: float | None = None
    ap_small: float | None = None
    ap_medium: float | None = None
    ap_large: float | None = None
    ap_ci: tuple[float, float] | None = None
    ap50_ci: tuple[float, float] | None = None


@dataclass(frozen=True)
class PRCurve:
    """Precision–recall curve of one category at IoU 0.50, as pycocotools accumulates it.

    Attributes:
        category_id, name: the category.
        ap50: AP at IoU 0.50 (the mean of ``precision`` over COCO's 101 recall points).
        recall: COCO's recall points (0, 0.01, … 1) up to the highest recall reached.
        precision: interpolated precision (the best precision at that recall or beyond).
        score: the detector score from which that recall is reached (an operating point).
    """

    category_id: int
    name: str
    ap50: float | None
    recall: tuple[float, ...]
    precision: tuple[float, ...]
    score: tuple[float, ...]


BACKGROUND = "background"
"""Last label of :class:`ConfusionMatrix`: no annotated object (row) / no detection (column)."""


@dataclass(frozen=True)
class ConfusionMatrix:
    """Class confusion of the detections kept at an operating score, matched at IoU ≥ 0.5.

    ``counts[i][j]`` is the number of ground-truth boxes of class ``labels[i]`` matched to a
    detection of class ``labels[j]``. The last row (:data:`BACKGROUND`) counts detections that
    match no annotated box (false detections), the last column annotated boxes that no
    detection matches (misses); the background/background cell is always 0.

    Matching, per image: each detection, by decreasing score, takes the unmatched
    ground-truth box of its own class it overlaps most (IoU ≥ threshold), as COCO's AP does;
    then the remaining detections and boxes of different classes are paired by decreasing
    IoU (IoU ≥ threshold): those are the class confusions. Crowd boxes are left out.
    """

    labels: tuple[str, ...]
    category_ids: tuple[int, ...]
    counts: tuple[tuple[int, ...], ...]
    iou_threshold: float
    min_score: float

    def count(self, true: str, predicted: str) -> int:
        return self.counts[self.labels.index(true)][self.labels.index(predicted)]


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
    map_ci: tuple[float, float] | None = None
    map50_ci: tuple[float, float] | None = None
    ar100_ci: tuple[float, float] | None = None
    n_bootstrap: int = 0
    n_groups: int = 0
    pr_curves: tuple[PRCurve, ...] = ()
    confusion: ConfusionMatrix | None = None

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


def run_cocoeval(
    gt: Mapping[str, Any], predictions: Sequence[Mapping[str, Any]]
) -> tuple[COCOeval, dict[str, Any], list[dict[str, Any]]]:
    """Run pycocotools' bbox evaluation silently; returns the evaluator and the copies fed to it.

    Raises:
        ValueError: a prediction lacks a key or names an image absent from ``gt``.
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
    return coco_eval, gt_copy, preds


def evaluate_coco(
    gt: Mapping[str, Any],
    predictions: Sequence[Mapping[str, Any]],
    *,
    n_bootstrap: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
    confusion_min_score: float | None = None,
) -> DetectionReport:
    """Evaluate COCO bounding-box predictions against a COCO ground truth.

    Args:
        gt: COCO detection JSON (``images``, ``annotations``, ``categories``). Not modified.
            An image's ``clip`` key (when present) is its resampling unit for the intervals.
        predictions: COCO results, one dict per box: ``image_id``, ``category_id``,
            ``bbox`` ``[x, y, w, h]`` in pixels and ``score``. Not modified. May be empty.
        n_bootstrap: clip resamples for the 95 % intervals of mAP, mAP@.5, AR@100 and the
            per-class AP (0: none). Images of one clip are drawn together.
        seed: seed of the resampling generator.
        confidence: interval level.
        confusion_min_score: also compute the class confusion matrix of the predictions
            scoring at least this (the operating threshold); ``None``: not computed.

    Returns:
        The COCO summary numbers, per-class AP and precision–recall curves at IoU 0.50.

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
    coco_eval, gt_copy, preds = run_cocoeval(gt, predictions)
    stats = np.asarray(coco_eval.stats, dtype=np.float64)
    summary = {key: _defined(float(stats[idx])) for key, idx in _STATS_INDEX.items()}

    # precision: [T iou, R recall, K category, A area, M maxDets]; area 0 = all, M -1 = 100.
    # recall: [T, K, A, M].
    precision = np.asarray(coco_eval.eval["precision"], dtype=np.float64)
    recall = np.asarray(coco_eval.eval["recall"], dtype=np.float64)
    cat_ids = [int(c) for c in coco_eval.params.catIds]
    gt_counts = Counter(int(a["category_id"]) for a in gt_copy["annotations"])
    pred_counts = Counter(int(p["category_id"]) for p in preds)
    names = {int(c["id"]): str(c["name"]) for c in gt_copy["categories"]}

    boot: _DetectionBootstrap | None = None
    img_ids = [int(i) for i in coco_eval.params.imgIds]
    groups = _image_groups(gt_copy, img_ids)
    if n_bootstrap > 0 and img_ids:
        boot = _DetectionBootstrap(coco_eval, groups, n_bootstrap, seed, confidence)

    per_class = tuple(
        ClassAP(
            category_id=cat_id,
            name=names.get(cat_id, str(cat_id)),
            ap=_mean_defined(precision[:, :, k, 0, -1]),
            ap50=_mean_defined(precision[0, :, k, 0, -1]),
            n_gt=gt_counts.get(cat_id, 0),
            n_pred=pred_counts.get(cat_id, 0),
            ar100=_mean_defined(recall[:, k, 0, -1]),
            ap_small=_mean_defined(precision[:, :, k, 1, -1]),
            ap_medium=_mean_defined(precision[:, :, k, 2, -1]),
            ap_large=_mean_defined(precision[:, :, k, 3, -1]),
            ap_ci=boot.class_ap_ci[k] if boot else None,
            ap50_ci=boot.class_ap50_ci[k] if boot else None,
        )
        for k, cat_id in enumerate(cat_ids)
    )
    scores = np.asarray(coco_eval.eval["scores"], dtype=np.float64)
    rec_thrs = np.asarray(coco_eval.params.recThrs, dtype=np.float64)
    curves = []
    for k, cat_id in enumerate(cat_ids):
        reached = float(recall[0, k, 0, -1])
        if reached < 0:  # no ground truth: no curve
            continue
        keep = rec_thrs <= reached + 1e-12
        curves.append(
            PRCurve(
                category_id=cat_id,
                name=names.get(cat_id, str(cat_id)),
                ap50=per_class[k].ap50,
                recall=tuple(round(float(r), 2) for r in rec_thrs[keep]),
                precision=tuple(round(float(p), 5) for p in precision[0, keep, k, 0, -1]),
                score=tuple(round(float(x), 5) for x in scores[0, keep, k, 0, -1]),
            )
        )
    confusion = None
    if confusion_min_score is not None:
        confusion = confusion_matrix(gt_copy, preds, min_score=confusion_min_score)
    return DetectionReport(
        **summary,
        per_class=per_class,
        n_images=len(img_ids),
        n_gt_boxes=len(gt_copy["annotations"]),
        n_predictions=len(preds),
        map_ci=boot.map_ci if boot else None,
        map50_ci=boot.map50_ci if boot else None,
        ar100_ci=boot.ar100_ci if boot else None,
        n_bootstrap=n_bootstrap if boot else 0,
        n_groups=len(set(groups)),
        pr_curves=tuple(curves),
        confusion=confusion,
    )


def _xyxy(bboxes: Sequence[Sequence[float]]) -> NDArray[np.float64]:
    b = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


def _iou(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """IoU of ``x1, y1, x2, y2`` boxes, as pycocotools computes it for boxes."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=2)
    union = (
        ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[:, None]
        + ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))[None, :]
        - inter
    )
    out: NDArray[np.float64] = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return out


def confusion_matrix(
    gt: Mapping[str, Any],
    predictions: Sequence[Mapping[str, Any]],
    *,
    iou_threshold: float = 0.5,
    min_score: float = 0.0,
) -> ConfusionMatrix:
    """Class confusion matrix with background row and column (see :class:`ConfusionMatrix`).

    Args:
        gt: COCO detection JSON; its ``categories`` give the rows and columns, in id order.
        predictions: COCO results (``image_id``, ``category_id``, ``bbox``, ``score``).
        iou_threshold: least IoU of a match.
        min_score: predictions scoring below are ignored (the operating threshold).

    Example:
        >>> gt = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "person"}],
        ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
        ...                        "bbox": [0, 0, 10, 20], "iscrowd": 0}]}
        >>> confusion_matrix(gt, []).count("person", "background")
        1
    """
    cats = sorted(int(c["id"]) for c in gt.get("categories", []))
    names = {int(c["id"]): str(c["name"]) for c in gt.get("categories", [])}
    index = {c: i for i, c in enumerate(cats)}
    bg = len(cats)
    counts = np.zeros((bg + 1, bg + 1), dtype=np.int64)
    gts: dict[int, list[Mapping[str, Any]]] = {}
    for a in gt.get("annotations", []):
        if not a.get("iscrowd", 0) and int(a["category_id"]) in index:
            gts.setdefault(int(a["image_id"]), []).append(a)
    dts: dict[int, list[Mapping[str, Any]]] = {}
    for p in predictions:
        if float(p["score"]) >= min_score and int(p["category_id"]) in index:
            dts.setdefault(int(p["image_id"]), []).append(p)
    for image_id in sorted(set(gts) | set(dts)):
        g = gts.get(image_id, [])
        d = sorted(dts.get(image_id, []), key=lambda p: -float(p["score"]))
        g_cls = np.array([index[int(a["category_id"])] for a in g], dtype=np.int64)
        d_cls = np.array([index[int(p["category_id"])] for p in d], dtype=np.int64)
        iou = _iou(_xyxy([a["bbox"] for a in g]), _xyxy([p["bbox"] for p in d]))
        g_used = np.zeros(len(g), dtype=bool)
        d_used = np.zeros(len(d), dtype=bool)
        # 1. same class, detections by decreasing score, best unmatched box (COCO's rule)
        for j in range(len(d)):
            cand = np.where(~g_used & (g_cls == d_cls[j]), iou[:, j], -1.0)
            if cand.size and cand.max() >= iou_threshold:
                i = int(np.argmax(cand))
                g_used[i] = d_used[j] = True
                counts[g_cls[i], d_cls[j]] += 1
        # 2. the rest, across classes, by decreasing IoU
        pairs = [
            (float(iou[gi, dj]), gi, dj)
            for gi in np.flatnonzero(~g_used).tolist()
            for dj in np.flatnonzero(~d_used).tolist()
            if iou[gi, dj] >= iou_threshold
        ]
        for _, gi, dj in sorted(pairs, key=lambda x: (-x[0], x[1], x[2])):
            if not g_used[gi] and not d_used[dj]:
                g_used[gi] = d_used[dj] = True
                counts[g_cls[gi], d_cls[dj]] += 1
        np.add.at(counts[:, bg], g_cls[~g_used], 1)
        np.add.at(counts[bg], d_cls[~d_used], 1)
    return ConfusionMatrix(
        labels=(*(names[c] for c in cats), BACKGROUND),
        category_ids=tuple(cats),
        counts=tuple(tuple(int(x) for x in row) for row in counts),
        iou_threshold=iou_threshold,
        min_score=min_score,
    )


@dataclass(frozen=True)
class DetectionSlice:
    """COCO metrics restricted to the images of the clips whose ``key`` has value ``value``.

    ``map``, ``map50`` and ``ar100`` are what :func:`evaluate_coco` gives on those images
    alone (the per-class rows carry ``ap``, ``ap50``, ``ar100``, the counts and the
    intervals; the area breakdown is not computed per slice).
    """

    key: str
    value: str
    clips: tuple[str, ...]
    n_images: int
    n_gt_boxes: int
    n_predictions: int
    map: float | None
    map50: float | None
    ar100: float | None
    per_class: tuple[ClassAP, ...]
    map_ci: tuple[float, float] | None = None
    map50_ci: tuple[float, float] | None = None
    ar100_ci: tuple[float, float] | None = None
    n_bootstrap: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "n_clips": len(self.clips),
            "clips": list(self.clips),
            "n_images": self.n_images,
            "n_gt_boxes": self.n_gt_boxes,
            "n_predictions": self.n_predictions,
            "map": self.map,
            "map_ci": self.map_ci,
            "map50": self.map50,
            "map50_ci": self.map50_ci,
            "ar100": self.ar100,
            "ar100_ci": self.ar100_ci,
            "n_bootstrap": self.n_bootstrap,
            "per_class": [
                {"name": c.name, "n_gt": c.n_gt, "n_pred": c.n_pred, "ap": c.ap, "ap50": c.ap50,
                 "ap_ci": c.ap_ci, "ap50_ci": c.ap50_ci}
                for c in self.per_class
            ],
        }  # fmt: skip


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def evaluate_detection_slices(
    gt: Mapping[str, Any],
    predictions: Sequence[Mapping[str, Any]],
    clip_values: Mapping[str, Mapping[str, str]],
    *,
    n_bootstrap: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[DetectionSlice]:
    """COCO mAP on the images of each slice of clips, with clip-bootstrap intervals.

    pycocotools runs once on the whole set; a slice's figures are accumulated from its own
    images' per-image results, which equals running pycocotools on the slice alone.

    Args:
        gt: COCO detection JSON whose images carry their ``clip``.
        predictions: COCO results on those images.
        clip_values: slice key → (clip → the clip's value); a clip absent from a key's
            mapping is in no slice of that key (e.g. from
            :data:`veilleur.evaluation.slices.DEFAULT_SLICERS` applied to each clip).
        n_bootstrap, seed, confidence: clip-bootstrap intervals of each slice.

    Returns:
        One entry per (key, value) with at least one image, keys in the given order, values
        sorted.
    """
    coco_eval, gt_copy, preds = run_cocoeval(gt, predictions)
    params = coco_eval.params
    img_ids = [int(i) for i in params.imgIds]
    position = {im: i for i, im in enumerate(img_ids)}
    cat_ids = [int(c) for c in params.catIds]
    names = {int(c["id"]): str(c["name"]) for c in gt_copy["categories"]}
    rec_thrs = np.asarray(params.recThrs, dtype=np.float64)
    groups = _image_groups(gt_copy, img_ids)
    clip_of = {int(im["id"]): im.get("clip") for im in gt_copy["images"]}
    images_of: dict[str, list[int]] = {}
    for image_id in img_ids:
        if clip_of.get(image_id) is not None:
            images_of.setdefault(str(clip_of[image_id]), []).append(image_id)
    out: list[DetectionSlice] = []
    for key, values in clip_values.items():
        members: dict[str, list[str]] = {}
        for clip, value in values.items():
            if clip in images_of:
                members.setdefault(value, []).append(clip)
        for value in sorted(members):
            clips = sorted(members[value])
            ids = {i for c in clips for i in images_of[c]}
            idx = sorted(position[i] for i in ids)
            ones = np.ones(len(idx), dtype=np.float64)
            estimates: list[tuple[float, float, float] | None] = []
            for curve in _category_curves(coco_eval, idx):
                res = accumulate_weighted(curve, ones, rec_thrs)
                estimates.append(
                    None if res is None else (res[0].mean(), res[0][0].mean(), res[1].mean())
                )
            boot = None
            if n_bootstrap > 0:
                boot = _DetectionBootstrap(
                    coco_eval, [groups[i] for i in idx], n_bootstrap, seed, confidence, idx
                )
            gt_counts = Counter(
                int(a["category_id"]) for a in gt_copy["annotations"] if int(a["image_id"]) in ids
            )
            pred_counts = Counter(int(p["category_id"]) for p in preds if int(p["image_id"]) in ids)
            per_class = tuple(
                ClassAP(
                    category_id=cat,
                    name=names.get(cat, str(cat)),
                    ap=None if e is None else float(e[0]),
                    ap50=None if e is None else float(e[1]),
                    n_gt=gt_counts.get(cat, 0),
                    n_pred=pred_counts.get(cat, 0),
                    ar100=None if e is None else float(e[2]),
                    ap_ci=boot.class_ap_ci[k] if boot else None,
                    ap50_ci=boot.class_ap50_ci[k] if boot else None,
                )
                for k, (cat, e) in enumerate(zip(cat_ids, estimates, strict=True))
            )
            out.append(
                DetectionSlice(
                    key=key,
                    value=value,
                    clips=tuple(clips),
                    n_images=len(idx),
                    n_gt_boxes=sum(gt_counts.values()),
                    n_predictions=sum(pred_counts.values()),
                    map=_mean([c.ap for c in per_class]),
                    map50=_mean([c.ap50 for c in per_class]),
                    ar100=_mean([c.ar100 for c in per_class]),
                    per_class=per_class,
                    map_ci=boot.map_ci if boot else None,
                    map50_ci=boot.map50_ci if boot else None,
                    ar100_ci=boot.ar100_ci if boot else None,
                    n_bootstrap=n_bootstrap if boot else 0,
                )
            )
    return out


def _image_groups(gt: Mapping[str, Any], img_ids: Sequence[int]) -> list[str]:
    """Resampling unit of each image: its ``clip`` when given, else the image itself."""
    clip_of = {int(im["id"]): im.get("clip") for im in gt.get("images", [])}
    return [str(clip_of.get(i) or f"image-{i}") for i in img_ids]


def percentile_interval(
    samples: NDArray[np.float64], confidence: float
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the finite ``samples`` (``None`` when there is none)."""
    kept = samples[np.isfinite(samples)]
    if kept.size == 0:
        return None
    alpha = (1.0 - confidence) / 2.0 * 100.0
    lo, hi = np.percentile(kept, [alpha, 100.0 - alpha])
    return float(lo), float(hi)


class _CategoryCurve:
    """One category's detections (area "all", at most 100 per image), in pycocotools' order."""

    def __init__(
        self, entries: Sequence[Mapping[str, Any] | None], max_det: int, n_iou: int
    ) -> None:
        self.n_iou = n_iou
        kept = [(i, e) for i, e in enumerate(entries) if e is not None]
        self.npig = np.zeros(len(entries), dtype=np.float64)
        for i, e in kept:
            self.npig[i] = float(np.count_nonzero(np.asarray(e["gtIgnore"]) == 0))
        if not kept:
            self.image = np.zeros(0, dtype=np.int64)
            self.tps = self.fps = np.zeros((n_iou, 0), dtype=np.float64)
            return
        scores = np.concatenate([np.asarray(e["dtScores"][:max_det]) for _, e in kept])
        order = np.argsort(-scores, kind="mergesort")
        image = np.concatenate(
            [np.full(len(e["dtScores"][:max_det]), i, dtype=np.int64) for i, e in kept]
        )
        dtm = np.concatenate([np.asarray(e["dtMatches"])[:, :max_det] for _, e in kept], axis=1)
        dtig = np.concatenate([np.asarray(e["dtIgnore"])[:, :max_det] for _, e in kept], axis=1)
        self.image = image[order]
        dtm, dtig = dtm[:, order], dtig[:, order].astype(bool)
        self.tps = np.logical_and(dtm != 0, ~dtig).astype(np.float64)
        self.fps = np.logical_and(dtm == 0, ~dtig).astype(np.float64)


def accumulate_weighted(
    curve: _CategoryCurve, image_weights: NDArray[np.float64], rec_thrs: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """pycocotools' ``accumulate`` for one category, with each image counted ``weight`` times.

    Returns ``(precision[T, R], recall[T])``, or ``None`` when the category has no
    (weighted) ground truth. With unit weights it equals pycocotools' arrays; with resample
    multiplicities it equals pycocotools on the resampled data set (copies of an image tie).
    """
    npig = float(curve.npig @ image_weights)
    if npig == 0:
        return None
    n_t = curve.n_iou
    if curve.image.size == 0:
        return np.zeros((n_t, rec_thrs.size)), np.zeros(n_t)
    w = image_weights[curve.image]
    tp = np.cumsum(curve.tps * w, axis=1)
    fp = np.cumsum(curve.fps * w, axis=1)
    rc = tp / npig
    pr = tp / (fp + tp + np.spacing(1))
    # precision envelope: the maximum to the right
    pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
    prec = np.zeros((n_t, rec_thrs.size), dtype=np.float64)
    for t in range(n_t):
        idx = np.searchsorted(rc[t], rec_thrs, side="left")
        ok = idx < rc.shape[1]
        prec[t, ok] = pr[t, idx[ok]]
    return prec, rc[:, -1]


def _category_curves(
    coco_eval: COCOeval, image_idx: Sequence[int] | None = None
) -> list[_CategoryCurve]:
    """Each category's curve over all images, or over the images at ``image_idx`` (positions
    in ``params.imgIds``): pycocotools evaluates every image on its own, so a subset's curves
    are those of its images' entries."""
    params = coco_eval.params
    n_k, n_a, n_i = len(params.catIds), len(params.areaRng), len(params.imgIds)
    max_det = int(params.maxDets[-1])
    curves = []
    for k in range(n_k):
        entries = coco_eval.evalImgs[k * n_a * n_i : k * n_a * n_i + n_i]
        if image_idx is not None:
            entries = [entries[i] for i in image_idx]
        curves.append(_CategoryCurve(entries, max_det, len(params.iouThrs)))
    return curves


class _DetectionBootstrap:
    """Percentile intervals of mAP, mAP@.5, AR@100 and per-class AP by resampling clips."""

    def __init__(
        self,
        coco_eval: COCOeval,
        groups: Sequence[str],
        n_boot: int,
        seed: int,
        confidence: float,
        image_idx: Sequence[int] | None = None,
    ) -> None:
        from veilleur.evaluation.event_metrics import resample_weights

        params = coco_eval.params
        n_k = len(params.catIds)
        rec_thrs = np.asarray(params.recThrs, dtype=np.float64)
        curves = _category_curves(coco_eval, image_idx)
        units = sorted(set(groups))
        unit_of = np.array([units.index(g) for g in groups], dtype=np.int64)
        weights = resample_weights(len(units), n_boot, np.random.default_rng(seed))
        ap = np.full((n_boot, n_k), np.nan)
        ap50 = np.full((n_boot, n_k), np.nan)
        ar = np.full((n_boot, n_k), np.nan)
        for b in range(n_boot):
            img_w = weights[b, unit_of]
            for k, curve in enumerate(curves):
                res = accumulate_weighted(curve, img_w, rec_thrs)
                if res is None:
                    continue
                prec, rec = res
                ap[b, k], ap50[b, k], ar[b, k] = prec.mean(), prec[0].mean(), rec.mean()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no ground truth
            self.map_ci = percentile_interval(np.nanmean(ap, axis=1), confidence)
            self.map50_ci = percentile_interval(np.nanmean(ap50, axis=1), confidence)
            self.ar100_ci = percentile_interval(np.nanmean(ar, axis=1), confidence)
        self.class_ap_ci = [percentile_interval(ap[:, k], confidence) for k in range(n_k)]
        self.class_ap50_ci = [percentile_interval(ap50[:, k], confidence) for k in range(n_k)]
