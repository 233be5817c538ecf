"""YOLO txt: ``data.yaml`` (Ultralytics) or ``classes.txt``/``obj.names`` (Darknet), and one
``.txt`` per image.

Images are found under ``SRC`` (``images/`` and ``labels/`` folders are read in parallel:
``images/train/a.jpg`` ↔ ``labels/train/a.txt``; otherwise the ``.txt`` sits next to the image).
Each label line is ``class cx cy w h``, normalised to 0–1 by the image size; an image without a
label file has no boxes (a negative sample). The class index refers to ``names`` of
``data.yaml`` (a list, or a mapping index → name) or to the lines of ``classes.txt``. The first
folder under ``images/`` (``train``, ``val`` …) is kept as the ``source_split`` attribute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from veilleur.data.ingest.model import Problems, RawBox, RawDataset, RawSample
from veilleur.data.ingest.util import iter_images, measured_size, number, rel


def _names(root: Path, problems: Problems) -> list[str] | None:
    for candidate in (root / "data.yaml", root / "dataset.yaml"):
        if candidate.is_file():
            try:
                doc: Any = yaml.safe_load(candidate.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                problems.add(candidate, "", f"invalid YAML: {exc}")
                return None
            names = doc.get("names") if isinstance(doc, dict) else None
            if isinstance(names, list):
                return [str(n) for n in names]
            if isinstance(names, dict):
                try:
                    indexed = {int(k): str(v) for k, v in names.items()}
                except (TypeError, ValueError):
                    problems.add(candidate, "names", "keys must be class indices")
                    return None
                if sorted(indexed) != list(range(len(indexed))):
                    problems.add(candidate, "names", "indices must be 0 … n-1")
                    return None
                return [indexed[i] for i in range(len(indexed))]
            problems.add(candidate, "names", "needs 'names': a list or a mapping index → name")
            return None
    for candidate in (root / "classes.txt", root / "obj.names", root / "labels" / "classes.txt"):
        if candidate.is_file():
            lines = candidate.read_text(encoding="utf-8").splitlines()
            return [line.strip() for line in lines if line.strip()]
    problems.add(root, "", "no data.yaml, classes.txt or obj.names giving the class names")
    return None


def _label_file(root: Path, image: Path) -> Path:
    parts = list(image.relative_to(root).parts)
    if "images" in parts:
        i = len(parts) - 1 - parts[::-1].index("images")
        parts[i] = "labels"
        parallel = root.joinpath(*parts).with_suffix(".txt")
        if parallel.is_file():
            return parallel
    return image.with_suffix(".txt")


def read_yolo(src: Path, problems: Problems) -> RawDataset:
    """Read a YOLO dataset; every problem is added to ``problems``."""
    root = src
    names = _names(root, problems)
    if names is None:
        return RawDataset(root, "yolo", ())
    samples: list[RawSample] = []
    used: set[Path] = set()
    for image in iter_images(root, skip=frozenset({"labels"})):
        label_path = _label_file(root, image)
        size = measured_size(image, image, "", problems)
        if size is None:
            continue
        width, height = size
        boxes: list[RawBox] = []
        if label_path.is_file():
            used.add(label_path.resolve())
            try:
                lines = label_path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                problems.add(label_path, "", f"cannot read ({exc})")
                continue
            for n, line in enumerate(lines, start=1):
                fields = line.split()
                if not fields:
                    continue
                where = f"line {n}"
                if len(fields) != 5:
                    problems.add(
                        label_path,
                        where,
                        f"expected 'class cx cy w h' (5 fields), got {len(fields)}: "
                        "segments and keypoints are not supported",
                    )
                    continue
                values = [number(v) for v in fields[1:]]
                if not fields[0].isdigit() or any(v is None for v in values):
                    problems.add(label_path, where, f"not numbers: {line.strip()!r}")
                    continue
                cls = int(fields[0])
                if cls >= len(names):
                    problems.add(
                        label_path, where, f"class index {cls} unknown ({len(names)} names)"
                    )
                    continue
                cx, cy, w, h = (float(v or 0.0) for v in values)
                boxes.append(
                    RawBox(
                        (cx - w / 2) * width,
                        (cy - h / 2) * height,
                        (cx + w / 2) * width,
                        (cy + h / 2) * height,
                        names[cls],
                        f"{label_path}:{n}",
                    )
                )
        parts = image.relative_to(root).parts
        attrs: dict[str, str] = {}
        if len(parts) > 2 and parts[0] == "images":
            attrs["source_split"] = parts[1]
        samples.append(
            RawSample(
                path=image,
                rel_path=rel(root, image),
                width=width,
                height=height,
                where=str(label_path if label_path.is_file() else image),
                boxes=tuple(boxes),
                attributes=attrs,
            )
        )
    for label_path in sorted(root.rglob("*.txt")):
        if label_path.resolve() in used or label_path.name in {"classes.txt", "obj.names"}:
            continue
        if "labels" in label_path.relative_to(root).parts and label_path.stat().st_size:
            problems.add(label_path, "", "label file without a matching image")
    return RawDataset(root, "yolo", tuple(samples), labels_declared=tuple(names))
