"""Stage ``train``: fit the detector, track the run in MLflow, write the checkpoint.

Usage::

    python -m veilleur.training.stages.train --params params.yaml --data data/processed \
        --out models --mlflow-uri sqlite:///mlflow.db --artifacts mlartifacts

Writes ``OUT/detector.ckpt``, ``OUT/train_summary.json`` (with the MLflow run id) and
``OUT/training_curves.png``. Exits 2, before any run starts, on bad data (missing split, empty
split, a taxonomy class without a train box unless ``train.missing_classes: warn``) and, with the
run marked failed, when a batch does not fit in memory.
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
from typing import TYPE_CHECKING

from veilleur.runtime.offline import air_gap

if TYPE_CHECKING:
    from veilleur.training.config import TrainParams

log = logging.getLogger("veilleur.training.stages.train")

EXIT_BAD_INPUT = 2


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
    parser.add_argument(
        "--experiment", default=None, help="MLflow experiment (default: veilleur-TASK)"
    )
    parser.add_argument(
        "--task",
        default="detector",
        choices=("detector", "density"),
        help="detector (TASK.ckpt = detector.ckpt) or the crowd-density model (density.ckpt, "
        "density_train_summary.json)",
    )
    args = parser.parse_args(argv)
    args.experiment = args.experiment or f"veilleur-{args.task}"
    return args


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

    from veilleur.data.provenance import git_commit, read_dataset_version
    from veilleur.runtime.config import load_params_section
    from veilleur.runtime.core.taxonomy import CLASSES
    from veilleur.training.config import TrainParams
    from veilleur.training.fit import TrainingInputError, check_data
    from veilleur.training.tracking import ensure_experiment

    _quiet_libraries()
    params = load_params_section(args.params, "train", TrainParams)
    try:
        missing = params.missing_classes if args.task == "detector" else "warn"
        class_counts = check_data(args.data, CLASSES, missing)
        if args.task == "density" and not class_counts.get("person"):
            raise TrainingInputError(f"{args.data / 'train'}: no person box to learn density from")
        dataset_version = read_dataset_version(args.data)
    except (TrainingInputError, FileNotFoundError, ValueError) as exc:
        log.error("training refused: %s", exc)
        return EXIT_BAD_INPUT
    commit = git_commit()
    experiment_id = ensure_experiment(args.mlflow_uri, args.experiment, args.artifacts)
    args.out.mkdir(parents=True, exist_ok=True)

    try:
        return _run(args, params, experiment_id, dataset_version, commit, class_counts)
    except TrainingInputError as exc:
        log.error("training stopped: %s", exc)
        return EXIT_BAD_INPUT


def _run(
    args: argparse.Namespace,
    params: TrainParams,
    experiment_id: str,
    dataset_version: str,
    commit: str,
    class_counts: dict[str, int],
) -> int:
    import mlflow

    from veilleur.runtime.core.taxonomy import CLASSES
    from veilleur.training.fit import FitResult, fit
    from veilleur.training.tracking import MlflowEpochMetrics, log_artifacts, plot_history

    density = args.task == "density"
    checkpoint = args.out / ("density.ckpt" if density else "detector.ckpt")
    summary_path = args.out / ("density_train_summary.json" if density else "train_summary.json")
    with mlflow.start_run(experiment_id=experiment_id, log_system_metrics=True) as run:
        run_id = run.info.run_id
        log.info("MLflow run %s (experiment %s, %s)", run_id, args.experiment, args.mlflow_uri)
        mlflow.log_params(
            {
                **{k: json.dumps(v) for k, v in params.model_dump(mode="json").items()},
                "dataset_version": dataset_version,
                "git_commit": commit,
                "data_dir": str(args.data),
                "classes": json.dumps(list(CLASSES)),
                "train_boxes_per_class": json.dumps(class_counts),
            }
        )
        mlflow.set_tags(
            {"dataset_version": dataset_version, "git_commit": commit, "task": args.task}
        )
        provenance = {
            "mlflow_run_id": run_id,
            "git_commit": commit,
            "dataset_version": dataset_version,
        }
        metrics_cb = MlflowEpochMetrics(args.mlflow_uri, run_id)
        if density:
            from veilleur.training.density import fit_density

            dres = fit_density(params, args.data, checkpoint, CLASSES, provenance, [metrics_cb])
            result = FitResult(
                dres.checkpoint,
                dres.metrics,
                dres.duration_s,
                "auto",
                dres.num_train_images,
                dres.num_val_images,
            )
        else:
            result = fit(params, args.data, checkpoint, CLASSES, provenance, [metrics_cb])
        summary = {
            "task": args.task,
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
            "train_boxes_per_class": class_counts,
            "python": platform.python_version(),
        }
        summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        mlflow.log_metric("train_duration_s", result.duration_s)
        curves = plot_history(metrics_cb.history, args.out / "training_curves.png")
        log_artifacts(args.mlflow_uri, run_id, [checkpoint, summary_path, curves])
    log.info("trained in %.1f s: %s, %s", result.duration_s, checkpoint, summary_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
