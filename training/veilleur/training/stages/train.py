"""Stage ``train``: fit the detector, track the run in MLflow, write the checkpoint.

Usage::

    python -m veilleur.training.stages.train --params params.yaml --data data/processed \
        --out models --mlflow-uri sqlite:///mlflow.db --artifacts mlartifacts

Writes ``OUT/detector.ckpt``, ``OUT/train_summary.json`` (with the MLflow run id) and
``OUT/training_curves.png``, and after every epoch the full-state ``OUT/detector.last.ckpt`` that
``--resume`` continues from (a new MLflow run tagged with the interrupted run as its parent).
Exits 2, before any run starts, on bad data (missing split, empty split, a taxonomy class without
a train box unless ``train.missing_classes: warn``), a missing or corrupt resume point or initial
weights file and, with the run marked failed, when a batch does not fit in memory.

Multi-GPU / multi-node (``train.devices``, ``strategy``, ``num_nodes``): every process runs this
command (``torchrun`` or ``srun``); only global rank 0 talks to MLflow and writes the summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from veilleur.runtime.offline import air_gap

if TYPE_CHECKING:
    from veilleur.training.config import TrainParams
    from veilleur.training.fit import ResumePoint

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
    parser.add_argument(
        "--section",
        default=None,
        help="params.yaml section of the training parameters (default: train for the "
        "detector, density for the density model)",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="continue an interrupted run from its full-state OUT/TASK.last.ckpt (optimiser, "
        "schedule, epoch, random streams); logged as a new MLflow run whose parent is the first",
    )
    args = parser.parse_args(argv)
    args.experiment = args.experiment or f"veilleur-{args.task}"
    args.section = args.section or ("density" if args.task == "density" else "train")
    return args


def global_rank() -> int:
    """This process's rank in a multi-process run (torchrun: ``RANK``, SLURM: ``SLURM_PROCID``)."""
    for name in ("RANK", "SLURM_PROCID"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


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
    from veilleur.training.fit import TrainingInputError, check_data, check_resume
    from veilleur.training.tracking import ensure_experiment

    _quiet_libraries()
    params = load_params_section(args.params, args.section, TrainParams)
    try:
        missing = params.missing_classes if args.task == "detector" else "warn"
        class_counts = check_data(args.data, CLASSES, missing)
        if args.task == "density" and not class_counts.get("person"):
            raise TrainingInputError(f"{args.data / 'train'}: no person box to learn density from")
        dataset_version = read_dataset_version(args.data)
        resume = check_resume(args.resume, params, CLASSES) if args.resume else None
        if params.init_weights and not resume and not Path(params.init_weights).is_file():
            raise TrainingInputError(
                f"{params.init_weights} : fichier de poids initiaux introuvable "
                "(`train.init_weights`) ; rien n'est téléchargé : copiez le fichier sur cette "
                "machine"
            )
    except (TrainingInputError, FileNotFoundError, ValueError) as exc:
        log.error("training refused: %s", exc)
        return EXIT_BAD_INPUT
    if resume:
        log.info("resuming %s after %d epoch(s)", resume.path, resume.epochs_done)
    if global_rank() != 0:
        return _run_worker(args, params, resume)
    commit = git_commit()
    experiment_id = ensure_experiment(args.mlflow_uri, args.experiment, args.artifacts)
    args.out.mkdir(parents=True, exist_ok=True)

    try:
        return _run(args, params, experiment_id, dataset_version, commit, class_counts, resume)
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
    resume: ResumePoint | None = None,
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
        if resume:
            mlflow.set_tags(
                {
                    "veilleur.resumed_from": str(resume.path),
                    "veilleur.resumed_after_epochs": str(resume.epochs_done),
                    **(
                        {"mlflow.parentRunId": resume.parent_run_id,
                         "veilleur.parent_run_id": resume.parent_run_id}
                        if resume.parent_run_id
                        else {}
                    ),
                }
            )  # fmt: skip
        provenance = {
            "mlflow_run_id": run_id,
            "git_commit": commit,
            "dataset_version": dataset_version,
        }
        metrics_cb = MlflowEpochMetrics(args.mlflow_uri, run_id)
        resume_path = resume.path if resume else None
        if density:
            from veilleur.training.density import fit_density

            dres = fit_density(
                params, args.data, checkpoint, CLASSES, provenance, [metrics_cb], resume_path
            )
            result = FitResult(
                dres.checkpoint,
                dres.metrics,
                dres.duration_s,
                "auto",
                dres.num_train_images,
                dres.num_val_images,
                dres.epochs_done,
                dres.last_checkpoint,
            )
        else:
            result = fit(
                params, args.data, checkpoint, CLASSES, provenance, [metrics_cb], resume_path
            )
        if result.init_weights:
            mlflow.log_params({f"init_weights.{k}": v for k, v in result.init_weights.items()})
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
            "epochs_done": result.epochs_done,
            "last_checkpoint": str(result.last_checkpoint) if result.last_checkpoint else None,
            "resumed_from": str(resume.path) if resume else None,
            "parent_run_id": resume.parent_run_id if resume else None,
            "init_weights": result.init_weights,
            "train_boxes_per_class": class_counts,
            "python": platform.python_version(),
        }
        summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        mlflow.log_metric("train_duration_s", result.duration_s)
        curves = plot_history(metrics_cb.history, args.out / "training_curves.png")
        log_artifacts(args.mlflow_uri, run_id, [checkpoint, summary_path, curves])
    log.info("trained in %.1f s: %s, %s", result.duration_s, checkpoint, summary_path)
    return 0


def _run_worker(args: argparse.Namespace, params: TrainParams, resume: ResumePoint | None) -> int:
    """A non-zero rank of a multi-process run: trains its share, no MLflow, no summary."""
    from veilleur.runtime.core.taxonomy import CLASSES
    from veilleur.training.fit import TrainingInputError, fit

    checkpoint = args.out / ("density.ckpt" if args.task == "density" else "detector.ckpt")
    resume_path = resume.path if resume else None
    try:
        if args.task == "density":
            from veilleur.training.density import fit_density

            fit_density(params, args.data, checkpoint, CLASSES, {}, None, resume_path)
        else:
            fit(params, args.data, checkpoint, CLASSES, {}, None, resume_path)
    except TrainingInputError as exc:
        log.error("training stopped (rank %d): %s", global_rank(), exc)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
