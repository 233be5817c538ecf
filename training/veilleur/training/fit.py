"""The training run itself: seeded Lightning ``Trainer`` + checkpoint, no file-path policy."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import lightning as L

from veilleur.training.config import TrainParams
from veilleur.training.datamodule import DetectionDataModule
from veilleur.training.module import DetectorModule

log = logging.getLogger(__name__)


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
    trainer = L.Trainer(
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
        default_root_dir=checkpoint.parent,
        callbacks=callbacks or [],
    )
    start = time.perf_counter()
    trainer.fit(module, datamodule=datamodule)
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
