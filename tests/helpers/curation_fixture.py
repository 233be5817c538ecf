"""Small prepared datasets (contracts §6) whose images are chosen scenes, for the curation tests.

A scene is 8×6 random colours upscaled smoothly: textured like a camera view, so that two seeds
give far-apart perceptual hashes and one seed written twice gives identical ones.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from veilleur.runtime.core.taxonomy import coco_categories


def scene(seed: int, height: int = 120, width: int = 160) -> NDArray[np.uint8]:
    """A smooth random BGR scene."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC))


def write_prepared(
    root: Path,
    layout: dict[str, dict[str, list[int]]],
    boxes: dict[str, list[float]] | None = None,
    metadata: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Write ``root`` as a prepared dataset.

    Args:
        layout: split → clip → the scene seed of each frame (frame ``i`` is ``<i:06d>.jpg``).
        boxes: sample id (``<split>/images/<clip>/<frame>.jpg``) → its one person box
            ``[x, y, w, h]``; default ``[20, 30, 40, 50]`` (track 1) on every image.
        metadata: clip → metadata of its ``splits.json`` entry.
    """
    height, width = 120, 160
    hashes: dict[str, str] = {}
    clips: dict[str, Any] = {}
    for split, split_clips in layout.items():
        images: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        for clip, seeds in split_clips.items():
            clips[clip] = {"split": split, "metadata": (metadata or {}).get(clip, {})}
            for frame, seed in enumerate(seeds):
                name = f"images/{clip}/{frame:06d}.jpg"
                path = root / split / name
                path.parent.mkdir(parents=True, exist_ok=True)
                assert cv2.imwrite(str(path), scene(seed, height, width))
                hashes[f"{split}/{name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
                image_id = len(images) + 1
                images.append(
                    {"id": image_id, "file_name": name, "width": width, "height": height,
                     "frame_index": frame, "timestamp_s": frame / 4.0, "clip": clip}
                )  # fmt: skip
                bbox = (boxes or {}).get(f"{split}/{name}", [20.0, 30.0, 40.0, 50.0])
                annotations.append(
                    {"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                     "bbox": bbox, "area": bbox[2] * bbox[3], "iscrowd": 0, "track_id": 1}
                )  # fmt: skip
        doc = {"images": images, "annotations": annotations, "categories": coco_categories()}
        data = (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
        (root / split).mkdir(parents=True, exist_ok=True)
        (root / split / "annotations.json").write_bytes(data)
        hashes[f"{split}/annotations.json"] = hashlib.sha256(data).hexdigest()
    splits = {s: sorted(c) for s, c in layout.items()} | {"clips": clips}
    (root / "splits.json").write_text(json.dumps(splits), encoding="utf-8")
    digest = hashlib.sha256()
    for rel in sorted(hashes):
        digest.update(f"{rel}\t{hashes[rel]}\n".encode())
    manifest = {"dataset_version": digest.hexdigest(), "source": {"raw_dir": "test"}}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def file_hashes(root: Path) -> dict[str, str]:
    """``relative path → SHA-256`` of every file under ``root`` but the manifest."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def version_of(hashes: dict[str, str]) -> str:
    """The ``dataset_version`` rule of the writers."""
    digest = hashlib.sha256()
    for rel in sorted(hashes):
        digest.update(f"{rel}\t{hashes[rel]}\n".encode())
    return digest.hexdigest()
