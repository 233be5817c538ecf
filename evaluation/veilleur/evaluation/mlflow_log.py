"""Attach the validation report to the model's MLflow run (the training run of the sidecar).

The same local store as training (``sqlite:///mlflow.db``, never the network): the report's
files go under the run's ``validation/`` artefacts, its headline figures become ``validation/…``
metrics, and the tag ``validation.gates`` says whether the bias gates passed — what the
registry's ``validated`` alias is to depend on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from veilleur.runtime.offline import air_gap

__all__ = ["REPORT_FILES", "headline_metrics", "log_report"]

log = logging.getLogger(__name__)

REPORT_FILES = ("index.html", "rapport.pdf", "metrics.json", "erreurs_fiftyone.json")


def headline_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """``validation/…`` numbers of a metrics.json (undefined ones left out)."""
    out: dict[str, float] = {}
    det = metrics.get("detection") or {}
    for key in ("map", "map50", "ar100"):
        if det.get(key) is not None:
            out[f"validation/{key}"] = float(det[key])
    events = metrics.get("events") or {}
    rows = {"all": events.get("overall") or {}}
    rows.update(
        {k: v for k, v in (events.get("per_event") or {}).items() if v.get("status") == "evaluated"}
    )
    for name, row in rows.items():
        for key in ("precision", "recall", "f1", "false_alarms_per_hour"):
            if row.get(key) is not None:
                out[f"validation/{name}/{key}"] = float(row[key])
    tracking = metrics.get("tracking") or {}
    rows = {"all": tracking.get("overall") or {}}
    rows.update({row["name"]: row for row in tracking.get("per_class") or () if "name" in row})
    for name, row in rows.items():
        for key in ("mota", "idf1", "hota"):
            if row.get(key) is not None:
                out[f"validation/tracking/{name}/{key}"] = float(row[key])
    return out


def log_report(
    tracking_uri: str, run_id: str, out_dir: Path, metrics: Mapping[str, Any]
) -> list[str]:
    """Log the report files, headline metrics and gate verdict to run ``run_id``.

    Returns:
        The artefact paths logged (relative to the run's artefact root).
    """
    air_gap()
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    logged: list[str] = []
    for name in REPORT_FILES:
        path = out_dir / name
        if path.is_file():
            client.log_artifact(run_id, str(path), artifact_path="validation")
            logged.append(f"validation/{name}")
    for key, value in headline_metrics(metrics).items():
        client.log_metric(run_id, key, value)
    bias = metrics.get("bias") or {}
    if bias:
        client.set_tag(run_id, "validation.gates", "passed" if bias.get("passed") else "failed")
    log.info("validation report logged to MLflow run %s (%d files)", run_id, len(logged))
    return logged
