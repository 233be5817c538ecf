"""From a reader's :class:`RawDataset` to an :class:`IngestedDataset`: labels mapped to the
taxonomy, boxes checked against their image, provenance and metadata on every sample.

Checks (every problem is collected, then all are raised together as one
:class:`~veilleur.data.ingest.model.IngestError`):

- the image file exists and its size is the declared one;
- a box has a positive width and height and lies in its image (up to
  :data:`BOUNDS_TOLERANCE_PX`, then it is clipped and counted);
- no biometric label or attribute anywhere, declared or used (EX-089);
- every label is mapped or ignored by the taxonomy file, unless unknown labels are allowed
  (they are then dropped, and reported with their counts and example files);
- every event file of a video clip is valid (type among the eight, times in the clip).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

from veilleur.data.ingest.coco import read_coco
from veilleur.data.ingest.cvat import read_cvat
from veilleur.data.ingest.events import find_events, read_events
from veilleur.data.ingest.fiftyone import read_fiftyone
from veilleur.data.ingest.media import MediaError, image_size
from veilleur.data.ingest.model import (
    AttributeValue,
    Box,
    Event,
    Format,
    IngestedDataset,
    IngestError,
    IngestReport,
    Problems,
    Provenance,
    RawDataset,
    RawSample,
    Sample,
    SampleMetadata,
    UnknownLabel,
)
from veilleur.data.ingest.source import MetadataDefaults, SourceConfig
from veilleur.data.ingest.taxonomy import LabelMapper, Taxonomy
from veilleur.data.ingest.voc import read_voc
from veilleur.data.ingest.yolo import read_yolo
from veilleur.runtime.core.taxonomy import CLASSES

BOUNDS_TOLERANCE_PX = 1.0
"""A box may overrun its image by this much (annotation tools' rounding); it is clipped."""
COORD_DECIMALS = 4
"""Box corners are rounded to this many decimals (pixels)."""
EXAMPLES = 3
"""Example locations kept per unknown label."""
PERSON_SIZE_PX = ((50.0, "small"), (150.0, "medium"))
"""Median person box height below which a sample is ``small``, ``medium``; else ``large``."""
DENSITY_PERSONS = ((6.0, "low"), (21.0, "medium"))
"""Person count below which a sample is ``low`` (0–5), ``medium`` (6–20) density; else
``high`` (used when the sidecar declares no density)."""

Reader = Callable[[Path, Problems], RawDataset]


def _reader(fmt: Format, label_field: str | None) -> Reader:
    readers: dict[Format, Reader] = {
        "coco": read_coco,
        "yolo": read_yolo,
        "cvat": read_cvat,
        "voc": read_voc,
        "fiftyone": lambda src, problems: read_fiftyone(src, problems, label_field),
    }
    return readers[fmt]


def read_source(
    src: Path, fmt: Format, *, label_field: str | None = None
) -> tuple[RawDataset, Problems]:
    """Run the reader of ``fmt`` on ``src``; return what it read and the problems it found."""
    problems = Problems()
    if not src.exists():
        problems.add(src, "", "source not found")
        return RawDataset(src, fmt, ()), problems
    return _reader(fmt, label_field)(src, problems), problems


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "root"


def clip_id(source: SourceConfig, raw: RawSample, camera: str | None) -> str:
    """The split unit of a sample, prefixed by the source name (unique across sources)."""
    if raw.clip is not None:
        group = raw.clip
    elif source.split_unit == "camera":
        group = camera or "unknown-camera"
    elif source.split_unit == "image":
        group = str(PurePosixPath(raw.rel_path).with_suffix(""))
    else:
        group = str(PurePosixPath(raw.rel_path).parent)
        group = "root" if group in ("", ".") else group
    return _safe(f"{source.name}-{group}")


def _bucket(value: float, thresholds: tuple[tuple[float, str], ...], last: str) -> str:
    for limit, name in thresholds:
        if value < limit:
            return name
    return last


def sample_metadata(
    raw: RawSample, boxes: tuple[Box, ...], declared: MetadataDefaults
) -> SampleMetadata:
    """Declared metadata, plus what the sample's boxes and size measure."""
    heights = [b.height for b in boxes if b.label == "person"]
    median = float(statistics.median(heights)) if heights else None
    density = declared.density or _bucket(len(heights), DENSITY_PERSONS, "high")
    extra: dict[str, AttributeValue] = {**raw.attributes, **declared.extra}
    return SampleMetadata(
        lighting=declared.lighting,
        weather=declared.weather,
        camera_height_m=declared.camera_height_m,
        camera_angle_deg=declared.camera_angle_deg,
        density=density,
        person_count=len(heights),
        person_height_px=None if median is None else round(median, 2),
        person_size=None if median is None else _bucket(median, PERSON_SIZE_PX, "large"),
        width=raw.width,
        height=raw.height,
        fps=raw.fps,
        extra=extra,
    )


def _check_image(
    raw: RawSample, checked: dict[Path, tuple[int, int] | None], problems: Problems
) -> bool:
    if raw.kind == "video":
        return True
    if raw.path not in checked:
        try:
            checked[raw.path] = image_size(raw.path) if raw.path.is_file() else None
        except MediaError as exc:
            problems.add(raw.where, "", f"{raw.path}: {exc}")
            checked[raw.path] = None
            return False
        if checked[raw.path] is None:
            problems.add(raw.where, "", f"image file not found: {raw.path}")
            return False
    size = checked[raw.path]
    if size is None:
        return False
    if size != (raw.width, raw.height):
        problems.add(
            raw.where,
            "",
            f"declared size {raw.width}x{raw.height} but {raw.path.name} is {size[0]}x{size[1]}",
        )
        return False
    return True


class _Labels:
    """Label decisions and their counts over the whole source."""

    def __init__(self, mapper: LabelMapper) -> None:
        self.mapper = mapper
        self.mapped: dict[str, str] = {}
        self.ignored: Counter[str] = Counter()
        self.unknown: Counter[str] = Counter()
        self.unknown_examples: dict[str, list[str]] = {}
        self.biometric: Counter[str] = Counter()
        self.biometric_examples: dict[str, list[str]] = {}

    def target(self, label: str, where: str) -> str | None:
        decision, target = self.mapper.decide(label)
        if decision == "map":
            if target is not None:
                self.mapped.setdefault(label, target)
            return target
        if decision == "ignore":
            self.ignored[label] += 1
        elif decision == "unknown":
            self.unknown[label] += 1
            examples = self.unknown_examples.setdefault(label, [])
            if len(examples) < EXAMPLES:
                examples.append(where)
        else:
            self.note_biometric(label, where)
        return None

    def note_biometric(self, label: str, where: str, declared: bool = False) -> None:
        self.biometric[label] += 0 if declared else 1
        examples = self.biometric_examples.setdefault(label, [])
        if len(examples) < EXAMPLES:
            examples.append(where)


def ingest(
    src: Path,
    fmt: Format,
    source: SourceConfig,
    taxonomy: Taxonomy,
    *,
    allow_unknown: bool = False,
    label_field: str | None = None,
) -> IngestedDataset:
    """Read ``src`` in format ``fmt`` and map it onto the taxonomy.

    Args:
        src: the dataset folder (or annotation file for COCO and CVAT).
        fmt: the annotation format.
        source: the source's sidecar (provenance, default metadata).
        taxonomy: the taxonomy mapping file.
        allow_unknown: drop boxes with unknown labels (still reported) instead of failing.
        label_field: FiftyOneDataset only: the detections field to read.

    Raises:
        IngestError: every problem found; its ``report`` is set when the source was read.
    """
    raw, problems = read_source(src, fmt, label_field=label_field)
    labels = _Labels(taxonomy.mapper(fmt, source.name))
    for label in raw.labels_declared:
        if labels.mapper.is_biometric(label):
            labels.note_biometric(label, "declared in the source's label list", declared=True)
    checked: dict[Path, tuple[int, int] | None] = {}
    samples: list[Sample] = []
    clipped = 0
    clip_videos: dict[str, Path] = {}
    clip_frames: dict[str, tuple[int, float | None]] = {}
    original_clip: dict[str, str] = {}
    for raw_sample in raw.samples:
        if not _check_image(raw_sample, checked, problems):
            continue
        for name in raw_sample.attributes:
            if labels.mapper.is_biometric(name):
                labels.note_biometric(name, raw_sample.where)
        boxes: list[Box] = []
        for rb in raw_sample.boxes:
            for name in rb.attributes:
                if labels.mapper.is_biometric(name):
                    labels.note_biometric(f"attribute {name}", rb.where)
            target = labels.target(rb.source_label, rb.where)
            if rb.x2 <= rb.x1 or rb.y2 <= rb.y1:
                problems.add(
                    rb.where,
                    "",
                    f"box has zero or negative size ({rb.x2 - rb.x1:g} x {rb.y2 - rb.y1:g} px)",
                )
                continue
            w, h = raw_sample.width, raw_sample.height
            tol = BOUNDS_TOLERANCE_PX
            if rb.x1 < -tol or rb.y1 < -tol or rb.x2 > w + tol or rb.y2 > h + tol:
                problems.add(
                    rb.where,
                    "",
                    f"box ({rb.x1:g}, {rb.y1:g}, {rb.x2:g}, {rb.y2:g}) is outside "
                    f"the {w}x{h} image {raw_sample.rel_path}",
                )
                continue
            x1, y1 = max(0.0, rb.x1), max(0.0, rb.y1)
            x2, y2 = min(float(w), rb.x2), min(float(h), rb.y2)
            if (x1, y1, x2, y2) != (rb.x1, rb.y1, rb.x2, rb.y2):
                clipped += 1
            # Normalised formats give float noise (220.00000000000003): keep 1/10000 px.
            x1, y1, x2, y2 = (round(v, COORD_DECIMALS) for v in (x1, y1, x2, y2))
            if target is None:
                continue
            boxes.append(
                Box(x1, y1, x2, y2, target, rb.source_label, rb.track_id, dict(rb.attributes))
            )
        site, camera, date, declared = source.resolve(raw_sample.rel_path)
        clip = clip_id(source, raw_sample, camera)
        if raw_sample.kind == "video":
            clip_videos[clip] = raw_sample.path
            if raw_sample.clip is not None:
                original_clip[clip] = raw_sample.clip
            frames, fps = clip_frames.get(clip, (0, raw_sample.fps))
            clip_frames[clip] = (max(frames, (raw_sample.frame_index or 0) + 1), fps)
        elif raw_sample.clip is not None:
            original_clip[clip] = raw_sample.clip
        provenance = Provenance(
            source=source.name,
            licence=source.licence,
            site=site,
            camera=camera,
            capture_date=date,
            acquisition=source.acquisition,
            selection=source.selection,
            annotation=source.annotation,
            source_format=fmt,
            source_path=raw_sample.rel_path,
        )
        frozen = tuple(boxes)
        samples.append(
            Sample(
                path=raw_sample.path,
                width=raw_sample.width,
                height=raw_sample.height,
                clip=clip,
                boxes=frozen,
                provenance=provenance,
                metadata=sample_metadata(raw_sample, frozen, declared),
                frame_index=raw_sample.frame_index,
                timestamp_s=raw_sample.timestamp_s,
                kind=raw_sample.kind,
            )
        )

    events = _events(raw.root, original_clip, clip_videos, clip_frames, problems)
    for label, count in sorted(labels.biometric.items()):
        problems.add(
            raw.root,
            "",
            f"biometric label {label!r} ({_boxes(count)}, e.g. {labels.biometric_examples[label]}) "
            "refused: no face, head or identity annotation may enter the dataset (EX-089); "
            "remove these annotations from the source",
        )
    unknown = tuple(
        UnknownLabel(label, count, tuple(labels.unknown_examples[label]))
        for label, count in sorted(labels.unknown.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    if unknown and not allow_unknown:
        for u in unknown:
            problems.add(
                u.examples[0],
                "",
                f"unknown label {u.label!r} ({_boxes(u.count)}, e.g. {list(u.examples)}): map "
                f"it or ignore it in {taxonomy.path} (section sources.{source.name} or "
                f"formats.{fmt}), or pass --allow-unknown to drop it",
            )
    report = _report(source, fmt, samples, events, labels, unknown, clipped, taxonomy.classes)
    if problems:
        error = IngestError(problems.items)
        error.report = report
        raise error
    return IngestedDataset(
        source=source.name,
        format=fmt,
        root=raw.root,
        samples=tuple(samples),
        events=tuple(events),
        report=report,
        clip_videos=clip_videos,
    )


def _boxes(count: int) -> str:
    return f"{count} box" if count == 1 else f"{count} boxes"


def _events(
    root: Path,
    original_clip: Mapping[str, str],
    clip_videos: Mapping[str, Path],
    clip_frames: Mapping[str, tuple[int, float | None]],
    problems: Problems,
) -> list[Event]:
    events: list[Event] = []
    for clip, name in sorted(original_clip.items()):
        dirs = [root]
        if clip in clip_videos:
            dirs.append(clip_videos[clip].parent)
        path = find_events(name, dirs)
        if path is None:
            continue
        frames, fps = clip_frames.get(clip, (0, None))
        duration = frames / fps if frames and fps else None
        events.extend(
            Event(clip, e.type, e.start_s, e.end_s, e.zone, e.where, e.track_ids)
            for e in read_events(path, clip, duration, problems)
        )
    return events


def _report(
    source: SourceConfig,
    fmt: Format,
    samples: list[Sample],
    events: list[Event],
    labels: _Labels,
    unknown: tuple[UnknownLabel, ...],
    clipped: int,
    classes: tuple[str, ...] = CLASSES,
) -> IngestReport:
    per_class = dict.fromkeys(classes, 0)
    for sample in samples:
        for box in sample.boxes:
            per_class[box.label] += 1
    return IngestReport(
        source=source.name,
        format=fmt,
        samples=len(samples),
        images=sum(1 for s in samples if s.kind == "image"),
        video_frames=sum(1 for s in samples if s.kind == "video"),
        clips=len({s.clip for s in samples}),
        boxes=sum(per_class.values()),
        boxes_per_class=per_class,
        ignored_labels=dict(sorted(labels.ignored.items())),
        unknown_labels=unknown,
        events=len(events),
        events_per_type=dict(sorted(Counter(e.type.value for e in events).items())),
        clipped_boxes=clipped,
        mapped_labels=dict(sorted(labels.mapped.items())),
    )
