"""Site configuration: one pydantic tree, loaded from YAML, versioned with migrations (EX-052).

Coordinates are normalised to 0–1 (x right, y down) so a zone survives a resolution change.
Every model forbids unknown fields, and :func:`load_site_config` turns validation errors into
messages that name the file and the field to change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from veilleur.runtime.core.taxonomy import CLASSES

CONFIG_VERSION = 1
"""Current schema version. Bump it with a migration in :data:`MIGRATIONS`."""


class ConfigError(ValueError):
    """A site configuration that cannot be used; the message says where and what to change."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Point = tuple[
    Annotated[float, Field(ge=0.0, le=1.0)],
    Annotated[float, Field(ge=0.0, le=1.0)],
]


class SiteInfo(_Model):
    name: str = Field(description="Nom du site, affiché à l'opérateur.")
    timezone: str = Field("Europe/Paris", description="Fuseau horaire IANA des heures locales.")


class ModelConfig(_Model):
    path: Path = Field(description="Detector ONNX file, relative to the config file.")
    sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description="Expected SHA-256 of the ONNX file; the runtime refuses to start on mismatch.",
    )
    adapter: Literal["auto", "veilleur", "yolox"] = Field(
        "auto", description="Output layout of the model; auto reads the model's metadata."
    )
    class_map: dict[str, str] | None = Field(
        None,
        description="Model class name → taxonomy class (for third-party detectors, e.g. COCO).",
    )
    confidence: float = Field(0.35, ge=0.0, le=1.0, description="Minimum detection score.")
    nms_iou: float = Field(0.5, gt=0.0, le=1.0, description="IoU threshold of NMS.")


class SourceConfig(_Model):
    url: str = Field(description="Video file path (relative to the config) or rtsp:// URL.")
    transport: Literal["tcp", "udp", "udp_multicast"] = Field(
        "tcp", description="RTSP transport (ignored for files)."
    )

    @property
    def is_stream(self) -> bool:
        return self.url.startswith(("rtsp://", "rtsps://"))


class ZoneConfig(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["polygon", "line"]
    points: list[Point] = Field(description="Normalised points (0–1), x right, y down.")

    @model_validator(mode="after")
    def _check_points(self) -> ZoneConfig:
        if self.kind == "polygon" and len(self.points) < 3:
            raise ValueError(f"polygon zone {self.id!r} needs at least 3 points")
        if self.kind == "line" and len(self.points) != 2:
            raise ValueError(f"line zone {self.id!r} needs exactly 2 points")
        if self.kind == "line" and self.points[0] == self.points[1]:
            raise ValueError(f"line zone {self.id!r} has two identical points")
        return self


ClassName = Literal[
    "person", "vehicle", "bicycle", "bag", "weapon", "fire", "smoke", "person_lying"
]


class _RuleBase(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    enabled: bool = True
    zone: str = Field(description="Id of the zone the rule watches.")
    classes: list[ClassName] = Field(default_factory=lambda: ["person"])  # type: ignore[arg-type]
    cooldown_s: float = Field(
        10.0, ge=0.0, description="Minimum delay between two alerts of this rule for one track."
    )


class FranchissementRule(_RuleBase):
    """Presence in a forbidden polygon, or crossing a line (optionally in one direction)."""

    type: Literal["franchissement"]
    min_duration_s: float = Field(
        0.0, ge=0.0, description="Polygon: time inside before alerting (seconds)."
    )
    direction: Literal["left_to_right", "right_to_left", "any"] = Field(
        "any",
        description=(
            "Line: crossing direction that alerts. Sides are seen walking from the line's first "
            "point to its second on screen; left_to_right = from the left-hand side to the "
            "right-hand side."
        ),
    )


class DensiteRule(_RuleBase):
    """Too many people inside a zone for a while."""

    type: Literal["densite"]
    max_count: int = Field(ge=1, description="Alert when strictly more objects are in the zone.")
    min_duration_s: float = Field(2.0, ge=0.0)


class SensCirculationRule(_RuleBase):
    """A track moving against the allowed direction of a corridor zone."""

    type: Literal["sens_circulation"]
    allowed_direction: tuple[float, float] = Field(
        description="Allowed direction of flow as an image vector (dx, dy), y down."
    )
    tolerance_deg: float = Field(
        90.0, gt=0.0, lt=180.0, description="Motion further than this from allowed is wrong-way."
    )
    min_duration_s: float = Field(1.5, ge=0.0)
    min_speed: float = Field(
        0.01, ge=0.0, description="Minimum speed (normalised units per second) to judge motion."
    )

    @field_validator("allowed_direction")
    @classmethod
    def _non_zero(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] == 0 and v[1] == 0:
            raise ValueError("allowed_direction must not be the zero vector")
        return v


RuleConfig = Annotated[
    FranchissementRule | DensiteRule | SensCirculationRule, Field(discriminator="type")
]


class CameraConfig(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = ""
    enabled: bool = True
    source: SourceConfig
    analysis_fps: float = Field(
        6.25, gt=0.0, le=25.0, description="Frames analysed per second (≤ the stream's fps)."
    )
    zones: list[ZoneConfig] = Field(default_factory=list)
    rules: list[RuleConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_refs(self) -> CameraConfig:
        zones = {z.id: z for z in self.zones}
        if len(zones) != len(self.zones):
            raise ValueError(f"camera {self.id!r}: zone ids must be unique")
        if len({r.id for r in self.rules}) != len(self.rules):
            raise ValueError(f"camera {self.id!r}: rule ids must be unique")
        for rule in self.rules:
            zone = zones.get(rule.zone)
            if zone is None:
                raise ValueError(
                    f"rule {rule.id!r} refers to zone {rule.zone!r}, which camera {self.id!r} "
                    f"does not define (zones: {', '.join(zones) or 'none'})"
                )
            if zone.kind == "line" and not isinstance(rule, FranchissementRule):
                raise ValueError(f"rule {rule.id!r} ({rule.type}) needs a polygon zone")
        return self

    def zone(self, zone_id: str) -> ZoneConfig:
        for z in self.zones:
            if z.id == zone_id:
                return z
        raise KeyError(zone_id)


class SiteConfig(_Model):
    """The whole site: cameras, their zones and rules, and the detector."""

    version: Literal[1] = Field(description="Schema version of this file.")
    site: SiteInfo
    model: ModelConfig | None = None
    cameras: list[CameraConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_cameras(self) -> SiteConfig:
        if len({c.id for c in self.cameras}) != len(self.cameras):
            raise ValueError("camera ids must be unique")
        return self

    def camera(self, camera_id: str) -> CameraConfig:
        for c in self.cameras:
            if c.id == camera_id:
                return c
        raise KeyError(f"no camera {camera_id!r}; cameras: {[c.id for c in self.cameras]}")

    def digest(self) -> str:
        """Short content hash: the *config version* journaled with every alert."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# Migrations: MIGRATIONS[n] turns a version-n document into version n+1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def migrate(doc: dict[str, Any]) -> dict[str, Any]:
    """Bring a raw config document to :data:`CONFIG_VERSION`."""
    version = doc.get("version")
    if not isinstance(version, int):
        raise ConfigError("field 'version' is missing or not an integer (expected 1)")
    if version > CONFIG_VERSION:
        raise ConfigError(
            f"config version {version} is newer than this runtime supports ({CONFIG_VERSION}); "
            "upgrade Veilleur"
        )
    while version < CONFIG_VERSION:
        doc = MIGRATIONS[version](doc)
        version = int(doc["version"])
    return doc


def _format_errors(source: str, err: ValidationError, what: str = "site configuration") -> str:
    lines = [f"{source}: invalid {what} ({err.error_count()} error(s))"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(root)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field (remove it or check its spelling)"
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def parse_site_config(doc: Any, source: str = "<config>") -> SiteConfig:
    """Validate a raw document (already parsed YAML) into a :class:`SiteConfig`."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    doc = migrate(dict(doc))
    try:
        return SiteConfig.model_validate(doc)
    except ValidationError as err:
        raise ConfigError(_format_errors(source, err)) from None


def load_site_config(path: Path | str) -> SiteConfig:
    """Load and validate a site YAML file.

    Relative paths inside (video files, model) stay relative; resolve them with
    :func:`resolve_path` against the file's folder.

    Raises:
        ConfigError: naming the file and each offending field.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_site_config(doc, str(path))


def resolve_path(config_path: Path | str, value: Path | str) -> Path:
    """Resolve a path written in a config file relative to that file's folder."""
    p = Path(value)
    return p if p.is_absolute() else (Path(config_path).parent / p)


P = TypeVar("P", bound=BaseModel)


class ParamsError(ValueError):
    """A pipeline parameters file that cannot be used; the message names file, section, field."""


def load_params_section(path: Path | None, section: str, model: type[P]) -> P:
    """Read one stage's section of ``params.yaml`` into its pydantic model.

    The pipeline stages (synth, prepare, train, export, evaluate) all read their parameters
    through this function. ``path=None`` or an absent (or empty) section gives the model's
    defaults; a path that does not exist is an error, as is an unknown or invalid key.

    Raises:
        ParamsError: naming the file, the section and each offending field.
    """
    if path is None:
        return model()
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ParamsError(f"{path}: cannot read the parameters ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ParamsError(f"{path}: expected a mapping of sections at the top level")
    values = doc.get(section) or {}
    if not isinstance(values, dict):
        raise ParamsError(f"{path}: section {section!r} must be a mapping")
    try:
        return model.model_validate(values)
    except ValidationError as err:
        raise ParamsError(_format_errors(str(path), err, f"{section!r} section")) from None


def site_config_json_schema() -> dict[str, Any]:
    """JSON schema of the site configuration, for the operator UI and the docs."""
    return SiteConfig.model_json_schema()


__all__ = [
    "CLASSES",
    "CONFIG_VERSION",
    "CameraConfig",
    "ConfigError",
    "DensiteRule",
    "FranchissementRule",
    "ModelConfig",
    "ParamsError",
    "RuleConfig",
    "SensCirculationRule",
    "SiteConfig",
    "SourceConfig",
    "ZoneConfig",
    "load_params_section",
    "load_site_config",
    "parse_site_config",
    "resolve_path",
]
