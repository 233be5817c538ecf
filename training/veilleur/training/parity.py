"""Torch vs onnxruntime parity of an exported detector, on real letterboxed images."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime as ort
import torch
from numpy.typing import NDArray

from veilleur.runtime.core.detections import Detections, box_iou
from veilleur.runtime.detect.preprocess import to_tensor
from veilleur.training.nets import DetectorExportWrapper
from veilleur.training.preprocess import runtime_preprocess
from veilleur.training.quick_map import postprocess

log = logging.getLogger(__name__)


def load_val_frames(data_dir: Path, count: int) -> list[NDArray[np.uint8]]:
    """``count`` BGR frames spread evenly over ``DATA/val`` (the runtime reads BGR)."""
    split = data_dir / "val"
    coco = json.loads((split / "annotations.json").read_text(encoding="utf-8"))
    names = sorted(str(im["file_name"]) for im in coco["images"])
    if not names:
        raise ValueError(f"{split}: no images for the parity check")
    picks = np.linspace(0, len(names) - 1, num=min(count, len(names))).round().astype(int)
    frames = []
    for i in sorted(set(picks.tolist())):
        frame = cv2.imread(str(split / names[i]), cv2.IMREAD_COLOR)
        if frame is None:
            raise FileNotFoundError(f"cannot read {split / names[i]}")
        frames.append(np.asarray(frame, dtype=np.uint8))
    return frames


def agreement(a: list[Detections], b: list[Detections]) -> float:
    """Matched boxes (same class, IoU ≥ 0.5) / the larger detection count, over all images."""
    matched, total = 0, 0
    for da, db in zip(a, b, strict=True):
        total += max(len(da), len(db))
        ious = box_iou(da.xyxy, db.xyxy)
        ious[da.class_id[:, None] != db.class_id[None, :]] = 0.0
        used = np.zeros(len(db), dtype=bool)
        for i in range(len(da)):
            if len(db) == 0:
                break
            j = int(np.argmax(np.where(used, -1.0, ious[i])))
            if not used[j] and ious[i, j] >= 0.5:
                used[j] = True
                matched += 1
    return 1.0 if total == 0 else matched / total


def parity_report(
    wrapper: DetectorExportWrapper,
    onnx_path: Path,
    frames_bgr: list[NDArray[np.uint8]],
    confidence: float,
    nms_iou: float,
) -> dict[str, Any]:
    """Run both on the same batch (pre-processed by the runtime's own code) and compare."""
    batch, _ = to_tensor(frames_bgr, wrapper.input_size, runtime_preprocess())
    with torch.no_grad():
        ref = wrapper.eval()(torch.from_numpy(batch)).numpy()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    got = np.asarray(session.run(None, {session.get_inputs()[0].name: batch})[0])
    if got.shape != ref.shape:
        raise ValueError(f"ONNX output shape {got.shape} differs from torch {ref.shape}")
    diff = np.abs(got - ref)
    det_ref = [postprocess(o, confidence, nms_iou) for o in ref]
    det_got = [postprocess(o, confidence, nms_iou) for o in got]
    report = {
        "max_abs_diff": float(diff.max()),
        "max_abs_diff_boxes": float(diff[..., :4].max()),
        "max_abs_diff_scores": float(diff[..., 4:].max()),
        "n_images": len(frames_bgr),
        "output_shape": list(got.shape),
        "confidence": confidence,
        "n_detections_torch": sum(len(d) for d in det_ref),
        "n_detections_onnx": sum(len(d) for d in det_got),
        "agreement": agreement(det_ref, det_got),
    }
    log.info(
        "parity on %d images: max |diff| %.2e (boxes %.2e, scores %.2e), agreement %.3f",
        report["n_images"],
        report["max_abs_diff"],
        report["max_abs_diff_boxes"],
        report["max_abs_diff_scores"],
        report["agreement"],
    )
    return report
