"""Resuming an interrupted training (``veilleur train --resume``) and initial weights.

An uninterrupted 2-epoch run and a run stopped after epoch 1 then resumed for epoch 2 end with
the same weights, bit for bit, on CPU with ``deterministic: true`` and ``num_workers: 0``
(optimiser, LR schedule, loop counters, and the torch / numpy / python / augmentation random
streams are all in ``*.last.ckpt``).
"""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch

from veilleur.runtime.core.taxonomy import CLASSES
from veilleur.training.config import TrainParams
from veilleur.training.fit import (
    TrainingInputError,
    check_resume,
    fit,
    last_checkpoint_path,
    load_initial_weights,
)
from veilleur.training.module import DetectorModule

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*"),  # lightning's own pytree use
]

PARAMS = TrainParams(
    input_size=(64, 96),
    epochs=2,
    batch_size=2,
    limit_train_batches=2,
    limit_val_batches=1,
    num_workers=0,
    val_map=False,
    missing_classes="warn",
    augment=("hflip", "brightness_contrast", "noise", "affine"),
)


class StopAfterFirstEpoch(L.Callback):
    """An interruption after epoch 1 (what a killed job leaves: the epoch's last.ckpt)."""

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.should_stop = True


def _weights(path: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = torch.load(path, map_location="cpu", weights_only=True)[
        "state_dict"
    ]
    return state


@pytest.mark.slow
@pytest.mark.req("EX-051")
def test_resume_gives_the_weights_of_an_uninterrupted_run(
    rect_dataset: Path, tmp_path: Path
) -> None:
    straight = fit(PARAMS, rect_dataset, tmp_path / "a/detector.ckpt", CLASSES, {})
    cut = fit(
        PARAMS, rect_dataset, tmp_path / "b/detector.ckpt", CLASSES, {}, [StopAfterFirstEpoch()]
    )
    assert (straight.epochs_done, cut.epochs_done) == (2, 1)
    last = last_checkpoint_path(tmp_path / "b/detector.ckpt")
    assert last == tmp_path / "b/detector.last.ckpt" and cut.last_checkpoint == last
    point = check_resume(last, PARAMS, CLASSES)
    assert point.epochs_done == 1

    resumed = fit(PARAMS, rect_dataset, tmp_path / "c/detector.ckpt", CLASSES, {}, resume=last)
    assert resumed.epochs_done == straight.epochs_done == 2
    a, c = _weights(tmp_path / "a/detector.ckpt"), _weights(tmp_path / "c/detector.ckpt")
    assert a.keys() == c.keys()
    diff = max(float((a[k].float() - c[k].float()).abs().max()) for k in a)
    assert diff == 0.0, f"max |Δw| = {diff}"
    full_a = torch.load(tmp_path / "a/detector.last.ckpt", map_location="cpu", weights_only=True)
    full_c = torch.load(tmp_path / "c/detector.last.ckpt", map_location="cpu", weights_only=True)
    assert full_a["global_step"] == full_c["global_step"] == 4
    assert full_a["epoch"] == full_c["epoch"] == 2

    # A finished run cannot be "resumed": the message says to raise train.epochs.
    with pytest.raises(TrainingInputError, match=r"augmentez `train\.epochs`"):
        check_resume(tmp_path / "a/detector.last.ckpt", PARAMS, CLASSES)
    # The weights-only export checkpoint is refused with the way out.
    with pytest.raises(TrainingInputError, match="ne contient que les poids"):
        check_resume(tmp_path / "a/detector.ckpt", PARAMS, CLASSES)
    # Another architecture is refused before any run.
    with pytest.raises(TrainingInputError, match=r"architecture différente.*input_size"):
        check_resume(last, PARAMS.model_copy(update={"input_size": (96, 128)}), CLASSES)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a checkpoint", "illisible ou corrompu"),
        (None, "introuvable"),
    ],
)
def test_corrupt_or_missing_resume_point_is_refused(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "detector.last.ckpt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TrainingInputError, match=message):
        check_resume(path, PARAMS, CLASSES)


def test_init_weights_loads_matching_tensors_and_reports_the_rest(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = DetectorModule(PARAMS.model_dump(mode="json"), list(CLASSES[:3]))
    backbone = {f"backbone.{k}": v for k, v in source.net.backbone.state_dict().items()}
    path = tmp_path / "backbone.pt"
    torch.save({**backbone, "extra.weight": torch.zeros(2)}, path)

    torch.manual_seed(1)
    target = DetectorModule(PARAMS.model_dump(mode="json"), list(CLASSES))
    before = {k: v.clone() for k, v in target.net.state_dict().items()}
    report = load_initial_weights(target.net, path)
    after = target.net.state_dict()
    assert report.matched == len(backbone) > 0
    assert report.unexpected == ["extra.weight"] and report.shape_mismatch == []
    assert len(report.missing) == len(after) - len(backbone)
    for key, value in backbone.items():
        assert torch.equal(after[key], value)
    head = [k for k in after if k.startswith("heads.") and after[k].is_floating_point()]
    assert head and all(torch.equal(after[k], before[k]) for k in head)

    # A Lightning checkpoint of another class count: the head's class layer has another shape.
    ckpt = tmp_path / "other.ckpt"
    torch.save({"state_dict": {f"net.{k}": v for k, v in source.net.state_dict().items()}}, ckpt)
    report = load_initial_weights(target.net, ckpt)
    assert report.shape_mismatch and report.matched == len(after) - len(report.shape_mismatch)
    assert json.dumps(report.as_dict())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "introuvable.*rien n'est téléchargé"),
        (b"garbage", "poids initiaux illisibles"),
        ({"conv.weight": torch.zeros(3)}, "aucun tenseur ne correspond"),
    ],
)
def test_bad_init_weights_are_refused(
    tmp_path: Path, content: bytes | dict[str, torch.Tensor] | None, message: str
) -> None:
    path = tmp_path / "init.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    net = DetectorModule(PARAMS.model_dump(mode="json"), list(CLASSES)).net
    with pytest.raises(TrainingInputError, match=message):
        load_initial_weights(net, path)


@pytest.mark.slow
@pytest.mark.req("EX-051")
def test_train_stage_resumes_into_a_child_mlflow_run(
    rect_dataset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import mlflow

    from veilleur.training.stages import train as train_stage

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    models = tmp_path / "models"

    def run(epochs: int, *extra: str) -> int:
        (tmp_path / "params.yaml").write_text(
            f"train:\n  input_size: [64, 96]\n  epochs: {epochs}\n  batch_size: 2\n"
            "  limit_train_batches: 2\n  limit_val_batches: 1\n  num_workers: 0\n"
            "  val_map: false\n  missing_classes: warn\n",
            encoding="utf-8",
        )
        return train_stage.main(
            ["--params", str(tmp_path / "params.yaml"), "--data", str(rect_dataset),
             "--out", str(models), "--mlflow-uri", uri, "--artifacts", str(tmp_path / "art"),
             "--experiment", "test-resume", *extra]
        )  # fmt: skip

    assert run(1) == 0
    first = json.loads((models / "train_summary.json").read_text())
    assert first["epochs_done"] == 1 and first["last_checkpoint"].endswith("detector.last.ckpt")

    # A corrupt resume point: refused before any MLflow run or model file.
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("test-resume")
    assert experiment is not None
    n_runs = len(client.search_runs([experiment.experiment_id]))
    good = (models / "detector.last.ckpt").read_bytes()
    corrupt = tmp_path / "corrupt.last.ckpt"
    corrupt.write_bytes(good[: len(good) // 3])
    (models / "detector.ckpt").unlink()
    assert run(2, "--resume", str(corrupt)) == 2
    assert "point de reprise illisible ou corrompu" in caplog.text and "corrupt.last" in caplog.text
    assert len(client.search_runs([experiment.experiment_id])) == n_runs
    assert not (models / "detector.ckpt").exists()

    assert run(2, "--resume", str(models / "detector.last.ckpt")) == 0
    second = json.loads((models / "train_summary.json").read_text())
    assert second["epochs_done"] == 2 and second["parent_run_id"] == first["mlflow_run_id"]
    tags = client.get_run(second["mlflow_run_id"]).data.tags
    assert tags["mlflow.parentRunId"] == first["mlflow_run_id"]
    assert tags["veilleur.resumed_after_epochs"] == "1"
    assert second["mlflow_run_id"] != first["mlflow_run_id"]
