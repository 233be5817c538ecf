"""The taxonomy mapping file ``data/taxonomy.yaml`` (EX-047, EX-048, EX-089).

One file, versioned in git, says how every source's labels become the runtime's classes::

    version: 1
    classes: [person, vehicle, bicycle, bag, weapon, fire, smoke, person_lying]
    biometric: [face, head, identity]   # refused labels, on top of the built-in list
    default:                            # every source
      map: {pedestrian: person, car: vehicle}
      ignore: [traffic light]
    formats:                            # per format: coco | yolo | cvat | voc | fiftyone
      coco:
        map: {backpack: bag}
        ignore: [dog]
    sources:                            # per source (the ``name`` of its source.yaml)
      parvis-nord-2025:
        map: {sac: bag}

``classes`` must be the runtime's :data:`~veilleur.runtime.core.taxonomy.CLASSES`, in order: the
file documents them and a change on one side without the other is refused. A class may not be
ignored by any section (it would never map to itself). :func:`load_taxonomy` takes the expected
class list as an argument (the runtime's by default), so that adding a class
(docs/nouvelle-classe.md) can be checked before the runtime ships it. A label is looked up
in the source's section, then the format's, then ``default``; the first section that maps or
ignores it decides; a taxonomy class name always maps to itself. Labels are compared
case-insensitively, with spaces and dashes read as underscores (``Traffic Light`` =
``traffic_light``).

A label that is neither mapped nor ignored is *unknown*: it is reported (count, example files)
and fails the ingest unless unknown labels are allowed. A biometric label (face, head, identity,
iris …: :data:`BIOMETRIC_LABELS`, plus the file's ``biometric`` list) is refused outright,
mapped, ignored or not (EX-089): remove those annotations from the source first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from veilleur.data.ingest.model import Format, IngestError, Problem
from veilleur.runtime.core.taxonomy import CLASSES

BIOMETRIC_LABELS: Final = frozenset(
    {
        "face",
        "faces",
        "human_face",
        "head",
        "heads",
        "human_head",
        "identity",
        "person_id",
        "face_id",
        "identity_id",
        "reid",
        "re_id",
        "iris",
        "fingerprint",
        "gait",
        "facial_landmarks",
        "landmarks",
        "eye",
        "eyes",
    }
)
"""Labels refused whatever the taxonomy file says (EX-089)."""
BIOMETRIC_TOKENS: Final = frozenset({"face", "faces", "facial", "identity", "iris", "biometric"})
"""A label with one of these words (``_``-separated) is biometric too (``human_face`` …)."""

Decision = Literal["map", "ignore", "unknown", "biometric"]


def normalise(label: str) -> str:
    """Case-folded label with spaces and dashes as underscores."""
    return re.sub(r"[\s\-]+", "_", label.strip()).casefold()


class Section(BaseModel, frozen=True, extra="forbid"):
    """``map`` (source label → taxonomy class) and ``ignore`` (labels dropped on purpose)."""

    map: dict[str, str] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)


class TaxonomyFile(BaseModel, frozen=True, extra="forbid"):
    """The parsed ``data/taxonomy.yaml``."""

    version: int = Field(ge=1)
    classes: list[str]
    biometric: list[str] = Field(default_factory=list)
    default: Section = Field(default_factory=Section)
    formats: dict[Literal["coco", "yolo", "cvat", "voc", "fiftyone"], Section] = Field(
        default_factory=dict
    )
    sources: dict[str, Section] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LabelMapper:
    """Decides, for one source, what each label becomes."""

    sections: tuple[tuple[dict[str, str], frozenset[str]], ...]
    biometric: frozenset[str]
    path: str
    classes: tuple[str, ...] = CLASSES

    def is_biometric(self, label: str) -> bool:
        """Whether ``label`` names a biometric annotation (EX-089)."""
        key = normalise(label)
        return key in self.biometric or bool(BIOMETRIC_TOKENS & set(key.split("_")))

    def decide(self, label: str) -> tuple[Decision, str | None]:
        """``("map", class)``, ``("ignore", None)``, ``("unknown", None)`` or
        ``("biometric", None)``."""
        if self.is_biometric(label):
            return "biometric", None
        key = normalise(label)
        for mapping, ignored in self.sections:
            if key in mapping:
                return "map", mapping[key]
            if key in ignored:
                return "ignore", None
        if key in self.classes:
            return "map", key
        return "unknown", None


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """The validated taxonomy file."""

    path: Path
    doc: TaxonomyFile

    @property
    def classes(self) -> tuple[str, ...]:
        """The classes of the file (checked against the expected list at load time)."""
        return tuple(self.doc.classes)

    def mapper(self, fmt: Format, source: str) -> LabelMapper:
        """The mapper of source ``source`` read in format ``fmt``."""
        sections = [self.doc.sources.get(source), self.doc.formats.get(fmt), self.doc.default]
        return LabelMapper(
            sections=tuple(
                (
                    {normalise(k): v for k, v in s.map.items()},
                    frozenset(normalise(i) for i in s.ignore),
                )
                for s in sections
                if s is not None
            ),
            biometric=BIOMETRIC_LABELS | {normalise(b) for b in self.doc.biometric},
            path=str(self.path),
            classes=self.classes,
        )


def _check(doc: TaxonomyFile, path: Path, classes: tuple[str, ...]) -> list[Problem]:
    problems: list[Problem] = []
    if tuple(doc.classes) != classes:
        problems.append(
            Problem(
                str(path),
                "classes",
                f"lists {doc.classes}, the runtime knows {list(classes)} (in this order): "
                "change the runtime taxonomy and this file together "
                "(docs/nouvelle-classe.md)",
            )
        )
    probe = LabelMapper((), BIOMETRIC_LABELS | {normalise(b) for b in doc.biometric}, str(path))
    named: list[tuple[str, Section]] = [("default", doc.default)]
    named += [(f"formats.{k}", v) for k, v in doc.formats.items()]
    named += [(f"sources.{k}", v) for k, v in doc.sources.items()]
    for where, section in named:
        keys = [normalise(k) for k in section.map]
        for label, target in section.map.items():
            if target not in classes:
                problems.append(
                    Problem(
                        str(path),
                        f"{where}.map.{label}",
                        f"target {target!r} is not a taxonomy class ({', '.join(classes)})",
                    )
                )
        for label in section.ignore:
            if normalise(label) in classes:
                problems.append(
                    Problem(
                        str(path),
                        f"{where}.ignore",
                        f"{label!r} is a taxonomy class: an ignored class would never be kept; "
                        "remove it from this ignore list",
                    )
                )
        for label in _dupes(keys):
            problems.append(Problem(str(path), f"{where}.map", f"label {label!r} given twice"))
        for label in sorted(set(keys) & {normalise(i) for i in section.ignore}):
            problems.append(
                Problem(str(path), where, f"label {label!r} is both mapped and ignored")
            )
        for label in [*section.map, *section.ignore]:
            if probe.is_biometric(label):
                problems.append(
                    Problem(
                        str(path),
                        f"{where}",
                        f"biometric label {label!r} cannot be mapped or ignored: biometric "
                        "annotations are refused outright (EX-089)",
                    )
                )
    return problems


def _dupes(keys: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dupes: set[str] = set()
    for key in keys:
        (dupes if key in seen else seen).add(key)
    return sorted(dupes)


def load_taxonomy(path: Path, classes: Sequence[str] = CLASSES) -> Taxonomy:
    """Read and check the taxonomy mapping file.

    Args:
        path: the file.
        classes: the class list the file must declare, in order (the runtime's by default).

    Raises:
        IngestError: missing file, invalid YAML, unknown key, a class list that differs from
            the runtime's, a target that is not a class, a biometric label.
    """
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise IngestError(f"cannot read the taxonomy file ({exc})", str(path)) from exc
    except yaml.YAMLError as exc:
        raise IngestError(f"invalid YAML: {exc}", str(path)) from exc
    if not isinstance(raw, dict):
        raise IngestError("expected a mapping (version, classes, default …)", str(path))
    try:
        doc = TaxonomyFile.model_validate(raw)
    except ValidationError as exc:
        raise IngestError(
            [
                Problem(str(path), ".".join(str(p) for p in err["loc"]) or "(root)", err["msg"])
                for err in exc.errors()
            ]
        ) from exc
    problems = _check(doc, path, tuple(classes))
    if problems:
        raise IngestError(problems)
    return Taxonomy(path, doc)
