"""Checkpoint → contract-v1 ONNX file (+ ``metadata_props`` and the JSON sidecar).

Example:
    >>> meta = contract_metadata(("person",), (256, 320), {"mlflow_run_id": "r"}, 18)
    >>> meta["veilleur_contract"], meta["classes"], meta["input_size"]
    ('1', '["person"]', '[256, 320]')
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import onnx
import torch

from veilleur.runtime.detect.onnx import file_sha256
from veilleur.training.module import DetectorModule
from veilleur.training.nets import DetectorExportWrapper
from veilleur.training.preprocess import PREPROCESS

log = logging.getLogger(__name__)

CONTRACT_VERSION = "1"
INPUT_NAME = "images"
OUTPUT_NAME = "detections"
JSON_FIELDS = ("classes", "input_size", "preprocess")

Exporter = Literal["dynamo", "legacy"]


@dataclass(frozen=True)
class LoadedCheckpoint:
    wrapper: DetectorExportWrapper
    classes: tuple[str, ...]
    input_size: tuple[int, int]
    provenance: dict[str, str]


class CheckpointError(ValueError):
    """The checkpoint file is missing, truncated, corrupt or not one of the train stage."""


def load_checkpoint(path: Path) -> LoadedCheckpoint:
    """Rebuild the export wrapper (eval mode, CPU) from a checkpoint of the train stage.

    Raises:
        CheckpointError: with a message naming the file and what is wrong with it.
    """
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found; run the train stage first")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{path}: unreadable checkpoint ({type(exc).__name__}: {str(exc)[:200]}); the file "
            "is corrupt or truncated — re-run the train stage"
        ) from exc
    if not isinstance(ckpt, dict) or not {"hyper_parameters", "state_dict"} <= set(ckpt):
        raise CheckpointError(
            f"{path}: not a checkpoint of `veilleur train` (no hyper_parameters/state_dict)"
        )
    hp: dict[str, Any] = ckpt["hyper_parameters"]
    try:
        module = DetectorModule(hp["params"], hp["classes"], hp.get("provenance"))
        module.load_state_dict(ckpt["state_dict"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: checkpoint does not match the detector it describes ({str(exc)[:300]})"
        ) from exc
    return LoadedCheckpoint(
        wrapper=module.export_wrapper(),
        classes=tuple(hp["classes"]),
        input_size=module.params.input_size,
        provenance=dict(hp.get("provenance") or {}),
    )


def _export(wrapper: DetectorExportWrapper, path: Path, opset: int, exporter: Exporter) -> None:
    h, w = wrapper.input_size
    dummy = torch.zeros(2, 3, h, w)
    if exporter == "dynamo":
        torch.onnx.export(
            wrapper,
            (dummy,),
            str(path),
            dynamo=True,
            external_data=False,
            verbose=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            opset_version=opset,
            dynamic_shapes={"images": {0: torch.export.Dim("batch", min=1, max=1024)}},
            optimize=True,
        )
    else:
        torch.onnx.export(
            wrapper,
            (dummy,),
            str(path),
            dynamo=False,
            verbose=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            opset_version=opset,
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            do_constant_folding=True,
        )


def export_onnx(
    wrapper: DetectorExportWrapper,
    path: Path,
    opset: int,
    exporter: Literal["auto", "dynamo", "legacy"] = "auto",
) -> Exporter:
    """Export ``wrapper`` to ``path``; returns the exporter that worked.

    ``auto`` tries the dynamo exporter first and falls back to the TorchScript-based one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    order: list[Exporter] = ["dynamo", "legacy"] if exporter == "auto" else [exporter]
    wrapper = wrapper.eval()
    for i, name in enumerate(order):
        try:
            with torch.no_grad():
                _export(wrapper, path, opset, name)
            model = onnx.load(str(path))
            onnx.checker.check_model(model, full_check=True)
            log.info("exported with the %s exporter (opset %d)", name, opset)
            return name
        except Exception as exc:
            if i == len(order) - 1:
                raise
            log.warning("%s exporter failed (%s); falling back to %s", name, exc, order[i + 1])
    raise AssertionError("unreachable")


def contract_metadata(
    classes: tuple[str, ...],
    input_size: tuple[int, int],
    provenance: dict[str, str],
    opset: int,
) -> dict[str, str]:
    """The contract-v1 ``metadata_props`` (all values are strings; JSON where structured)."""
    return {
        "veilleur_contract": CONTRACT_VERSION,
        "classes": json.dumps(list(classes)),
        "input_size": json.dumps(list(input_size)),
        "preprocess": json.dumps(PREPROCESS),
        "dataset_version": provenance.get("dataset_version", "unknown"),
        "mlflow_run_id": provenance.get("mlflow_run_id", "unknown"),
        "git_commit": provenance.get("git_commit", "unknown"),
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "opset": str(opset),
    }


def write_metadata(path: Path, metadata: dict[str, str]) -> None:
    """Replace the model's ``metadata_props`` and save it as one self-contained file."""
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    model.producer_name = "veilleur.training"
    onnx.save(model, str(path))


def write_sidecar(path: Path, metadata: dict[str, str]) -> Path:
    """``MODEL.onnx.json``: the metadata (JSON fields decoded) plus the file's ``sha256``."""
    sidecar: dict[str, Any] = {
        k: json.loads(v) if k in JSON_FIELDS else v for k, v in metadata.items()
    }
    sidecar["sha256"] = file_sha256(path)
    out = path.with_name(path.name + ".json")
    out.write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return out
