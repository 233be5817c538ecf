"""Stage ``export``: checkpoint → contract-v1 ONNX + sidecar + torch/ORT parity report.

Usage::

    python -m veilleur.training.stages.export --params params.yaml --ckpt models/detector.ckpt \
        --out models/detector.onnx --data data/processed --mlflow-uri sqlite:///mlflow.db

Writes ``OUT``, ``OUT.json`` (sidecar with ``sha256``), ``OUT.int8.onnx`` (+ sidecar; static
QDQ quantisation, its cost measured on the validation split), ``export_report.json`` next to
``OUT`` and the French model card (``--model-card``); logs them to the training run in MLflow and,
when every gate passed, registers ``OUT`` as the task's ``candidate`` in the MLflow registry.
Exits 1 when a gate (parity, INT8 cost) fails — nothing is registered — and 2 on bad input
(corrupt checkpoint, class list that is not the taxonomy's or the data's, missing data).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from veilleur.runtime.offline import air_gap

if TYPE_CHECKING:
    from veilleur.training.config import ExportParams
    from veilleur.training.datamodule import ImageRecord
    from veilleur.training.export_onnx import LoadedCheckpoint

log = logging.getLogger("veilleur.training.stages.export")

EXIT_BAD_INPUT = 2


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="veilleur export", description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=None, help="params.yaml (section export)")
    parser.add_argument("--ckpt", type=Path, default=Path("models/detector.ckpt"))
    parser.add_argument("--out", type=Path, default=Path("models/detector.onnx"), help="ONNX")
    parser.add_argument(
        "--data", type=Path, default=Path("data/processed"), help="val images for parity"
    )
    parser.add_argument(
        "--report", type=Path, default=None, help="default: export_report.json beside --out"
    )
    parser.add_argument("--mlflow-uri", default="sqlite:///mlflow.db", help="tracking store")
    parser.add_argument(
        "--no-mlflow", action="store_true", help="do not log to the training run in MLflow"
    )
    parser.add_argument(
        "--train-summary", type=Path, default=None, help="default: train_summary.json of --ckpt"
    )
    parser.add_argument(
        "--model-card",
        type=Path,
        default=None,
        help="French model card to generate (default: model_card.md beside --out; "
        "the pipeline writes reports/models/model_card.md)",
    )
    parser.add_argument("--task", default="detector", choices=("detector", "density"))
    parser.add_argument(
        "--registered-name", default=None, help="registry name (default: veilleur-TASK)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    air_gap()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(argv)

    from veilleur.runtime.config import load_params_section
    from veilleur.training.config import ExportParams

    for name in ("torch.onnx", "onnxscript", "onnx_ir", "alembic", "mlflow"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")

    params = load_params_section(args.params, "export", ExportParams)
    try:
        if args.task == "density":
            return _export_density(args, params)
        return _export(args, params)
    except ExportInputError as exc:
        log.error("export refused: %s", exc)
        return EXIT_BAD_INPUT


class ExportInputError(ValueError):
    """Bad input to the export stage (checkpoint, class list, data): nothing is written."""


def _check_classes(classes: tuple[str, ...], data: Path) -> None:
    """The checkpoint's classes must be the taxonomy's and the data's, in the same order."""
    from veilleur.runtime.core.taxonomy import CLASSES

    if list(classes) != list(CLASSES):
        raise ExportInputError(
            f"the checkpoint's class list {list(classes)} differs from the runtime taxonomy "
            f"{list(CLASSES)}: a contract-v1 model must output the taxonomy's classes in order; "
            "retrain with the current taxonomy"
        )
    ann = data / "val" / "annotations.json"
    if ann.is_file():
        cats = json.loads(ann.read_text(encoding="utf-8")).get("categories", [])
        names = [str(c["name"]) for c in sorted(cats, key=lambda c: int(c["id"]))]
        if names and names != list(classes):
            raise ExportInputError(
                f"{ann}: categories {names} differ from the checkpoint's classes "
                f"{list(classes)}; re-run the prepare stage or export against the right data"
            )


def _export(args: argparse.Namespace, params: ExportParams) -> int:
    from veilleur.data.provenance import read_dataset_version
    from veilleur.training.datamodule import load_coco_split
    from veilleur.training.export_onnx import (
        CheckpointError,
        contract_metadata,
        export_onnx,
        load_checkpoint,
        write_metadata,
        write_sidecar,
    )
    from veilleur.training.parity import load_val_frames, parity_report

    try:
        loaded = load_checkpoint(args.ckpt)
    except CheckpointError as exc:
        raise ExportInputError(str(exc)) from None
    _check_classes(loaded.classes, args.data)
    try:
        data_version = read_dataset_version(args.data)
        frames = load_val_frames(args.data, params.parity_images)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise ExportInputError(f"{args.data}: {exc}") from None
    trained_on = loaded.provenance.get("dataset_version")
    if trained_on and trained_on != data_version:
        log.warning("checkpoint trained on dataset %s, --data is %s", trained_on, data_version)

    exporter = export_onnx(loaded.wrapper, args.out, params.opset, params.exporter)
    metadata = contract_metadata(loaded.classes, loaded.input_size, loaded.provenance, params.opset)
    write_metadata(args.out, metadata)
    sidecar = write_sidecar(args.out, metadata)

    report = parity_report(
        loaded.wrapper, args.out, frames, params.parity_confidence, params.parity_nms_iou
    )
    report |= {
        "exporter": exporter,
        "opset": params.opset,
        "tolerance": params.parity_tolerance,
        "parity_passed": report["max_abs_diff"] <= params.parity_tolerance,
        "onnx": str(args.out),
        "sha256": json.loads(sidecar.read_text(encoding="utf-8"))["sha256"],
    }
    files = [args.out, sidecar]
    variants: list[tuple[str, Path]] = []
    val_records = load_coco_split(args.data / "val", loaded.classes)
    if not report["parity_passed"]:
        log.warning("parity failed: INT8/FP16 variants not produced")
    elif params.int8:
        int8_path, int8_sidecar, section = _int8(args, params, loaded, metadata, val_records)
        report["int8"] = section
        files += [int8_path, int8_sidecar]
        variants.append(("int8", int8_path))
    if params.fp16 and report["parity_passed"]:
        fp16_path, fp16_sidecar, section = _fp16(args, params, loaded, metadata, val_records)
        report["fp16"] = section
        files += [fp16_path, fp16_sidecar]
        variants.append(("fp16", fp16_path))
    report["passed"] = bool(report["parity_passed"]) and all(
        bool(report[k].get("passed", True)) for k, _ in variants
    )
    report_path = args.report or args.out.with_name("export_report.json")
    report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    from veilleur.training.model_card import write_card

    card = None
    summary = args.train_summary or args.ckpt.with_name("train_summary.json")
    if summary.is_file():
        card_path = args.model_card or args.out.with_name("model_card.md")
        card = write_card(summary, report_path, sidecar, card_path)
        log.info("model card: %s", card)
    else:
        log.warning("no %s: model card not written", summary)

    run_id = loaded.provenance.get("mlflow_run_id")
    if not args.no_mlflow and run_id:
        logged = [*files, report_path, *([card] if card else [])]
        _log_to_mlflow(
            args.mlflow_uri, run_id, logged if report["passed"] else [report_path], report
        )
        if report["passed"] and params.register_model:
            _register(args, run_id, report, metadata, sidecar)
            report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if not report["parity_passed"]:
        log.error(
            "parity check failed: max |torch - onnxruntime| = %.3g > %.3g (see %s)",
            report["max_abs_diff"],
            params.parity_tolerance,
            report_path,
        )
    for key, _ in variants:
        if not report[key]["passed"]:
            log.error("%s gate failed: %s (see %s)", key, report[key]["failures"], report_path)
    if not report["passed"]:
        log.error("export failed its gates: not registered")
        return 1
    log.info("exported %s (%s exporter, sha256 %s)", args.out, exporter, report["sha256"][:12])
    return 0


def _export_density(args: argparse.Namespace, params: ExportParams) -> int:
    """The crowd-density model: ONNX + sidecar + torch/ORT parity, then the registry."""
    from veilleur.training.density import density_parity, export_density, load_density
    from veilleur.training.export_onnx import write_sidecar
    from veilleur.training.parity import load_val_frames

    try:
        wrapper, provenance = load_density(args.ckpt)
        frames = load_val_frames(args.data, params.parity_images)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise ExportInputError(str(exc)) from None
    metadata = export_density(wrapper, args.out, params.opset, provenance)
    sidecar = write_sidecar(args.out, metadata)
    report: dict[str, Any] = dict(density_parity(wrapper, args.out, frames))
    report |= {
        "task": "density",
        "exporter": "legacy",
        "opset": params.opset,
        "tolerance": params.parity_tolerance,
        "onnx": str(args.out),
        "sha256": json.loads(sidecar.read_text(encoding="utf-8"))["sha256"],
        "agreement": 1.0 - min(1.0, report["max_count_diff"]),
    }
    report["parity_passed"] = report["passed"] = report["max_abs_diff"] <= params.parity_tolerance
    report_path = args.report or args.out.with_name("density_export_report.json")
    report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    run_id = provenance.get("mlflow_run_id")
    if not args.no_mlflow and run_id:
        files = [args.out, sidecar, report_path] if report["passed"] else [report_path]
        _log_to_mlflow(args.mlflow_uri, run_id, files, report)
        if report["passed"] and params.register_model:
            _register(args, run_id, report, metadata, sidecar)
            report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if not report["passed"]:
        log.error("density parity failed: max |diff| %.3g", report["max_abs_diff"])
        return 1
    log.info("exported the density model %s (sha256 %s)", args.out, report["sha256"][:12])
    return 0


def _variant_section(
    kind: str,
    args: argparse.Namespace,
    params: ExportParams,
    loaded: LoadedCheckpoint,
    path: Path,
    records: list[ImageRecord],
) -> dict[str, Any]:
    from veilleur.training.quantize import compare_variant

    picks = _spread(records, params.int8_eval_images)
    section = compare_variant(
        args.out, path, picks, loaded.input_size, params.parity_confidence, params.parity_nms_iou
    )
    failures = []
    if section["map50_delta"] < -params.int8_max_map50_drop:
        failures.append(
            f"mAP@0.5 {section['map50']:.4f} vs FP32 {section['map50_fp32']:.4f} "
            f"(drop > {params.int8_max_map50_drop})"
        )
    if section["agreement"] < params.int8_min_agreement:
        failures.append(
            f"detection agreement {section['agreement']:.3f} < {params.int8_min_agreement}"
        )
    section |= {
        "onnx": str(path),
        "max_map50_drop": params.int8_max_map50_drop,
        "min_agreement": params.int8_min_agreement,
        "failures": failures,
        "passed": not failures,
    }
    log.info(
        "%s vs FP32 on %d val images: mAP@0.5 %.4f -> %.4f (%+.4f), agreement %.3f, "
        "max |diff| %.3g, %d -> %d bytes",
        kind,
        section["n_images"],
        section["map50_fp32"],
        section["map50"],
        section["map50_delta"],
        section["agreement"],
        section["max_abs_diff"],
        section["size_bytes_fp32"],
        section["size_bytes"],
    )
    return section


def _spread(records: list[ImageRecord], count: int) -> list[ImageRecord]:
    if len(records) <= count:
        return records
    picks = np.linspace(0, len(records) - 1, num=count).round().astype(int)
    return [records[i] for i in sorted(set(picks.tolist()))]


def _int8(
    args: argparse.Namespace,
    params: ExportParams,
    loaded: LoadedCheckpoint,
    metadata: dict[str, str],
    records: list[ImageRecord],
) -> tuple[Path, Path, dict[str, Any]]:
    from veilleur.training.export_onnx import write_sidecar
    from veilleur.training.parity import load_val_frames
    from veilleur.training.quantize import INT8_OPS, quantize_int8

    path = args.out.with_name(args.out.stem + ".int8.onnx")
    calibration = load_val_frames(args.data, params.int8_calibration_images)
    quantize_int8(
        args.out,
        path,
        calibration,
        loaded.input_size,
        params.int8_per_channel,
        params.int8_calibration,
    )
    sidecar = write_sidecar(path, {**metadata, "precision": "int8"})
    section = _variant_section("int8", args, params, loaded, path, records)
    section |= {
        "per_channel": params.int8_per_channel,
        "format": "QDQ",
        "quantized_ops": list(INT8_OPS),
        "calibration": params.int8_calibration,
        "n_calibration": len(calibration),
        "sha256": json.loads(sidecar.read_text(encoding="utf-8"))["sha256"],
    }
    return path, sidecar, section


def _fp16(
    args: argparse.Namespace,
    params: ExportParams,
    loaded: LoadedCheckpoint,
    metadata: dict[str, str],
    records: list[ImageRecord],
) -> tuple[Path, Path, dict[str, Any]]:
    from veilleur.training.export_onnx import write_sidecar
    from veilleur.training.quantize import convert_fp16

    path = args.out.with_name(args.out.stem + ".fp16.onnx")
    convert_fp16(args.out, path)
    sidecar = write_sidecar(path, {**metadata, "precision": "fp16"})
    section = _variant_section("fp16", args, params, loaded, path, records)
    section["sha256"] = json.loads(sidecar.read_text(encoding="utf-8"))["sha256"]
    return path, sidecar, section


def _register(
    args: argparse.Namespace,
    run_id: str,
    report: dict[str, Any],
    metadata: dict[str, str],
    sidecar: Path,
) -> None:
    """Register the ONNX file as the task's ``candidate`` once it is verified on disk."""
    from veilleur.runtime.detect.onnx import file_sha256
    from veilleur.training.registry import register_candidate

    actual = file_sha256(args.out)
    recorded = json.loads(sidecar.read_text(encoding="utf-8"))["sha256"]
    if actual != recorded or actual != report["sha256"]:
        raise ExportInputError(
            f"{args.out}: SHA-256 {actual} differs from its sidecar {recorded}; not registered"
        )
    tags = {
        "task": args.task,
        "sha256": actual,
        "dataset_version": metadata["dataset_version"],
        "git_commit": metadata["git_commit"],
        "veilleur_contract": metadata.get("veilleur_contract", metadata.get("veilleur_task", "")),
        "opset": metadata["opset"],
        "parity_max_abs_diff": str(report["max_abs_diff"]),
    }
    if "int8" in report:
        tags |= {"int8_sha256": report["int8"]["sha256"]}
        tags |= {"int8_map50_delta": str(report["int8"]["map50_delta"])}
    from veilleur.training.registry import registered_name

    name = args.registered_name or registered_name(args.task)
    version = register_candidate(args.mlflow_uri, name, run_id, args.out.name, tags)
    report["registered"] = {"name": name, "version": version, "alias": "candidate"}
    log.info("registered %s version %s as 'candidate'", name, version)


def _log_to_mlflow(uri: str, run_id: str, files: list[Path], report: dict[str, object]) -> None:
    import mlflow

    from veilleur.training.tracking import log_artifacts

    client = mlflow.MlflowClient(tracking_uri=uri)
    for key in ("max_abs_diff", "agreement"):
        value = report[key]
        assert isinstance(value, float | int)
        client.log_metric(run_id, f"export/{key}", float(value))
    for variant in ("int8", "fp16"):
        section = report.get(variant)
        if isinstance(section, dict):
            for key in ("max_abs_diff", "agreement", "map50", "map50_fp32", "map50_delta"):
                client.log_metric(run_id, f"export/{variant}_{key}", float(section[key]))
    client.set_tag(run_id, "export.passed", str(bool(report["passed"])).lower())
    for key in ("exporter", "opset", "sha256"):
        client.set_tag(run_id, f"export.{key}", str(report[key]))
    log_artifacts(uri, run_id, files)
    log.info("logged the ONNX model and export report to MLflow run %s", run_id)


if __name__ == "__main__":
    sys.exit(main())
