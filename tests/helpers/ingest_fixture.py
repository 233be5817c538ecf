"""Small on-disk datasets for the ingest tests: images with cv2, videos with PyAV, sidecars."""

from __future__ import annotations

import json
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TAXONOMY = REPO_ROOT / "data" / "taxonomy.yaml"


def write_image(path: Path, width: int = 320, height: int = 240, shade: int = 90) -> Path:
    """A JPEG (or PNG, by suffix) of the given size: a blocky pattern seeded by the last
    four parts of its path (so that no two fixture images are near-duplicates for the curation
    step) and a green rectangle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(zlib.crc32("/".join(path.parts[-4:]).encode()))
    blocks = rng.integers(0, 256, ((height + 15) // 16, (width + 15) // 16, 3), dtype=np.uint8)
    pixels = np.kron(blocks, np.ones((16, 16, 1), dtype=np.uint8))[:height, :width].copy()
    pixels = ((pixels.astype(np.uint16) + shade) // 2).astype(np.uint8)
    cv2.rectangle(pixels, (width // 4, height // 4), (width // 2, height // 2), (20, 200, 40), -1)
    assert cv2.imwrite(str(path), pixels)
    return path


def write_video(
    path: Path, frames: int = 10, width: int = 320, height: int = 240, fps: int = 10
) -> Path:
    """An H.264 MP4 of ``frames`` frames, a square moving right."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            pixels = np.full((height, width, 3), 60, dtype=np.uint8)
            pixels[40:80, 10 + 5 * i : 50 + 5 * i] = 220
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def source_doc(name: str = "test-source", **changes: Any) -> dict[str, Any]:
    """A valid ``source.yaml`` document."""
    doc: dict[str, Any] = {
        "name": name,
        "licence": "CC-BY-4.0",
        "site": "Parvis nord",
        "camera": "cam-01",
        "capture_date": "2025-06-14",
        "acquisition": "Export du VMS par l'exploitant",
        "selection": "Un créneau par heure, tiré au hasard",
        "annotation": "CVAT, double annotation",
        "split_unit": "folder",
        "metadata": {
            "lighting": "day",
            "weather": "clear",
            "camera_height_m": 4.5,
            "camera_angle_deg": 30,
        },
    }
    doc.update(changes)
    return doc


def write_source(folder: Path, name: str = "test-source", **changes: Any) -> Path:
    """Write ``folder/source.yaml``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "source.yaml"
    path.write_text(yaml.safe_dump(source_doc(name, **changes), allow_unicode=True), "utf-8")
    return path


# --- mixed-source fixture: COCO images + YOLO images + a CVAT video, at 4CIF (704×576) -----

W4CIF, H4CIF = 704, 576


def _camera_per_folder(folders: list[str], source: dict[str, Any]) -> dict[str, Any]:
    """``source.yaml`` overrides giving each folder its own camera (one scene per clip, so
    that the scene-leakage check passes), unless the caller gives a camera or overrides."""
    if "camera" in source or "overrides" in source:
        return source
    overrides = [{"match": f"*{f}/*", "camera": f"cam-{f}"} for f in folders]
    return {**source, "overrides": overrides}


def write_coco_source(
    src: Path, name: str = "parvis-coco", scenes: int = 3, per_scene: int = 2, **source: Any
) -> Path:
    """A COCO source: ``scenes`` folders of ``per_scene`` images, one person (40×120 px) per
    image, a backpack on the first image (→ 7 boxes: 6 person, 1 bag by default); one camera
    per folder unless ``source`` sets one."""
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    for s in range(scenes):
        for k in range(per_scene):
            iid = len(images) + 1
            rel = f"scene_{s}/{k}.jpg"
            write_image(src / "images" / rel, W4CIF, H4CIF)
            images.append({"id": iid, "file_name": rel, "width": W4CIF, "height": H4CIF})
            anns.append(
                {"id": len(anns) + 1, "image_id": iid, "category_id": 1,
                 "bbox": [100 + 10 * k, 200, 40, 120]}
            )  # fmt: skip
    anns.append({"id": len(anns) + 1, "image_id": 1, "category_id": 2, "bbox": [300, 300, 30, 30]})
    doc = {
        "images": images,
        "annotations": anns,
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "backpack"}],
    }
    src.mkdir(parents=True, exist_ok=True)
    (src / "annotations.json").write_text(json.dumps(doc), encoding="utf-8")
    write_source(src, name, **_camera_per_folder([f"scene_{s}" for s in range(scenes)], source))
    return src


def write_yolo_source(
    src: Path,
    name: str = "quai-yolo",
    folders: int = 2,
    per_folder: int = 2,
    names: tuple[str, ...] = ("person", "bicycle"),
    line: str = "0 0.5 0.5 0.05 0.2\n1 0.3 0.6 0.08 0.1\n",
    **source: Any,
) -> Path:
    """A YOLO source: ``folders`` folders of ``per_folder`` images, each with the boxes of
    ``line`` (by default a person and a bicycle: 8 boxes); one camera per folder unless
    ``source`` sets one."""
    src.mkdir(parents=True, exist_ok=True)
    (src / "data.yaml").write_text(yaml.safe_dump({"path": ".", "names": list(names)}), "utf-8")
    for f in range(folders):
        for k in range(per_folder):
            write_image(src / "images" / f"cam{f}" / f"{k}.jpg", W4CIF, H4CIF)
            label = src / "labels" / f"cam{f}" / f"{k}.txt"
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_text(line, encoding="utf-8")
    write_source(src, name, **_camera_per_folder([f"cam{f}" for f in range(folders)], source))
    return src


CVAT_VIDEO_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><name>v</name><size>{frames}</size><mode>interpolation</mode>
    <start_frame>0</start_frame><stop_frame>{last}</stop_frame>
    <labels><label><name>{label}</name></label><label><name>car</name></label></labels>
    <original_size><width>{w}</width><height>{h}</height></original_size>
    <source>{video}</source>
  </task></meta>
  <track id="3" label="{label}" source="manual">
    <box frame="0" outside="0" occluded="0" keyframe="1" xtl="10" ytl="100" xbr="60" ybr="300"/>
    <box frame="{last}" outside="0" occluded="0" keyframe="1" xtl="200" ytl="100" xbr="250"
         ybr="300"/>
  </track>
  <track id="7" label="car" source="manual">
    <box frame="0" outside="0" occluded="0" keyframe="1" xtl="300" ytl="300" xbr="500" ybr="420"/>
    <box frame="{last}" outside="0" occluded="0" keyframe="1" xtl="300" ytl="300" xbr="500"
         ybr="420"/>
  </track>
</annotations>
"""


def write_cvat_video_source(
    src: Path, name: str = "gare-cvat", frames: int = 9, label: str = "person", **source: Any
) -> Path:
    """A CVAT video source: one 4CIF clip of ``frames`` frames, a ``label`` track and a car
    track on every frame (2 boxes per frame)."""
    write_video(src / "clip1.mp4", frames=frames, width=W4CIF, height=H4CIF, fps=10)
    xml = CVAT_VIDEO_XML.format(
        frames=frames, last=frames - 1, w=W4CIF, h=H4CIF, video="clip1.mp4", label=label
    )
    (src / "annotations.xml").write_text(xml, encoding="utf-8")
    write_source(src, name, **source)
    return src


def write_mixed_sources(root: Path, manifest: str = "sources.yaml") -> dict[str, Any]:
    """COCO (3 clips, 6 images), YOLO (2 clips, 4 images) and CVAT video (1 clip, 9 frames)
    sources under ``root/raw``, and the sources manifest ``root/<manifest>`` listing them (the
    YOLO one through the manifest's ``source`` overrides). Returns what an ingest must find."""
    raw = root / "raw"
    write_coco_source(raw / "parvis-coco")
    write_yolo_source(raw / "quai-yolo")
    write_cvat_video_source(raw / "gare-cvat")
    doc = {
        "version": 1,
        "sources": [
            {"path": "raw/parvis-coco", "format": "coco"},
            {
                "path": "raw/quai-yolo",
                "format": "yolo",
                "source": {"site": "Quai 2", "metadata": {"lighting": "night"}},
            },
            {"path": "raw/gare-cvat", "format": "cvat", "source": {"camera": "cam-gare"}},
        ],
    }
    (root / manifest).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return {
        "samples": {"parvis-coco": 6, "quai-yolo": 4, "gare-cvat": 9},
        "clips": {"parvis-coco": 3, "quai-yolo": 2, "gare-cvat": 1},
        "boxes": {"parvis-coco": 7, "quai-yolo": 8, "gare-cvat": 18},
        "site": {"parvis-coco": "Parvis nord", "quai-yolo": "Quai 2", "gare-cvat": "Parvis nord"},
        "format": {"parvis-coco": "coco", "quai-yolo": "yolo", "gare-cvat": "cvat"},
    }
