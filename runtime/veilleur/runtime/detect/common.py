"""Errors and file helpers shared by the detector modules (no onnxruntime import here)."""

from __future__ import annotations

import hashlib
from pathlib import Path


class ModelError(RuntimeError):
    """The model file cannot be used (missing, tampered with, or of an unknown layout)."""


class DeployConfigError(ModelError):
    """A site file around the model (class map file, deploy manifest) is wrong or missing.

    The CLI exits with its configuration error code for these, not the model one.
    """


class ClassMapError(DeployConfigError):
    """A class mapping (``model.class_map`` or ``model.class_map_file``) cannot be used."""


class ManifestError(DeployConfigError):
    """The deploy manifest is missing, invalid, or disagrees with the files on disk (EX-131)."""


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def shape_str(shape: tuple[int | str | None, ...] | list[int | str | None]) -> str:
    """``[1, 3, 640, 640]``; symbolic dimensions keep their name, unknown ones are ``?``."""
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"
