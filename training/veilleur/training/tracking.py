"""MLflow and provenance helpers (tracking server: a local SQLite store, never the network).

Call :func:`veilleur.runtime.offline.air_gap` before importing this module.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import lightning as L
import mlflow
from mlflow.entities import Metric

log = logging.getLogger(__name__)

UNKNOWN = "unknown"


def ensure_experiment(tracking_uri: str, name: str, artifact_root: Path) -> str:
    """Point MLflow at ``tracking_uri`` and return the id of experiment ``name``.

    With a local store, a new experiment stores its artefacts under ``artifact_root`` (never
    ``./mlruns``); with a tracking server (``http(s)://``), the server's artefact store decides
    (``mlflow server --artifacts-destination``), so every team member's run lands there.
    """
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    if tracking_uri.startswith(("http://", "https://")):
        return str(mlflow.create_experiment(name))
    artifact_root.mkdir(parents=True, exist_ok=True)
    return str(mlflow.create_experiment(name, artifact_location=artifact_root.resolve().as_uri()))


def log_artifacts(tracking_uri: str, run_id: str, paths: list[Path]) -> None:
    """Attach files to an existing (possibly finished) run."""
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    for path in paths:
        client.log_artifact(run_id, str(path))


class MlflowEpochMetrics(L.Callback):
    """Logs Lightning's epoch-level metrics (train and val) and the learning rate."""

    def __init__(self, tracking_uri: str, run_id: str) -> None:
        self.client = mlflow.MlflowClient(tracking_uri=tracking_uri)
        self.run_id = run_id
        self.history: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metrics: dict[str, Any] = {k: float(v) for k, v in trainer.callback_metrics.items()}
        if trainer.optimizers:
            metrics["lr"] = float(trainer.optimizers[0].param_groups[0]["lr"])
        step, now = int(trainer.current_epoch), int(time.time() * 1000)
        self.client.log_batch(
            self.run_id, metrics=[Metric(k, v, now, step) for k, v in sorted(metrics.items())]
        )
        self.history.append({"epoch": float(step), **metrics})
        log.info(
            "epoch %d: %s",
            step,
            ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()) if "loss_" not in k),
        )


def plot_history(history: list[dict[str, float]], path: Path) -> Path:
    """Per-epoch curves (losses; val mAP@0.5 on a second axis) as a PNG for the MLflow run."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    epochs = [int(h["epoch"]) for h in history]
    for key in ("train/loss", "val/loss"):
        if history and all(key in h for h in history):
            ax.plot(epochs, [h[key] for h in history], marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if history and all("val/map50" in h for h in history):
        ax2 = ax.twinx()
        ax2.plot(epochs, [h["val/map50"] for h in history], "g--", marker="s", label="val/map50")
        ax2.set_ylabel("val mAP@0.5")
        ax2.legend(loc="upper right")
    ax.legend(loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(str(path))
    return path
