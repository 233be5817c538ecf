"""The source sidecar ``source.yaml``: provenance and default metadata of one source (EX-084).

Schema (unknown keys are refused)::

    name: parvis-nord-2025          # required; letters, digits, '-', '_', '.'
    licence: "interne, convention n° 2025-14"   # required
    site: "Parvis nord"             # optional
    camera: cam-01                  # optional
    capture_date: 2025-06-14        # optional: a date, or a range "2025-06-14/2025-06-16"
    acquisition: "Enregistrement du VMS, export MP4 par l'exploitant"   # required
    selection: "Tous les créneaux du samedi, sans tri"                  # required
    annotation: "CVAT, double annotation"                               # optional
    split_unit: folder              # still images only: folder | camera | image (default folder)
    metadata:                       # defaults of every sample
      lighting: day                 # day | dusk | night | indoor
      weather: clear                # clear | rain | fog | snow | indoor
      camera_height_m: 4.5
      camera_angle_deg: 30          # tilt below the horizon
      density: low                  # low | medium | high; derived from persons when absent
      extra: {scene: parvis}        # free slicing keys (strings, numbers, booleans)
    overrides:                      # optional; applied in order to the samples they match
      - match: "cam02/**"           # glob on the path relative to the source folder
        camera: cam-02
        metadata: {lighting: night}

Video frames are always split by video; still images by the folder that holds them
(``folder``), by camera (``camera``), or one by one (``image``, only for independent photos:
frames of one scene in different splits leak).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from veilleur.data.ingest.model import AttributeValue, IngestError, Problem

Lighting = Literal["day", "dusk", "night", "indoor"]
Weather = Literal["clear", "rain", "fog", "snow", "indoor"]
Density = Literal["low", "medium", "high"]
SplitUnit = Literal["folder", "camera", "image"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(/\d{4}-\d{2}-\d{2})?$")


def _date_text(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class MetadataDefaults(BaseModel, frozen=True, extra="forbid"):
    """Declared metadata; every field optional."""

    lighting: Lighting | None = None
    weather: Weather | None = None
    camera_height_m: float | None = Field(default=None, gt=0.0, le=200.0)
    camera_angle_deg: float | None = Field(default=None, ge=-90.0, le=90.0)
    density: Density | None = None
    extra: dict[str, AttributeValue] = Field(default_factory=dict)

    def merged(self, other: MetadataDefaults) -> MetadataDefaults:
        """``self`` with the fields ``other`` sets replacing its own."""
        data = self.model_dump()
        for key, value in other.model_dump(exclude_unset=True).items():
            data[key] = {**data["extra"], **value} if key == "extra" else value
        return MetadataDefaults(**data)


class Override(BaseModel, frozen=True, extra="forbid"):
    """Provenance and metadata of the samples whose relative path matches ``match``."""

    match: str = Field(min_length=1)
    site: str | None = None
    camera: str | None = None
    capture_date: str | None = None
    metadata: MetadataDefaults = Field(default_factory=MetadataDefaults)

    _date = field_validator("capture_date", mode="before")(_date_text)

    @field_validator("capture_date")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        if value is not None and not _DATE.match(value):
            raise ValueError("capture_date must be YYYY-MM-DD or YYYY-MM-DD/YYYY-MM-DD")
        return value


class SourceConfig(BaseModel, frozen=True, extra="forbid"):
    """A ``source.yaml`` file (module docstring)."""

    name: str
    licence: str = Field(min_length=1)
    site: str | None = None
    camera: str | None = None
    capture_date: str | None = None
    acquisition: str = Field(min_length=1)
    selection: str = Field(min_length=1)
    annotation: str | None = None
    split_unit: SplitUnit = "folder"
    metadata: MetadataDefaults = Field(default_factory=MetadataDefaults)
    overrides: list[Override] = Field(default_factory=list)

    _date = field_validator("capture_date", mode="before")(_date_text)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                "name must start with a letter or digit and hold only letters, digits, "
                "'.', '-', '_'"
            )
        return value

    @field_validator("capture_date")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        if value is not None and not _DATE.match(value):
            raise ValueError("capture_date must be YYYY-MM-DD or YYYY-MM-DD/YYYY-MM-DD")
        return value

    def resolve(self, rel_path: str) -> tuple[str | None, str | None, str | None, MetadataDefaults]:
        """``(site, camera, capture_date, metadata)`` of the sample at ``rel_path``."""
        site, camera, date, meta = self.site, self.camera, self.capture_date, self.metadata
        for override in self.overrides:
            if fnmatch.fnmatchcase(rel_path, override.match):
                site = override.site or site
                camera = override.camera or camera
                date = override.capture_date or date
                meta = meta.merged(override.metadata)
        return site, camera, date, meta


def read_source_doc(path: Path) -> dict[str, Any]:
    """The raw mapping of a ``source.yaml`` (not validated).

    Raises:
        IngestError: missing file, invalid YAML, not a mapping.
    """
    try:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise IngestError(f"cannot read the source sidecar ({exc})", str(path)) from exc
    except yaml.YAMLError as exc:
        raise IngestError(f"invalid YAML: {exc}", str(path)) from exc
    if not isinstance(doc, dict):
        raise IngestError("expected a mapping (name, licence, acquisition, selection …)", str(path))
    return doc


def merge_source_doc(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied: top-level keys replaced, ``metadata`` merged key by key
    (and its ``extra`` too), ``overrides`` appended."""
    merged = dict(base)
    for key, value in changes.items():
        old = merged.get(key)
        if key == "metadata" and isinstance(old, dict) and isinstance(value, dict):
            meta = {**old, **value}
            if isinstance(old.get("extra"), dict) and isinstance(value.get("extra"), dict):
                meta["extra"] = {**old["extra"], **value["extra"]}
            merged[key] = meta
        elif key == "overrides" and isinstance(old, list) and isinstance(value, list):
            merged[key] = [*old, *value]
        else:
            merged[key] = value
    return merged


def parse_source_config(doc: dict[str, Any], where: str, prefix: str = "") -> SourceConfig:
    """Validate a ``source.yaml`` mapping; problems name ``where`` and ``prefix.field``.

    Raises:
        IngestError: one problem per field that does not follow the schema.
    """
    try:
        return SourceConfig.model_validate(doc)
    except ValidationError as exc:
        raise IngestError(
            [
                Problem(
                    where,
                    prefix + (".".join(str(p) for p in err["loc"]) or "(root)"),
                    err["msg"],
                )
                for err in exc.errors()
            ]
        ) from exc


def load_source_config(path: Path) -> SourceConfig:
    """Read and validate ``source.yaml``.

    Raises:
        IngestError: missing file, invalid YAML, or a field that does not follow the schema
            (one problem per field).
    """
    return parse_source_config(read_source_doc(path), str(path))
