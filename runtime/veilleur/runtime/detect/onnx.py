"""ONNX detector: one onnxruntime session, batched frames, adapters for common output layouts.

Layouts (see :mod:`veilleur.runtime.detect.adapters` for the exact shapes):

- ``veilleur``: the project's contract v1 (contracts §5): ``[B, A, 4 + C]``, xyxy in input
  pixels then class probabilities; metadata carries classes, input size and pre-processing.
- ``yolox``: YOLOX raw grid output ``[B, A, 5 + C]`` (cx, cy, w, h as grid offsets / log-sizes,
  objectness, class scores), BGR 0–255 input letterboxed with 114 (Megvii exports).
- ``yolo``: Ultralytics-style raw output, v8 ``[B, 4 + C, A]`` or v5 ``[B, A, 5 + C]``, RGB
  0–1 input.
- ``nms``: NMS in the graph (boxes + scores + labels, ``[B, K, 6]`` or ``[K, 7]``), RGB 0–1.

The model's classes come from the class map file's ``source_classes``, else the model metadata
(``classes`` of contract v1, Ultralytics ``names``), else COCO's 80 classes.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from veilleur.runtime.core.detections import Detections, nms
from veilleur.runtime.core.taxonomy import CLASS_IDS
from veilleur.runtime.detect.adapters import (
    Adapter,
    Candidates,
    OutputSpec,
    infer_adapter,
    make_adapter,
    ultralytics_names,
)
from veilleur.runtime.detect.class_maps import (
    COCO80,
    COCO_TO_TAXONOMY,
    ClassMap,
    check_targets,
    load_class_map_file,
)
from veilleur.runtime.detect.common import (
    ClassMapError,
    DeployConfigError,
    ManifestError,
    ModelError,
    file_sha256,
    shape_str,
)
from veilleur.runtime.detect.preprocess import Preprocess, to_tensor

log = logging.getLogger(__name__)

CONTRACT_VERSION = "1"

TIMING_KEYS = ("preprocess", "inference", "postprocess")
"""Keys of :attr:`OnnxDetector.timings`."""

__all__ = [
    "CONTRACT_VERSION",
    "TIMING_KEYS",
    "ClassMapError",
    "DeployConfigError",
    "ManifestError",
    "ModelError",
    "ModelInfo",
    "OnnxDetector",
    "auto_intra_op_threads",
    "file_sha256",
    "read_sidecar",
    "session_options",
]


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
    layout: str = ""
    """The adapter's variant, e.g. ``yolo v8 [N, 4 + C, A]``."""


def _read_metadata(session: ort.InferenceSession) -> dict[str, str]:
    meta = session.get_modelmeta().custom_metadata_map
    return {str(k): str(v) for k, v in meta.items()}


def _check_input(path: Path, session: ort.InferenceSession) -> None:
    """The model takes one float32 ``[B, 3, H, W]`` image tensor."""
    inputs = session.get_inputs()
    if len(inputs) != 1:
        names = ", ".join(f"{i.name} {shape_str(i.shape)}" for i in inputs)
        raise ModelError(
            f"{path}: the model has {len(inputs)} inputs ({names}); expected one image input "
            "float32 [B, 3, H, W]"
        )
    inp = inputs[0]
    shape = list(inp.shape)
    channels_ok = len(shape) == 4 and (shape[1] == 3 or not isinstance(shape[1], int))
    if inp.type != "tensor(float)" or not channels_ok:
        dtype = inp.type.removeprefix("tensor(").removesuffix(")")
        dtype = {"float": "float32", "double": "float64"}.get(dtype, dtype)
        raise ModelError(
            f"{path}: input {inp.name!r} is {dtype} {shape_str(shape)}; expected float32 "
            "[B, 3, H, W]"
        )


def _input_size(path: Path, session: ort.InferenceSession, meta: dict[str, str]) -> tuple[int, int]:
    for key in ("input_size", "imgsz"):  # contract v1, Ultralytics
        if key in meta:
            try:
                h, w = json.loads(meta[key])
                return int(h), int(w)
            except (ValueError, TypeError):
                raise ModelError(
                    f"{path}: metadata {key}={meta[key]!r} is not a JSON [H, W]"
                ) from None
    shape = session.get_inputs()[0].shape
    if isinstance(shape[2], int) and isinstance(shape[3], int):
        return int(shape[2]), int(shape[3])
    raise ModelError(
        f"{path}: the model's input size is dynamic and its metadata gives no input_size"
    )


def _preprocess(meta: dict[str, str], default: Preprocess) -> Preprocess:
    if "preprocess" not in meta:
        return default
    p = json.loads(meta["preprocess"])
    return Preprocess(
        color=p.get("color", "RGB"),
        scale=float(p.get("scale", 1 / 255)),
        mean=tuple(p.get("mean", (0.0, 0.0, 0.0))),
        std=tuple(p.get("std", (1.0, 1.0, 1.0))),
        pad_value=float(p.get("pad_value", 114)),
    )


_DEFAULT_PREPROCESS = {
    "veilleur": Preprocess(),
    "yolox": Preprocess(color="BGR", scale=1.0, pad_value=114.0),
    "yolo": Preprocess(color="RGB", scale=1 / 255, pad_value=114.0),
    "nms": Preprocess(color="RGB", scale=1 / 255, pad_value=114.0),
}


class OnnxDetector:
    """Runs an ONNX detector on batches of BGR frames and returns taxonomy detections.

    Args:
        path: ONNX file.
        confidence: minimum score kept.
        nms_iou: IoU threshold of class-aware NMS (applied after mapping to the taxonomy).
        adapter: ``auto`` (metadata, else output shapes), ``veilleur``, ``yolox``, ``yolo``
            or ``nms``.
        class_map: model class name → taxonomy name; classes absent from it are dropped.
            Defaults to identity for ``veilleur`` models; otherwise taxonomy names map to
            themselves and COCO names through ``maps/coco.yaml``.
        class_map_file: a YAML class map file (``source_classes``, ``map``), in place of
            ``class_map``.
        expected_sha256: when given (site config or deploy manifest), a mismatch refuses
            to load (EX-131: models are read-only on site).
        providers: execution providers by short name (``tensorrt``, ``cuda``, ``cpu``) or
            onnxruntime name, in order of preference; default CUDA when available, then CPU
            (see :func:`resolve_providers`).
        intra_op_threads: onnxruntime intra-op threads; ``None`` or 0 = the cores this
            process may use (:func:`auto_intra_op_threads`). A negative value keeps
            onnxruntime's own default (its count of physical cores, which ignores the CPU
            affinity of a container).
        spinning: let onnxruntime's threads busy-wait between runs. Off by default: the live
            runtime analyses batch ``j`` in another thread while the detector runs batch
            ``j + 1``, and spinning threads would take the cores that analysis needs.

    Attributes:
        timings: accumulated seconds spent in ``preprocess``, ``inference`` and
            ``postprocess`` (decoding, mapping, NMS) by :meth:`detect_batch`.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        confidence: float = 0.35,
        nms_iou: float = 0.5,
        adapter: str = "auto",
        class_map: dict[str, str] | None = None,
        class_map_file: Path | str | None = None,
        expected_sha256: str | None = None,
        providers: list[str] | None = None,
        intra_op_threads: int | None = None,
        spinning: bool = False,
    ) -> None:
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"{path}: model file not found")
        if class_map is not None and class_map_file is not None:
            raise ClassMapError(
                f"{path}: both class_map and class_map_file are given; use only one"
            )
        file_map = load_class_map_file(class_map_file) if class_map_file is not None else None
        sha = file_sha256(path)
        expected = expected_sha256 or self._sidecar_sha256(path)
        if expected is not None and expected != sha:
            raise ModelError(
                f"{path}: SHA-256 {sha} does not match the expected {expected}; "
                "the model file was changed. Refusing to load it."
            )
        providers = resolve_providers(providers, ort.get_available_providers())
        opts = session_options(intra_op_threads, spinning)
        self.session_settings: dict[str, Any] = {
            "intra_op_threads": opts.intra_op_num_threads or "onnxruntime default",
            "spinning": spinning,
        }
        """The session's threading options, for health and benchmarks."""
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as exc:  # onnxruntime raises several unrelated exception types
            raise ModelError(f"{path}: not a loadable ONNX model ({exc})") from None
        _check_input(path, self.session)
        meta = _read_metadata(self.session)
        size = _input_size(path, self.session, meta)
        self.input_name = self.session.get_inputs()[0].name
        self._fixed_batch = self.session.get_inputs()[0].shape[0] == 1
        outputs = self._probe(path, size)
        if adapter == "auto":
            adapter = infer_adapter(path, outputs, size, meta)
        self.adapter: Adapter = make_adapter(adapter, path, outputs, size)
        self._one_per_run = self._fixed_batch or self.adapter.one_image_per_run

        if adapter == "veilleur" and meta.get("veilleur_contract") != CONTRACT_VERSION:
            raise ModelError(
                f"{path}: metadata veilleur_contract={meta.get('veilleur_contract')!r}, "
                f"this runtime reads contract {CONTRACT_VERSION}"
            )
        classes, classes_from = self._classes(path, adapter, meta, file_map)
        c = self.adapter.num_classes
        if c is not None and c != len(classes):
            raise ModelError(
                f"{path}: the output {', '.join(str(o) for o in outputs)} ({self.adapter.layout}) "
                f"has {c} class scores, but {classes_from} lists {len(classes)} classes"
                + (
                    "; give the model's classes as source_classes in model.class_map_file"
                    if classes_from.startswith("COCO")
                    else ""
                )
            )
        prep = _preprocess(meta, _DEFAULT_PREPROCESS[adapter])
        self._to_taxonomy = self._mapping(path, adapter, classes, class_map, file_map)
        self._warned_labels = False
        self.confidence = confidence
        self.nms_iou = nms_iou
        self.timings: dict[str, float] = dict.fromkeys(TIMING_KEYS, 0.0)
        self.info = ModelInfo(
            path=path,
            sha256=sha,
            adapter=adapter,
            classes=classes,
            input_size=size,
            preprocess=prep,
            metadata=meta,
            layout=self.adapter.layout,
        )
        log.info(
            "loaded %s (%s, %d classes, input %s, providers %s)",
            path.name,
            self.adapter.layout,
            len(classes),
            self.info.input_size,
            self.session.get_providers(),
        )

    @staticmethod
    def _sidecar_sha256(path: Path) -> str | None:
        value = read_sidecar(path).get("sha256")
        return str(value) if value else None

    def _probe(self, path: Path, size: tuple[int, int]) -> list[OutputSpec]:
        """One run on a blank image: the concrete output shapes (symbolic ones resolved)."""
        blank = np.zeros((1, 3, *size), dtype=np.float32)
        try:
            outs = self.session.run(None, {self.input_name: blank})
        except Exception as exc:  # onnxruntime raises several unrelated exception types
            raise ModelError(
                f"{path}: a test run on a blank {shape_str(blank.shape)} input failed ({exc})"
            ) from None
        names = [o.name for o in self.session.get_outputs()]
        return [
            OutputSpec(n, tuple(int(d) for d in np.shape(o)))
            for n, o in zip(names, outs, strict=True)
        ]

    @staticmethod
    def _classes(
        path: Path, adapter: str, meta: dict[str, str], file_map: ClassMap | None
    ) -> tuple[tuple[str, ...], str]:
        """The model's class names in output order, and where they come from."""
        from_meta: tuple[str, ...] | None = None
        if adapter == "veilleur":
            if "classes" not in meta:
                raise ModelError(f"{path}: veilleur model without 'classes' metadata")
            from_meta = tuple(json.loads(meta["classes"]))
        else:
            from_meta = ultralytics_names(meta)
        if file_map is not None and file_map.source_classes is not None:
            if from_meta is not None and file_map.source_classes != from_meta:
                raise ClassMapError(
                    f"{file_map.source}: source_classes disagree with the classes in the "
                    f"metadata of {path} ({list(from_meta)})"
                )
            return file_map.source_classes, f"{file_map.source} (source_classes)"
        if from_meta is not None:
            return from_meta, "the model metadata"
        return COCO80, f"COCO (the default classes of the {adapter} adapter)"

    @staticmethod
    def _mapping(
        path: Path,
        adapter: str,
        classes: tuple[str, ...],
        class_map: dict[str, str] | None,
        file_map: ClassMap | None,
    ) -> NDArray[np.int64]:
        """Model class index → taxonomy id, -1 = dropped; logs the dropped classes once."""
        if file_map is not None:
            mapping = file_map.mapping
            stray = [k for k in mapping if k not in classes]
            if stray:
                raise ClassMapError(
                    f"{file_map.source}: map.{stray[0]}: {stray[0]!r} is not a class of "
                    f"{path.name} (its classes: {', '.join(classes)})"
                )
        elif class_map is not None:
            mapping = class_map
            check_targets(mapping, "model.class_map")
            stray = [k for k in mapping if k not in classes]
            if stray:
                log.warning("%s: model.class_map keys not among its classes: %s", path.name, stray)
        elif adapter == "veilleur":
            mapping = {c: c for c in classes if c in CLASS_IDS}
        else:  # taxonomy names map to themselves, COCO names through maps/coco.yaml
            mapping = {c: c for c in classes if c in CLASS_IDS} | COCO_TO_TAXONOMY
        dropped = [c for c in classes if c not in mapping]
        if dropped:
            log.info(
                "%s: %d model classes not in the class map are dropped: %s",
                path.name,
                len(dropped),
                ", ".join(dropped),
            )
        return np.array([CLASS_IDS[mapping[c]] if c in mapping else -1 for c in classes], np.int64)

    def _infer(self, batch: NDArray[np.float32]) -> list[Candidates]:
        if self._one_per_run and batch.shape[0] > 1:
            return [c for i in range(batch.shape[0]) for c in self._infer(batch[i : i + 1])]
        t0 = time.perf_counter()
        outs: list[NDArray[Any]] = self.session.run(None, {self.input_name: batch})
        t1 = time.perf_counter()
        cands = self.adapter.decode(outs, batch.shape[0])
        self.timings["inference"] += t1 - t0
        self.timings["postprocess"] += time.perf_counter() - t1
        return cands

    def detect_batch(self, frames: list[NDArray[np.uint8]]) -> list[Detections]:
        """Detect on several BGR frames (possibly from different cameras) in one call."""
        if not frames:
            return []
        t0 = time.perf_counter()
        batch, ratios = to_tensor(frames, self.info.input_size, self.info.preprocess)
        self.timings["preprocess"] += time.perf_counter() - t0
        cands = self._infer(batch)
        t1 = time.perf_counter()
        out = [
            self._postprocess(cands[i], ratios[i], frames[i].shape[1], frames[i].shape[0])
            for i in range(len(frames))
        ]
        self.timings["postprocess"] += time.perf_counter() - t1
        return out

    def detect(self, frame: NDArray[np.uint8]) -> Detections:
        return self.detect_batch([frame])[0]

    def _postprocess(self, c: Candidates, ratio: float, w: int, h: int) -> Detections:
        n = len(self._to_taxonomy)
        valid = (c.class_index >= 0) & (c.class_index < n)
        if not valid.all() and not self._warned_labels:
            self._warned_labels = True
            log.warning(
                "%s: the model outputs class indices outside 0..%d; those detections are dropped",
                self.info.path.name,
                n - 1,
            )
        tax = np.full(c.class_index.shape, -1, dtype=np.int64)
        tax[valid] = self._to_taxonomy[c.class_index[valid]]
        keep = (c.score >= self.confidence) & (tax >= 0)
        boxes, conf, tax = c.xyxy[keep] / ratio, c.score[keep], tax[keep]
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        idx = nms(boxes, conf, tax, self.nms_iou)
        return Detections.from_arrays(boxes[idx], conf[idx], tax[idx])


def usable_cpus() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def auto_intra_op_threads() -> int:
    """Default intra-op threads: the usable cores (CPU affinity), at least 1.

    Measured with the overlapped live pipeline on 2 vCPU (docs/dimensionnement.md): without
    spinning, threads on every core let inference use the time the analysis thread leaves
    free; one core less caps the detector at one core while the analysis needs about half a
    core, and gave lower throughput.
    """
    return max(1, usable_cpus())


def session_options(intra_op_threads: int | None = None, spinning: bool = False) -> Any:
    """onnxruntime session options of the product detector (see :class:`OnnxDetector`)."""
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    threads = intra_op_threads or auto_intra_op_threads()
    if threads > 0:  # negative: onnxruntime's default
        opts.intra_op_num_threads = threads
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return opts


PROVIDER_NAMES = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
"""Short names of the execution providers a site may ask for (``model.providers``)."""


def resolve_providers(requested: list[str] | None, available: list[str]) -> list[str]:
    """onnxruntime providers to use, in order; CPU always closes the list as the fallback.

    ``None`` gives CUDA when ``onnxruntime-gpu`` provides it, then CPU. TensorRT is only used
    when asked for (its engine build takes minutes at the first start).

    Raises:
        ModelError: a requested provider is unknown or not available in this installation
            (e.g. ``cuda`` with the CPU-only ``onnxruntime`` package).
    """
    if requested is None:
        chosen = [p for p in ("CUDAExecutionProvider",) if p in available]
    else:
        chosen = []
        for name in requested:
            full = PROVIDER_NAMES.get(name.lower(), name)
            if full not in PROVIDER_NAMES.values():
                raise ModelError(
                    f"unknown execution provider {name!r}; use one of {', '.join(PROVIDER_NAMES)}"
                )
            if full not in available:
                raise ModelError(
                    f"execution provider {name!r} is not available here (available: "
                    f"{', '.join(available)}); install onnxruntime-gpu (extra 'gpu') or "
                    "remove it from model.providers"
                )
            chosen.append(full)
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen
