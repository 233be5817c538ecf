"""The train and export stages end to end on a tiny dataset, offline, with a local MLflow."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest

from veilleur.runtime.core.taxonomy import CLASSES
from veilleur.training.stages import export as export_stage
from veilleur.training.stages import train as train_stage

pytestmark = [
    pytest.mark.slow,
    # MLflow's own SQLAlchemy store uses a deprecated loader strategy: not ours to fix.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow.*"),
]


@dataclass(frozen=True)
class TrainedRun:
    root: Path
    data: Path
    models: Path
    uri: str
    summary: dict[str, object]


@pytest.fixture(scope="module")
def trained(rect_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainedRun:
    root = tmp_path_factory.mktemp("stage")
    (root / "params.yaml").write_text(
        "train:\n  input_size: [96, 128]\n  epochs: 2\n  batch_size: 4\n"
        "  limit_train_batches: 2\n  limit_val_batches: 1\n  num_workers: 0\n"
        "  missing_classes: warn\n"
        "export:\n  parity_images: 4\n  int8: false\n",
        encoding="utf-8",
    )
    uri = f"sqlite:///{root / 'mlflow.db'}"
    rc = train_stage.main(
        [
            "--params", str(root / "params.yaml"),
            "--data", str(rect_dataset),
            "--out", str(root / "models"),
            "--mlflow-uri", uri,
            "--artifacts", str(root / "mlartifacts"),
            "--experiment", "test-detector",
        ]
    )  # fmt: skip
    assert rc == 0
    summary = json.loads((root / "models/train_summary.json").read_text())
    return TrainedRun(root, rect_dataset, root / "models", uri, summary)


@pytest.mark.req("EX-051")
def test_train_stage_tracks_the_run_in_local_mlflow(trained: TrainedRun) -> None:
    import mlflow

    assert (trained.models / "detector.ckpt").is_file()
    manifest = json.loads((trained.data / "manifest.json").read_text())
    run = mlflow.MlflowClient(tracking_uri=trained.uri).get_run(
        str(trained.summary["mlflow_run_id"])
    )
    assert run.info.status == "FINISHED"
    assert run.data.params["dataset_version"] == manifest["dataset_version"]
    assert run.data.params["input_size"] == "[96, 128]"
    assert run.data.params["epochs"] == "2"
    assert "git_commit" in run.data.params
    for key in ("train/loss", "val/loss", "val/map50", "lr"):
        assert key in run.data.metrics
    history = mlflow.MlflowClient(tracking_uri=trained.uri).get_metric_history(
        run.info.run_id, "train/loss"
    )
    assert [m.step for m in history] == [0, 1]
    artifacts = run.info.artifact_uri
    assert artifacts.startswith((trained.root / "mlartifacts").as_uri())
    assert (trained.root / "mlartifacts" / run.info.run_id / "artifacts/detector.ckpt").is_file()
    assert not (trained.root / "mlruns").exists()


@pytest.mark.req("EX-047", "EX-051")
def test_export_stage_writes_a_contract_model_with_parity(trained: TrainedRun) -> None:
    onnx_path = trained.models / "detector.onnx"
    rc = export_stage.main(
        [
            "--params", str(trained.root / "params.yaml"),
            "--ckpt", str(trained.models / "detector.ckpt"),
            "--out", str(onnx_path),
            "--data", str(trained.data),
            "--mlflow-uri", trained.uri,
        ]
    )  # fmt: skip
    assert rc == 0
    report = json.loads((trained.models / "export_report.json").read_text())
    assert report["max_abs_diff"] < 1e-4
    assert report["n_images"] == 4 and report["exporter"] in ("dynamo", "legacy")

    meta = {p.key: p.value for p in onnx.load(str(onnx_path)).metadata_props}
    assert json.loads(meta["classes"]) == list(CLASSES)
    assert meta["veilleur_contract"] == "1"
    assert json.loads(meta["input_size"]) == [96, 128]
    assert meta["mlflow_run_id"] == trained.summary["mlflow_run_id"]
    assert int(meta["opset"]) >= 17
    sidecar = json.loads((trained.models / "detector.onnx.json").read_text())
    assert sidecar["classes"] == list(CLASSES) and len(sidecar["sha256"]) == 64

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=trained.uri)
    run_id = str(trained.summary["mlflow_run_id"])
    names = {a.path for a in client.list_artifacts(run_id)}
    assert {"detector.onnx", "detector.onnx.json", "export_report.json"} <= names
    assert "export/max_abs_diff" in client.get_run(run_id).data.metrics

    # The runtime loads it (SHA-256 checked against the sidecar) and batches frames.
    from veilleur.runtime.detect.onnx import OnnxDetector

    detector = OnnxDetector(onnx_path, confidence=0.01)
    assert detector.info.adapter == "veilleur" and detector.info.classes == CLASSES
    frames = [np.full((144, 176, 3), 80, np.uint8)] * 3
    assert len(detector.detect_batch(frames)) == 3


def test_export_fails_when_parity_is_out_of_tolerance(trained: TrainedRun) -> None:
    params = trained.root / "strict.yaml"
    params.write_text(
        "export:\n  exporter: legacy\n  opset: 17\n  parity_images: 2\n"
        "  parity_tolerance: 1.0e-12\n"
    )
    rc = export_stage.main(
        [
            "--params", str(params),
            "--ckpt", str(trained.models / "detector.ckpt"),
            "--out", str(trained.root / "strict/detector.onnx"),
            "--data", str(trained.data),
            "--no-mlflow",
        ]
    )  # fmt: skip
    report = json.loads((trained.root / "strict/export_report.json").read_text())
    assert rc == 1 and report["passed"] is False
