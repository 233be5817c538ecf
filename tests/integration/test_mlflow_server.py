"""The team setup: a real ``mlflow server`` (SQLite backend, proxied local artefact store),
with the train and export stages run against its HTTP URI, and the registry used through it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from rect_dataset import make_rect_dataset

from veilleur.training.config import TrainParams
from veilleur.training.stages import export as export_stage
from veilleur.training.stages import models as models_stage
from veilleur.training.stages import train as train_stage

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``mlflow server`` on 127.0.0.1:<free port>; yields (URI, artefact destination)."""
    root = tmp_path_factory.mktemp("mlflow-server")
    artifacts = root / "artifacts"
    port = _free_port()
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            str(BIN / "mlflow"), "server",
            "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination", artifacts.as_uri(),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ],
        stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "mlflow server did not start: " + (root / "server.log").read_text()[-2000:]
                )
            time.sleep(0.5)
        yield uri, artifacts
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.req("EX-051", "EX-085", "EX-131", "EX-134")
def test_train_export_and_registry_against_a_real_mlflow_server(
    mlflow_server: tuple[str, Path], tmp_path: Path
) -> None:
    import mlflow

    from veilleur.evaluation.mlflow_log import log_report

    uri, artifacts = mlflow_server
    data = make_rect_dataset(tmp_path / "data", n_train=12, n_val=4)
    (tmp_path / "params.yaml").write_text(
        "train:\n  input_size: [64, 96]\n  epochs: 2\n  batch_size: 4\n  limit_train_batches: 2\n"
        "  limit_val_batches: 1\n  num_workers: 0\n  missing_classes: warn\n"
        "export:\n  parity_images: 2\n  int8_calibration_images: 2\n  int8_eval_images: 4\n"
        "  int8_max_map50_drop: 1.0\n  int8_min_agreement: 0.0\n",
        encoding="utf-8",
    )
    models = tmp_path / "models"
    rc = train_stage.main(
        [
            "--params", str(tmp_path / "params.yaml"), "--data", str(data), "--out", str(models),
            "--mlflow-uri", uri, "--artifacts", str(tmp_path / "unused"),
            "--experiment", "team-detector",
        ]
    )  # fmt: skip
    assert rc == 0
    rc = export_stage.main(
        [
            "--params", str(tmp_path / "params.yaml"), "--ckpt", str(models / "detector.ckpt"),
            "--out", str(models / "detector.onnx"), "--data", str(data), "--mlflow-uri", uri,
            "--model-card", str(tmp_path / "model_card.md"),
        ]
    )  # fmt: skip
    assert rc == 0

    summary = json.loads((models / "train_summary.json").read_text())
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.get_run(summary["mlflow_run_id"])
    # Params: the full resolved config, the dataset version, the git commit.
    resolved = TrainParams.model_validate(summary["params"]).model_dump(mode="json")
    for key, value in resolved.items():
        assert run.data.params[key] == json.dumps(value), key
    manifest = json.loads((data / "manifest.json").read_text())
    assert run.data.params["dataset_version"] == manifest["dataset_version"]
    assert run.data.tags["git_commit"] == summary["git_commit"] != ""
    # Per-epoch metrics.
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")] == [0, 1]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val/loss")] == [0, 1]
    # Artefacts, stored by the server (proxied), not on the client's disk.
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"detector.ckpt", "detector.onnx", "detector.int8.onnx", "model_card.md"} <= names
    stored = {p.name for p in artifacts.rglob("*") if p.is_file()}
    assert {"detector.ckpt", "detector.onnx", "model_card.md"} <= stored
    assert not (tmp_path / "unused").exists() and not (tmp_path / "mlruns").exists()
    # Registry through the server: candidate → validated (gates passed) → deployed.
    name = "veilleur-detector"
    version = str(client.get_model_version_by_alias(name, "candidate").version)
    sidecar = json.loads((models / "detector.onnx.json").read_text())
    assert client.get_model_version(name, version).tags["sha256"] == sidecar["sha256"]
    base = ["--mlflow-uri", uri, "promote", "--name", name, "--version", version]
    assert models_stage.main([*base, "--alias", "validated", "--reason", "r"]) == 2
    metrics = {"bias": {"passed": True}, "model": {"sha256": sidecar["sha256"]}}
    (tmp_path / "validation").mkdir()
    (tmp_path / "validation/metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    log_report(uri, run.info.run_id, tmp_path / "validation", metrics)
    assert models_stage.main([*base, "--alias", "validated", "--reason", "gates ok"]) == 0
    assert models_stage.main([*base, "--alias", "deployed", "--reason", "site A"]) == 0
    aliases = client.get_registered_model(name).aliases
    assert {a: str(v) for a, v in aliases.items()} == {
        "candidate": version, "validated": version, "deployed": version,
    }  # fmt: skip
