"""Class mappings from a detector's label set to the taxonomy.

A site that brings its own detector gives a mapping in its site config: inline
(``model.class_map``) or as a YAML file (``model.class_map_file``)::

    source_classes: [person, bicycle, car]   # optional: the model's classes, in output order
    map:                                     # model class name → taxonomy class name
      person: person
      car: vehicle

Model classes absent from ``map`` are dropped. The built-in COCO mapping ships as the package
file ``maps/coco.yaml``, the single source of :data:`COCO80` and :data:`COCO_TO_TAXONOMY`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from veilleur.runtime.config import read_yaml
from veilleur.runtime.core.taxonomy import CLASSES
from veilleur.runtime.detect.common import ClassMapError


class _ClassMapDoc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source_classes: list[str] | None = None
    map: dict[str, str]

    @field_validator("source_classes")
    @classmethod
    def _unique(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            if not v:
                raise ValueError("must list at least one class (or be left out)")
            dupes = sorted({c for c in v if v.count(c) > 1})
            if dupes:
                raise ValueError(f"duplicate class names: {dupes}")
        return v


@dataclass(frozen=True)
class ClassMap:
    """A validated class mapping.

    Attributes:
        source: where it comes from, for messages (a file path, or ``model.class_map``).
        mapping: model class name → taxonomy class name.
        source_classes: the model's class names in output order, when the file gives them.
    """

    source: str
    mapping: dict[str, str] = field(default_factory=dict)
    source_classes: tuple[str, ...] | None = None


def parse_class_map(doc: Any, source: str) -> ClassMap:
    """Validate a parsed class map document.

    Raises:
        ClassMapError: naming ``source`` and the offending field or key.
    """
    if not isinstance(doc, dict):
        raise ClassMapError(f"{source}: expected a mapping with 'map' (and 'source_classes')")
    try:
        parsed = _ClassMapDoc.model_validate(doc)
    except ValidationError as err:
        lines = [f"{source}: invalid class map file ({err.error_count()} error(s))"]
        for e in err.errors():
            loc = ".".join(str(p) for p in e["loc"]) or "(root)"
            msg = e["msg"]
            if e["type"] == "extra_forbidden":
                msg = "unknown field (expected only 'source_classes' and 'map')"
            lines.append(f"  - {loc}: {msg}")
        raise ClassMapError("\n".join(lines)) from None
    check_targets(parsed.map, source)
    classes = tuple(parsed.source_classes) if parsed.source_classes is not None else None
    if classes is not None:
        unknown = [k for k in parsed.map if k not in classes]
        if unknown:
            raise ClassMapError(
                f"{source}: map.{unknown[0]}: {unknown[0]!r} is not one of source_classes"
                + (f" (nor are {unknown[1:]})" if len(unknown) > 1 else "")
            )
    return ClassMap(source=source, mapping=dict(parsed.map), source_classes=classes)


def check_targets(mapping: dict[str, str], source: str) -> None:
    """Every value of ``mapping`` must be a taxonomy class.

    Raises:
        ClassMapError: naming ``source`` and the first bad key.
    """
    for key, target in mapping.items():
        if target not in CLASSES:
            raise ClassMapError(
                f"{source}: map.{key}: {target!r} is not a taxonomy class "
                f"(classes: {', '.join(CLASSES)})"
            )


def load_class_map_file(path: Path | str) -> ClassMap:
    """Read and validate a class map YAML file.

    Raises:
        ClassMapError: naming the file and the offending field or key.
    """
    doc = read_yaml(path, "the class map file", ClassMapError)
    return parse_class_map(doc, str(path))


def builtin_class_map(name: str) -> ClassMap:
    """A class map shipped with the package (``maps/NAME.yaml``), e.g. ``coco``."""
    res = resources.files(__package__ or "veilleur.runtime.detect") / "maps" / f"{name}.yaml"
    return parse_class_map(yaml.safe_load(res.read_text(encoding="utf-8")), f"maps/{name}.yaml")


def _coco_classes(cmap: ClassMap) -> tuple[str, ...]:
    if cmap.source_classes is None or len(cmap.source_classes) != 80:
        raise ClassMapError(f"{cmap.source}: source_classes must list the 80 COCO classes")
    return cmap.source_classes


_COCO: Final[ClassMap] = builtin_class_map("coco")

COCO80: Final[tuple[str, ...]] = _coco_classes(_COCO)
"""The 80 COCO class names in the order of the usual 0-based contiguous ids."""

COCO_TO_TAXONOMY: Final[dict[str, str]] = dict(_COCO.mapping)
"""COCO class name → taxonomy class name; other COCO classes are dropped."""
