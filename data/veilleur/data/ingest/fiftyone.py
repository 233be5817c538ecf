"""FiftyOne exports on disk, read as plain JSON (FiftyOne itself is not imported: importing it
starts its MongoDB).

- ``FiftyOneImageDetectionDataset``: ``data/`` (images) and ``labels.json`` =
  ``{"classes": [...] | null, "labels": {"<uuid>": [{"label", "bounding_box",
  "attributes"?}]}}``; ``<uuid>`` is the image's path under ``data/`` without extension;
  ``label`` is a name, or an index into ``classes``.
- ``FiftyOneDataset``: ``samples.json`` = ``{"samples": [{"filepath", "metadata"?,
  "<field>": {"_cls": "Detections", "detections": [...]}}]}`` and, for videos, ``frames.json``
  = ``{"frames": [{"_sample_id", "frame_number", "<field>": …}]}`` (frame numbers from 1).
  The label field is ``label_field``, else ``ground_truth``, else the only ``Detections``
  field. A detection's ``index`` is its track id; its other scalar fields are attributes.

``bounding_box`` is ``[x, y, w, h]`` normalised to 0–1, top-left corner.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from veilleur.data.ingest.media import MediaError, probe_video
from veilleur.data.ingest.model import (
    VIDEO_EXTS,
    AttributeValue,
    Problems,
    RawBox,
    RawDataset,
    RawSample,
)
from veilleur.data.ingest.util import iter_images, load_json, measured_size, number, rel

_RESERVED = frozenset(
    {"_id", "_cls", "label", "bounding_box", "confidence", "index", "tags", "mask", "attributes"}
)


def _box(
    det: Any,
    classes: list[str] | None,
    width: int,
    height: int,
    file: Path,
    where: str,
    problems: Problems,
) -> RawBox | None:
    if not isinstance(det, dict):
        problems.add(file, where, "a detection must be an object")
        return None
    label = det.get("label")
    if isinstance(label, int) and not isinstance(label, bool):
        if classes is None or not 0 <= label < len(classes):
            problems.add(file, where, f"label index {label} unknown (classes: {classes})")
            return None
        label = classes[label]
    bbox = det.get("bounding_box")
    values = [number(v) for v in bbox] if isinstance(bbox, list) and len(bbox) == 4 else []
    if label is None or len(values) != 4 or any(v is None for v in values):
        problems.add(file, where, "needs 'label' and 'bounding_box': [x, y, w, h] (0–1)")
        return None
    x, y, w, h = (float(v or 0.0) for v in values)
    attrs: dict[str, AttributeValue] = {}
    nested = det.get("attributes")
    extra: dict[str, Any] = nested if isinstance(nested, dict) else {}
    for key, value in [*extra.items(), *det.items()]:
        if key in _RESERVED:
            continue
        if isinstance(value, dict) and "value" in value:  # legacy fo.Attribute
            value = value["value"]
        if isinstance(value, bool | int | float | str):
            attrs[str(key)] = value
    index = det.get("index")
    return RawBox(
        x * width,
        y * height,
        (x + w) * width,
        (y + h) * height,
        str(label),
        f"{file}: {where}",
        int(index) if isinstance(index, int) else None,
        attrs,
    )


def _read_image_detection(root: Path, problems: Problems) -> RawDataset:
    path = root / "labels.json"
    doc = load_json(path, problems)
    if not isinstance(doc, dict):
        if doc is not None:
            problems.add(path, "", "expected an object with 'labels'")
        return RawDataset(root, "fiftyone", ())
    raw_classes = doc.get("classes")
    classes = [str(c) for c in raw_classes] if isinstance(raw_classes, list) else None
    labels = doc.get("labels") or {}
    if not isinstance(labels, dict):
        problems.add(path, "labels", "expected an object uuid → detections")
        return RawDataset(root, "fiftyone", ())
    data = root / "data"
    images = {p.relative_to(data).with_suffix("").as_posix(): p for p in iter_images(data)}
    samples: list[RawSample] = []
    for uuid in sorted(set(labels) | set(images)):
        image = images.get(uuid)
        if image is None:
            problems.add(path, f"labels[{uuid!r}]", f"no image data/{uuid}.* found")
            continue
        size = measured_size(image, path, f"labels[{uuid!r}]", problems)
        if size is None:
            continue
        dets = labels.get(uuid) or []
        if not isinstance(dets, list):
            problems.add(path, f"labels[{uuid!r}]", "expected a list of detections")
            continue
        boxes = [
            _box(d, classes, size[0], size[1], path, f"labels[{uuid!r}][{i}]", problems)
            for i, d in enumerate(dets)
        ]
        samples.append(
            RawSample(
                image,
                rel(root, image),
                size[0],
                size[1],
                f"{path}: labels[{uuid!r}]",
                tuple(b for b in boxes if b is not None),
            )
        )
    return RawDataset(root, "fiftyone", tuple(samples), labels_declared=tuple(classes or ()))


def _oid(value: Any) -> str:
    return str(value.get("$oid")) if isinstance(value, dict) else str(value)


def _dets(value: Any) -> list[Any] | None:
    if not isinstance(value, dict):
        return None
    if value.get("_cls") == "Detections":
        dets = value.get("detections") or []
        return dets if isinstance(dets, list) else []
    if value.get("_cls") == "Detection":
        return [value]
    return None


def _label_field(docs: list[dict[str, Any]], wanted: str | None) -> str | None:
    fields = sorted({k for d in docs for k, v in d.items() if _dets(v) is not None})
    if wanted is not None:
        return wanted
    if "ground_truth" in fields:
        return "ground_truth"
    return fields[0] if len(fields) == 1 else None


def _read_dataset(root: Path, label_field: str | None, problems: Problems) -> RawDataset:
    path = root / "samples.json"
    doc = load_json(path, problems)
    if doc is None:
        return RawDataset(root, "fiftyone", ())
    docs = doc.get("samples") if isinstance(doc, dict) else None
    if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
        problems.add(path, "samples", "expected a list of sample objects")
        return RawDataset(root, "fiftyone", ())
    frames_by_sample: dict[str, list[dict[str, Any]]] = {}
    frames_path = root / "frames.json"
    if frames_path.is_file():
        frames_doc = load_json(frames_path, problems)
        for frame in (frames_doc or {}).get("frames") or []:
            if isinstance(frame, dict):
                frames_by_sample.setdefault(_oid(frame.get("_sample_id")), []).append(frame)
    all_docs = docs + [f for fs in frames_by_sample.values() for f in fs]
    field = _label_field(all_docs, label_field)
    if field is None:
        fields = sorted({k for d in all_docs for k, v in d.items() if _dets(v) is not None})
        problems.add(path, "", f"cannot tell the label field among {fields}: pass --label-field")
        return RawDataset(root, "fiftyone", ())
    samples: list[RawSample] = []
    for i, sample in enumerate(docs):
        where = f"samples[{i}]"
        filepath = sample.get("filepath")
        if not isinstance(filepath, str):
            problems.add(path, where, "needs a 'filepath'")
            continue
        file = Path(filepath) if Path(filepath).is_absolute() else root / filepath
        where = f"samples[{i}] ({filepath})"
        if not file.is_file():
            problems.add(path, where, f"media file not found: {file}")
            continue
        meta = sample.get("metadata") if isinstance(sample.get("metadata"), dict) else {}
        if file.suffix.lower() in VIDEO_EXTS or sample.get("_media_type") == "video":
            samples.extend(
                _video(
                    root,
                    path,
                    where,
                    file,
                    frames_by_sample.get(_oid(sample.get("_id")), []),
                    field,
                    problems,
                )
            )
            continue
        width, height = number(meta.get("width")), number(meta.get("height"))
        if not width or not height:
            size = measured_size(file, path, where, problems)
            if size is None:
                continue
            width, height = size
        dets = _dets(sample.get(field)) or []
        boxes = [
            _box(d, None, int(width), int(height), path, f"{where} {field}[{j}]", problems)
            for j, d in enumerate(dets)
        ]
        samples.append(
            RawSample(
                file,
                rel(root, file),
                int(width),
                int(height),
                f"{path}: {where}",
                tuple(b for b in boxes if b is not None),
                attributes={"tags": ",".join(map(str, sample.get("tags") or []))},
            )
        )
    return RawDataset(root, "fiftyone", tuple(samples))


def _video(
    root: Path,
    path: Path,
    where: str,
    file: Path,
    frames: list[dict[str, Any]],
    field: str,
    problems: Problems,
) -> list[RawSample]:
    try:
        info = probe_video(file)
    except MediaError as exc:
        problems.add(file, "", str(exc))
        return []
    frames_path = root / "frames.json"
    boxes: dict[int, list[RawBox]] = {}
    for frame in frames:
        number_ = frame.get("frame_number")
        if not isinstance(number_, int) or not 1 <= number_ <= info.frames:
            problems.add(
                frames_path,
                f"{where} frame_number={number_!r}",
                f"must be 1 … {info.frames} (frames of {file.name})",
            )
            continue
        for j, det in enumerate(_dets(frame.get(field)) or []):
            box = _box(
                det,
                None,
                info.width,
                info.height,
                frames_path,
                f"{where} frame {number_} {field}[{j}]",
                problems,
            )
            if box is not None:
                boxes.setdefault(number_ - 1, []).append(box)
    return [
        RawSample(
            path=file,
            rel_path=rel(root, file),
            width=info.width,
            height=info.height,
            where=f"{path}: {where} frame {index + 1}",
            boxes=tuple(boxes.get(index, ())),
            frame_index=index,
            clip=file.stem,
            timestamp_s=index / info.fps if info.fps else None,
            fps=info.fps or None,
        )
        for index in range(info.frames)
    ]


def read_fiftyone(src: Path, problems: Problems, label_field: str | None = None) -> RawDataset:
    """Read a FiftyOne export (either format, told apart by its files)."""
    if (src / "samples.json").is_file():
        return _read_dataset(src, label_field, problems)
    if (src / "labels.json").is_file():
        return _read_image_detection(src, problems)
    problems.add(
        src,
        "",
        "neither samples.json (FiftyOneDataset) nor labels.json "
        "(FiftyOneImageDetectionDataset) found",
    )
    return RawDataset(src, "fiftyone", ())
