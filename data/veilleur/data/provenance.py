"""Provenance that travels with every metric, model and report: code commit, dataset version,
DVC hash of a stage output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

UNKNOWN = "unknown"


def git_commit(cwd: Path | None = None) -> str:
    """``git rev-parse HEAD`` of ``cwd``, or ``"unknown"`` outside a repository."""
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    return res.stdout.strip() or UNKNOWN


def read_dataset_version(data_dir: Path) -> str:
    """``dataset_version`` of ``DATA/manifest.json`` (contracts §6).

    Raises:
        FileNotFoundError: when the manifest is missing (run the prepare stage first).
        ValueError: when the manifest has no version.
    """
    path = data_dir / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run the prepare stage first")
    version = json.loads(path.read_text(encoding="utf-8")).get("dataset_version")
    if not version:
        raise ValueError(f"{path} has no 'dataset_version'")
    return str(version)


def dvc_out_hash(path: str, lock: Path = Path("dvc.lock")) -> str | None:
    """DVC's md5 of a stage output as recorded in ``dvc.lock`` (``None`` if not tracked yet)."""
    if not lock.is_file():
        return None
    doc = yaml.safe_load(lock.read_text(encoding="utf-8")) or {}
    for stage in (doc.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if str(out.get("path", "")).rstrip("/") == path.rstrip("/"):
                md5 = out.get("md5")
                return str(md5) if md5 else None
    return None
