"""Synthetic clip bundle (contracts §3) → prepared detection dataset (contracts §6).

Each clip is decoded with PyAV; every ``frame_stride``-th frame (frame index ``i`` with
``i % frame_stride == 0``) is written as a JPEG under ``OUT/<split>/images/<clip>/<frame>.jpg``
with its boxes in the split's COCO ``annotations.json``. Clips are split by clip
(:mod:`veilleur.data.splits`), never by frame. ``OUT/splits.json`` lists the clips of each split
with the paths of their video, COCO, events and site files (evaluation replays the test clips),
and ``OUT/manifest.json`` carries the ``dataset_version``: a SHA-256 over the sorted
``(relative path, SHA-256 of the file)`` list of everything written (the manifest excepted), so
the same bundle and parameters always give the same version and any pixel or label change gives
another one.

The stage does not judge the labels: it carries them (categories outside the taxonomy included)
and leaves the verdict to :mod:`veilleur.data.expectations`. It only refuses bundles it cannot
read consistently (missing files, a COCO that does not match the decoded video).

Example:
    >>> from pathlib import Path
    >>> result = prepare_dataset(Path("data/raw/synth"), Path("data/processed"),
    ...                          PrepareParams())  # doctest: +SKIP
    >>> result.dataset_version  # doctest: +SKIP
    'c0ffee…'
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import av
import cv2
from pydantic import BaseModel, Field

from veilleur.data.curation import CURATION_NAME, CurateParams, CurationError, curate_prepared
from veilleur.data.slices import clip_slices
from veilleur.data.splits import SPLITS, SplitClip, SplitFractions, SplitName, Splits, split_clips
from veilleur.runtime.core.taxonomy import CLASSES, coco_categories

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
SPLITS_NAME = "splits.json"
ANNOTATIONS_NAME = "annotations.json"


class PrepareError(RuntimeError):
    """The bundle cannot be prepared; the message names the file and what to fix."""


class PrepareParams(BaseModel, frozen=True, extra="forbid"):
    """The ``prepare`` section of ``params.yaml``."""

    frame_stride: int = Field(
        default=3, ge=1, description="keep frames whose index is a multiple of this"
    )
    fractions: SplitFractions = Field(
        default_factory=SplitFractions, description="share of clips per split"
    )
    seed: int = Field(default=0, description="seed of the clip split")
    jpeg_quality: int = Field(default=90, ge=1, le=100, description="cv2 JPEG quality")
    min_box_px: float = Field(
        default=2.0, ge=0.0, description="drop boxes narrower or shorter than this (pixels)"
    )


@dataclass(frozen=True, slots=True)
class BundleClip:
    """One clip of a synthetic bundle, with its files resolved against the bundle folder."""

    clip_id: str
    video: Path
    coco: Path
    events: Path
    site: Path
    metadata: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Bundle:
    """A synthetic clip bundle (contracts §3)."""

    root: Path
    clips: tuple[BundleClip, ...]
    generator_version: str | None
    seed: int | None
    manifest_sha256: str


def read_bundle(raw_dir: Path) -> Bundle:
    """Read ``raw_dir/manifest.json`` and check that every listed file exists.

    Raises:
        PrepareError: missing manifest, malformed entry or missing file.
    """
    manifest_path = raw_dir / MANIFEST_NAME
    if not manifest_path.is_file():
        raise PrepareError(f"{manifest_path} not found: run the synth stage first (veilleur synth)")
    data = manifest_path.read_bytes()
    manifest = _json(manifest_path, data)
    clips: list[BundleClip] = []
    for entry in manifest.get("clips", []):
        try:
            clip = BundleClip(
                clip_id=str(entry["id"]),
                video=raw_dir / entry["video"],
                coco=raw_dir / entry["coco"],
                events=raw_dir / entry["events"],
                site=raw_dir / entry["site"],
                metadata=dict(entry.get("metadata") or {}),
            )
        except (KeyError, TypeError) as exc:
            raise PrepareError(
                f"{manifest_path}: clip entry {entry!r} lacks {exc}; each entry needs "
                "id, video, coco, events, site, metadata"
            ) from exc
        for kind in ("video", "coco", "events", "site"):
            if not getattr(clip, kind).is_file():
                raise PrepareError(
                    f"{manifest_path}: {kind} file of {clip.clip_id} not found: "
                    f"{getattr(clip, kind)}"
                )
        clips.append(clip)
    if not clips:
        raise PrepareError(f"{manifest_path} lists no clips")
    version = manifest.get("generator_version")
    seed = manifest.get("seed")
    return Bundle(
        root=raw_dir,
        clips=tuple(sorted(clips, key=lambda c: c.clip_id)),
        generator_version=None if version is None else str(version),
        seed=seed if isinstance(seed, int) else None,
        manifest_sha256=hashlib.sha256(data).hexdigest(),
    )


def _json(path: Path, data: bytes | None = None) -> Any:
    try:
        return json.loads(path.read_bytes() if data is None else data)
    except (OSError, json.JSONDecodeError) as exc:
        raise PrepareError(f"{path}: cannot read JSON ({exc}); regenerate the bundle") from exc


@dataclass
class _Writer:
    """Writes files under ``root`` and remembers the SHA-256 of each."""

    root: Path
    hashes: dict[str, str] = field(default_factory=dict)

    def write(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.hashes[rel] = hashlib.sha256(data).hexdigest()

    def write_json(self, rel: str, obj: object) -> None:
        text = json.dumps(obj, indent=1, ensure_ascii=False) + "\n"
        self.write(rel, text.encode("utf-8"))

    def dataset_version(self) -> str:
        digest = hashlib.sha256()
        for rel in sorted(self.hashes):
            digest.update(f"{rel}\t{self.hashes[rel]}\n".encode())
        return digest.hexdigest()


@dataclass
class _SplitCoco:
    """The COCO document of one split, being filled clip by clip."""

    categories: list[dict[str, Any]]
    images: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "info": {"description": "Veilleur prepared detection dataset", "version": 1},
            "images": self.images,
            "annotations": self.annotations,
            "categories": self.categories,
        }


@dataclass(frozen=True, slots=True)
class ClipCounts:
    """What was kept of one clip."""

    split: SplitName
    frames: int
    images: int
    boxes: int
    dropped_small_boxes: int


@dataclass(frozen=True, slots=True)
class PrepareResult:
    """Where the dataset went and what it holds."""

    out_dir: Path
    splits: Splits
    dataset_version: str
    counts: dict[str, Any]
    clips: dict[str, ClipCounts]


def _category_names(coco: Mapping[str, Any], path: Path) -> dict[int, str]:
    names: dict[int, str] = {}
    for cat in coco.get("categories", []):
        try:
            names[int(cat["id"])] = str(cat["name"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PrepareError(f"{path}: malformed category {cat!r}") from exc
    return names


def _prepare_clip(
    clip: BundleClip,
    split: SplitName,
    params: PrepareParams,
    coco_out: _SplitCoco,
    writer: _Writer,
) -> ClipCounts:
    coco = _json(clip.coco)
    raw_names = _category_names(coco, clip.coco)
    images_by_frame: dict[int, dict[str, Any]] = {}
    anns_by_image: dict[int, list[dict[str, Any]]] = {}
    try:
        for image in coco.get("images", []):
            images_by_frame[int(image["frame_index"])] = image
        for ann in coco.get("annotations", []):
            anns_by_image.setdefault(int(ann["image_id"]), []).append(ann)
    except (KeyError, TypeError, ValueError) as exc:
        raise PrepareError(
            f"{clip.coco}: malformed image or annotation ({exc!r}); contracts §3 lists the fields"
        ) from exc
    category_ids = {c["name"]: int(c["id"]) for c in coco_out.categories}

    def category_id(raw_id: int) -> int:
        name = raw_names.get(raw_id, f"unknown_category_{raw_id}")
        if name not in category_ids:
            logger.warning("%s: category %r is not in the taxonomy; carried", clip.coco, name)
            new_id = max(category_ids.values()) + 1
            coco_out.categories.append({"id": new_id, "name": name, "supercategory": "unknown"})
            category_ids[name] = new_id
        return category_ids[name]

    try:
        return _decode_clip(
            clip, split, params, coco_out, writer, images_by_frame, anns_by_image, category_id
        )
    except av.FFmpegError as exc:
        raise PrepareError(f"{clip.video}: cannot decode ({exc}); regenerate the clip") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise PrepareError(
            f"{clip.coco}: malformed image or annotation ({exc!r}); contracts §3 lists the fields"
        ) from exc


def _decode_clip(
    clip: BundleClip,
    split: SplitName,
    params: PrepareParams,
    coco_out: _SplitCoco,
    writer: _Writer,
    images_by_frame: Mapping[int, Mapping[str, Any]],
    anns_by_image: Mapping[int, list[dict[str, Any]]],
    category_id: Callable[[int], int],
) -> ClipCounts:
    stride = params.frame_stride
    kept = boxes = dropped = 0
    frames = 0
    encode_args = [int(cv2.IMWRITE_JPEG_QUALITY), params.jpeg_quality]
    with av.open(str(clip.video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            frames += 1
            if index % stride:
                continue
            raw_image = images_by_frame.get(index)
            if raw_image is None:
                raise PrepareError(
                    f"{clip.coco}: no COCO image for decoded frame {index} of {clip.video}; "
                    "the COCO must list one image per frame"
                )
            pixels = frame.to_ndarray(format="bgr24")
            height, width = pixels.shape[:2]
            if (width, height) != (int(raw_image["width"]), int(raw_image["height"])):
                raise PrepareError(
                    f"{clip.coco}: frame {index} is declared "
                    f"{raw_image['width']}x{raw_image['height']} but decodes as "
                    f"{width}x{height} from {clip.video}"
                )
            ok, buffer = cv2.imencode(".jpg", pixels, encode_args)
            if not ok:
                raise PrepareError(f"JPEG encoding failed for frame {index} of {clip.video}")
            file_name = f"images/{clip.clip_id}/{index:06d}.jpg"
            writer.write(f"{split}/{file_name}", buffer.tobytes())
            image_id = len(coco_out.images) + 1
            timestamp = raw_image.get("timestamp_s", frame.time)
            coco_out.images.append(
                {
                    "id": image_id,
                    "file_name": file_name,
                    "width": width,
                    "height": height,
                    "frame_index": index,
                    "timestamp_s": timestamp,
                    "clip": clip.clip_id,
                }
            )
            kept += 1
            for ann in anns_by_image.get(int(raw_image["id"]), []):
                x, y, w, h = (float(v) for v in ann["bbox"])
                if w < params.min_box_px or h < params.min_box_px:
                    dropped += 1
                    continue
                coco_out.annotations.append(
                    {
                        "id": len(coco_out.annotations) + 1,
                        "image_id": image_id,
                        "category_id": category_id(int(ann["category_id"])),
                        "bbox": [x, y, w, h],
                        "area": float(ann.get("area", w * h)),
                        "iscrowd": int(ann.get("iscrowd", 0)),
                        "track_id": ann.get("track_id"),
                    }
                )
                boxes += 1
    missing = sorted(i for i in images_by_frame if i >= frames)
    if missing:
        raise PrepareError(
            f"{clip.coco}: lists frames {missing[:5]}… beyond the {frames} frames of "
            f"{clip.video}; regenerate the clip"
        )
    return ClipCounts(split, frames, kept, boxes, dropped)


def _clean(out_dir: Path) -> None:
    """Remove what a previous run of this stage wrote (and only that)."""
    for split in SPLITS:
        if (out_dir / split).is_dir():
            shutil.rmtree(out_dir / split)
    for name in (SPLITS_NAME, MANIFEST_NAME, CURATION_NAME):
        (out_dir / name).unlink(missing_ok=True)


def _split_counts(coco: _SplitCoco, n_clips: int) -> dict[str, Any]:
    names = {int(c["id"]): str(c["name"]) for c in coco.categories}
    per_class = dict.fromkeys(CLASSES, 0)
    for ann in coco.annotations:
        name = names[int(ann["category_id"])]
        per_class[name] = per_class.get(name, 0) + 1
    with_boxes = {int(a["image_id"]) for a in coco.annotations}
    return {
        "clips": n_clips,
        "images": len(coco.images),
        "images_without_boxes": sum(1 for i in coco.images if int(i["id"]) not in with_boxes),
        "boxes": len(coco.annotations),
        "boxes_per_class": per_class,
    }


def prepare_dataset(
    raw_dir: Path, out_dir: Path, params: PrepareParams, curate: CurateParams | None = None
) -> PrepareResult:
    """Build the prepared detection dataset of contracts §6 from a synthetic clip bundle.

    Args:
        raw_dir: the bundle folder (holding ``manifest.json``). Paths written to
            ``splits.json`` are ``raw_dir / <manifest path>`` as given: pass a repo-relative
            ``raw_dir`` (as ``dvc.yaml`` does) to keep them, and the version, relocatable.
        out_dir: the dataset folder; its ``train/``, ``val/``, ``test/``, ``splits.json`` and
            ``manifest.json`` are replaced.
        params: the ``prepare`` parameters.
        curate: the ``curate`` parameters; when given, near-duplicates across clips of a
            split are removed and ``curation.json`` written before the manifest
            (:mod:`veilleur.data.curation`); ``None`` skips curation.

    Raises:
        PrepareError: unreadable or inconsistent bundle, curation errors (cross-split
            near-duplicates, …, listed in ``curation.json``).
        SplitError: fewer than 3 clips.
    """
    bundle = read_bundle(raw_dir)
    splits = split_clips(
        [
            SplitClip(
                clip_id=c.clip_id,
                scenario=str(c.metadata.get("scenario", "unknown")),
                negative=bool(c.metadata.get("negative", False)),
                slices=clip_slices(c.metadata),
            )
            for c in bundle.clips
        ],
        params.fractions,
        params.seed,
    )
    for note in splits.notes:
        logger.warning("split: %s", note)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean(out_dir)
    writer = _Writer(out_dir)
    by_id = {c.clip_id: c for c in bundle.clips}
    clip_counts: dict[str, ClipCounts] = {}
    counts: dict[str, Any] = {}
    for split in SPLITS:
        coco_out = _SplitCoco(categories=[dict(c) for c in coco_categories()])
        for clip_id in splits.of(split):
            clip_counts[clip_id] = _prepare_clip(by_id[clip_id], split, params, coco_out, writer)
            logger.debug("%s → %s: %s", clip_id, split, clip_counts[clip_id])
        writer.write_json(f"{split}/{ANNOTATIONS_NAME}", coco_out.as_dict())
        counts[split] = _split_counts(coco_out, len(splits.of(split)))
        logger.info(
            "%s: %d clips, %d images, %d boxes",
            split,
            counts[split]["clips"],
            counts[split]["images"],
            counts[split]["boxes"],
        )

    curation = None
    if curate is not None:
        try:
            curation = curate_prepared(out_dir, curate, writer.hashes)
        except CurationError as exc:
            raise PrepareError(str(exc)) from exc
        for split in SPLITS:
            doc = curation.documents[split]
            curated = _SplitCoco(doc["categories"], doc["images"], doc["annotations"])
            counts[split] = _split_counts(curated, len(splits.of(split)))
        for clip_id, removed in curation.removed_per_clip.items():
            c = clip_counts[clip_id]
            clip_counts[clip_id] = replace(
                c, images=c.images - removed["images"], boxes=c.boxes - removed["boxes"]
            )

    splits_doc: dict[str, Any] = splits.as_dict()
    splits_doc["clips"] = {
        c.clip_id: {
            "split": splits.split_of(c.clip_id),
            "video": c.video.as_posix(),
            "coco": c.coco.as_posix(),
            "events": c.events.as_posix(),
            "site": c.site.as_posix(),
            "metadata": dict(c.metadata),
        }
        for c in bundle.clips
    }
    writer.write_json(SPLITS_NAME, splits_doc)

    version = writer.dataset_version()
    manifest = {
        "format_version": FORMAT_VERSION,
        "dataset_version": version,
        "source": {
            "raw_dir": raw_dir.as_posix(),
            "generator_version": bundle.generator_version,
            "seed": bundle.seed,
            "manifest_sha256": bundle.manifest_sha256,
        },
        "params": params.model_dump(mode="json"),
        "files": len(writer.hashes),
        "clips": {
            clip_id: {
                "split": c.split,
                "frames": c.frames,
                "images": c.images,
                "boxes": c.boxes,
                "dropped_small_boxes": c.dropped_small_boxes,
            }
            for clip_id, c in sorted(clip_counts.items())
        },
        "counts": counts,
        "split_notes": list(splits.notes),
        "curation": None if curation is None else curation.summary(),
    }
    (out_dir / MANIFEST_NAME).write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    logger.info("dataset_version %s (%d files) in %s", version, len(writer.hashes), out_dir)
    return PrepareResult(out_dir, splits, version, counts, clip_counts)
