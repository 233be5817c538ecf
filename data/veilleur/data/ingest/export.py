"""Ingested datasets → the prepared detection dataset (contracts §6), as ``prepare`` writes it.

The synthetic pipeline's ``prepare`` reads clip bundles (one video and one COCO image per
frame); a photo collection is not a video, so ingested datasets are written straight into the
prepared layout instead, with the same files and the same ``dataset_version`` rule:

- ``OUT/<split>/images/<clip>/<file>``: still images copied byte for byte (name: the path
  relative to the source, ``/`` → ``__``); video frames (every ``frame_stride``-th, index
  ``i % frame_stride == 0``) decoded with PyAV and written as JPEG ``<frame:06d>.jpg``;
- ``OUT/<split>/annotations.json``: COCO, categories from the taxonomy (id = index + 1); each
  image carries, besides the §3 fields (``frame_index``, ``timestamp_s``, ``clip``), ``kind``
  (``image`` | ``video``), ``source``, ``provenance`` and ``metadata`` (fields of
  :class:`~veilleur.data.ingest.model.Provenance` and
  :class:`~veilleur.data.ingest.model.SampleMetadata`); each annotation ``track_id``,
  ``source_label`` and ``attributes``; boxes narrower or shorter than ``min_box_px`` are
  dropped and counted, as in ``prepare``;
- ``OUT/events/<clip>.events.json``: the events of each annotated clip (contracts §3 shape);
- ``OUT/splits.json``: clips per split (by clip, never by frame: :func:`split_clips`, stratified
  over the clip's event types) and per clip its split, kind, source, video (or ``null``),
  events file (or ``null``), provenance and metadata;
- ``OUT/manifest.json``: ``dataset_version`` (SHA-256 over the sorted ``(path, SHA-256)`` of
  every file above), the sources, the parameters, per-clip and per-split counts, the ingest
  reports.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import av
import cv2

from veilleur.data.curation import (
    CURATION_NAME,
    CurateParams,
    CurationError,
    CurationResult,
    curate_prepared,
)
from veilleur.data.ingest.model import Event, IngestedDataset, IngestError, Problem, Sample
from veilleur.data.prepare import (
    ANNOTATIONS_NAME,
    FORMAT_VERSION,
    MANIFEST_NAME,
    SPLITS_NAME,
    PrepareParams,
    _clean,
    _Writer,
)
from veilleur.data.slices import clip_slices, scene_of
from veilleur.data.splits import SPLITS, SplitClip, SplitError, Splits, split_clips
from veilleur.runtime.core.taxonomy import CLASS_IDS, CLASSES, coco_categories

EVENTS_DIR = "events"
REPORT_NAME = "ingest_report.json"


@dataclass(frozen=True, slots=True)
class ExportResult:
    """Where the dataset went and what it holds."""

    out_dir: Path
    splits: Splits
    dataset_version: str
    counts: dict[str, Any]


def _clip_record(samples: list[Sample]) -> dict[str, Any]:
    first = samples[0]
    return {
        "kind": first.kind,
        "source": first.provenance.source,
        "provenance": {k: v for k, v in first.provenance.as_dict().items() if k != "source_path"},
        "metadata": {
            k: first.metadata.as_dict()[k]
            for k in ("lighting", "weather", "camera_height_m", "camera_angle_deg", "resolution")
        }
        | {"fps": first.metadata.fps, "samples": len(samples)},
    }


def _image_entry(sample: Sample, image_id: int, file_name: str) -> dict[str, Any]:
    return {
        "id": image_id,
        "file_name": file_name,
        "width": sample.width,
        "height": sample.height,
        "frame_index": sample.frame_index,
        "timestamp_s": sample.timestamp_s,
        "clip": sample.clip,
        "kind": sample.kind,
        "source": sample.provenance.source,
        "provenance": sample.provenance.as_dict(),
        "metadata": sample.metadata.as_dict(),
    }


class _SplitWriter:
    """Fills one split's COCO document and image folder."""

    def __init__(self, split: str, writer: _Writer, params: PrepareParams) -> None:
        self.split = split
        self.writer = writer
        self.params = params
        self.images: list[dict[str, Any]] = []
        self.annotations: list[dict[str, Any]] = []
        self.dropped = 0

    def add(self, sample: Sample, file_name: str, data: bytes) -> None:
        self.writer.write(f"{self.split}/{file_name}", data)
        image_id = len(self.images) + 1
        self.images.append(_image_entry(sample, image_id, file_name))
        for box in sample.boxes:
            if box.width < self.params.min_box_px or box.height < self.params.min_box_px:
                self.dropped += 1
                continue
            self.annotations.append(
                {
                    "id": len(self.annotations) + 1,
                    "image_id": image_id,
                    "category_id": CLASS_IDS[box.label] + 1,
                    "bbox": [box.x1, box.y1, box.width, box.height],
                    "area": box.width * box.height,
                    "iscrowd": int(bool(box.attributes.get("iscrowd", False))),
                    "track_id": box.track_id,
                    "source_label": box.source_label,
                    "attributes": dict(box.attributes),
                }
            )

    def document(self) -> dict[str, Any]:
        return {
            "info": {"description": "Veilleur prepared detection dataset (ingested)", "version": 1},
            "images": self.images,
            "annotations": self.annotations,
            "categories": coco_categories(),
        }

    def counts(self, n_clips: int) -> dict[str, Any]:
        per_class = dict.fromkeys(CLASSES, 0)
        for ann in self.annotations:
            per_class[CLASSES[int(ann["category_id"]) - 1]] += 1
        with_boxes = {int(a["image_id"]) for a in self.annotations}
        return {
            "clips": n_clips,
            "images": len(self.images),
            "images_without_boxes": sum(1 for i in self.images if int(i["id"]) not in with_boxes),
            "boxes": len(self.annotations),
            "boxes_per_class": per_class,
            "dropped_small_boxes": self.dropped,
        }


def _write_video_clip(samples: list[Sample], out: _SplitWriter, clip: str, jpeg: int) -> int:
    """Decode the clip's video once and write the wanted frames; return the frames written."""
    wanted = {s.frame_index: s for s in samples if s.frame_index is not None}
    video = samples[0].path
    done: set[int] = set()
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            for index, frame in enumerate(container.decode(stream)):
                sample = wanted.get(index)
                if sample is None:
                    continue
                pixels = frame.to_ndarray(format="bgr24")
                if pixels.shape[1] != sample.width or pixels.shape[0] != sample.height:
                    raise IngestError(
                        f"frame {index} decodes as {pixels.shape[1]}x{pixels.shape[0]}, "
                        f"annotated as {sample.width}x{sample.height}",
                        str(video),
                    )
                ok, buffer = cv2.imencode(".jpg", pixels, [int(cv2.IMWRITE_JPEG_QUALITY), jpeg])
                if not ok:
                    raise IngestError(f"JPEG encoding failed for frame {index}", str(video))
                out.add(sample, f"images/{clip}/{index:06d}.jpg", buffer.tobytes())
                done.add(index)
    except av.FFmpegError as exc:
        raise IngestError(f"cannot decode ({exc})", str(video)) from exc
    missing = sorted(i for i in wanted if i is not None and i not in done)
    if missing:
        raise IngestError(
            f"frames {missing[:5]} of {len(wanted)} wanted could not be decoded",
            str(video),
        )
    return len(done)


def _events_doc(clip: str, samples: list[Sample], events: list[Event]) -> dict[str, Any]:
    first = samples[0]
    fps = first.metadata.fps
    frames = max((s.frame_index or 0) for s in samples) + 1
    return {
        "clip": clip,
        "fps": fps,
        "width": first.width,
        "height": first.height,
        "duration_s": frames / fps if fps else None,
        "metadata": _clip_record(samples)["metadata"],
        "events": [e.as_dict() for e in sorted(events, key=lambda e: (e.start_s, e.type.value))],
    }


def _curate(out_dir: Path, params: CurateParams, writer: _Writer) -> CurationResult:
    """Curate the written folder (hashes kept in sync); errors become an IngestError."""
    try:
        return curate_prepared(out_dir, params, writer.hashes)
    except CurationError as exc:
        report = str(out_dir / CURATION_NAME)
        problems = [Problem(report, f.check, f.message) for f in exc.errors]
        raise IngestError(problems or str(exc), report) from exc


def export_prepared(
    datasets: Sequence[IngestedDataset],
    out_dir: Path,
    params: PrepareParams,
    curate: CurateParams | None = None,
) -> ExportResult:
    """Write ``datasets`` as one prepared detection dataset under ``out_dir``.

    ``out_dir``'s ``train/``, ``val/``, ``test/``, ``events/``, ``splits.json``,
    ``manifest.json`` and ``ingest_report.json`` are replaced; nothing else is touched.

    With ``curate`` given, the folder is curated before the manifest
    (:mod:`veilleur.data.curation`): near-duplicates across clips of a split removed,
    ``curation.json`` written; ``None`` skips curation.

    Raises:
        IngestError: fewer than three clips, a clip id in two sources, an undecodable video,
            curation errors (cross-split near-duplicates, …, listed in ``curation.json``).
    """
    clips: dict[str, list[Sample]] = {}
    owner: dict[str, str] = {}
    for dataset in datasets:
        for sample in dataset.samples:
            if owner.setdefault(sample.clip, dataset.source) != dataset.source:
                raise IngestError(
                    f"clip {sample.clip!r} comes from both {owner[sample.clip]!r} and "
                    f"{dataset.source!r}: give the sources different names",
                    str(dataset.root),
                )
            clips.setdefault(sample.clip, []).append(sample)
    events: dict[str, list[Event]] = {}
    for dataset in datasets:
        for event in dataset.events:
            events.setdefault(event.clip, []).append(event)
    # Clips of one scene (site/camera) go to one split when there are enough scenes to fill
    # train, val and test; with fewer, the split is by clip and the notes say why (the
    # expectations then report the scene leak unless the profile allows it).
    scenes = {clip: scene_of(_clip_record(samples)) for clip, samples in clips.items()}
    n_scenes = len({scene or clip for clip, scene in scenes.items()})
    by_scene = n_scenes >= len(SPLITS)
    try:
        splits = split_clips(
            [
                SplitClip(
                    clip_id=clip,
                    scenario="+".join(sorted({e.type.value for e in events.get(clip, [])}))
                    or "none",
                    negative=not events.get(clip),
                    group=scenes[clip] if by_scene else None,
                    slices=clip_slices(_clip_record(clips[clip])["metadata"]),
                )
                for clip in sorted(clips)
            ],
            params.fractions,
            params.seed,
        )
        if not by_scene:
            splits = replace(
                splits,
                notes=(
                    *splits.notes,
                    f"only {n_scenes} scene(s) (site/camera): split by clip, so a scene is in "
                    "several splits; add cameras to evaluate on unseen scenes",
                ),
            )
    except SplitError as exc:
        raise IngestError(
            f"{exc} (clips are videos, or groups of images per split_unit of source.yaml: "
            f"{len(clips)} found)",
            ", ".join(str(d.root) for d in datasets),
        ) from exc

    out_dir.mkdir(parents=True, exist_ok=True)
    _clean(out_dir)
    if (out_dir / EVENTS_DIR).is_dir():
        shutil.rmtree(out_dir / EVENTS_DIR)
    (out_dir / REPORT_NAME).unlink(missing_ok=True)
    writer = _Writer(out_dir)
    counts: dict[str, Any] = {}
    clip_counts: dict[str, dict[str, Any]] = {}
    split_writers: dict[str, _SplitWriter] = {}
    for split in SPLITS:
        split_out = _SplitWriter(split, writer, params)
        for clip in splits.of(split):
            samples = sorted(
                clips[clip], key=lambda s: (s.provenance.source_path, s.frame_index or 0)
            )
            before_images, before_boxes = len(split_out.images), len(split_out.annotations)
            videos = [s for s in samples if s.kind == "video"]
            stills = [s for s in samples if s.kind == "image"]
            kept = [s for s in videos if (s.frame_index or 0) % params.frame_stride == 0]
            if kept:
                _write_video_clip(kept, split_out, clip, params.jpeg_quality)
            for sample in stills:
                name = sample.provenance.source_path.lstrip("/").replace("/", "__")
                split_out.add(sample, f"images/{clip}/{name}", sample.path.read_bytes())
            clip_counts[clip] = {
                "split": split,
                "kind": samples[0].kind,
                "samples": len(samples),
                "images": len(split_out.images) - before_images,
                "boxes": len(split_out.annotations) - before_boxes,
                "events": len(events.get(clip, [])),
            }
        writer.write_json(f"{split}/{ANNOTATIONS_NAME}", split_out.document())
        counts[split] = split_out.counts(len(splits.of(split)))
        split_writers[split] = split_out
    curation = None if curate is None else _curate(out_dir, curate, writer)
    if curation is not None:
        for split in SPLITS:
            doc, split_out = curation.documents[split], split_writers[split]
            split_out.images, split_out.annotations = doc["images"], doc["annotations"]
            counts[split] = split_out.counts(len(splits.of(split)))
        for clip, removed in curation.removed_per_clip.items():
            clip_counts[clip]["images"] -= removed["images"]
            clip_counts[clip]["boxes"] -= removed["boxes"]

    events_files: dict[str, str] = {}
    for clip in sorted(events):
        rel = f"{EVENTS_DIR}/{clip}.events.json"
        writer.write_json(rel, _events_doc(clip, clips[clip], events[clip]))
        events_files[clip] = (out_dir / rel).as_posix()
    video_of = {clip: path for d in datasets for clip, path in d.clip_videos.items()}
    splits_doc: dict[str, Any] = splits.as_dict()
    splits_doc["clips"] = {
        clip: {
            "split": splits.split_of(clip),
            **_clip_record(clips[clip]),
            "video": video_of[clip].as_posix() if clip in video_of else None,
            "coco": None,
            "events": events_files.get(clip),
            "site": None,
        }
        for clip in sorted(clips)
    }
    writer.write_json(SPLITS_NAME, splits_doc)

    version = writer.dataset_version()
    reports = [d.report.as_dict() for d in datasets]
    manifest = {
        "format_version": FORMAT_VERSION,
        "dataset_version": version,
        "source": {
            "kind": "ingest",
            "sources": [
                {"name": d.source, "format": d.format, "root": d.root.as_posix()} for d in datasets
            ],
        },
        "params": params.model_dump(mode="json"),
        "files": len(writer.hashes),
        "clips": dict(sorted(clip_counts.items())),
        "counts": counts,
        "events_per_type": dict(
            sorted(Counter(e.type.value for es in events.values() for e in es).items())
        ),
        "split_notes": list(splits.notes),
        "ingest": reports,
        "curation": None if curation is None else curation.summary(),
    }
    for name, doc in ((MANIFEST_NAME, manifest), (REPORT_NAME, {"sources": reports})):
        (out_dir / name).write_text(
            json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return ExportResult(out_dir, splits, version, counts)
