"""The crowd-density model: targets keep the count, a few steps learn, export has parity, and
the exported model is registered under its own task (``veilleur-density``)."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
import torch

from veilleur.runtime.core.taxonomy import CLASSES
from veilleur.training.config import TrainParams
from veilleur.training.density import (
    DensityNet,
    density_parity,
    density_target,
    export_density,
    fit_density,
    load_density,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


def test_target_mass_is_the_person_count() -> None:
    boxes = [torch.tensor([[0.0, 0.0, 16.0, 40.0], [60.0, 30.0, 80.0, 62.0], [5, 5, 20, 20]])]
    labels = [torch.tensor([0, 0, 1])]  # two people and a vehicle
    t = density_target(boxes, labels, (8, 12))
    assert t.shape == (1, 1, 8, 12)
    assert float(t.sum()) == pytest.approx(2.0, abs=1e-5) and float(t.min()) >= 0


def test_net_outputs_a_stride_8_non_negative_map() -> None:
    out = DensityNet(0.25, 0.33)(torch.rand(2, 3, 64, 96))
    assert out.shape == (2, 1, 8, 12) and float(out.min()) >= 0


@pytest.mark.slow
@pytest.mark.req("EX-051", "EX-131")
def test_density_trains_exports_with_parity_and_registers(
    rect_dataset: Path, tmp_path: Path
) -> None:
    import mlflow

    from veilleur.training.parity import load_val_frames
    from veilleur.training.registry import register_candidate, registered_name

    params = TrainParams(
        input_size=(64, 96), epochs=1, batch_size=4, limit_train_batches=3,
        limit_val_batches=1, num_workers=0, missing_classes="warn",
    )  # fmt: skip
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    exp = mlflow.create_experiment("density", artifact_location=(tmp_path / "art").as_uri())
    with mlflow.start_run(experiment_id=exp) as run:
        prov = {"mlflow_run_id": run.info.run_id, "dataset_version": "d", "git_commit": "c"}
        result = fit_density(params, rect_dataset, tmp_path / "density.ckpt", CLASSES, prov)
        assert {"train/loss", "val/count_mae"} <= set(result.metrics)
        wrapper, provenance = load_density(tmp_path / "density.ckpt")
        onnx_path = tmp_path / "density.onnx"
        meta = export_density(wrapper, onnx_path, 17, provenance)
        report = density_parity(wrapper, onnx_path, load_val_frames(rect_dataset, 3))
        assert report["max_abs_diff"] < 1e-4 and report["max_count_diff"] < 1e-3
        mlflow.log_artifact(str(onnx_path))
    props = {p.key: p.value for p in onnx.load(str(onnx_path)).metadata_props}
    assert props["veilleur_task"] == "density" and json.loads(props["input_size"]) == [64, 96]
    assert props["mlflow_run_id"] == run.info.run_id == meta["mlflow_run_id"]
    name = registered_name("density")
    version = register_candidate(uri, name, run.info.run_id, "density.onnx", {"task": "density"})
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert str(client.get_model_version_by_alias(name, "candidate").version) == version
    assert name == "veilleur-density"


@pytest.mark.slow
@pytest.mark.req("EX-051")
def test_density_through_the_train_and_export_stages(rect_dataset: Path, tmp_path: Path) -> None:
    import mlflow

    from veilleur.training.stages import export as export_stage
    from veilleur.training.stages import train as train_stage

    (tmp_path / "params.yaml").write_text(
        "density:\n  input_size: [64, 96]\n  epochs: 1\n  batch_size: 4\n"
        "  limit_train_batches: 2\n  limit_val_batches: 1\n  num_workers: 0\n"
        "export:\n  parity_images: 2\n  opset: 17\n",
        encoding="utf-8",
    )
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    common = ["--params", str(tmp_path / "params.yaml"), "--data", str(rect_dataset)]
    rc = train_stage.main(
        [*common, "--task", "density", "--out", str(tmp_path / "models"), "--mlflow-uri", uri,
         "--artifacts", str(tmp_path / "art")]
    )  # fmt: skip
    assert rc == 0 and (tmp_path / "models/density.ckpt").is_file()
    summary = json.loads((tmp_path / "models/density_train_summary.json").read_text())
    assert summary["task"] == "density" and summary["experiment"] == "veilleur-density"
    out = tmp_path / "models/density.onnx"
    rc = export_stage.main(
        [*common, "--task", "density", "--ckpt", str(tmp_path / "models/density.ckpt"),
         "--out", str(out), "--mlflow-uri", uri]
    )  # fmt: skip
    assert rc == 0
    report = json.loads((tmp_path / "models/density_export_report.json").read_text())
    assert report["passed"] and report["registered"]["name"] == "veilleur-density"
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    mv = client.get_model_version_by_alias("veilleur-density", "candidate")
    assert mv.run_id == summary["mlflow_run_id"] and mv.tags["task"] == "density"
    # A detector checkpoint is not a density one: clear refusal.
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"\x00" * 10)
    rc = export_stage.main(
        [*common, "--task", "density", "--ckpt", str(bad), "--out", str(tmp_path / "b.onnx")]
    )  # fmt: skip
    assert rc == 2
