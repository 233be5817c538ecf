"""Ground-truth events of the synthetic clip bundle (contracts §3), as typed records.

``clip_XXXX.events.json`` is the only source of event ground truth. This module is its reader:
it validates the file with pydantic and returns frozen dataclasses that the pure metric code
(:mod:`veilleur.evaluation.event_metrics`) consumes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from veilleur.runtime.core.events import EventType

__all__ = [
    "ClipInfo",
    "GroundTruthEvent",
    "GroundTruthSet",
    "load_clip_events",
    "load_ground_truth",
    "load_manifest_ground_truth",
    "parse_clip_events",
]

logger = logging.getLogger(__name__)


# --- file schema (contracts §3) ------------------------------------------------------------


class _EventModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: EventType
    start_s: float = Field(ge=0.0)
    end_s: float = Field(ge=0.0)
    zone: str | None = None
    track_ids: list[int] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> _EventModel:
        if self.end_s < self.start_s:
            raise ValueError(f"end_s ({self.end_s}) is before start_s ({self.start_s})")
        return self


class _MetadataModel(BaseModel):
    # The generator may record more scenario details than the contract names: keep them.
    model_config = ConfigDict(frozen=True, extra="allow")

    lighting: str | None = None
    weather: str | None = None
    camera_height_m: float | None = None
    camera_tilt_deg: float | None = None
    focal_px: float | None = None
    density: str | None = None
    negative: bool = False
    hard_negatives: list[str] = Field(default_factory=list)
    scenario: str | None = None


class _ClipEventsModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    clip: str
    fps: float = Field(gt=0.0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    duration_s: float = Field(ge=0.0)
    seed: int | None = None
    metadata: _MetadataModel = Field(default_factory=_MetadataModel)
    events: list[_EventModel] = Field(default_factory=list)


# --- typed records -------------------------------------------------------------------------


@dataclass(frozen=True)
class GroundTruthEvent:
    """One annotated event occurrence in one clip (times in seconds of clip time)."""

    clip: str
    event: str
    start_s: float
    end_s: float
    zone: str | None = None
    track_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ClipInfo:
    """One analysed clip: its duration (for false alarms per hour) and its conditions.

    ``metadata`` holds the generator's metadata as plain values (``lighting``, ``weather``,
    ``density``, ``camera_height_m``, ``negative``, ``scenario``, …); slices are read from it.
    """

    clip: str
    duration_s: float
    fps: float = 0.0
    width: int = 0
    height: int = 0
    seed: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GroundTruthSet:
    """Clips and their ground-truth events, ready for :func:`evaluate_events`."""

    clips: Mapping[str, ClipInfo]
    events: tuple[GroundTruthEvent, ...]

    @property
    def duration_s(self) -> float:
        """Total analysed duration over all clips."""
        return sum(c.duration_s for c in self.clips.values())


def parse_clip_events(
    raw: Mapping[str, Any], source: str = "<dict>"
) -> tuple[ClipInfo, list[GroundTruthEvent]]:
    """Validate one events document and convert it to records.

    Args:
        raw: the decoded ``clip_XXXX.events.json``.
        source: where it came from, for error messages.

    Raises:
        ValueError: the document does not follow contracts §3 (the message names the field).
    """
    try:
        doc = _ClipEventsModel.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(
            f"{source}: not a valid clip events file (docs/contracts.md §3):\n{exc}"
        ) from exc
    info = ClipInfo(
        clip=doc.clip,
        duration_s=doc.duration_s,
        fps=doc.fps,
        width=doc.width,
        height=doc.height,
        seed=doc.seed,
        metadata=doc.metadata.model_dump(),
    )
    events = [
        GroundTruthEvent(
            clip=doc.clip,
            event=ev.type.value,
            start_s=ev.start_s,
            end_s=ev.end_s,
            zone=ev.zone,
            track_ids=tuple(ev.track_ids),
        )
        for ev in doc.events
    ]
    return info, events


def load_clip_events(path: Path) -> tuple[ClipInfo, list[GroundTruthEvent]]:
    """Read one ``clip_XXXX.events.json``.

    Example:
        >>> info, events = load_clip_events(Path("clip_0001.events.json"))  # doctest: +SKIP
    """
    with path.open(encoding="utf-8") as fh:
        raw = json.load(fh)
    return parse_clip_events(raw, source=str(path))


def load_ground_truth(paths: Iterable[Path]) -> GroundTruthSet:
    """Read several events files into one :class:`GroundTruthSet`.

    Raises:
        ValueError: two files declare the same clip id.
    """
    clips: dict[str, ClipInfo] = {}
    events: list[GroundTruthEvent] = []
    for path in paths:
        info, clip_events = load_clip_events(path)
        if info.clip in clips:
            raise ValueError(f"{path}: clip {info.clip!r} is already loaded from another file")
        clips[info.clip] = info
        events.extend(clip_events)
    logger.info("loaded ground truth: %d clips, %d events", len(clips), len(events))
    return GroundTruthSet(clips=clips, events=tuple(events))


def load_manifest_ground_truth(
    manifest_path: Path, clip_ids: Iterable[str] | None = None
) -> GroundTruthSet:
    """Read the events files listed in a synth ``manifest.json`` (contracts §3).

    Args:
        manifest_path: the bundle's ``manifest.json``; ``events`` paths are relative to it.
        clip_ids: keep only these clips (e.g. the test split of ``splits.json``); all if None.

    Raises:
        ValueError: a requested clip id is not in the manifest.
    """
    with manifest_path.open(encoding="utf-8") as fh:
        manifest = json.load(fh)
    entries = {str(c["id"]): c for c in manifest.get("clips", [])}
    wanted = list(entries) if clip_ids is None else list(clip_ids)
    unknown = [c for c in wanted if c not in entries]
    if unknown:
        raise ValueError(f"{manifest_path}: clips not in the manifest: {', '.join(unknown)}")
    base = manifest_path.parent
    return load_ground_truth(base / str(entries[c]["events"]) for c in wanted)
