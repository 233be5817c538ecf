"""The in-memory model of an ingested dataset, shared by every reader and the exporter.

A reader turns one annotation format into a :class:`RawDataset`: samples (an image file, or one
frame of a video file) with boxes that still carry the source's labels, and clip-level events.
:func:`veilleur.data.ingest.build.build_dataset` then maps the labels to the taxonomy, checks
the boxes against their image, and attaches provenance and metadata, giving an
:class:`IngestedDataset` of :class:`Sample` and :class:`Box`.

Problems found on the way (malformed file, box out of the image, missing image …) are collected
as :class:`Problem` entries, each naming the file and the line or element, and raised together
as one :class:`IngestError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from veilleur.runtime.core.events import EventType

AttributeValue = str | int | float | bool
Format = Literal["coco", "yolo", "cvat", "voc", "fiftyone"]
FORMATS: Final[tuple[Format, ...]] = ("coco", "yolo", "cvat", "voc", "fiftyone")
MediaKind = Literal["image", "video"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: the file, where in it, and what."""

    file: str
    where: str
    message: str

    def __str__(self) -> str:
        loc = f"{self.file}: {self.where}" if self.where else self.file
        return f"{loc}: {self.message}"


class IngestError(RuntimeError):
    """The source cannot be ingested; :attr:`problems` lists every problem found."""

    def __init__(self, problems: Sequence[Problem] | str, file: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(file, "", problems)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.report: IngestReport | None = None
        """What was read before failing (counts, unknown labels), when the source was read."""
        self.reports: tuple[IngestReport, ...] = ()
        """Several sources: the report of every source that could be read."""
        shown = "\n".join(f"  - {p}" for p in self.problems[:50])
        more = len(self.problems) - 50
        if more > 0:
            shown += f"\n  … and {more} more"
        super().__init__(f"{len(self.problems)} problem(s):\n{shown}")


@dataclass
class Problems:
    """Collects problems so that a reader reports all of them, not only the first."""

    items: list[Problem] = field(default_factory=list)

    def add(self, file: Path | str, where: str, message: str) -> None:
        """Record one problem."""
        self.items.append(Problem(str(file), where, message))

    def raise_if_any(self) -> None:
        """Raise :class:`IngestError` when at least one problem was recorded."""
        if self.items:
            raise IngestError(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


@dataclass(frozen=True, slots=True)
class RawBox:
    """A box as the source gives it: pixel corners and the source's label."""

    x1: float
    y1: float
    x2: float
    y2: float
    source_label: str
    where: str
    """Where the box is written (``file:line`` or ``file: element``), for error messages."""
    track_id: int | None = None
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RawSample:
    """An image, or one frame of a video, with its boxes as the source gives them."""

    path: Path
    """The image file, or the video file for a frame."""
    rel_path: str
    """``path`` relative to the source folder (POSIX), stored in provenance."""
    width: int
    height: int
    where: str
    """The annotation file (and element) that lists the sample, for error messages."""
    boxes: tuple[RawBox, ...] = ()
    frame_index: int | None = None
    """Frame index in the video (0-based); ``None`` for a still image."""
    clip: str | None = None
    """The video or sequence the sample belongs to (``None`` for an independent image)."""
    timestamp_s: float | None = None
    fps: float | None = None
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)

    @property
    def kind(self) -> MediaKind:
        """``"video"`` for a frame decoded from a video file, else ``"image"``."""
        return "video" if self.path.suffix.lower() in VIDEO_EXTS else "image"


IMAGE_EXTS: Final = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
VIDEO_EXTS: Final = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".ts", ".mpg", ".mpeg"})


@dataclass(frozen=True, slots=True)
class Event:
    """A clip-level event annotation (one of the eight event types)."""

    clip: str
    type: EventType
    start_s: float
    end_s: float
    zone: str | None
    where: str
    track_ids: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """Contracts §3 event entry."""
        return {
            "type": self.type.value,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "zone": self.zone,
            "track_ids": list(self.track_ids),
        }


@dataclass(frozen=True, slots=True)
class RawDataset:
    """What a reader gives back."""

    root: Path
    format: Format
    samples: tuple[RawSample, ...]
    events: tuple[Event, ...] = ()
    labels_declared: tuple[str, ...] = ()
    """Labels the source declares (categories, names, classes), used or not."""


@dataclass(frozen=True, slots=True)
class Box:
    """A box mapped to the taxonomy: pixel corners ``x1 < x2``, ``y1 < y2`` inside the image."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    """Taxonomy class (:data:`veilleur.runtime.core.taxonomy.CLASSES`)."""
    source_label: str
    track_id: int | None = None
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)

    @property
    def width(self) -> float:
        """Width in pixels."""
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        """Height in pixels."""
        return self.y2 - self.y1


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a sample comes from and how it was obtained and selected (EX-084)."""

    source: str
    licence: str
    site: str | None
    camera: str | None
    capture_date: str | None
    acquisition: str
    selection: str
    annotation: str | None
    source_format: Format
    source_path: str
    """The file, relative to the source folder (POSIX)."""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {
            "source": self.source,
            "licence": self.licence,
            "site": self.site,
            "camera": self.camera,
            "capture_date": self.capture_date,
            "acquisition": self.acquisition,
            "selection": self.selection,
            "annotation": self.annotation,
            "source_format": self.source_format,
            "source_path": self.source_path,
        }


@dataclass(frozen=True, slots=True)
class SampleMetadata:
    """The slicing characteristics of a sample (EX-086).

    ``lighting``, ``weather``, ``camera_height_m`` and ``camera_angle_deg`` come from the source
    sidecar (or its overrides); ``density`` too when declared, else it is derived from the
    person count; ``person_height_px``, ``person_size``, ``person_count``, ``width``, ``height``
    and ``fps`` are measured.
    """

    lighting: str | None
    weather: str | None
    camera_height_m: float | None
    camera_angle_deg: float | None
    density: str | None
    person_count: int
    person_height_px: float | None
    """Median height of the person boxes (pixels); ``None`` without persons."""
    person_size: str | None
    """``small`` (< 50 px), ``medium`` (< 150 px) or ``large``; ``None`` without persons."""
    width: int
    height: int
    fps: float | None
    extra: Mapping[str, AttributeValue] = field(default_factory=dict)

    @property
    def resolution(self) -> str:
        """``"WxH"``."""
        return f"{self.width}x{self.height}"

    def as_dict(self) -> dict[str, object]:
        """JSON-ready fields (``extra`` merged in, never overriding a named field)."""
        named: dict[str, object] = {
            "lighting": self.lighting,
            "weather": self.weather,
            "camera_height_m": self.camera_height_m,
            "camera_angle_deg": self.camera_angle_deg,
            "density": self.density,
            "person_count": self.person_count,
            "person_height_px": self.person_height_px,
            "person_size": self.person_size,
            "resolution": self.resolution,
            "fps": self.fps,
        }
        return {**{k: v for k, v in self.extra.items() if k not in named}, **named}


@dataclass(frozen=True, slots=True)
class Sample:
    """An ingested image or video frame."""

    path: Path
    width: int
    height: int
    clip: str
    """The split unit: the video, or the group of images chosen by ``split_unit``."""
    boxes: tuple[Box, ...]
    provenance: Provenance
    metadata: SampleMetadata
    frame_index: int | None = None
    timestamp_s: float | None = None
    kind: MediaKind = "image"


@dataclass(frozen=True, slots=True)
class UnknownLabel:
    """A source label neither mapped nor ignored by the taxonomy file."""

    label: str
    count: int
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What the ingest found: counts, ignored and unknown labels."""

    source: str
    format: Format
    samples: int
    images: int
    video_frames: int
    clips: int
    boxes: int
    boxes_per_class: Mapping[str, int]
    ignored_labels: Mapping[str, int]
    unknown_labels: tuple[UnknownLabel, ...]
    events: int
    events_per_type: Mapping[str, int]
    clipped_boxes: int
    mapped_labels: Mapping[str, str] = field(default_factory=dict)
    """Source label → taxonomy class, for every label the source used and the taxonomy mapped."""

    def as_dict(self) -> dict[str, object]:
        """The JSON summary printed by ``veilleur data ingest``."""
        return {
            "source": self.source,
            "format": self.format,
            "samples": self.samples,
            "images": self.images,
            "video_frames": self.video_frames,
            "clips": self.clips,
            "boxes": self.boxes,
            "boxes_per_class": dict(self.boxes_per_class),
            "ignored_labels": dict(self.ignored_labels),
            "unknown_labels": [
                {"label": u.label, "count": u.count, "examples": list(u.examples)}
                for u in self.unknown_labels
            ],
            "events": self.events,
            "events_per_type": dict(self.events_per_type),
            "clipped_boxes": self.clipped_boxes,
            "mapped_labels": dict(self.mapped_labels),
        }


@dataclass(frozen=True, slots=True)
class IngestedDataset:
    """A source mapped to the taxonomy, with provenance and metadata on every sample."""

    source: str
    format: Format
    root: Path
    samples: tuple[Sample, ...]
    events: tuple[Event, ...]
    report: IngestReport
    clip_videos: Mapping[str, Path] = field(default_factory=dict)
    """Video file of each clip decoded from a video (absent for image groups)."""
