"""Site configuration: one pydantic tree, loaded from YAML, versioned with migrations (EX-052).

Coordinates are normalised to 0–1 (x right, y down) so a zone survives a resolution change.
Every model forbids unknown fields, and :func:`load_site_config` turns validation errors into
messages that name the file and the field to change.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from veilleur.runtime.core.taxonomy import CLASSES

if TYPE_CHECKING:
    from veilleur.runtime.core.calibration import GroundPlane

CONFIG_VERSION = 1
"""Current schema version. Bump it with a migration in :data:`MIGRATIONS`."""


class ConfigError(ValueError):
    """A site configuration that cannot be used; the message says where and what to change.

    ``errors``: the validation errors behind it (pydantic's list), when there are some, so a
    caller can word them for its own readers (the API answers in French).
    """

    def __init__(self, message: str, errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


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
    adapter: Literal["auto", "veilleur", "yolox", "yolo", "nms"] = Field(
        "auto",
        description=(
            "Output layout of the model (contracts §5); auto reads the model's metadata, then "
            "its output shapes."
        ),
    )
    class_map: dict[str, str] | None = Field(
        None,
        description="Model class name → taxonomy class (for third-party detectors, e.g. COCO).",
    )
    class_map_file: Path | None = Field(
        None,
        description=(
            "YAML class map file (source_classes, map), relative to the config file; "
            "in place of class_map."
        ),
    )
    manifest: Path | None = Field(
        None,
        description=(
            "Deploy manifest (deploy-manifest.json), relative to the config file; when set, "
            "the runtime refuses to start unless the model matches it."
        ),
    )
    providers: list[Literal["tensorrt", "cuda", "cpu"]] | None = Field(
        None,
        description=(
            "Execution providers in order of preference (default: cuda when onnxruntime-gpu "
            "provides it, then cpu); cpu is always the last fallback."
        ),
    )
    confidence: float = Field(0.35, ge=0.0, le=1.0, description="Minimum detection score.")
    nms_iou: float = Field(0.5, gt=0.0, le=1.0, description="IoU threshold of NMS.")
    intra_op_threads: int = Field(
        0,
        ge=0,
        le=256,
        description=(
            "onnxruntime intra-op threads of the detector; 0 = automatic: the cores this "
            "process may use (its CPU affinity, e.g. a container's cpuset). Lower it to leave "
            "cores to other processes on the same machine (docs/dimensionnement.md)."
        ),
    )
    spinning: bool = Field(
        False,
        description=(
            "Let onnxruntime's threads spin (busy-wait) between runs. Off by default: spinning "
            "threads take the cores the analysis thread and the decoders need, and under load "
            "it doubled the inference time in the measurements (docs/dimensionnement.md)."
        ),
    )

    @model_validator(mode="after")
    def _one_class_map(self) -> ModelConfig:
        if self.class_map is not None and self.class_map_file is not None:
            raise ValueError("give either class_map or class_map_file, not both")
        return self


class SourceConfig(_Model):
    url: str = Field(description="Video file path (relative to the config) or rtsp:// URL.")
    transport: Literal["tcp", "udp", "udp_multicast"] = Field(
        "tcp", description="RTSP transport (ignored for files)."
    )
    frozen_after_s: float = Field(
        10.0,
        ge=0.0,
        description=(
            "A stream whose image or timestamps stop changing this long is treated as lost and "
            "reopened (0 = off; raise it for cameras with long keyframe intervals)."
        ),
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


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


class ScheduleWindow(_Model):
    """A weekly window when a rule is active, in the site's local time (EX-041).

    ``end`` before ``start`` runs over midnight into the next day.
    """

    days: list[Day] = Field(default_factory=lambda: list(DAYS), min_length=1)  # type: ignore[arg-type]
    start: HHMM = "00:00"
    end: HHMM = "24:00"

    @model_validator(mode="after")
    def _not_empty(self) -> ScheduleWindow:
        if self.start == self.end:
            raise ValueError(f"schedule window {self.start}–{self.end} is empty")
        return self

    def contains(self, weekday: int, minute: int) -> bool:
        """Whether the window covers ``minute`` (0–1439) of ``weekday`` (0 = Monday)."""
        m = weekday * 1440 + minute
        return any(a <= m < b for a, b in self.week_minutes())

    def week_minutes(self) -> list[tuple[int, int]]:
        """Intervals ``[a, b)`` in minutes from Monday 00:00 covered by this window."""
        a, b = _minutes(self.start), _minutes(self.end)
        out: list[tuple[int, int]] = []
        for day in self.days:
            base = DAYS.index(day) * 1440
            if b > a:
                out.append((base + a, base + b))
            else:  # over midnight: wraps into the next day (Sunday → Monday)
                out.append((base + a, base + 1440))
                nxt = (base + 1440) % (7 * 1440)
                if b > 0:
                    out.append((nxt, nxt + b))
        return out


def _check_schedule(owner: str, windows: list[ScheduleWindow]) -> None:
    spans = sorted(((iv, w) for w in windows for iv in w.week_minutes()), key=lambda s: s[0])
    for ((_a1, b1), w1), ((a2, _b2), w2) in itertools.pairwise(spans):
        if a2 < b1:
            raise ValueError(
                f"{owner}: schedule windows overlap ({','.join(w1.days)} {w1.start}–{w1.end} "
                f"and {','.join(w2.days)} {w2.start}–{w2.end}); merge them into one window"
            )


Severity = Literal["low", "medium", "high"]


class _RuleCommon(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    enabled: bool = True
    severity: Severity = Field("medium", description="Priority shown to operators.")
    schedule: list[ScheduleWindow] = Field(
        default_factory=list, description="Weekly windows when the rule is active; empty = always."
    )
    cooldown_s: float = Field(
        10.0, ge=0.0, description="Minimum delay between two alerts of this rule for one track."
    )

    @model_validator(mode="after")
    def _schedule_ok(self) -> _RuleCommon:
        _check_schedule(f"rule {self.id!r}", self.schedule)
        return self


class _RuleBase(_RuleCommon):
    zone: str = Field(description="Id of the zone the rule watches.")
    classes: list[ClassName] = Field(default_factory=lambda: ["person"])  # type: ignore[arg-type]
    alert: bool = Field(
        True,
        description="False: the rule raises no alert itself, it only feeds composite rules.",
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
    max_count: int | None = Field(
        None, ge=1, description="Alert when strictly more objects are in the zone."
    )
    max_density_m2: float | None = Field(
        None, gt=0.0, description="Alert above this many objects per m² (needs calibration)."
    )
    min_duration_s: float = Field(2.0, ge=0.0)
    count_correction: list[tuple[float, float]] | None = Field(
        None,
        description=(
            "Detected count → estimated true count, as (detected, estimated) points, for "
            "crowds where boxes merge; fitted on annotated footage by "
            "`veilleur calibrate-density`. Linear between points, last slope beyond."
        ),
    )

    @model_validator(mode="after")
    def _one_threshold(self) -> DensiteRule:
        if self.max_count is None and self.max_density_m2 is None:
            raise ValueError(f"rule {self.id!r}: set max_count or max_density_m2 (or both)")
        pts = self.count_correction
        if pts is not None:
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            if len(pts) < 2 or any(b <= a for a, b in itertools.pairwise(xs)):
                raise ValueError(
                    f"rule {self.id!r}: count_correction needs at least 2 points with strictly "
                    "increasing detected counts"
                )
            if any(b < a for a, b in itertools.pairwise(ys)) or min(ys) < 0:
                raise ValueError(
                    f"rule {self.id!r}: count_correction estimates must be ≥ 0 and must not "
                    "decrease"
                )
        return self


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
    min_distance_m: float = Field(
        0.0, ge=0.0, description="Distance to go against the flow before alerting (metres)."
    )

    @field_validator("allowed_direction")
    @classmethod
    def _non_zero(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] == 0 and v[1] == 0:
            raise ValueError("allowed_direction must not be the zero vector")
        return v


class MouvementFouleRule(_RuleBase):
    """Sudden collective motion in a zone: many tracks start running at once."""

    type: Literal["mouvement_foule"]
    run_speed_mps: float = Field(2.5, gt=0.0, description="Ground speed counted as running.")
    min_tracks: int = Field(4, ge=2, description="Tracks needed in the zone to judge a crowd.")
    min_running_share: float = Field(0.5, gt=0.0, le=1.0)
    speed_jump: float = Field(
        2.5, gt=1.0, description="Mean speed against the zone's recent baseline (ratio)."
    )
    baseline_s: float = Field(10.0, gt=0.0)
    min_duration_s: float = Field(0.5, ge=0.0)
    cooldown_s: float = Field(30.0, ge=0.0)


class ObjetAbandonneRule(_RuleBase):
    """A bag (or unknown static object) left still with nobody near it."""

    type: Literal["objet_abandonne"]
    classes: list[ClassName] = Field(default_factory=lambda: ["bag"])  # type: ignore[arg-type]
    static_s: float = Field(10.0, ge=0.0, description="Time still before it counts as left.")
    owner_radius_m: float = Field(2.0, gt=0.0, description="A person closer is its keeper.")
    unattended_s: float = Field(5.0, ge=0.0, description="Time with nobody within the radius.")
    use_static_cue: bool = Field(
        True, description="Also use background modelling for objects the detector cannot name."
    )
    cooldown_s: float = Field(120.0, ge=0.0)


class _KOfNRule(_RuleBase):
    """A rule that needs its detection in ``k`` of the last ``n`` analysed frames."""

    k: int = Field(3, ge=1)
    n: int = Field(5, ge=1)

    @model_validator(mode="after")
    def _k_le_n(self) -> _KOfNRule:
        if self.k > self.n:
            raise ValueError(f"rule {self.id!r}: k ({self.k}) must not exceed n ({self.n})")
        return self


class ArmeRule(_KOfNRule):
    """A weapon seen in k of the last n analysed frames."""

    type: Literal["arme"]
    classes: list[ClassName] = Field(default_factory=lambda: ["weapon"])  # type: ignore[arg-type]
    min_confidence: float = Field(0.5, ge=0.0, le=1.0)
    cooldown_s: float = Field(30.0, ge=0.0)


class PersonneAuSolRule(_RuleBase):
    """A person lying on the ground after a fall (a posture change, not a lying box alone)."""

    type: Literal["personne_au_sol"]
    classes: list[ClassName] = Field(default_factory=lambda: ["person", "person_lying"])  # type: ignore[arg-type]
    min_lying_s: float = Field(3.0, ge=0.0, description="Time on the ground before alerting.")
    upright_before_s: float = Field(1.0, ge=0.0, description="Time seen upright before the fall.")
    cooldown_s: float = Field(60.0, ge=0.0)


class FeuRule(_KOfNRule):
    """Fire or smoke persistent over k of n frames and growing."""

    type: Literal["feu"]
    classes: list[ClassName] = Field(default_factory=lambda: ["fire", "smoke"])  # type: ignore[arg-type]
    k: int = Field(5, ge=1)
    n: int = Field(8, ge=1)
    min_growth: float = Field(1.15, ge=1.0, description="Growth of the burning area (ratio).")
    window_s: float = Field(4.0, gt=0.0)
    min_confidence: float = Field(0.3, ge=0.0, le=1.0)
    cooldown_s: float = Field(60.0, ge=0.0)


class AllOf(_Model):
    """ET: every condition holds."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    all_of: list[Condition] = Field(alias="and", min_length=1)


class AnyOf(_Model):
    """OU: at least one condition holds."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    any_of: list[Condition] = Field(alias="or", min_length=1)


class NotOf(_Model):
    """NON: the condition does not hold."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    negated: Condition = Field(alias="not")


Condition = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] | AllOf | AnyOf | NotOf
"""A rule id (true while that rule hit within the window), or ``and`` / ``or`` / ``not``."""

for _m in (AllOf, AnyOf, NotOf):
    _m.model_rebuild()


def condition_refs(cond: Condition, negated: bool = False) -> list[tuple[str, bool]]:
    """Rule ids a condition refers to, each with whether it sits under a NOT."""
    if isinstance(cond, str):
        return [(cond, negated)]
    if isinstance(cond, AllOf):
        return [r for c in cond.all_of for r in condition_refs(c, negated)]
    if isinstance(cond, AnyOf):
        return [r for c in cond.any_of for r in condition_refs(c, negated)]
    return condition_refs(cond.negated, not negated)


class CompositeRule(_RuleCommon):
    """Rules combined with ET / OU / NON over a time window (EX-032, EX-038).

    Example: ``when: {and: [densite-zone, foule-zone]}`` with ``window_s: 10`` alerts when
    both rules hit within 10 s of each other.
    """

    type: Literal["composite"]
    event: Literal[
        "sens_circulation",
        "franchissement",
        "mouvement_foule",
        "densite",
        "objet_abandonne",
        "arme",
        "personne_au_sol",
        "feu",
    ] = Field(description="The event the composite alert reports.")
    when: Condition
    window_s: float = Field(
        10.0, gt=0.0, description="A rule counts as true this long after a hit."
    )
    cooldown_s: float = Field(30.0, ge=0.0)


RuleConfig = Annotated[
    FranchissementRule
    | DensiteRule
    | SensCirculationRule
    | MouvementFouleRule
    | ObjetAbandonneRule
    | ArmeRule
    | PersonneAuSolRule
    | FeuRule
    | CompositeRule,
    Field(discriminator="type"),
]

DetectionRule = (
    FranchissementRule
    | DensiteRule
    | SensCirculationRule
    | MouvementFouleRule
    | ObjetAbandonneRule
    | ArmeRule
    | PersonneAuSolRule
    | FeuRule
)
"""Rules watching one zone (every rule type but ``composite``)."""


class CalibrationConfig(_Model):
    """Perspective calibration (EX-008): ≥ 4 image points and their ground position in metres."""

    image_points: list[Point] = Field(min_length=4, description="Normalised image points.")
    ground_points_m: list[tuple[float, float]] = Field(
        min_length=4, description="The same points on the ground, in metres."
    )

    @model_validator(mode="after")
    def _solvable(self) -> CalibrationConfig:
        from veilleur.runtime.core.calibration import CalibrationError, GroundPlane

        if len(self.image_points) != len(self.ground_points_m):
            raise ValueError(
                f"calibration has {len(self.image_points)} image points but "
                f"{len(self.ground_points_m)} ground points"
            )
        try:
            GroundPlane(self.image_points, self.ground_points_m)
        except CalibrationError as exc:
            raise ValueError(str(exc)) from None
        return self

    def ground_plane(self) -> GroundPlane:
        from veilleur.runtime.core.calibration import GroundPlane

        return GroundPlane(self.image_points, self.ground_points_m)


class ViewMonitorConfig(_Model):
    """View-change detection (EX-010): zone rules pause while the view is not the reference."""

    enabled: bool = True
    confirm_s: float = Field(2.0, gt=0.0, description="Time the view must differ before pausing.")


class SceneConfig(_Model):
    """Scene cues of a camera: the view-change monitor and the static-object background model.

    Both follow slow changes (a view lost for seconds, an object left for tens of seconds),
    so they need not see every analysed frame; the rules use the latest cue in between.
    """

    cue_fps: float = Field(
        2.0,
        ge=0.0,
        le=25.0,
        description=(
            "Frames per second on which the scene cues are computed (view monitor, background "
            "model of the abandoned-object rule); 0 = every analysed frame. At most the "
            "analysis rate is used. Values between 0 and 1 are refused: the background model "
            "credits at most 1 s between two updates."
        ),
    )

    @field_validator("cue_fps")
    @classmethod
    def _cue_rate(cls, v: float) -> float:
        if 0.0 < v < 1.0:
            raise ValueError(
                f"cue_fps {v} is too low: use 0 (every analysed frame) or at least 1 "
                "(the background model credits at most 1 s between two updates)"
            )
        return v


class CameraConfig(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = ""
    enabled: bool = True
    source: SourceConfig
    analysis_fps: float = Field(
        6.25, gt=0.0, le=25.0, description="Frames analysed per second (≤ the stream's fps)."
    )
    calibration: CalibrationConfig | None = Field(
        None, description="Perspective calibration; without it metric rules are approximate."
    )
    view_monitor: ViewMonitorConfig = Field(default_factory=ViewMonitorConfig)
    scene: SceneConfig = Field(
        default_factory=SceneConfig,
        description="Rate of the scene cues (view monitor, static-object background model).",
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
        by_id = {r.id: r for r in self.rules}
        for rule in self.rules:
            if isinstance(rule, CompositeRule):
                refs = condition_refs(rule.when)
                for ref, _neg in refs:
                    target = by_id.get(ref)
                    if target is None:
                        raise ValueError(
                            f"composite rule {rule.id!r} refers to rule {ref!r}, which camera "
                            f"{self.id!r} does not define (rules: {', '.join(by_id)})"
                        )
                    if isinstance(target, CompositeRule):
                        raise ValueError(
                            f"composite rule {rule.id!r} refers to composite rule {ref!r}; "
                            "combine the underlying rules directly"
                        )
                if all(neg for _ref, neg in refs):
                    raise ValueError(
                        f"composite rule {rule.id!r} only has negated conditions (NON); it "
                        "needs at least one rule that must hit"
                    )
                continue
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


def format_errors(source: str, err: ValidationError, what: str = "site configuration") -> str:
    """The one formatting of validation errors of the runtime's YAML files: the file, then
    one line per field (unknown fields called so)."""
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
        raise ConfigError(format_errors(source, err), list(err.errors())) from None


def load_site_config(path: Path | str) -> SiteConfig:
    """Load and validate a site YAML file.

    Relative paths inside (video files, model) stay relative; resolve them with
    :func:`resolve_path` against the file's folder.

    Raises:
        ConfigError: naming the file and each offending field.
    """
    return parse_site_config(read_yaml(path, "the configuration"), str(path))


def read_yaml(path: Path | str, what: str, error: type[Exception] = ConfigError) -> Any:
    """Parse a YAML file; an unreadable file or invalid YAML raises ``error`` naming the file.

    The one reader of the runtime's YAML files (site configuration, class maps, retention
    policies): their messages say the same things the same way.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from None


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
        raise ParamsError(format_errors(str(path), err, f"{section!r} section")) from None


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
    "SceneConfig",
    "SensCirculationRule",
    "SiteConfig",
    "SourceConfig",
    "ZoneConfig",
    "load_params_section",
    "load_site_config",
    "parse_site_config",
    "resolve_path",
]
