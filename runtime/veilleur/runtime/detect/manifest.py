"""Deploy manifest (EX-131): what model files a site runs, pinned by size and SHA-256.

``deploy-manifest.json``, written by ``veilleur manifest write`` and checked before the
runtime loads a model (``model.manifest`` in the site config)::

    {
      "manifest_version": 1,
      "created_utc": "2025-06-01T08:00:00Z",
      "engine_version": "0.1.0",
      "models": [
        {"path": "models/detector.onnx", "sha256": "…", "size": 3650000, "adapter": "yolox",
         "class_map_file": "coco-site.yaml", "class_map_sha256": "…"}
      ]
    }

Paths are relative to the manifest's folder (POSIX separators), so a deployment folder can
move as a whole. ``adapter`` is the layout the model resolved to when the manifest was written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from veilleur.runtime import ENGINE_VERSION
from veilleur.runtime.detect.common import ManifestError, file_sha256

MANIFEST_FILENAME = "deploy-manifest.json"
MANIFEST_VERSION: Final = 1

_SHA256 = r"^[0-9a-f]{64}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ManifestModel(_Model):
    """One deployed model file."""

    path: str = Field(description="ONNX file, relative to the manifest's folder.")
    sha256: str = Field(pattern=_SHA256)
    size: int = Field(ge=0, description="File size in bytes.")
    adapter: str = Field(description="Output layout the model resolved to (veilleur, yolox…).")
    class_map_file: str | None = Field(
        None, description="Class map file used with it, relative to the manifest's folder."
    )
    class_map_sha256: str | None = Field(None, pattern=_SHA256)


class DeployManifest(_Model):
    manifest_version: Literal[1] = MANIFEST_VERSION
    created_utc: str = Field(description="ISO-8601 UTC time of writing.")
    engine_version: str = Field(description="Veilleur runtime version that wrote it.")
    models: list[ManifestModel] = Field(min_length=1)


def _relative(path: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return path.resolve().as_posix()


def manifest_entry(
    manifest_path: Path,
    model: Path,
    adapter: str,
    class_map_file: Path | None = None,
    sha256: str | None = None,
) -> ManifestModel:
    """Describe ``model`` (and its class map file) for a manifest written at ``manifest_path``."""
    folder = manifest_path.parent
    return ManifestModel(
        path=_relative(model, folder),
        sha256=sha256 or file_sha256(model),
        size=model.stat().st_size,
        adapter=adapter,
        class_map_file=_relative(class_map_file, folder) if class_map_file else None,
        class_map_sha256=file_sha256(class_map_file) if class_map_file else None,
    )


def write_manifest(path: Path, models: list[ManifestModel]) -> DeployManifest:
    """Write a manifest (UTF-8 JSON, indented) and return it."""
    manifest = DeployManifest(
        created_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        engine_version=ENGINE_VERSION,
        models=models,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return manifest


def load_manifest(path: Path) -> DeployManifest:
    """Read and validate a manifest.

    Raises:
        ManifestError: missing, unreadable or invalid file (the message names it).
    """
    if not path.is_file():
        raise ManifestError(
            f"{path}: deploy manifest not found; write it with "
            "`veilleur manifest write --config SITE.yaml`"
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path}: cannot read the deploy manifest ({exc})") from None
    try:
        return DeployManifest.model_validate(doc)
    except ValidationError as err:
        lines = [f"{path}: invalid deploy manifest ({err.error_count()} error(s))"]
        for e in err.errors():
            loc = ".".join(str(p) for p in e["loc"]) or "(root)"
            lines.append(f"  - {loc}: {e['msg']}")
        raise ManifestError("\n".join(lines)) from None


def _file_problems(
    what: str, file: Path, sha256: str, size: int | None, manifest: Path
) -> list[str]:
    if not file.is_file():
        return [f"{file}: {what} listed in {manifest} is missing"]
    actual_size = file.stat().st_size
    if size is not None and actual_size != size:
        return [
            f"{file}: size {actual_size} bytes does not match {size} recorded in {manifest}; "
            f"the {what} was changed"
        ]
    actual = file_sha256(file)
    if actual != sha256:
        return [
            f"{file}: SHA-256 {actual} does not match {sha256} recorded in {manifest}; "
            f"the {what} was changed"
        ]
    return []


def entry_problems(manifest_path: Path, entry: ManifestModel) -> list[str]:
    """What is wrong with one entry's files on disk (empty when they match)."""
    folder = manifest_path.parent
    problems = _file_problems(
        "model file", folder / entry.path, entry.sha256, entry.size, manifest_path
    )
    if entry.class_map_file is not None and entry.class_map_sha256 is not None:
        problems += _file_problems(
            "class map file",
            folder / entry.class_map_file,
            entry.class_map_sha256,
            None,
            manifest_path,
        )
    return problems


@dataclass
class ManifestReport:
    """Result of :func:`verify_manifest`."""

    manifest: str
    ok: bool
    models: int
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def verify_manifest(path: Path) -> ManifestReport:
    """Check every file the manifest lists.

    Raises:
        ManifestError: the manifest itself is missing or invalid.
    """
    manifest = load_manifest(path)
    problems = [p for entry in manifest.models for p in entry_problems(path, entry)]
    warnings = []
    if manifest.engine_version != ENGINE_VERSION:
        warnings.append(
            f"{path}: written by engine {manifest.engine_version}, this is {ENGINE_VERSION}"
        )
    return ManifestReport(str(path), not problems, len(manifest.models), problems, warnings)


def check_model(
    manifest_path: Path,
    model: Path,
    *,
    adapter: str = "auto",
    class_map_file: Path | None = None,
) -> ManifestModel:
    """Refuse a model (and class map file) that the manifest does not pin exactly.

    Args:
        manifest_path: the deploy manifest.
        model: the ONNX file about to be loaded.
        adapter: the configured adapter; checked against the manifest unless ``auto``.
        class_map_file: the configured class map file, if any.

    Raises:
        ManifestError: the manifest is missing or invalid, does not list the model, or the
            files differ from what it records.
    """
    manifest = load_manifest(manifest_path)
    folder = manifest_path.parent
    target = model.resolve()
    entry = next((m for m in manifest.models if (folder / m.path).resolve() == target), None)
    if entry is None:
        listed = ", ".join(m.path for m in manifest.models)
        raise ManifestError(
            f"{manifest_path}: model {model} is not listed in the deploy manifest "
            f"(listed: {listed}); refusing to start"
        )
    problems = entry_problems(manifest_path, entry)
    if adapter != "auto" and adapter != entry.adapter:
        problems.append(
            f"{manifest_path}: the config sets adapter {adapter!r}, the manifest records "
            f"{entry.adapter!r} for {entry.path}"
        )
    if class_map_file is not None:
        if entry.class_map_sha256 is None:
            problems.append(
                f"{manifest_path}: the config uses class map file {class_map_file}, which the "
                f"manifest does not record for {entry.path}"
            )
        elif (
            entry.class_map_file is None
            or (folder / entry.class_map_file).resolve() != class_map_file.resolve()
        ):  # (the recorded path itself is checked by entry_problems)
            problems += _file_problems(
                "class map file", class_map_file, entry.class_map_sha256, None, manifest_path
            )
    elif entry.class_map_file is not None:
        problems.append(
            f"{manifest_path}: the manifest records class map file {entry.class_map_file} for "
            f"{entry.path}, but the config uses none"
        )
    if problems:
        raise ManifestError("; ".join(problems) + "; refusing to start")
    return entry
