"""``Detections``: the one vocabulary type for boxes, shared by runtime, evaluation and tests."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]
IntArray = NDArray[np.int64]


def _as_float(a: Any, shape: tuple[int, ...]) -> FloatArray:
    return np.asarray(a, dtype=np.float32).reshape(shape)


@dataclass(frozen=True)
class Detections:
    """Parallel arrays describing N boxes in pixel coordinates of one frame.

    Attributes:
        xyxy: (N, 4) float32, ``x1, y1, x2, y2`` in pixels.
        confidence: (N,) float32 in 0–1.
        class_id: (N,) int64, taxonomy ids (:mod:`veilleur.runtime.core.taxonomy`).
        tracker_id: (N,) int64, ``-1`` until a tracker assigns one.

    Example:
        >>> d = Detections.from_arrays([[0, 0, 10, 20]], [0.9], [0])
        >>> len(d), d.foot_points().tolist()
        (1, [[5.0, 20.0]])
    """

    xyxy: FloatArray
    confidence: FloatArray
    class_id: IntArray
    tracker_id: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        n = self.xyxy.shape[0]
        if self.xyxy.shape != (n, 4):
            raise ValueError(f"xyxy must be (N, 4), got {self.xyxy.shape}")
        if self.confidence.shape != (n,) or self.class_id.shape != (n,):
            raise ValueError("confidence and class_id must have one entry per box")
        if self.tracker_id.shape != (n,):
            if self.tracker_id.size == 0:
                object.__setattr__(self, "tracker_id", np.full(n, -1, dtype=np.int64))
            else:
                raise ValueError("tracker_id must have one entry per box")

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            xyxy=np.zeros((0, 4), dtype=np.float32),
            confidence=np.zeros(0, dtype=np.float32),
            class_id=np.zeros(0, dtype=np.int64),
        )

    @classmethod
    def from_arrays(
        cls,
        xyxy: Any,
        confidence: Any,
        class_id: Any,
        tracker_id: Any | None = None,
    ) -> Detections:
        n = len(confidence)
        return cls(
            xyxy=_as_float(xyxy, (n, 4)),
            confidence=_as_float(confidence, (n,)),
            class_id=np.asarray(class_id, dtype=np.int64).reshape(n),
            tracker_id=(
                np.full(n, -1, dtype=np.int64)
                if tracker_id is None
                else np.asarray(tracker_id, dtype=np.int64).reshape(n)
            ),
        )

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, index: Any) -> Detections:
        """Select boxes with a boolean mask, an index array or a slice."""
        if isinstance(index, int | np.integer):
            index = [int(index)]
        return Detections(
            xyxy=self.xyxy[index].reshape(-1, 4),
            confidence=self.confidence[index].reshape(-1),
            class_id=self.class_id[index].reshape(-1),
            tracker_id=self.tracker_id[index].reshape(-1),
        )

    def with_tracker_ids(self, tracker_id: IntArray) -> Detections:
        return Detections(self.xyxy, self.confidence, self.class_id, tracker_id.astype(np.int64))

    def foot_points(self) -> FloatArray:
        """Bottom-centre of each box: where a person or vehicle touches the ground."""
        out = np.empty((self.xyxy.shape[0], 2), dtype=np.float32)
        out[:, 0] = (self.xyxy[:, 0] + self.xyxy[:, 2]) / 2
        out[:, 1] = self.xyxy[:, 3]
        return out

    def centers(self) -> FloatArray:
        return ((self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2).astype(np.float32)

    def area(self) -> FloatArray:
        wh: FloatArray = np.clip(self.xyxy[:, 2:] - self.xyxy[:, :2], 0, None)
        return (wh[:, 0] * wh[:, 1]).astype(np.float32)

    def scaled(self, sx: float, sy: float) -> Detections:
        """Boxes with x multiplied by ``sx`` and y by ``sy`` (e.g. pixels → normalised)."""
        factor = np.array([sx, sy, sx, sy], dtype=np.float32)
        return Detections(self.xyxy * factor, self.confidence, self.class_id, self.tracker_id)


def class_mask(class_id: IntArray, ids: Collection[int]) -> NDArray[np.bool_]:
    """Which boxes have a class among ``ids``: ``np.isin(class_id, list(ids))``, faster.

    Every rule filters the boxes of every frame by class; ``np.isin`` sorts both arrays each
    time, a lookup table of the (small, non-negative) taxonomy ids is one gather.
    """
    members = ids if isinstance(ids, frozenset) else frozenset(ids)
    lut = _class_lut(members) if class_id.dtype.kind in "iu" else None
    if lut is None:
        return np.isin(class_id, list(members))
    ok = (class_id >= 0) & (class_id < lut.shape[0])
    mask: NDArray[np.bool_] = lut[np.where(ok, class_id, 0)] & ok
    return mask


@lru_cache(maxsize=256)
def _class_lut(ids: frozenset[int]) -> NDArray[np.bool_] | None:
    """``lut[c]`` is True for ``c`` in ``ids``; None when a lookup table does not fit."""
    if not ids or not all(isinstance(c, int | np.integer) for c in ids):
        return None
    lo, hi = min(ids), max(ids)
    if lo < 0 or hi > 4096:
        return None
    lut = np.zeros(int(hi) + 1, dtype=np.bool_)
    lut[[int(c) for c in ids]] = True
    lut.flags.writeable = False
    return lut


def box_iou(a: FloatArray, b: FloatArray) -> FloatArray:
    """Pairwise IoU of (N, 4) and (M, 4) xyxy boxes → (N, M)."""
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]), dtype=np.float32)
    # width × height written out (np.prod over 2 values, np.clip(·, 0, None) = max(·, 0):
    # the same operations in the same order, with less numpy overhead per call)
    wh = np.maximum(
        np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2]), 0
    )
    inter = wh[..., 0] * wh[..., 1]
    sa = np.maximum(a[:, 2:] - a[:, :2], 0)
    sb = np.maximum(b[:, 2:] - b[:, :2], 0)
    area_a = sa[:, 0] * sa[:, 1]
    area_b = sb[:, 0] * sb[:, 1]
    union = area_a[:, None] + area_b[None, :] - inter
    iou: FloatArray = np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)
    return iou


def nms(xyxy: FloatArray, scores: FloatArray, class_id: IntArray, iou: float) -> IntArray:
    """Class-aware non-maximum suppression; returns kept indices, best score first.

    OpenCV's batched NMS (C++), about ten times faster than a numpy loop on ~100 boxes.
    """
    if xyxy.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    xywh = np.column_stack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]]).astype(np.float64)
    # OpenCV's stubs say sequences; numpy arrays are accepted and avoid list conversions
    kept = cv2.dnn.NMSBoxesBatched(
        xywh,  # type: ignore[arg-type]
        scores.astype(np.float64),  # type: ignore[arg-type]
        class_id.astype(np.int32),  # type: ignore[arg-type]
        -np.inf,
        float(iou),
    )
    keep = np.asarray(kept, dtype=np.int64).reshape(-1)
    return keep[np.argsort(-scores[keep], kind="stable")]
