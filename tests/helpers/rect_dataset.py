"""A tiny prepared dataset (contract §6) drawn on the fly: coloured rectangles on noise.

Shared by tests/unit/training (fixture ``rect_dataset``) and tests/integration.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np

from veilleur.runtime.core.taxonomy import CLASSES, coco_categories

# One distinct RGB colour per taxonomy class.
COLOURS = [
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
]
assert len(COLOURS) == len(CLASSES)


def write_split(
    root: Path,
    split: str,
    n_images: int,
    size: tuple[int, int],
    rng: np.random.Generator,
    num_classes: int,
    max_objects: int = 4,
) -> None:
    """Write ``root/split/images/clip_0000/NNNNNN.jpg`` + ``annotations.json``."""
    h, w = size
    images: list[dict[str, object]] = []
    annotations: list[dict[str, object]] = []
    for i in range(n_images):
        image = rng.integers(40, 90, size=(h, w, 3), dtype=np.uint8)
        for _ in range(int(rng.integers(1, max_objects + 1))):
            c = int(rng.integers(0, num_classes))
            bw = int(rng.integers(w // 10, w // 3))
            bh = int(rng.integers(h // 10, h // 3))
            x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
            image[y : y + bh, x : x + bw] = COLOURS[c]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i + 1,
                    "category_id": c + 1,
                    "bbox": [x, y, bw, bh],
                    "area": bw * bh,
                    "iscrowd": 0,
                    "track_id": len(annotations) + 1,
                }
            )
        name = f"images/clip_0000/{i:06d}.jpg"
        (root / split / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / split / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        images.append(
            {"id": i + 1, "file_name": name, "width": w, "height": h, "frame_index": i,
             "timestamp_s": i / 12.5, "clip": "clip_0000"}
        )  # fmt: skip
    coco = {"images": images, "annotations": annotations, "categories": coco_categories()}
    (root / split / "annotations.json").write_text(json.dumps(coco), encoding="utf-8")


def make_rect_dataset(
    root: Path,
    n_train: int = 24,
    n_val: int = 8,
    size: tuple[int, int] = (144, 176),
    num_classes: int = 3,
    seed: int = 0,
) -> Path:
    """Build ``root`` as a prepared dataset; returns ``root``."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        write_split(root, split, n, size, rng, num_classes)
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(path.read_bytes())
    manifest = {
        "dataset_version": digest.hexdigest(),
        "clips": {},
        "counts": {"train": n_train, "val": n_val},
    }
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (root / "splits.json").write_text(
        json.dumps({"train": ["clip_0000"], "val": ["clip_0000"], "test": []}), encoding="utf-8"
    )
    return root
