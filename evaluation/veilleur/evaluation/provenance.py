"""Provenance readers: git commit, DVC hash of a stage output, model sidecar."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml


def git_commit(cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=cwd, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


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


def model_sidecar(model: Path) -> dict[str, Any]:
    """The export sidecar ``MODEL.onnx.json`` (contracts §5); empty if absent."""
    p = model.with_name(model.name + ".json")
    if not p.is_file():
        return {}
    data: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    return data
