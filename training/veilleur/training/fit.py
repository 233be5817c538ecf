"""The training run itself: seeded Lightning ``Trainer`` + checkpoint, no file-path policy.

Besides the weights-only checkpoint (what export reads), every epoch writes a full-state
``NAME.last.ckpt`` beside it (weights, optimiser, LR schedule, loop counters, random streams)
from which ``veilleur train --resume`` continues an interrupted run.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from veilleur.training.config import TrainParams
from veilleur.training.datamodule import DetectionDataModule, load_coco_split
from veilleur.training.module import DetectorModule

log = logging.getLogger(__name__)


class TrainingInputError(ValueError):
    """Bad input to training (data, parameters): the message says what and how to fix it."""


def last_checkpoint_path(checkpoint: Path) -> Path:
    """``models/detector.ckpt`` → ``models/detector.last.ckpt`` (full state, for resuming)."""
    return checkpoint.with_name(f"{checkpoint.stem}.last.ckpt")


class RandomStreams(L.Callback):
    """Puts the random streams (torch, numpy, python, the augmentation's) into checkpoints and
    restores them on resume, so a resumed run draws the same shuffles and augmentations as an
    uninterrupted one (exactly so with ``num_workers: 0``; worker processes reseed per run)."""

    def __init__(self) -> None:
        self._trainer: L.Trainer | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._trainer = trainer

    def _augmenter(self) -> Any:
        datamodule = getattr(self._trainer, "datamodule", None)
        train_set = getattr(datamodule, "train_set", None)
        return getattr(train_set, "augment", None)

    def state_dict(self) -> dict[str, Any]:
        np_state: tuple[Any, ...] = tuple(np.random.get_state(legacy=True))
        augmenter = self._augmenter()
        return {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
            "python": random.getstate(),
            "augment": augmenter.get_state() if augmenter is not None else None,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        torch.set_rng_state(state_dict["torch"])
        if state_dict["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])
        name, keys, *rest = state_dict["numpy"]
        np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))
        version, internal, gauss = state_dict["python"]
        random.setstate((version, tuple(internal), gauss))
        augmenter = self._augmenter()
        if augmenter is not None and state_dict["augment"] is not None:
            augmenter.set_state(state_dict["augment"])


def make_trainer(
    params: TrainParams,
    root: Path,
    callbacks: list[L.Callback] | None = None,
    last_checkpoint: Path | None = None,
) -> L.Trainer:
    """The Lightning trainer of every model of the stage (detector, density): accelerator,
    devices, strategy and nodes from the stage's parameters (one device, a GPU when present, by
    default), its precision, determinism and limits; logs are the stage's own (MLflow), not
    Lightning's. With ``last_checkpoint``, the full training state is saved there each epoch."""
    extra: list[L.Callback] = []
    if last_checkpoint is not None:
        saver = ModelCheckpoint(
            dirpath=last_checkpoint.parent,
            save_last=True,
            save_top_k=0,
            enable_version_counter=False,
        )
        saver.CHECKPOINT_NAME_LAST = last_checkpoint.name.removesuffix(".ckpt")
        extra = [saver, RandomStreams()]
    return L.Trainer(
        accelerator=params.accelerator,
        devices=params.devices,
        strategy=params.strategy,
        num_nodes=params.num_nodes,
        max_epochs=params.epochs,
        precision=params.precision,
        deterministic="warn" if params.deterministic else False,
        limit_train_batches=params.limit_train_batches,
        limit_val_batches=params.limit_val_batches,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=bool(extra),
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=root,
        callbacks=[*(callbacks or []), *extra],
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


def is_out_of_memory(exc: BaseException) -> bool:
    """A CUDA/CPU allocation failure, whatever exception type the backend raised."""
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


def out_of_memory_error(params: TrainParams, trainer: L.Trainer, exc: BaseException) -> str:
    return (
        f"out of memory with batch_size {params.batch_size} at input {list(params.input_size)}"
        f" on {type(trainer.accelerator).__name__}: lower `train.batch_size` (or input_size,"
        f" model_size), or use precision 16-mixed on a GPU ({str(exc)[:120]})"
    )


ARCHITECTURE_FIELDS = ("model_size", "width_mult", "depth_mult", "input_size")


@dataclass(frozen=True)
class ResumePoint:
    """A full-state checkpoint checked before any run starts."""

    path: Path
    epochs_done: int
    parent_run_id: str | None


def check_resume(path: Path, params: TrainParams, classes: tuple[str, ...]) -> ResumePoint:
    """Check that ``path`` is a full-state checkpoint this run can continue.

    Raises:
        TrainingInputError: (French message) a missing, unreadable or truncated file, a
            weights-only checkpoint, another class list or architecture, or a run that already
            did ``train.epochs`` epochs.
    """
    if not path.is_file():
        raise TrainingInputError(
            f"{path} : point de reprise introuvable ; indiquez le fichier "
            "`<modèle>.last.ckpt` écrit à chaque époque à côté du modèle"
        )
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise TrainingInputError(
            f"{path} : point de reprise illisible ou corrompu ({type(exc).__name__}) ; "
            "reprenez depuis un autre `*.last.ckpt` ou relancez l'entraînement sans --resume"
        ) from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise TrainingInputError(
            f"{path} : ce fichier n'est pas un point de reprise Lightning (pas de state_dict)"
        )
    if "optimizer_states" not in ckpt or "loops" not in ckpt:
        raise TrainingInputError(
            f"{path} : ce fichier ne contient que les poids (modèle exporté), pas l'état de "
            "l'optimiseur ni le compteur d'époques ; reprenez depuis `<modèle>.last.ckpt`, ou "
            "partez de ces poids avec `train.init_weights`"
        )
    hp = ckpt.get("hyper_parameters") or {}
    if "classes" in hp and list(hp["classes"]) != list(classes):
        raise TrainingInputError(
            f"{path} : classes du point de reprise {list(hp['classes'])} différentes de la "
            f"taxonomie {list(classes)} ; relancez un entraînement complet"
        )
    try:
        before = TrainParams.model_validate(hp.get("params") or {})
    except ValueError as exc:
        raise TrainingInputError(f"{path} : paramètres illisibles ({exc})") from None
    changed = [f for f in ARCHITECTURE_FIELDS if getattr(before, f) != getattr(params, f)]
    if changed:
        raise TrainingInputError(
            f"{path} : architecture différente de `train` ({', '.join(changed)}) ; remettez "
            "les valeurs du point de reprise ou relancez un entraînement complet"
        )
    try:
        done = int(ckpt["loops"]["fit_loop"]["epoch_progress"]["current"]["completed"])
    except (KeyError, TypeError):
        raise TrainingInputError(
            f"{path} : compteur d'époques absent du point de reprise (fichier incomplet)"
        ) from None
    if done >= params.epochs:
        raise TrainingInputError(
            f"{path} : déjà {done} époque(s) faites, `train.epochs` vaut {params.epochs} ; "
            "augmentez `train.epochs` pour continuer l'entraînement"
        )
    parent = (hp.get("provenance") or {}).get("mlflow_run_id")
    return ResumePoint(path, done, str(parent) if parent else None)


@dataclass(frozen=True)
class InitWeightsReport:
    """What a partial load of initial weights matched."""

    path: str
    matched: int
    missing: list[str]
    unexpected: list[str]
    shape_mismatch: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "matched": self.matched,
            "missing": len(self.missing),
            "unexpected": len(self.unexpected),
            "shape_mismatch": len(self.shape_mismatch),
        }


def load_initial_weights(net: torch.nn.Module, path: Path) -> InitWeightsReport:
    """Load the tensors of ``path`` whose name and shape match ``net`` (``train.init_weights``).

    ``path`` is a local file, never downloaded: a Lightning checkpoint (its ``state_dict``,
    ``net.`` prefix dropped), or a plain state dict (``torch.save(net.state_dict())``, e.g. a
    backbone's). Keys absent from ``net`` are *unexpected*, ``net``'s keys left at their
    initial value are *missing*.

    Raises:
        TrainingInputError: (French message) a missing or unreadable file, or no tensor matching.
    """
    if not path.is_file():
        raise TrainingInputError(
            f"{path} : fichier de poids initiaux introuvable (`train.init_weights`) ; rien "
            "n'est téléchargé : copiez le fichier sur cette machine"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise TrainingInputError(
            f"{path} : poids initiaux illisibles ({type(exc).__name__}: {str(exc)[:120]})"
        ) from None
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else {}
    tensors = {k.removeprefix("net."): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    own = net.state_dict()
    matched = {k: v for k, v in tensors.items() if k in own and v.shape == own[k].shape}
    report = InitWeightsReport(
        path=str(path),
        matched=len(matched),
        missing=sorted(k for k in own if k not in matched),
        unexpected=sorted(k for k in tensors if k not in own),
        shape_mismatch=sorted(k for k in tensors if k in own and k not in matched),
    )
    if not matched:
        raise TrainingInputError(
            f"{path} : aucun tenseur ne correspond au réseau (noms ou formes) ; "
            f"{len(report.unexpected)} inattendu(s), {len(report.shape_mismatch)} de forme "
            "différente : vérifiez `train.model_size` ou le fichier"
        )
    net.load_state_dict(matched, strict=False)
    log.info(
        "initial weights %s: %d tensors loaded, %d missing, %d unexpected, %d shape mismatch",
        path,
        report.matched,
        len(report.missing),
        len(report.unexpected),
        len(report.shape_mismatch),
    )
    return report


@dataclass(frozen=True)
class FitResult:
    checkpoint: Path
    metrics: dict[str, float]
    duration_s: float
    accelerator: str
    num_train_images: int
    num_val_images: int
    epochs_done: int = 0
    last_checkpoint: Path | None = None
    init_weights: dict[str, Any] | None = field(default=None)


def run_fit(
    trainer: L.Trainer,
    module: L.LightningModule,
    datamodule: L.LightningDataModule,
    params: TrainParams,
    checkpoint: Path,
    resume: Path | None,
) -> tuple[float, dict[str, float]]:
    """``trainer.fit`` (resumed from ``resume`` when given), an out-of-memory turned into a
    message that says what to lower, then the weights saved to ``checkpoint``.

    Returns:
        The fit's duration in seconds and the trainer's last metrics.
    """
    start = time.perf_counter()
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=resume, weights_only=True)
    except (torch.OutOfMemoryError, RuntimeError) as exc:
        if not is_out_of_memory(exc):
            raise
        raise TrainingInputError(out_of_memory_error(params, trainer, exc)) from None
    duration = time.perf_counter() - start
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    trainer.save_checkpoint(checkpoint, weights_only=True)
    return duration, {k: float(v) for k, v in trainer.callback_metrics.items()}


def fit(
    params: TrainParams,
    data_dir: Path,
    checkpoint: Path,
    classes: tuple[str, ...],
    provenance: dict[str, str],
    callbacks: list[L.Callback] | None = None,
    resume: Path | None = None,
) -> FitResult:
    """Train a detector on ``data_dir`` (contract §6) and save it to ``checkpoint``.

    ``accelerator="auto"``: the same call uses a GPU when one is present. ``resume``: a
    full-state ``*.last.ckpt`` (see :func:`check_resume`) to continue from; otherwise
    ``train.init_weights`` (when set) initialises the network.
    """
    L.seed_everything(params.seed, workers=True, verbose=False)
    datamodule = DetectionDataModule(data_dir, params, classes)
    module = DetectorModule(params.model_dump(mode="json"), list(classes), provenance)
    init = None
    if params.init_weights and resume is None:
        init = load_initial_weights(module.net, Path(params.init_weights))
    last = last_checkpoint_path(checkpoint)
    trainer = make_trainer(params, checkpoint.parent, callbacks, last)
    duration, metrics = run_fit(trainer, module, datamodule, params, checkpoint, resume)
    assert datamodule.train_set is not None and datamodule.val_set is not None
    return FitResult(
        checkpoint=checkpoint,
        metrics=metrics,
        duration_s=duration,
        accelerator=type(trainer.accelerator).__name__,
        num_train_images=len(datamodule.train_set),
        num_val_images=len(datamodule.val_set),
        epochs_done=trainer.current_epoch,
        last_checkpoint=last,
        init_weights=init.as_dict() if init else None,
    )
