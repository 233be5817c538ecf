"""Small on-disk datasets for the ingest tests: images with cv2, videos with PyAV, sidecars."""

from __future__ import annotations

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
    """A plain JPEG (or PNG, by suffix) of the given size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full((height, width, 3), shade, dtype=np.uint8)
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
