"""ONNX detector: one onnxruntime session, batched frames, adapters for common output layouts.

Layouts:
- ``veilleur``: the project's contract v1 (contracts §5): ``[B, A, 4 + C]``, xyxy in input
  pixels then class probabilities; metadata carries classes, input size and pre-processing.
- ``yolox``: YOLOX raw grid output ``[B, A, 5 + C]`` (cx, cy, w, h as grid offsets / log-sizes,
  objectness, class scores), BGR 0–255 input letterboxed with 114 (Megvii exports).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from veilleur.runtime.core.detections import Detections, nms
from veilleur.runtime.core.taxonomy import CLASS_IDS
from veilleur.runtime.detect.class_maps import COCO80, COCO_TO_TAXONOMY
from veilleur.runtime.detect.preprocess import Preprocess, to_tensor

log = logging.getLogger(__name__)

CONTRACT_VERSION = "1"


class ModelError(RuntimeError):
    """The model file cannot be used (missing, tampered with, or of an unknown layout)."""


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_sidecar(model: Path) -> dict[str, Any]:
    """The export sidecar ``MODEL.onnx.json`` (contracts §5); empty when there is none."""
    sidecar = model.with_name(model.name + ".json")
    if not sidecar.is_file():
        return {}
    data: dict[str, Any] = json.loads(sidecar.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class ModelInfo:
    """What the runtime knows of a loaded model."""

    path: Path
    sha256: str
    adapter: str
    classes: tuple[str, ...]
    input_size: tuple[int, int]
    preprocess: Preprocess
    metadata: dict[str, str]


def _read_metadata(session: ort.InferenceSession) -> dict[str, str]:
    meta = session.get_modelmeta().custom_metadata_map
    return {str(k): str(v) for k, v in meta.items()}


def _input_size(session: ort.InferenceSession, meta: dict[str, str]) -> tuple[int, int]:
    if "input_size" in meta:
        h, w = json.loads(meta["input_size"])
        return int(h), int(w)
    shape = session.get_inputs()[0].shape
    if isinstance(shape[2], int) and isinstance(shape[3], int):
        return int(shape[2]), int(shape[3])
    raise ModelError("the model's input size is dynamic and its metadata gives no input_size")


class OnnxDetector:
    """Runs an ONNX detector on batches of BGR frames and returns taxonomy detections.

    Args:
        path: ONNX file.
        confidence: minimum score kept.
        nms_iou: IoU threshold of class-aware NMS.
        adapter: ``auto`` (read the metadata), ``veilleur`` or ``yolox``.
        class_map: model class name → taxonomy name; classes absent from it are dropped.
            Defaults to identity for ``veilleur`` models and COCO → taxonomy for ``yolox``.
        expected_sha256: when given (site config or deploy manifest), a mismatch refuses
            to load (EX-131: models are read-only on site).
        providers: onnxruntime execution providers; default CUDA when available, else CPU.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        confidence: float = 0.35,
        nms_iou: float = 0.5,
        adapter: str = "auto",
        class_map: dict[str, str] | None = None,
        expected_sha256: str | None = None,
        providers: list[str] | None = None,
    ) -> None:
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"{path}: model file not found")
        sha = file_sha256(path)
        expected = expected_sha256 or self._sidecar_sha256(path)
        if expected is not None and expected != sha:
            raise ModelError(
                f"{path}: SHA-256 {sha} does not match the expected {expected}; "
                "the model file was changed. Refusing to load it."
            )
        available = ort.get_available_providers()
        if providers is None:
            providers = [p for p in ("CUDAExecutionProvider",) if p in available]
            providers.append("CPUExecutionProvider")
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as exc:  # onnxruntime raises several unrelated exception types
            raise ModelError(f"{path}: not a loadable ONNX model ({exc})") from None
        meta = _read_metadata(self.session)
        if adapter == "auto":
            adapter = "veilleur" if meta.get("veilleur_contract") else "yolox"
        if adapter == "veilleur":
            if meta.get("veilleur_contract") != CONTRACT_VERSION:
                raise ModelError(
                    f"{path}: metadata veilleur_contract={meta.get('veilleur_contract')!r}, "
                    f"this runtime reads contract {CONTRACT_VERSION}"
                )
            classes = tuple(json.loads(meta["classes"]))
            p = json.loads(meta.get("preprocess", "{}"))
            prep = Preprocess(
                color=p.get("color", "RGB"),
                scale=float(p.get("scale", 1 / 255)),
                mean=tuple(p.get("mean", (0.0, 0.0, 0.0))),
                std=tuple(p.get("std", (1.0, 1.0, 1.0))),
                pad_value=float(p.get("pad_value", 114)),
            )
            default_map = {c: c for c in classes if c in CLASS_IDS}
        elif adapter == "yolox":
            classes = COCO80
            prep = Preprocess(color="BGR", scale=1.0, pad_value=114.0)
            default_map = dict(COCO_TO_TAXONOMY)
        else:
            raise ModelError(f"unknown adapter {adapter!r}; use auto, veilleur or yolox")
        mapping = class_map if class_map is not None else default_map
        unknown = sorted(set(mapping.values()) - set(CLASS_IDS))
        if unknown:
            raise ModelError(f"class_map targets unknown taxonomy classes: {unknown}")
        # model class index → taxonomy id, -1 = dropped
        self._to_taxonomy = np.array(
            [CLASS_IDS[mapping[c]] if c in mapping else -1 for c in classes], dtype=np.int64
        )
        self.input_name = self.session.get_inputs()[0].name
        self._fixed_batch = self.session.get_inputs()[0].shape[0] == 1
        self.confidence = confidence
        self.nms_iou = nms_iou
        self.info = ModelInfo(
            path=path,
            sha256=sha,
            adapter=adapter,
            classes=classes,
            input_size=_input_size(self.session, meta),
            preprocess=prep,
            metadata=meta,
        )
        log.info(
            "loaded %s (%s, %d classes, input %s, providers %s)",
            path.name,
            adapter,
            len(classes),
            self.info.input_size,
            self.session.get_providers(),
        )

    @staticmethod
    def _sidecar_sha256(path: Path) -> str | None:
        value = read_sidecar(path).get("sha256")
        return str(value) if value else None

    def _run(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        if self._fixed_batch and batch.shape[0] > 1:
            outs = [self._run(batch[i : i + 1]) for i in range(batch.shape[0])]
            return np.concatenate(outs, axis=0)
        out: Any = self.session.run(None, {self.input_name: batch})[0]
        return np.asarray(out, dtype=np.float32)

    def detect_batch(self, frames: list[NDArray[np.uint8]]) -> list[Detections]:
        """Detect on several BGR frames (possibly from different cameras) in one call."""
        if not frames:
            return []
        size = self.info.input_size
        batch, ratios = to_tensor(frames, size, self.info.preprocess)
        raw = self._run(batch)
        if self.info.adapter == "yolox":
            raw = _decode_yolox(raw, size)
        return [
            self._postprocess(raw[i], ratios[i], frames[i].shape[1], frames[i].shape[0])
            for i in range(len(frames))
        ]

    def detect(self, frame: NDArray[np.uint8]) -> Detections:
        return self.detect_batch([frame])[0]

    def _postprocess(self, out: NDArray[np.float32], ratio: float, w: int, h: int) -> Detections:
        boxes = out[:, :4]
        scores = out[:, 4:]
        cls = scores.argmax(axis=1)
        conf = scores[np.arange(scores.shape[0]), cls]
        tax = self._to_taxonomy[cls]
        keep = (conf >= self.confidence) & (tax >= 0)
        boxes, conf, tax = boxes[keep] / ratio, conf[keep], tax[keep]
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        idx = nms(boxes, conf, tax, self.nms_iou)
        return Detections.from_arrays(boxes[idx], conf[idx], tax[idx])


def _decode_yolox(raw: NDArray[np.float32], size: tuple[int, int]) -> NDArray[np.float32]:
    """YOLOX grid output → ``[B, A, 4 + C]`` (xyxy in input pixels, obj × class scores)."""
    h, w = size
    grids = []
    strides = []
    for s in (8, 16, 32):
        gy, gx = np.meshgrid(np.arange(h // s), np.arange(w // s), indexing="ij")
        grids.append(np.stack([gx, gy], axis=-1).reshape(-1, 2))
        strides.append(np.full((gx.size, 1), s))
    grid = np.concatenate(grids).astype(np.float32)
    stride = np.concatenate(strides).astype(np.float32)
    if grid.shape[0] != raw.shape[1]:
        raise ModelError(
            f"YOLOX output has {raw.shape[1]} anchors, expected {grid.shape[0]} for input {size}"
        )
    xy = (raw[..., :2] + grid) * stride
    wh = np.exp(raw[..., 2:4]) * stride
    xyxy = np.concatenate([xy - wh / 2, xy + wh / 2], axis=-1)
    scores = raw[..., 5:] * raw[..., 4:5]
    return np.concatenate([xyxy, scores], axis=-1).astype(np.float32)
