"""Output layouts of detectors ("adapters"): recognise a model's outputs and decode them.

Every adapter turns the outputs of one session run into, per image, candidate boxes (``x1, y1,
x2, y2`` in input, i.e. letterboxed, pixels), a score and a model class index.
:class:`~veilleur.runtime.detect.onnx.OnnxDetector` then maps classes to the taxonomy,
thresholds, rescales to the frame and applies class-aware NMS.

Supported layouts (``N`` batch, ``A`` anchors, ``C`` classes, ``K`` kept detections):

- ``veilleur``: contract v1 (contracts §5), ``[N, A, 4 + C]``: xyxy, class probabilities.
- ``yolox``: YOLOX raw grid output ``[N, A, 5 + C]`` with ``A`` the anchor count of strides
  8/16/32: (cx, cy) grid offsets, log (w, h), objectness, class scores.
- ``yolo``: Ultralytics-style raw output, decoded (cx, cy, w, h in input pixels):
  v8/v11 ``[N, 4 + C, A]`` (class scores, no objectness; transposed) or v5/v7
  ``[N, A, 5 + C]`` (objectness × class scores). Told apart by which axis is longer.
- ``nms``: NMS inside the graph, boxes xyxy in input pixels, labels 0-based class indices:
  three outputs ``boxes [N, K, 4]``, ``scores [N, K]``, ``labels [N, K]``, optionally with a
  ``num_dets [N]``/``[N, 1]`` output (TensorRT EfficientNMS style) and also without the batch
  axis (``[K, 4]``, ``[K]``, ``[K]``: one image per run); outputs are matched by name
  (box / score, conf / label, class, cls / num), else by position; or one output
  ``[N, K, 6]`` (or ``[K, 6]``) = ``x1, y1, x2, y2, score, class`` (Ultralytics
  ``nms=True`` / YOLOv10 end-to-end exports); or ``[K, 7]`` = ``batch_index, x1, y1, x2, y2,
  class, score`` (YOLOv7 end-to-end export for onnxruntime).
"""

from __future__ import annotations

import ast
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from veilleur.runtime.detect.common import ModelError, shape_str

ADAPTERS = ("veilleur", "yolox", "yolo", "nms")


@dataclass(frozen=True)
class OutputSpec:
    """One model output as seen on a probe run (concrete shape)."""

    name: str
    shape: tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.name} {shape_str(self.shape)}"


@dataclass(frozen=True)
class Candidates:
    """One image's decoded (not yet thresholded) detections, in model terms."""

    xyxy: NDArray[np.float32]
    """``[K, 4]`` boxes in input (letterboxed) pixels."""
    score: NDArray[np.float32]
    """``[K]`` scores in 0–1."""
    class_index: NDArray[np.int64]
    """``[K]`` index into the model's class list (may be out of range for ``nms`` models)."""


def grid_anchor_count(size: tuple[int, int], strides: tuple[int, ...] = (8, 16, 32)) -> int:
    """Anchor points of an anchor-free head over strides 8/16/32 (YOLOX, YOLOv8)."""
    h, w = size
    return sum((h // s) * (w // s) for s in strides)


def ultralytics_names(meta: dict[str, str]) -> tuple[str, ...] | None:
    """Class names from Ultralytics/YOLOv5 export metadata (``names: "{0: 'person', ...}"``)."""
    raw = meta.get("names")
    if not raw:
        return None
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        keys = sorted(int(k) for k in value)
        if keys == list(range(len(keys))):
            return tuple(str(value[k]) for k in keys)
    return None


class Adapter(ABC):
    """Checks a model's outputs against one layout and decodes them."""

    name: ClassVar[str]
    expected: ClassVar[str]
    """Human description of the layout, for error messages."""

    one_image_per_run: bool = False
    """The outputs carry no batch axis: the detector runs images one at a time."""
    num_classes: int | None = None
    """``C`` read from the output shape; ``None`` when the layout does not tell it."""
    layout: str = ""

    def __init__(self, path: Path, outputs: list[OutputSpec], size: tuple[int, int]) -> None:
        self.path = path
        self.size = size
        self.outputs = outputs

    def mismatch(self, detail: str = "", expected: str | None = None) -> ModelError:
        got = ", ".join(str(o) for o in self.outputs)
        return ModelError(
            f"{self.path}: output layout does not match the {self.name!r} adapter: expected "
            f"{expected or self.expected}, the model gives {got}"
            + (f" ({detail})" if detail else "")
            + "; set model.adapter to the model's layout (veilleur, yolox, yolo, nms)"
        )

    @abstractmethod
    def decode(self, outputs: list[NDArray[Any]], batch: int) -> list[Candidates]:
        """Outputs of one run over ``batch`` images → one :class:`Candidates` per image."""


def _dense(boxes_xyxy: NDArray[np.float32], scores: NDArray[np.float32]) -> list[Candidates]:
    """``[B, A, 4]`` boxes and ``[B, A, C]`` class scores → best class per anchor, per image."""
    cls = scores.argmax(axis=2)
    conf = np.take_along_axis(scores, cls[..., None], axis=2)[..., 0]
    return [
        Candidates(boxes_xyxy[i], conf[i].astype(np.float32), cls[i].astype(np.int64))
        for i in range(scores.shape[0])
    ]


def _cxcywh_to_xyxy(b: NDArray[np.float32]) -> NDArray[np.float32]:
    xy, half = b[..., :2], b[..., 2:4] / 2
    return np.concatenate([xy - half, xy + half], axis=-1).astype(np.float32)


def _single_rank3(adapter: Adapter) -> tuple[int, int]:
    shape = adapter.outputs[0].shape
    if len(shape) != 3:
        raise adapter.mismatch("the first output must have 3 axes")
    return shape[1], shape[2]


class VeilleurAdapter(Adapter):
    name = "veilleur"
    expected = "[N, A, 4 + C]"
    layout = "veilleur [N, A, 4 + C]"

    def __init__(self, path: Path, outputs: list[OutputSpec], size: tuple[int, int]) -> None:
        super().__init__(path, outputs, size)
        _, d = _single_rank3(self)
        if d < 5:
            raise self.mismatch("no class scores")
        self.num_classes = d - 4

    def decode(self, outputs: list[NDArray[Any]], batch: int) -> list[Candidates]:
        raw = np.asarray(outputs[0], dtype=np.float32)
        return _dense(raw[..., :4], raw[..., 4:])


class YoloxAdapter(Adapter):
    name = "yolox"
    expected = "[N, A, 5 + C]"
    layout = "yolox [N, A, 5 + C]"

    def __init__(self, path: Path, outputs: list[OutputSpec], size: tuple[int, int]) -> None:
        super().__init__(path, outputs, size)
        anchors = grid_anchor_count(size)
        expected = f"[N, {anchors}, 5 + C] for input {size[0]}×{size[1]}"
        a, d = _single_rank3(self) if len(outputs[0].shape) == 3 else (-1, -1)
        if a != anchors or d < 6:
            raise self.mismatch(expected=expected)
        self.num_classes = d - 5
        h, w = size
        grids, strides = [], []
        for s in (8, 16, 32):
            gy, gx = np.meshgrid(np.arange(h // s), np.arange(w // s), indexing="ij")
            grids.append(np.stack([gx, gy], axis=-1).reshape(-1, 2))
            strides.append(np.full((gx.size, 1), s))
        self._grid = np.concatenate(grids).astype(np.float32)
        self._stride = np.concatenate(strides).astype(np.float32)

    def decode(self, outputs: list[NDArray[Any]], batch: int) -> list[Candidates]:
        raw = np.asarray(outputs[0], dtype=np.float32)
        xy = (raw[..., :2] + self._grid) * self._stride
        wh = np.exp(raw[..., 2:4]) * self._stride
        xyxy = np.concatenate([xy - wh / 2, xy + wh / 2], axis=-1).astype(np.float32)
        return _dense(xyxy, raw[..., 5:] * raw[..., 4:5])


class YoloAdapter(Adapter):
    name = "yolo"
    expected = "[N, 4 + C, A] (YOLOv8) or [N, A, 5 + C] (YOLOv5)"

    def __init__(self, path: Path, outputs: list[OutputSpec], size: tuple[int, int]) -> None:
        super().__init__(path, outputs, size)
        d1, d2 = _single_rank3(self)
        # The anchor axis is by far the longer one (thousands vs 4 + C).
        self.v8 = d1 < d2
        if (self.v8 and d1 < 5) or (not self.v8 and d2 < 6):
            raise self.mismatch("no class scores")
        self.num_classes = d1 - 4 if self.v8 else d2 - 5
        self.layout = "yolo v8 [N, 4 + C, A]" if self.v8 else "yolo v5 [N, A, 5 + C]"

    def decode(self, outputs: list[NDArray[Any]], batch: int) -> list[Candidates]:
        raw = np.asarray(outputs[0], dtype=np.float32)
        if self.v8:
            raw = raw.transpose(0, 2, 1)
            return _dense(_cxcywh_to_xyxy(raw[..., :4]), raw[..., 4:])
        return _dense(_cxcywh_to_xyxy(raw[..., :4]), raw[..., 5:] * raw[..., 4:5])


def _pick_nms_outputs(outputs: list[OutputSpec]) -> dict[str, int]:
    """Indices of the boxes/scores/labels(/num) outputs: by name, else by position."""
    roles: dict[str, int] = {}
    for i, o in enumerate(outputs):
        n = o.name.lower()
        role = (
            "num"
            if "num" in n
            else "labels"
            if any(k in n for k in ("label", "class", "cls"))
            else "scores"
            if any(k in n for k in ("score", "conf"))
            else "boxes"
            if any(k in n for k in ("box", "bbox"))
            else None
        )
        if role is not None and role not in roles:
            roles[role] = i
    if {"boxes", "scores", "labels"} <= roles.keys():
        return roles
    if len(outputs) == 3:
        return {"boxes": 0, "scores": 1, "labels": 2}
    return {"num": 0, "boxes": 1, "scores": 2, "labels": 3}


class NmsAdapter(Adapter):
    name = "nms"
    expected = (
        "boxes [N, K, 4] + scores [N, K] + labels [N, K] (optionally num_dets [N, 1]), "
        "or one output [N, K, 6] (x1, y1, x2, y2, score, class) "
        "or [K, 7] (batch, x1, y1, x2, y2, class, score)"
    )

    def __init__(self, path: Path, outputs: list[OutputSpec], size: tuple[int, int]) -> None:
        super().__init__(path, outputs, size)
        if len(outputs) >= 3:
            self._init_separate()
            return
        shape = outputs[0].shape
        if len(shape) == 3 and shape[2] == 6:
            self.kind = "k6"
            self.layout = "nms [N, K, 6]"
        elif len(shape) == 2 and shape[1] == 6:
            self.kind = "k6"
            self.one_image_per_run = True
            self.layout = "nms [K, 6]"
        elif len(shape) == 2 and shape[1] == 7:
            self.kind = "k7"
            self.layout = "nms [K, 7]"
        else:
            raise self.mismatch()

    def _init_separate(self) -> None:
        if len(self.outputs) > 4:
            raise self.mismatch("more than 4 outputs")
        self.kind = "separate"
        self.roles = _pick_nms_outputs(self.outputs)
        boxes = self.outputs[self.roles["boxes"]].shape
        scores = self.outputs[self.roles["scores"]].shape
        labels = self.outputs[self.roles["labels"]].shape
        # drop a trailing axis of 1 ([N, K, 1] scores)
        scores = scores[:-1] if len(scores) == len(boxes) and scores[-1] == 1 else scores
        labels = labels[:-1] if len(labels) == len(boxes) and labels[-1] == 1 else labels
        if len(boxes) not in (2, 3) or boxes[-1] != 4:
            raise self.mismatch("the boxes output must be [N, K, 4] or [K, 4]")
        if scores != boxes[:-1] or labels != boxes[:-1]:
            raise self.mismatch("boxes, scores and labels disagree on [N, K]")
        self.one_image_per_run = len(boxes) == 2
        self.layout = "nms boxes/scores/labels" + (" (no batch axis)" * self.one_image_per_run)

    def decode(self, outputs: list[NDArray[Any]], batch: int) -> list[Candidates]:
        if self.kind == "k7":
            rows = np.asarray(outputs[0], dtype=np.float32).reshape(-1, 7)
            img = np.rint(rows[:, 0]).astype(np.int64)
            return [
                _candidates(rows[img == i, 1:5], rows[img == i, 6], rows[img == i, 5])
                for i in range(batch)
            ]
        if self.kind == "k6":
            out = np.asarray(outputs[0], dtype=np.float32)
            out = out[None] if out.ndim == 2 else out
            return [_candidates(out[i, :, :4], out[i, :, 4], out[i, :, 5]) for i in range(batch)]
        boxes = np.asarray(outputs[self.roles["boxes"]], dtype=np.float32)
        scores = np.asarray(outputs[self.roles["scores"]], dtype=np.float32)
        labels = np.asarray(outputs[self.roles["labels"]])
        if self.one_image_per_run:
            boxes, scores, labels = boxes[None], scores.reshape(1, -1), labels.reshape(1, -1)
        scores = scores.reshape(boxes.shape[:2])
        labels = labels.reshape(boxes.shape[:2])
        num = None
        if "num" in self.roles and self.roles["num"] < len(outputs):
            num = np.asarray(outputs[self.roles["num"]]).reshape(-1)
        cands: list[Candidates] = []
        for i in range(batch):
            k = boxes.shape[1] if num is None else max(0, min(int(num[i]), boxes.shape[1]))
            cands.append(_candidates(boxes[i, :k], scores[i, :k], labels[i, :k]))
        return cands


def _candidates(xyxy: NDArray[Any], score: NDArray[Any], label: NDArray[Any]) -> Candidates:
    return Candidates(
        np.ascontiguousarray(xyxy, dtype=np.float32),
        np.asarray(score, dtype=np.float32),
        np.rint(np.asarray(label, dtype=np.float64)).astype(np.int64),
    )


ADAPTER_CLASSES: dict[str, type[Adapter]] = {
    a.name: a for a in (VeilleurAdapter, YoloxAdapter, YoloAdapter, NmsAdapter)
}


def make_adapter(
    name: str, path: Path, outputs: list[OutputSpec], size: tuple[int, int]
) -> Adapter:
    """The adapter ``name`` for these outputs.

    Raises:
        ModelError: unknown adapter, or outputs that do not have the adapter's layout (the
            message names the model file, the expected and the actual shapes).
    """
    cls = ADAPTER_CLASSES.get(name)
    if cls is None:
        raise ModelError(f"{path}: unknown adapter {name!r}; use auto, {', '.join(ADAPTERS)}")
    if not outputs:
        raise ModelError(f"{path}: the model has no output")
    return cls(path, outputs, size)


def infer_adapter(
    path: Path, outputs: list[OutputSpec], size: tuple[int, int], meta: dict[str, str]
) -> str:
    """Pick the adapter of a model from its metadata, else from its output shapes.

    Order: ``veilleur_contract`` metadata → ``veilleur``; three or four outputs, or a
    ``[K, 6]``/``[K, 7]`` output → ``nms``; one ``[N, d1, d2]`` output: ``d1`` equal to the
    anchor count ``G`` of strides 8/16/32 → ``yolox``; ``d1 = 3 G`` → ``yolo`` (v5);
    ``d2 = G`` → ``yolo`` (v8); ``d2 = 6`` otherwise → ``nms``. Anything else is ambiguous.

    Raises:
        ModelError: the layout is not recognised; the message asks for ``model.adapter``.
    """
    if meta.get("veilleur_contract"):
        return "veilleur"
    shapes = [o.shape for o in outputs]
    if len(outputs) in (3, 4):
        return "nms"
    if len(outputs) >= 1:
        first = shapes[0]
        if len(first) == 2 and first[1] in (6, 7):
            return "nms"
        if len(first) == 3:
            g = grid_anchor_count(size)
            _, d1, d2 = first
            if d1 == g and d2 >= 6:
                return "yolox"
            if d1 == 3 * g and d2 >= 6:
                return "yolo"
            if d2 == g and 5 <= d1 < d2:
                return "yolo"
            if d2 == 6:
                return "nms"
    got = ", ".join(str(o) for o in outputs) or "no output"
    raise ModelError(
        f"{path}: cannot tell the output layout from the model (outputs: {got}; input "
        f"{size[0]}×{size[1]}) and it has no veilleur metadata; set model.adapter "
        f"(adapter: {' | '.join(ADAPTERS)}) in the site configuration"
    )
