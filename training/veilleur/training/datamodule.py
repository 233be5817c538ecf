"""COCO detection data (contract §6) as a ``LightningDataModule``.

Images are letterboxed by the runtime's own function (:mod:`veilleur.training.preprocess`);
train images then get the augmentations of ``train.augment`` (:mod:`veilleur.training.augment`):
photometric and weather ones on the image content only, so the padding stays at the
right/bottom with the exact pad value; geometric ones on the whole input.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from numpy.typing import NDArray
from torch.utils.data import DataLoader, Dataset

from veilleur.training.augment import MIN_BOX_SIDE, Augmenter
from veilleur.training.config import AugmentItem, TrainParams, resolve_augment
from veilleur.training.preprocess import content_shape, letterbox, read_rgb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageRecord:
    path: Path
    boxes: NDArray[np.float32]  # [N, 4] xyxy, original pixels
    labels: NDArray[np.int64]  # [N] taxonomy ids


@dataclass
class Batch:
    """Collated batch: uint8 images (scaled on device) and per-image targets."""

    images: torch.Tensor  # [B, 3, H, W] uint8 RGB, letterboxed
    boxes: list[torch.Tensor]  # [N_i, 4] float32 xyxy, input pixels
    labels: list[torch.Tensor]  # [N_i] int64


def load_coco_split(split_dir: Path, classes: tuple[str, ...]) -> list[ImageRecord]:
    """Read ``split_dir/annotations.json``; category ids must be ``taxonomy index + 1``.

    Raises:
        ValueError: when a category's id or name disagrees with ``classes``.
    """
    coco = json.loads((split_dir / "annotations.json").read_text(encoding="utf-8"))
    for cat in coco.get("categories", []):
        idx = int(cat["id"]) - 1
        if not 0 <= idx < len(classes) or classes[idx] != cat["name"]:
            raise ValueError(
                f"{split_dir}/annotations.json: category {cat} does not match the taxonomy "
                f"{list(classes)} (id must be index + 1); re-run the prepare stage"
            )
    per_image: dict[int, list[dict[str, Any]]] = {}
    for ann in coco["annotations"]:
        if not ann.get("iscrowd", 0):
            per_image.setdefault(int(ann["image_id"]), []).append(ann)
    records = []
    for img in sorted(coco["images"], key=lambda im: str(im["file_name"])):
        anns = per_image.get(int(img["id"]), [])
        xywh = np.array([a["bbox"] for a in anns], dtype=np.float32).reshape(-1, 4)
        boxes = np.concatenate((xywh[:, :2], xywh[:, :2] + xywh[:, 2:]), axis=1)
        labels = np.array([int(a["category_id"]) - 1 for a in anns], dtype=np.int64)
        records.append(ImageRecord(split_dir / str(img["file_name"]), boxes, labels))
    return records


def train_augmentation(
    seed: int,
    spec: bool | tuple[AugmentItem, ...] = True,
    input_size: tuple[int, int] = (256, 320),
) -> Augmenter | None:
    """The ``train.augment`` pipelines (``True``: photometric set + horizontal flip).

    albumentations keeps its own random state: it is seeded here and re-seeded per
    DataLoader worker by :func:`seed_worker_augmentation`. ``None`` when the list is empty.
    """
    resolved = resolve_augment(spec)
    return Augmenter(resolved, input_size, seed) if resolved else None


def seed_worker_augmentation(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: give each worker its own augmentation stream."""
    info = torch.utils.data.get_worker_info()
    dataset = getattr(info, "dataset", None)
    if isinstance(dataset, DetectionDataset) and dataset.augment is not None:
        dataset.augment.set_random_seed((torch.initial_seed() + worker_id) % 2**32)


class DetectionDataset(Dataset[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]):
    """Letterboxed images with boxes in network-input pixels."""

    def __init__(
        self,
        records: list[ImageRecord],
        input_size: tuple[int, int],
        augment: Augmenter | None = None,
    ) -> None:
        self.records = records
        self.input_size = input_size
        self.augment = augment

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rec = self.records[index]
        original = read_rgb(str(rec.path))
        image, scale = letterbox(original, self.input_size)
        h, w = content_shape((original.shape[0], original.shape[1]), scale)
        boxes = rec.boxes * np.float32(scale)
        boxes = np.clip(boxes, 0, [w, h, w, h]).astype(np.float32)
        labels = rec.labels
        keep = ((boxes[:, 2:] - boxes[:, :2]) >= MIN_BOX_SIDE).all(axis=1)
        boxes, labels = boxes[keep], labels[keep]
        if self.augment is not None:
            image, boxes, labels = self.augment(image, (h, w), boxes, labels)
        return (
            torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))),
            torch.from_numpy(boxes),
            torch.from_numpy(labels),
        )


def collate(items: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> Batch:
    """Stack images; keep a variable number of boxes per image."""
    return Batch(
        images=torch.stack([it[0] for it in items]),
        boxes=[it[1] for it in items],
        labels=[it[2] for it in items],
    )


def _subsample(records: list[ImageRecord], limit: int | None, seed: int) -> list[ImageRecord]:
    if limit is None or limit >= len(records):
        return records
    picked = sorted(random.Random(seed).sample(range(len(records)), limit))
    return [records[i] for i in picked]


class DetectionDataModule(L.LightningDataModule):
    """Reads ``DATA/train`` and ``DATA/val`` (contract §6)."""

    def __init__(self, data_dir: Path, params: TrainParams, classes: tuple[str, ...]) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.params = params
        self.classes = classes
        self.train_set: DetectionDataset | None = None
        self.val_set: DetectionDataset | None = None

    def setup(self, stage: str | None = None) -> None:
        p = self.params
        train = _subsample(
            load_coco_split(self.data_dir / "train", self.classes), p.max_train_images, p.seed
        )
        val = _subsample(
            load_coco_split(self.data_dir / "val", self.classes), p.max_val_images, p.seed
        )
        if not train or not val:
            raise ValueError(f"{self.data_dir}: empty train or val split; run the prepare stage")
        augment = train_augmentation(p.seed, p.augment, p.input_size)
        self.train_set = DetectionDataset(train, p.input_size, augment)
        self.val_set = DetectionDataset(val, p.input_size)
        log.info("data: %d train / %d val images", len(train), len(val))

    def _loader(self, dataset: DetectionDataset | None, shuffle: bool) -> DataLoader[Any]:
        if dataset is None:
            raise RuntimeError("call setup() first")
        workers = self.params.num_workers
        return DataLoader(
            dataset,
            batch_size=self.params.batch_size,
            shuffle=shuffle,
            num_workers=workers,
            collate_fn=collate,
            persistent_workers=workers > 0,
            pin_memory=torch.cuda.is_available(),
            worker_init_fn=seed_worker_augmentation if workers > 0 else None,
        )

    def train_dataloader(self) -> DataLoader[Any]:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader[Any]:
        return self._loader(self.val_set, shuffle=False)
