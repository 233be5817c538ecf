"""Stage ``train``: fit the detector, track the run in MLflow, write the checkpoint.

Usage::

    python -m veilleur.training.stages.train --params params.yaml --data data/processed \
        --out models --mlflow-uri sqlite:///mlflow.db --artifacts mlartifacts

Writes ``OUT/detector.ckpt`` and ``OUT/train_summary.json`` (with the MLflow run id).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from veilleur.runtime.offline import air_gap

log = logging.getLogger("veilleur.training.stages.train")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="veilleur train", description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=None, help="params.yaml (section train)")
    parser.add_argument(
        "--data", type=Path, default=Path("data/processed"), help="prepared dataset (§6)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("models"), help="gets detector.ckpt, train_summary.json"
    )
    parser.add_argument("--mlflow-uri", default="sqlite:///mlflow.db", help="tracking store")
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=Path("mlartifacts"),
        help="artefact root of a new experiment",
    )
    parser.add_argument("--experiment", default="veilleur-detector", help="MLflow experiment")
    return parser.parse_args(argv)


def _quiet_libraries() -> None:
    """Keep the stage log to our own lines (call after lightning and mlflow are imported)."""
    for name in ("lightning.pytorch", "lightning.fabric", "alembic", "mlflow"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for message in (".*does not have many workers.*", ".*isinstance\\(treespec, LeafSpec\\).*"):
        warnings.filterwarnings("ignore", message=message)


def main(argv: Sequence[str] | None = None) -> int:
    air_gap()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(argv)

    import mlflow

    from veilleur.data.provenance import git_commit, read_dataset_version
    from veilleur.runtime.config import load_params_section
    from veilleur.runtime.core.taxonomy import CLASSES
    from veilleur.training.config import TrainParams
    from veilleur.training.fit import fit
    from veilleur.training.tracking import (
        MlflowEpochMetrics,
        ensure_experiment,
        log_artifacts,
    )

    _quiet_libraries()
    params = load_params_section(args.params, "train", TrainParams)
    dataset_version = read_dataset_version(args.data)
    commit = git_commit()
    experiment_id = ensure_experiment(args.mlflow_uri, args.experiment, args.artifacts)
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint = args.out / "detector.ckpt"
    summary_path = args.out / "train_summary.json"

    with mlflow.start_run(experiment_id=experiment_id) as run:
        run_id = run.info.run_id
        log.info("MLflow run %s (experiment %s, %s)", run_id, args.experiment, args.mlflow_uri)
        mlflow.log_params(
            {
                **{k: json.dumps(v) for k, v in params.model_dump(mode="json").items()},
                "dataset_version": dataset_version,
                "git_commit": commit,
                "data_dir": str(args.data),
                "classes": json.dumps(list(CLASSES)),
            }
        )
        mlflow.set_tags({"dataset_version": dataset_version, "git_commit": commit})
        provenance = {
            "mlflow_run_id": run_id,
            "git_commit": commit,
            "dataset_version": dataset_version,
        }
        metrics_cb = MlflowEpochMetrics(args.mlflow_uri, run_id)
        result = fit(params, args.data, checkpoint, CLASSES, provenance, [metrics_cb])
        summary = {
            "mlflow_run_id": run_id,
            "mlflow_tracking_uri": args.mlflow_uri,
            "experiment": args.experiment,
            "dataset_version": dataset_version,
            "git_commit": commit,
            "checkpoint": str(checkpoint),
            "classes": list(CLASSES),
            "params": params.model_dump(mode="json"),
            "final_metrics": result.metrics,
            "history": metrics_cb.history,
            "duration_s": round(result.duration_s, 2),
            "accelerator": result.accelerator,
            "num_train_images": result.num_train_images,
            "num_val_images": result.num_val_images,
            "python": platform.python_version(),
        }
        summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        mlflow.log_metric("train_duration_s", result.duration_s)
        log_artifacts(args.mlflow_uri, run_id, [checkpoint, summary_path])
    log.info("trained in %.1f s: %s, %s", result.duration_s, checkpoint, summary_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
