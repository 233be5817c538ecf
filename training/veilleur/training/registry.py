"""MLflow model registry: one registered model per task, aliases ``candidate`` → ``validated`` →
``deployed``.

- The export stage registers its ONNX file as a new version with the alias ``candidate``, only
  after the file, its sidecar and every export gate checked out (:func:`register_candidate`).
- ``validated`` needs the validation report's gates to have passed: the report stage tags the
  model's training run ``validation.gates = passed`` (``veilleur.evaluation.mlflow_log``), and
  the report it logged (``validation/metrics.json``) must be about this very file (same
  SHA-256: a re-export of the same run is a new file, to be evaluated again).
- ``deployed`` needs the version to have been validated first.
- Every promotion is recorded on the model version (who, when, why) as a tag
  ``promotion.<alias>`` plus an append-only ``promotion.history`` (JSON list).

Call :func:`veilleur.runtime.offline.air_gap` before importing this module.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import mlflow
from mlflow.exceptions import MlflowException

log = logging.getLogger(__name__)

ALIASES: Final = ("candidate", "validated", "deployed")
TASKS: Final = ("detector", "density")
GATES_TAG: Final = "validation.gates"  # set by veilleur.evaluation.mlflow_log.log_report
GATES_PASSED: Final = "passed"
VALIDATED_TAG: Final = "veilleur.validated"
HISTORY_TAG: Final = "promotion.history"
REPORT_METRICS: Final = "validation/metrics.json"  # logged by the report stage


class PromotionRefused(RuntimeError):
    """A promotion that the registry's rules forbid; the message says why."""


def registered_name(task: str) -> str:
    """The registered model of a task: ``veilleur-detector``, ``veilleur-density``."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: one of {', '.join(TASKS)}")
    return f"veilleur-{task}"


def _client(uri: str) -> mlflow.MlflowClient:
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def register_candidate(
    uri: str,
    name: str,
    run_id: str,
    artifact_path: str,
    tags: dict[str, str],
    description: str = "",
) -> str:
    """Register ``runs:/RUN/ARTIFACT_PATH`` as a new version of ``name`` and alias it
    ``candidate``; returns the version number.

    The caller must only call this once the artefact is logged and every export gate passed.
    """
    client = _client(uri)
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(
            name, description=f"Veilleur {name.removeprefix('veilleur-')} (contract v1 ONNX)."
        )
    run = client.get_run(run_id)
    source = f"{run.info.artifact_uri.rstrip('/')}/{artifact_path}"
    version = client.create_model_version(
        name, source, run_id=run_id, tags=tags, description=description or None
    )
    record = {"alias": "candidate", "by": "veilleur export", "at": _now(), "why": "export gates"}
    client.set_model_version_tag(name, version.version, "promotion.candidate", json.dumps(record))
    client.set_model_version_tag(name, version.version, HISTORY_TAG, json.dumps([record]))
    client.set_registered_model_alias(name, "candidate", version.version)
    log.info("registered %s version %s as candidate (run %s)", name, version.version, run_id)
    return str(version.version)


def gates_status(uri: str, run_id: str | None) -> str:
    """The run's ``validation.gates`` tag (``passed``/``failed``), or ``not validated``."""
    if not run_id:
        return "no run"
    tags = _client(uri).get_run(run_id).data.tags
    return tags.get(GATES_TAG, "not validated")


def validated_sha256(uri: str, run_id: str | None) -> str | None:
    """``model.sha256`` of the validation report logged to the run (``validation/metrics.json``,
    written by the report stage), or None when there is none."""
    if not run_id:
        return None
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # keep stdout clean
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = _client(uri).download_artifacts(run_id, REPORT_METRICS, tmp)
        except (MlflowException, OSError):
            return None
        metrics = json.loads(Path(local).read_text(encoding="utf-8"))
    sha = (metrics.get("model") or {}).get("sha256")
    return str(sha) if sha else None


def promote(uri: str, name: str, version: str, alias: str, by: str, why: str) -> dict[str, str]:
    """Move ``alias`` to ``name`` version ``version`` if the rules allow it; returns the record.

    Raises:
        PromotionRefused: unknown alias, no reason given, gates not passed (``validated``),
            version never validated (``deployed``), or version not found.
    """
    if alias not in ALIASES:
        raise PromotionRefused(f"unknown alias {alias!r}: one of {', '.join(ALIASES)}")
    if not why.strip():
        raise PromotionRefused("a promotion needs a reason (--reason)")
    client = _client(uri)
    try:
        mv = client.get_model_version(name, version)
    except MlflowException as exc:
        raise PromotionRefused(f"{name} version {version} not found in {uri}") from exc
    if alias == "validated":
        status = gates_status(uri, mv.run_id)
        if status != GATES_PASSED:
            raise PromotionRefused(
                f"{name} v{version}: the validation report's gates are '{status}' on run "
                f"{mv.run_id} (tag {GATES_TAG}); run `veilleur report --mlflow-uri {uri}` and fix "
                "the failing gates before promoting to 'validated'"
            )
        reported = validated_sha256(uri, mv.run_id)
        if reported != mv.tags.get("sha256"):
            raise PromotionRefused(
                f"{name} v{version}: the validation report on run {mv.run_id} covers the model "
                f"with SHA-256 {reported or 'unknown'}, not this version's "
                f"{mv.tags.get('sha256')}; evaluate and report this exact file first"
            )
    if alias == "deployed" and mv.tags.get(VALIDATED_TAG) != "true":
        raise PromotionRefused(
            f"{name} v{version} was never promoted to 'validated'; 'deployed' requires it first"
        )
    record = {"alias": alias, "by": by, "at": _now(), "why": why}
    history: list[Any] = json.loads(mv.tags.get(HISTORY_TAG, "[]"))
    history.append(record)
    client.set_model_version_tag(name, version, f"promotion.{alias}", json.dumps(record))
    client.set_model_version_tag(name, version, HISTORY_TAG, json.dumps(history))
    if alias == "validated":
        client.set_model_version_tag(name, version, VALIDATED_TAG, "true")
    client.set_registered_model_alias(name, alias, version)
    log.info("%s v%s is now '%s' (by %s: %s)", name, version, alias, by, why)
    return record


@dataclass(frozen=True)
class VersionRow:
    name: str
    version: str
    aliases: tuple[str, ...]
    sha256: str
    dataset_version: str
    run_id: str
    gates: str
    created_utc: str


def list_versions(uri: str, names: list[str] | None = None) -> list[VersionRow]:
    """Every version of the given registered models (default: all), newest first."""
    client = _client(uri)
    if names is None:
        names = sorted(m.name for m in client.search_registered_models())
    rows = []
    for name in names:
        try:
            model = client.get_registered_model(name)
        except MlflowException:
            continue
        by_version: dict[str, list[str]] = {}
        for alias, v in (model.aliases or {}).items():
            by_version.setdefault(str(v), []).append(alias)
        for mv in client.search_model_versions(f"name='{name}'"):
            created = datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC)
            gates = gates_status(uri, mv.run_id)
            if gates == GATES_PASSED and validated_sha256(uri, mv.run_id) != mv.tags.get("sha256"):
                gates = "passed (another file)"  # the report is about another export of the run
            rows.append(
                VersionRow(
                    name=name,
                    version=str(mv.version),
                    aliases=tuple(a for a in ALIASES if a in by_version.get(str(mv.version), [])),
                    sha256=mv.tags.get("sha256", ""),
                    dataset_version=mv.tags.get("dataset_version", ""),
                    run_id=mv.run_id or "",
                    gates=gates,
                    created_utc=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                )
            )
    rows.sort(key=lambda r: (r.name, -int(r.version)))
    return rows
