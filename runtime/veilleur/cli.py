"""The ``veilleur`` command: runtime commands plus the pipeline stages.

Stage commands import their stage lazily, so a runtime-only install runs ``replay`` and
``serve`` without torch, and the stage commands say which extra to install.
"""

from __future__ import annotations

import importlib
import logging

import typer

from veilleur.runtime.cli import app
from veilleur.runtime.offline import air_gap

# Top-level modules of the `train` extra: missing ones mean a runtime-only install.
TRAIN_STACK = frozenset(
    {
        "torch", "lightning", "torchmetrics", "mlflow", "dvc", "fiftyone", "great_expectations",
        "albumentations", "onnx", "onnxscript", "pycocotools", "matplotlib", "jinja2", "pandas",
    }
)  # fmt: skip

STAGES = {
    "synth": ("veilleur.data.stages.synth", "Generate the synthetic demo clips and ground truth."),
    "prepare": ("veilleur.data.stages.prepare", "Extract frames, split by clip, validate (GX)."),
    "data": (
        "veilleur.data.stages.data",
        "Data commands on real datasets: `data ingest` (COCO, YOLO, CVAT, VOC, FiftyOne).",
    ),
    "train": ("veilleur.training.stages.train", "Train the detector (Lightning, MLflow)."),
    "export": ("veilleur.training.stages.export", "Export ONNX with metadata; check parity."),
    "models": (
        "veilleur.training.stages.models",
        "Model registry: `models list`, `models promote` (candidate, validated, deployed).",
    ),
    "evaluate": ("veilleur.evaluation.stages.evaluate", "COCO mAP and per-event metrics."),
    "report": ("veilleur.evaluation.stages.report", "Write the French validation report."),
    "eval-events": (
        "veilleur.evaluation.stages.eval_events",
        "Per-event precision, recall and false alarms per hour on annotated clips.",
    ),
    "calibrate-density": (
        "veilleur.evaluation.stages.calibrate_density",
        "Fit a densite rule's count correction for dense crowds on annotated clips.",
    ),
    "feedback": ("veilleur.evaluation.stages.feedback", "Field precision and hard negatives."),
}


def _stage_command(name: str, module: str, help_text: str) -> None:

    @app.command(
        name,
        help=help_text + " Options: see `veilleur " + name + " --help`.",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
    )
    def _run(ctx: typer.Context) -> None:
        try:
            mod = importlib.import_module(module)
            status = int(mod.main(list(ctx.args)) or 0)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in TRAIN_STACK:
                raise
            typer.echo(
                f"erreur: {exc}. The '{name}' command needs the training stack: "
                "pip install 'veilleur[train]'",
                err=True,
            )
            raise typer.Exit(5) from None
        raise typer.Exit(status)


for _name, (_module, _help) in STAGES.items():
    _stage_command(_name, _module, _help)


def main() -> None:
    air_gap()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app()
