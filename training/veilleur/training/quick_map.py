"""Post-processing and a quick mAP@0.5 used to monitor training (not the evaluation oracle).

The evaluation stage computes the reported metrics with pycocotools; this all-point
interpolated VOC-style AP@0.5 is only a cheap per-epoch signal.

Example:
    >>> import numpy as np
    >>> det = np.array([[0, 0, 10, 10, .9, .1]], dtype=np.float32)  # 1 anchor, 2 classes
    >>> d = postprocess(det, confidence=0.5, nms_iou=0.5)
    >>> d.class_id.tolist(), map50([d], [(np.array([[0, 0, 10, 10]], np.float32), np.array([0]))])
    ([0], 1.0)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from veilleur.runtime.core.detections import Detections, box_iou, nms

MAX_CANDIDATES = 300  # best (point, class) pairs kept before NMS
MAX_DETECTIONS = 100  # boxes kept after NMS


def postprocess(detections: NDArray[np.float32], confidence: float, nms_iou: float) -> Detections:
    """One image's contract output ``[A, 4 + C]`` → thresholded, class-aware NMS'd boxes.

    Every (point, class) pair above ``confidence`` is a candidate (the runtime keeps only the
    best class per point; for monitoring mAP the multi-label variant is the usual choice).
    """
    boxes, scores = detections[:, :4], detections[:, 4:]
    anchor, cls = np.nonzero(scores > confidence)
    conf = scores[anchor, cls]
    if conf.size > MAX_CANDIDATES:
        top = np.argsort(-conf, kind="stable")[:MAX_CANDIDATES]
        anchor, cls, conf = anchor[top], cls[top], conf[top]
    xyxy = boxes[anchor].astype(np.float32)
    keep = nms(xyxy, conf.astype(np.float32), cls.astype(np.int64), nms_iou)[:MAX_DETECTIONS]
    return Detections.from_arrays(xyxy[keep], conf[keep], cls[keep])


def _average_precision(recall: NDArray[np.float64], precision: NDArray[np.float64]) -> float:
    r = np.concatenate(([0.0], recall, [1.0]))
    p = np.concatenate(([0.0], precision, [0.0]))
    p = np.maximum.accumulate(p[::-1])[::-1]
    idx = np.nonzero(r[1:] != r[:-1])[0]
    return float(np.sum((r[idx + 1] - r[idx]) * p[idx + 1]))


def map50(
    predictions: list[Detections],
    ground_truth: list[tuple[NDArray[np.float32], NDArray[np.int64]]],
) -> float:
    """Mean over classes present in the ground truth of AP at IoU 0.5 (greedy matching)."""
    classes = sorted({int(c) for _, labels in ground_truth for c in labels})
    aps = []
    for c in classes:
        scores: list[float] = []
        hits: list[bool] = []
        n_gt = 0
        for det, (gt_boxes, gt_labels) in zip(predictions, ground_truth, strict=True):
            gt = gt_boxes[gt_labels == c]
            n_gt += len(gt)
            d = det[det.class_id == c]
            order = np.argsort(-d.confidence, kind="stable")
            ious = box_iou(d.xyxy[order], gt)
            used = np.zeros(len(gt), dtype=bool)
            for k, i in enumerate(order):
                scores.append(float(d.confidence[i]))
                j = int(np.argmax(ious[k])) if len(gt) else -1
                hit = j >= 0 and ious[k, j] >= 0.5 and not used[j]
                if hit:
                    used[j] = True
                hits.append(hit)
        order = np.argsort(-np.asarray(scores), kind="stable")
        tp = np.cumsum(np.asarray(hits, dtype=np.float64)[order])
        fp = np.cumsum(1.0 - np.asarray(hits, dtype=np.float64)[order])
        recall = tp / max(n_gt, 1)
        precision = tp / np.maximum(tp + fp, 1e-9)
        aps.append(_average_precision(recall, precision))
    return float(np.mean(aps)) if aps else 0.0
