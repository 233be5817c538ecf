"""COCO reading, letterbox identical to the runtime, augmentation and collation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from veilleur.runtime.core.taxonomy import CLASSES
from veilleur.runtime.detect.preprocess import Preprocess
from veilleur.runtime.detect.preprocess import letterbox as runtime_letterbox
from veilleur.training.config import TrainParams
from veilleur.training.datamodule import (
    DetectionDataModule,
    DetectionDataset,
    collate,
    load_coco_split,
    train_augmentation,
)
from veilleur.training.preprocess import PREPROCESS, content_shape, read_rgb, runtime_preprocess

SIZE = (96, 128)  # (H, W); the fixture's frames are 144×176


@pytest.mark.req("EX-047")
def test_coco_split_maps_category_ids_to_taxonomy(rect_dataset: Path) -> None:
    records = load_coco_split(rect_dataset / "train", CLASSES)
    coco = json.loads((rect_dataset / "train/annotations.json").read_text())
    assert len(records) == len(coco["images"])
    first = coco["annotations"][0]
    x, y, w, h = first["bbox"]
    rec = next(r for r in records if r.path.name == "000000.jpg")
    assert rec.boxes[0].tolist() == [x, y, x + w, y + h]
    assert rec.labels[0] == first["category_id"] - 1
    assert sum(len(r.labels) for r in records) == len(coco["annotations"])


def test_coco_split_refuses_another_taxonomy(rect_dataset: Path, tmp_path: Path) -> None:
    coco = json.loads((rect_dataset / "val/annotations.json").read_text())
    coco["categories"][0]["name"] = "pedestrian"
    (tmp_path / "annotations.json").write_text(json.dumps(coco))
    with pytest.raises(ValueError, match="does not match the taxonomy"):
        load_coco_split(tmp_path, CLASSES)


def test_preprocess_metadata_is_what_the_runtime_builds() -> None:
    assert runtime_preprocess() == Preprocess()
    assert PREPROCESS["scale"] == pytest.approx(1 / 255) and PREPROCESS["pad_value"] == 114


def test_dataset_letterboxes_like_the_runtime(rect_dataset: Path) -> None:
    records = load_coco_split(rect_dataset / "val", CLASSES)
    image, boxes, labels = DetectionDataset(records, SIZE)[0]
    rgb = read_rgb(str(records[0].path))
    expected, scale = runtime_letterbox(rgb, SIZE)
    assert image.dtype == torch.uint8 and image.shape == (3, *SIZE)
    assert np.array_equal(image.permute(1, 2, 0).numpy(), expected)
    h, w = content_shape(rgb.shape[:2], scale)
    assert (h, w) == (96, 117)
    assert bool((image[:, :, w:] == 114).all())
    np.testing.assert_allclose(boxes.numpy(), records[0].boxes * scale, rtol=1e-5)
    assert labels.dtype == torch.int64


def test_augmentation_keeps_padding_int_labels_and_boxes_inside(rect_dataset: Path) -> None:
    records = load_coco_split(rect_dataset / "train", CLASSES)
    dataset = DetectionDataset(records, SIZE, train_augmentation(seed=1))
    for i in range(6):
        image, boxes, labels = dataset[i]
        assert bool((image[:, :, 117:] == 114).all())
        assert labels.dtype == torch.int64 and len(labels) == len(boxes)
        assert bool((boxes[:, 2] <= 117 + 1e-3).all() and (boxes[:, :2] >= 0).all())


def test_collate_keeps_variable_box_counts() -> None:
    items = [
        (torch.zeros(3, *SIZE, dtype=torch.uint8), torch.zeros(n, 4), torch.zeros(n).long())
        for n in (0, 3)
    ]
    batch = collate(items)
    assert batch.images.shape == (2, 3, *SIZE)
    assert [len(b) for b in batch.boxes] == [0, 3] and [len(x) for x in batch.labels] == [0, 3]


def test_datamodule_subsamples_deterministically(rect_dataset: Path) -> None:
    params = TrainParams(input_size=SIZE, max_train_images=5, num_workers=0, batch_size=4)
    paths = []
    for _ in range(2):
        dm = DetectionDataModule(rect_dataset, params, CLASSES)
        dm.setup("fit")
        assert dm.train_set is not None
        paths.append([r.path for r in dm.train_set.records])
    assert len(paths[0]) == 5 and paths[0] == paths[1]
    batch = next(iter(dm.val_dataloader()))
    assert batch.images.shape == (4, 3, *SIZE)
