"""Stage ``export``: checkpoint → contract-v1 ONNX + sidecar + torch/ORT parity report.

Usage::

    python -m veilleur.training.stages.export --params params.yaml --ckpt models/detector.ckpt \
        --out models/detector.onnx --data data/processed --mlflow-uri sqlite:///mlflow.db

Writes ``OUT``, ``OUT.json`` (sidecar with ``sha256``) and ``export_report.json`` next to
``OUT``; logs the three to the training run in MLflow. Exits 1 when the parity check fails.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from veilleur.runtime.offline import air_gap

log = logging.getLogger("veilleur.training.stages.export")


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
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    air_gap()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(argv)

    from veilleur.data.provenance import read_dataset_version
    from veilleur.runtime.config import load_params_section
    from veilleur.training.config import ExportParams
    from veilleur.training.export_onnx import (
        contract_metadata,
        export_onnx,
        load_checkpoint,
        write_metadata,
        write_sidecar,
    )
    from veilleur.training.parity import load_val_frames, parity_report

    for name in ("torch.onnx", "onnxscript", "onnx_ir", "alembic", "mlflow"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")

    params = load_params_section(args.params, "export", ExportParams)
    loaded = load_checkpoint(args.ckpt)
    data_version = read_dataset_version(args.data)
    trained_on = loaded.provenance.get("dataset_version")
    if trained_on and trained_on != data_version:
        log.warning("checkpoint trained on dataset %s, --data is %s", trained_on, data_version)

    exporter = export_onnx(loaded.wrapper, args.out, params.opset, params.exporter)
    metadata = contract_metadata(loaded.classes, loaded.input_size, loaded.provenance, params.opset)
    write_metadata(args.out, metadata)
    sidecar = write_sidecar(args.out, metadata)

    frames = load_val_frames(args.data, params.parity_images)
    report = parity_report(
        loaded.wrapper, args.out, frames, params.parity_confidence, params.parity_nms_iou
    )
    report |= {
        "exporter": exporter,
        "opset": params.opset,
        "tolerance": params.parity_tolerance,
        "passed": report["max_abs_diff"] <= params.parity_tolerance,
        "onnx": str(args.out),
        "sha256": json.loads(sidecar.read_text(encoding="utf-8"))["sha256"],
    }
    report_path = args.report or args.out.with_name("export_report.json")
    report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    run_id = loaded.provenance.get("mlflow_run_id")
    if not args.no_mlflow and run_id:
        _log_to_mlflow(args.mlflow_uri, run_id, [args.out, sidecar, report_path], report)
    if not report["passed"]:
        log.error(
            "parity check failed: max |torch - onnxruntime| = %.3g > %.3g (see %s)",
            report["max_abs_diff"],
            params.parity_tolerance,
            report_path,
        )
        return 1
    log.info("exported %s (%s exporter, sha256 %s)", args.out, exporter, report["sha256"][:12])
    return 0


def _log_to_mlflow(uri: str, run_id: str, files: list[Path], report: dict[str, object]) -> None:
    import mlflow

    from veilleur.training.tracking import log_artifacts

    client = mlflow.MlflowClient(tracking_uri=uri)
    for key in ("max_abs_diff", "agreement"):
        value = report[key]
        assert isinstance(value, float | int)
        client.log_metric(run_id, f"export/{key}", float(value))
    for key in ("exporter", "opset", "sha256"):
        client.set_tag(run_id, f"export.{key}", str(report[key]))
    log_artifacts(uri, run_id, files)
    log.info("logged the ONNX model and export report to MLflow run %s", run_id)


if __name__ == "__main__":
    sys.exit(main())
