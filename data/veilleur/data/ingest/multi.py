"""Several annotated sources into one prepared dataset (EX-084): the sources manifest, the
ingest of every source, and the checks that only make sense across sources.

The sources manifest (``data/sources.yaml`` by convention, ``sources.yaml`` in the DVC template
``data/pipelines/reel/``) lists the sources; relative paths are read from the manifest's folder::

    version: 1
    sources:
      - path: raw/parvis-coco          # dataset folder, or the COCO / CVAT annotation file
        format: coco                   # coco | yolo | cvat | voc | fiftyone
        source_yaml: raw/parvis-coco/source.yaml   # optional; default <folder>/source.yaml
        source:                        # optional: fields of source.yaml replaced (metadata
          site: "Parvis nord"          #   merged key by key, overrides appended); a source
          metadata: {lighting: dusk}   #   without source.yaml gives all of them here
        allow_unknown: false           # optional: drop (and report) unknown labels
        label_field: null              # optional: FiftyOneDataset detections field

Checks across sources (every problem is collected, then all are raised together):

- two sources with the same ``name`` (clip ids are prefixed by it), or the same folder twice;
- a clip id produced by two sources (``a-b`` + ``c`` and ``a`` + ``b-c``);
- the same image or video file in two sources (it would be counted twice and could land in
  two splits).

A source label that two sources map differently (one maps ``sac`` to ``bag``, another
ignores it) is not an error (``sources.<name>`` sections of the taxonomy exist for that) but is
reported as a :class:`LabelConflict`, so that it is a decision, not an accident.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from veilleur.data.ingest.build import ingest
from veilleur.data.ingest.model import (
    Format,
    IngestedDataset,
    IngestError,
    IngestReport,
    Problem,
)
from veilleur.data.ingest.source import (
    SourceConfig,
    merge_source_doc,
    parse_source_config,
    read_source_doc,
)
from veilleur.data.ingest.taxonomy import Taxonomy, normalise

IGNORED = "(ignorée)"
"""How an ignored label shows in a :class:`LabelConflict`."""


class SourceEntry(BaseModel, frozen=True, extra="forbid"):
    """One entry of the sources manifest (module docstring)."""

    path: str = Field(min_length=1)
    format: Format
    source_yaml: str | None = None
    source: dict[str, Any] = Field(default_factory=dict)
    allow_unknown: bool = False
    label_field: str | None = None


class SourcesFile(BaseModel, frozen=True, extra="forbid"):
    """The parsed sources manifest."""

    version: int = Field(default=1, ge=1)
    sources: list[SourceEntry] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A source ready to ingest."""

    path: Path
    format: Format
    config: SourceConfig
    allow_unknown: bool = False
    label_field: str | None = None


def default_sidecar(src: Path) -> Path:
    """``SRC/source.yaml``, or beside the annotation file when ``SRC`` is a file."""
    return (src if src.is_dir() else src.parent) / "source.yaml"


def load_sources_manifest(path: Path) -> list[SourceSpec]:
    """Read the sources manifest and the ``source.yaml`` of every source.

    Raises:
        IngestError: unreadable or invalid manifest, an entry that does not follow the schema,
            a missing or invalid ``source.yaml`` (all entries are checked before raising).
    """
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise IngestError(f"cannot read the sources manifest ({exc})", str(path)) from exc
    except yaml.YAMLError as exc:
        raise IngestError(f"invalid YAML: {exc}", str(path)) from exc
    if not isinstance(raw, dict):
        raise IngestError("expected a mapping with a 'sources' list", str(path))
    try:
        doc = SourcesFile.model_validate(raw)
    except ValidationError as exc:
        raise IngestError(
            [
                Problem(str(path), ".".join(str(p) for p in err["loc"]) or "(root)", err["msg"])
                for err in exc.errors()
            ]
        ) from exc
    base = path.parent
    specs: list[SourceSpec] = []
    problems: list[Problem] = []
    for i, entry in enumerate(doc.sources):
        src = base / entry.path
        sidecar = base / entry.source_yaml if entry.source_yaml else default_sidecar(src)
        # Without a source.yaml, the manifest's ``source`` gives every field.
        bare = entry.source_yaml is None and not sidecar.is_file() and bool(entry.source)
        where, prefix = (str(path), f"sources[{i}].source.") if entry.source else (str(sidecar), "")
        try:
            sidecar_doc = {} if bare else read_source_doc(sidecar)
            config = parse_source_config(merge_source_doc(sidecar_doc, entry.source), where, prefix)
        except IngestError as exc:
            problems.extend(exc.problems)
            continue
        specs.append(SourceSpec(src, entry.format, config, entry.allow_unknown, entry.label_field))
    if problems:
        raise IngestError(problems)
    return specs


def check_specs(specs: Sequence[SourceSpec]) -> list[Problem]:
    """Sources that cannot go together: the same name twice, the same folder twice."""
    problems: list[Problem] = []
    by_name: dict[str, list[SourceSpec]] = {}
    by_path: dict[Path, list[SourceSpec]] = {}
    for spec in specs:
        by_name.setdefault(spec.config.name, []).append(spec)
        by_path.setdefault(spec.path.resolve(), []).append(spec)
    for name, same in sorted(by_name.items()):
        if len(same) > 1:
            problems.append(
                Problem(
                    ", ".join(str(s.path) for s in same),
                    "name",
                    f"{len(same)} sources are named {name!r}: clip ids are prefixed by the "
                    "source name, give each source its own name in its source.yaml",
                )
            )
    for resolved, same in sorted(by_path.items()):
        if len(same) > 1:
            problems.append(
                Problem(
                    str(resolved),
                    "",
                    f"listed {len(same)} times (as {', '.join(s.config.name for s in same)}): "
                    "ingest each source once",
                )
            )
    return problems


def cross_source_problems(datasets: Sequence[IngestedDataset]) -> list[Problem]:
    """Clip ids or media files shared by two sources."""
    problems: list[Problem] = []
    clip_owner: dict[str, str] = {}
    file_owner: dict[Path, str] = {}
    shared_clips: dict[str, set[str]] = {}
    shared_files: dict[Path, set[str]] = {}
    for dataset in datasets:
        for clip in sorted({s.clip for s in dataset.samples}):
            owner = clip_owner.setdefault(clip, dataset.source)
            if owner != dataset.source:
                shared_clips.setdefault(clip, {owner}).add(dataset.source)
        for media in sorted({s.path.resolve() for s in dataset.samples}):
            owner = file_owner.setdefault(media, dataset.source)
            if owner != dataset.source:
                shared_files.setdefault(media, {owner}).add(dataset.source)
    for clip, sources in sorted(shared_clips.items()):
        problems.append(
            Problem(
                ", ".join(sorted(sources)),
                f"clip {clip}",
                f"clip id {clip!r} is produced by sources {sorted(sources)}: rename one source "
                "(its name prefixes every clip id) or its folders",
            )
        )
    for media, sources in sorted(shared_files.items()):
        problems.append(
            Problem(
                str(media),
                "",
                f"the same file is in sources {sorted(sources)}: it would be counted twice and "
                "could land in two splits; keep it in one source",
            )
        )
    return problems


@dataclass(frozen=True, slots=True)
class LabelConflict:
    """A source label that sources turn into different classes (or ignore)."""

    label: str
    """The normalised label."""
    decisions: Mapping[str, str] = field(default_factory=dict)
    """Source name → taxonomy class, or :data:`IGNORED`."""

    def message(self) -> str:
        """One line for the summary and stderr."""
        shown = ", ".join(f"{src} → {target}" for src, target in sorted(self.decisions.items()))
        return (
            f"label {self.label!r} is not treated alike by every source ({shown}); if this is "
            "not intended, align the sources.<name> sections of the taxonomy file"
        )

    def as_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {"label": self.label, "decisions": dict(sorted(self.decisions.items()))}


def label_conflicts(reports: Sequence[IngestReport]) -> list[LabelConflict]:
    """Labels mapped to different classes, or mapped by one source and ignored by another."""
    seen: dict[str, dict[str, str]] = {}
    for report in reports:
        for label, target in report.mapped_labels.items():
            seen.setdefault(normalise(label), {})[report.source] = target
        for label in report.ignored_labels:
            seen.setdefault(normalise(label), {})[report.source] = IGNORED
    return [
        LabelConflict(label, decisions)
        for label, decisions in sorted(seen.items())
        if len(set(decisions.values())) > 1
    ]


@dataclass(frozen=True, slots=True)
class MultiIngest:
    """Every source ingested, and the label conflicts found between them."""

    datasets: tuple[IngestedDataset, ...]
    conflicts: tuple[LabelConflict, ...]

    def totals(self) -> dict[str, Any]:
        """Counts summed over the sources (the summary's top level)."""
        per_class: dict[str, int] = {}
        for d in self.datasets:
            for name, count in d.report.boxes_per_class.items():
                per_class[name] = per_class.get(name, 0) + count
        keys = ("samples", "images", "video_frames", "clips", "boxes", "events", "clipped_boxes")
        out: dict[str, Any] = {
            k: sum(int(getattr(d.report, k)) for d in self.datasets) for k in keys
        }
        out["boxes_per_class"] = per_class
        return out


def ingest_sources(
    specs: Sequence[SourceSpec], taxonomy: Taxonomy, *, allow_unknown: bool = False
) -> MultiIngest:
    """Ingest every source and check them together.

    Args:
        specs: the sources (from :func:`load_sources_manifest` or the command line).
        taxonomy: the taxonomy mapping file.
        allow_unknown: drop unknown labels in every source (else per source, ``allow_unknown``).

    Raises:
        IngestError: the problems of every source and across sources; its ``reports`` holds
            the report of each source that could be read.
    """
    problems = check_specs(specs)
    datasets: list[IngestedDataset] = []
    reports: list[IngestReport] = []
    for spec in specs:
        try:
            dataset = ingest(
                spec.path,
                spec.format,
                spec.config,
                taxonomy,
                allow_unknown=allow_unknown or spec.allow_unknown,
                label_field=spec.label_field,
            )
        except IngestError as exc:
            problems.extend(exc.problems)
            if exc.report is not None:
                reports.append(exc.report)
            continue
        datasets.append(dataset)
        reports.append(dataset.report)
    problems.extend(cross_source_problems(datasets))
    if problems:
        error = IngestError(problems)
        error.reports = tuple(reports)
        raise error
    return MultiIngest(tuple(datasets), tuple(label_conflicts(reports)))
