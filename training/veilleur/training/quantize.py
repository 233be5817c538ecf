"""Reduced-precision variants of an exported detector, with their accuracy cost measured.

- INT8: onnxruntime static quantisation, QDQ format, per-channel weights, activations calibrated
  on frames of the validation split, pre-processed by the runtime's own code. Only the
  convolutions are quantised (:data:`INT8_OPS`): the head's decoding (grid offsets, box
  distances in pixels, sigmoids) stays float — quantising it too cost the demo nano detector
  most of its detections (agreement 0.05, mAP@0.5 0.091 → 0.032), convolutions only cost it
  nothing measurable (agreement 0.95, mAP@0.5 within ±0.003 on 100 val images).
- FP16: onnxruntime's bundled float16 converter (``onnxruntime.transformers.float16``), inputs
  and outputs kept float32 so the contract does not change.

Each variant is compared with the FP32 ONNX model on the same frames (max abs difference,
detection-level agreement) and on the validation split (mAP@0.5 with the quick monitor metric,
:func:`veilleur.training.quick_map.map50`): the cost is measured, never assumed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from numpy.typing import NDArray

from veilleur.runtime.detect.preprocess import to_tensor
from veilleur.training.datamodule import ImageRecord
from veilleur.training.parity import agreement
from veilleur.training.preprocess import runtime_preprocess
from veilleur.training.quick_map import map50, postprocess

log = logging.getLogger(__name__)

EVAL_CONFIDENCE = 0.05  # as the per-epoch val mAP (veilleur.training.module.VAL_CONFIDENCE)
EVAL_NMS_IOU = 0.5
BATCH = 8
INT8_OPS = ("Conv",)
CALIBRATION = {"minmax": "MinMax", "percentile": "Percentile", "entropy": "Entropy"}


def _session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _run(session: ort.InferenceSession, batch: NDArray[np.float32]) -> NDArray[np.float32]:
    name = session.get_inputs()[0].name
    return np.asarray(session.run(None, {name: batch})[0], dtype=np.float32)


class _Calibration:
    """onnxruntime ``CalibrationDataReader``: one pre-processed frame per call."""

    def __init__(self, input_name: str, batch: NDArray[np.float32]) -> None:
        self._items: Iterator[dict[str, NDArray[np.float32]]] = iter(
            [{input_name: batch[i : i + 1]} for i in range(len(batch))]
        )

    def get_next(self) -> dict[str, NDArray[np.float32]] | None:
        return next(self._items, None)


def quantize_int8(
    fp32: Path,
    out: Path,
    calibration_bgr: list[NDArray[np.uint8]],
    input_size: tuple[int, int],
    per_channel: bool = True,
    calibration: str = "percentile",
) -> None:
    """Write the statically quantised (QDQ, INT8) model of ``fp32`` to ``out``."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if not calibration_bgr:
        raise ValueError("INT8 quantisation needs at least one calibration frame")
    batch, _ = to_tensor(calibration_bgr, input_size, runtime_preprocess())
    input_name = onnx.load(str(fp32), load_external_data=False).graph.input[0].name
    out.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # onnxruntime's advice to pre-process, on the root logger
    try:
        quantize_static(
            str(fp32),
            str(out),
            _Calibration(input_name, batch),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(INT8_OPS),
            per_channel=per_channel,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=getattr(CalibrationMethod, CALIBRATION[calibration]),
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
    finally:
        root.setLevel(level)
    _copy_metadata(fp32, out)


def convert_fp16(fp32: Path, out: Path) -> None:
    """Write the float16 model of ``fp32`` to ``out`` (float32 inputs and outputs kept)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(fp32)), keep_io_types=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    _copy_metadata(fp32, out)


def _copy_metadata(src: Path, dst: Path) -> None:
    meta = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
    model = onnx.load(str(dst))
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(dst))


def _read_bgr(path: Path) -> NDArray[np.uint8]:
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise FileNotFoundError(f"cannot read {path}")
    return np.asarray(frame, dtype=np.uint8)


def compare_variant(
    fp32: Path,
    variant: Path,
    records: list[ImageRecord],
    input_size: tuple[int, int],
    confidence: float,
    nms_iou: float,
) -> dict[str, Any]:
    """FP32 vs ``variant`` on ``records`` (validation split): output difference, agreement of
    the detections at ``confidence``, mAP@0.5 of each and its delta (variant - FP32)."""
    ref_s, var_s = _session(fp32), _session(variant)
    prep = runtime_preprocess()
    max_diff, max_box, max_score = 0.0, 0.0, 0.0
    seconds_ref, seconds_var = 0.0, 0.0
    det_ref, det_var, det_ref_map, det_var_map = [], [], [], []
    gt: list[tuple[NDArray[np.float32], NDArray[np.int64]]] = []
    for start in range(0, len(records), BATCH):
        chunk = records[start : start + BATCH]
        batch, ratios = to_tensor([_read_bgr(r.path) for r in chunk], input_size, prep)
        t0 = time.perf_counter()
        ref = _run(ref_s, batch)
        t1 = time.perf_counter()
        got = _run(var_s, batch)
        seconds_ref += t1 - t0
        seconds_var += time.perf_counter() - t1
        diff = np.abs(ref - got)
        max_diff = max(max_diff, float(diff.max()))
        max_box = max(max_box, float(diff[..., :4].max()))
        max_score = max(max_score, float(diff[..., 4:].max()))
        for i, rec in enumerate(chunk):
            det_ref.append(postprocess(ref[i], confidence, nms_iou))
            det_var.append(postprocess(got[i], confidence, nms_iou))
            det_ref_map.append(postprocess(ref[i], EVAL_CONFIDENCE, EVAL_NMS_IOU))
            det_var_map.append(postprocess(got[i], EVAL_CONFIDENCE, EVAL_NMS_IOU))
            gt.append((rec.boxes * np.float32(ratios[i]), rec.labels))
    map_ref, map_var = map50(det_ref_map, gt), map50(det_var_map, gt)
    return {
        "n_images": len(records),
        "max_abs_diff": max_diff,
        "max_abs_diff_boxes": max_box,
        "max_abs_diff_scores": max_score,
        "agreement": agreement(det_ref, det_var),
        "n_detections_fp32": sum(len(d) for d in det_ref),
        "n_detections": sum(len(d) for d in det_var),
        "map50_fp32": map_ref,
        "map50": map_var,
        "map50_delta": map_var - map_ref,
        "ms_per_image_fp32": 1000 * seconds_ref / max(len(records), 1),
        "ms_per_image": 1000 * seconds_var / max(len(records), 1),
        "size_bytes": variant.stat().st_size,
        "size_bytes_fp32": fp32.stat().st_size,
    }
