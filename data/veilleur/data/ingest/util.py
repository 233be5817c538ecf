"""Helpers shared by the readers: JSON and XML with positions in errors, paths."""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from veilleur.data.ingest.media import MediaError, image_size
from veilleur.data.ingest.model import IMAGE_EXTS, AttributeValue, Problems


def load_json(path: Path, problems: Problems) -> Any | None:
    """The parsed JSON of ``path``, or ``None`` (with a problem giving the line and column)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        problems.add(path, f"line {exc.lineno} column {exc.colno}", f"invalid JSON: {exc.msg}")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(path, "", f"cannot read JSON ({exc})")
    return None


def parse_xml(path: Path, problems: Problems) -> ET.Element | None:
    """The root element of ``path``, or ``None`` (with a problem giving the line and column)."""
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, column = exc.position
        problems.add(path, f"line {line} column {column + 1}", f"invalid XML: {exc}")
    except OSError as exc:
        problems.add(path, "", f"cannot read XML ({exc})")
    return None


def rel(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` (POSIX), or absolute when outside it."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def iter_images(root: Path, skip: frozenset[str] = frozenset()) -> Iterator[Path]:
    """Image files under ``root``, sorted, skipping folders named in ``skip`` and hidden ones."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip and not d.startswith("."))
        for name in sorted(files):
            if Path(name).suffix.lower() in IMAGE_EXTS:
                yield Path(folder) / name


def number(value: Any) -> float | None:
    """``value`` as a finite float, else ``None``."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def measured_size(
    path: Path, file: Path | str, where: str, problems: Problems
) -> tuple[int, int] | None:
    """``image_size(path)``, or ``None`` with a problem naming the annotation file."""
    if not path.is_file():
        problems.add(file, where, f"image file not found: {path}")
        return None
    try:
        return image_size(path)
    except MediaError as exc:
        problems.add(file, where, f"{path}: {exc}")
        return None


def attribute(value: Any) -> AttributeValue:
    """A JSON/XML attribute value as a scalar (anything else as its JSON text)."""
    if isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
