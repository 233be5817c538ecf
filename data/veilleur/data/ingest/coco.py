"""COCO detection JSON (images), and COCO-video style (``videos``, ``video_id``, ``track_id``).

``SRC`` is the JSON file, or a folder holding ``annotations.json`` (or a single
``annotations/*.json`` / ``*.json``). Image ``file_name`` is resolved against ``SRC/images/``,
then the JSON's folder, then ``SRC``. Boxes are ``bbox: [x, y, w, h]`` in pixels. An image with
``video_id`` (and ``frame_index``, ``frame_id`` or ``frame_number``) is a frame of the
``videos[]`` entry with that id, whose ``name``/``file_name`` is the clip id; an image with a
``clip`` field (the project's own COCO files, contracts §3) belongs to that clip. An
annotation's ``track_id`` (or ``instance_id``) is the track id; ``attributes`` (an object) and
``iscrowd`` are carried as box attributes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from veilleur.data.ingest.model import Problems, RawBox, RawDataset, RawSample
from veilleur.data.ingest.util import attribute, load_json, number, rel


def find_annotation_file(src: Path) -> Path:
    """The COCO JSON of ``src`` (a file or a folder); ``src/annotations.json`` when unsure."""
    if src.is_file():
        return src
    for candidate in (src / "annotations.json", src / "instances.json"):
        if candidate.is_file():
            return candidate
    for folder in (src / "annotations", src):
        found = sorted(folder.glob("*.json")) if folder.is_dir() else []
        found = [f for f in found if not f.name.endswith(".events.json")]
        if len(found) == 1:
            return found[0]
    return src / "annotations.json"


def _resolve(root: Path, json_dir: Path, file_name: str) -> Path:
    for base in (root / "images", json_dir, root):
        candidate = base / file_name
        if candidate.is_file():
            return candidate
    return root / "images" / file_name if (root / "images").is_dir() else json_dir / file_name


def read_coco(src: Path, problems: Problems) -> RawDataset:
    """Read a COCO dataset; every problem is added to ``problems``."""
    root = src.parent if src.is_file() else src
    path = find_annotation_file(src)
    if not path.is_file():
        problems.add(path, "", "COCO annotation file not found (give the JSON or its folder)")
        return RawDataset(root, "coco", ())
    doc = load_json(path, problems)
    if doc is None:
        return RawDataset(root, "coco", ())
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        problems.add(path, "", "not a COCO detection file: no 'images' list")
        return RawDataset(root, "coco", ())

    categories: dict[int, str] = {}
    for i, cat in enumerate(doc.get("categories") or []):
        try:
            cid, name = int(cat["id"]), str(cat["name"])
        except (KeyError, TypeError, ValueError):
            problems.add(path, f"categories[{i}]", "needs an integer 'id' and a 'name'")
            continue
        if cid in categories:
            problems.add(path, f"categories[{i}]", f"category id {cid} given twice")
        categories[cid] = name

    videos: dict[int, tuple[str, float | None]] = {}
    for i, video in enumerate(doc.get("videos") or []):
        try:
            vid = int(video["id"])
            name = str(video.get("name") or video.get("file_name") or f"video_{vid}")
        except (KeyError, TypeError, ValueError):
            problems.add(path, f"videos[{i}]", "needs an integer 'id'")
            continue
        videos[vid] = (
            Path(name).stem if "." in Path(name).name else name,
            number(video.get("fps")),
        )

    images: dict[int, dict[str, Any]] = {}
    for i, image in enumerate(doc["images"]):
        where = f"images[{i}]"
        try:
            iid = int(image["id"])
            file_name = str(image["file_name"])
            width, height = int(image["width"]), int(image["height"])
        except (KeyError, TypeError, ValueError):
            problems.add(path, where, "needs integer 'id', 'width', 'height' and a 'file_name'")
            continue
        if iid in images:
            problems.add(path, where, f"image id {iid} given twice")
            continue
        if width <= 0 or height <= 0:
            problems.add(path, where, f"image size {width}x{height} must be positive")
            continue
        images[iid] = {**image, "_where": f"{where} ({file_name})", "_boxes": []}

    for i, ann in enumerate(doc.get("annotations") or []):
        where = f"annotations[{i}]"
        try:
            aid = ann.get("id", i)
            where = f"annotations[{i}] (id={aid})"
            iid, cid = int(ann["image_id"]), int(ann["category_id"])
            x, y, w, h = (float(v) for v in ann["bbox"])
        except (KeyError, TypeError, ValueError):
            problems.add(path, where, "needs 'image_id', 'category_id' and 'bbox': [x, y, w, h]")
            continue
        if iid not in images:
            problems.add(path, where, f"unknown image id {iid}")
            continue
        if cid not in categories:
            problems.add(path, where, f"unknown category id {cid} (not in 'categories')")
            continue
        track = ann.get("track_id", ann.get("instance_id"))
        attrs = {str(k): attribute(v) for k, v in (ann.get("attributes") or {}).items()}
        if int(ann.get("iscrowd", 0) or 0):
            attrs["iscrowd"] = True
        images[iid]["_boxes"].append(
            RawBox(
                x,
                y,
                x + w,
                y + h,
                categories[cid],
                f"{path}: {where}",
                None if track is None else int(track),
                attrs,
            )
        )

    samples: list[RawSample] = []
    for _iid, image in sorted(images.items()):
        file = _resolve(root, path.parent, str(image["file_name"]))
        clip: str | None = None
        fps: float | None = None
        frame = image.get("frame_index", image.get("frame_id", image.get("frame_number")))
        if image.get("video_id") is not None:
            try:
                clip, fps = videos[int(image["video_id"])]
            except (KeyError, TypeError, ValueError):
                problems.add(path, image["_where"], f"unknown video id {image['video_id']}")
                continue
        elif image.get("clip") is not None:
            clip = str(image["clip"])
        samples.append(
            RawSample(
                path=file,
                rel_path=rel(root, file),
                width=int(image["width"]),
                height=int(image["height"]),
                where=f"{path}: {image['_where']}",
                boxes=tuple(image["_boxes"]),
                frame_index=None if frame is None else int(frame),
                clip=clip,
                timestamp_s=number(image.get("timestamp_s")),
                fps=fps,
            )
        )
    return RawDataset(root, "coco", tuple(samples), labels_declared=tuple(categories.values()))
