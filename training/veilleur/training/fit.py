"""The training run itself: seeded Lightning ``Trainer`` + checkpoint, no file-path policy."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch

from veilleur.training.config import TrainParams
from veilleur.training.datamodule import DetectionDataModule, load_coco_split
from veilleur.training.module import DetectorModule

log = logging.getLogger(__name__)


class TrainingInputError(ValueError):
    """Bad input to training (data, parameters): the message says what and how to fix it."""


def make_trainer(
    params: TrainParams, root: Path, callbacks: list[L.Callback] | None = None
) -> L.Trainer:
    """The Lightning trainer of every model of the stage (detector, density): one device,
    ``accelerator="auto"`` (a GPU when present), the stage's precision, determinism and limits;
    checkpoints and logs are the stage's own (MLflow), not Lightning's."""
    return L.Trainer(
        accelerator="auto",
        devices=1,
        max_epochs=params.epochs,
        precision=params.precision,
        deterministic="warn" if params.deterministic else False,
        limit_train_batches=params.limit_train_batches,
        limit_val_batches=params.limit_val_batches,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=root,
        callbacks=callbacks or [],
    )


def check_data(data_dir: Path, classes: tuple[str, ...], missing: str = "error") -> dict[str, int]:
    """Check the prepared dataset before any run starts; returns train boxes per class.

    Raises:
        TrainingInputError: a missing split, an empty train or val split, or (``missing`` =
            ``"error"``) a taxonomy class with no box in the train split.
    """
    counts: dict[str, int] = {}
    for split in ("train", "val"):
        ann = data_dir / split / "annotations.json"
        if not ann.is_file():
            raise TrainingInputError(f"{ann} not found: run the prepare stage first")
        try:
            records = load_coco_split(data_dir / split, classes)
        except (ValueError, KeyError) as exc:
            raise TrainingInputError(str(exc)) from None
        if not records:
            raise TrainingInputError(
                f"{data_dir / split}: the {split} split is empty (no images); the prepare "
                "stage's fractions or the dataset leave nothing to train/validate on"
            )
        if split == "train":
            counts = dict.fromkeys(classes, 0)
            for rec in records:
                for label in rec.labels.tolist():
                    counts[classes[int(label)]] += 1
    absent = [c for c, n in counts.items() if n == 0]
    if absent:
        message = (
            f"{data_dir / 'train'}: no training box for class(es) {absent}; the model could "
            "not learn them. Add annotated images of these classes, or set "
            "`train.missing_classes: warn` to train anyway (they will never be detected)"
        )
        if missing == "error":
            raise TrainingInputError(message)
        log.warning(message)
    return counts


@dataclass(frozen=True)
class FitResult:
    checkpoint: Path
    metrics: dict[str, float]
    duration_s: float
    accelerator: str
    num_train_images: int
    num_val_images: int


def fit(
    params: TrainParams,
    data_dir: Path,
    checkpoint: Path,
    classes: tuple[str, ...],
    provenance: dict[str, str],
    callbacks: list[L.Callback] | None = None,
) -> FitResult:
    """Train a detector on ``data_dir`` (contract §6) and save it to ``checkpoint``.

    ``accelerator="auto"``: the same call uses a GPU when one is present.
    """
    L.seed_everything(params.seed, workers=True, verbose=False)
    datamodule = DetectionDataModule(data_dir, params, classes)
    module = DetectorModule(params.model_dump(mode="json"), list(classes), provenance)
    trainer = make_trainer(params, checkpoint.parent, callbacks)
    start = time.perf_counter()
    try:
        trainer.fit(module, datamodule=datamodule)
    except torch.OutOfMemoryError as exc:
        raise TrainingInputError(
            f"out of memory with batch_size {params.batch_size} at input {list(params.input_size)}"
            f" on {type(trainer.accelerator).__name__}: lower `train.batch_size` (or input_size,"
            f" model_size), or use precision 16-mixed on a GPU ({str(exc)[:120]})"
        ) from None
    duration = time.perf_counter() - start
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    trainer.save_checkpoint(checkpoint, weights_only=True)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    assert datamodule.train_set is not None and datamodule.val_set is not None
    return FitResult(
        checkpoint=checkpoint,
        metrics=metrics,
        duration_s=duration,
        accelerator=type(trainer.accelerator).__name__,
        num_train_images=len(datamodule.train_set),
        num_val_images=len(datamodule.val_set),
    )
