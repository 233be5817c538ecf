"""The Great Expectations suites on a prepared dataset (contracts §6).

Datasets are written here directly as JSON (and placeholder image files), then corrupted one way
per row: each row names the expectation that must fail and the sample it must point at.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from veilleur.data.expectations import (
    DatasetReadError,
    FailedExpectation,
    load_tables,
    validate_dataset,
)
from veilleur.runtime.core.taxonomy import CLASSES, coco_categories

Dataset = dict[str, Any]

CLIPS = {"train": ["clip_0000", "clip_0001"], "val": ["clip_0002"], "test": ["clip_0003"]}


def make_dataset() -> Dataset:
    """An in-memory prepared dataset: splits.json plus one COCO per split."""
    data: Dataset = {"splits": {s: list(c) for s, c in CLIPS.items()}, "coco": {}}
    data["splits"]["clips"] = {}
    for split, clips in CLIPS.items():
        images: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        for clip in clips:
            data["splits"]["clips"][clip] = {"split": split}
            for frame in (0, 3, 6):
                images.append(
                    {
                        "id": len(images) + 1,
                        "file_name": f"images/{clip}/{frame:06d}.jpg",
                        "width": 704,
                        "height": 576,
                        "frame_index": frame,
                        "timestamp_s": frame / 12.5,
                        "clip": clip,
                    }
                )
                for name, bbox in (
                    ("person", [10.0, 20.0, 40.0, 100.0]),
                    ("bag", [600.1, 500.0, 103.9, 76.0]),
                ):
                    annotations.append(
                        {
                            "id": len(annotations) + 1,
                            "image_id": len(images),
                            "category_id": CLASSES.index(name) + 1,
                            "bbox": bbox,
                            "area": bbox[2] * bbox[3],
                            "iscrowd": 0,
                            "track_id": 1,
                        }
                    )
        data["coco"][split] = {
            "images": images,
            "annotations": annotations,
            "categories": coco_categories(),
        }
    return data


def write_dataset(root: Path, data: Dataset) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "splits.json").write_text(json.dumps(data["splits"]), encoding="utf-8")
    for split, coco in data["coco"].items():
        (root / split).mkdir(exist_ok=True)
        (root / split / "annotations.json").write_text(json.dumps(coco), encoding="utf-8")
        for image in coco["images"]:
            path = root / split / image["file_name"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\xff\xd8\xff\xd9")
    return root


def _ann(data: Dataset, split: str, ann_id: int) -> dict[str, Any]:
    anns: list[dict[str, Any]] = data["coco"][split]["annotations"]
    (ann,) = [a for a in anns if a["id"] == ann_id]
    return ann


def _image(data: Dataset, split: str, image_id: int) -> dict[str, Any]:
    images: list[dict[str, Any]] = data["coco"][split]["images"]
    (image,) = [i for i in images if i["id"] == image_id]
    return image


def box_past_right_edge(d: Dataset) -> None:
    _ann(d, "val", 2)["bbox"] = [690.0, 500.0, 40.0, 20.0]


def negative_x1(d: Dataset) -> None:
    _ann(d, "train", 3)["bbox"] = [-5.0, 20.0, 40.0, 100.0]


def box_past_bottom(d: Dataset) -> None:
    _ann(d, "test", 1)["bbox"] = [10.0, 560.0, 40.0, 100.0]


def zero_width(d: Dataset) -> None:
    _ann(d, "train", 5)["bbox"] = [10.0, 20.0, 0.0, 100.0]


def unknown_class(d: Dataset) -> None:
    d["coco"]["test"]["categories"].append({"id": 99, "name": "drone"})
    _ann(d, "test", 4)["category_id"] = 99


def category_id_without_category(d: Dataset) -> None:
    _ann(d, "val", 3)["category_id"] = 42


def below_4cif(d: Dataset) -> None:
    image = _image(d, "train", 4)
    image["width"], image["height"] = 320, 240
    for ann in d["coco"]["train"]["annotations"]:
        if ann["image_id"] == 4:
            ann["bbox"] = [10.0, 20.0, 40.0, 100.0]


def missing_file(d: Dataset) -> None:
    _image(d, "val", 2)["file_name"] = "images/clip_0002/999999.jpg"
    d["missing"] = "val/images/clip_0002/999999.jpg"


def duplicate_image_id(d: Dataset) -> None:
    _image(d, "test", 3)["id"] = 2


def leaked_clip(d: Dataset) -> None:
    d["splits"]["test"].append("clip_0000")


def leaked_images(d: Dataset) -> None:
    _image(d, "val", 1)["clip"] = "clip_0001"


def empty_split(d: Dataset) -> None:
    d["splits"]["val"] = []
    d["coco"]["val"]["images"] = []
    d["coco"]["val"]["annotations"] = []


def malformed_bbox(d: Dataset) -> None:
    _ann(d, "val", 4)["bbox"] = [1.0, 2.0, 3.0]


def null_clip(d: Dataset) -> None:
    del _image(d, "test", 2)["clip"]


# (corruption, table, expectation type, description part, fields every sample must show)
CORRUPTIONS: list[tuple[Callable[[Dataset], None], str, str, str, dict[str, Any]]] = [
    (
        box_past_right_edge,
        "boxes",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "x2 ≤ width",
        {"split": "val", "clip": "clip_0002", "annotation_id": 2, "x2": 730.0},
    ),
    (
        negative_x1,
        "boxes",
        "expect_column_values_to_be_between",
        "x1 ≥ 0",
        {"split": "train", "clip": "clip_0000", "annotation_id": 3, "image_id": 2},
    ),
    (
        box_past_bottom,
        "boxes",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "y2 ≤ height",
        {"split": "test", "clip": "clip_0003", "annotation_id": 1},
    ),
    (
        zero_width,
        "boxes",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "box width > 0",
        {"split": "train", "annotation_id": 5},
    ),
    (
        unknown_class,
        "boxes",
        "expect_column_values_to_be_in_set",
        "category in the taxonomy",
        {"split": "test", "category": "drone", "annotation_id": 4},
    ),
    (
        category_id_without_category,
        "boxes",
        "expect_column_values_to_not_be_null",
        "category renseigné",
        {"split": "val", "annotation_id": 3},
    ),
    (
        below_4cif,
        "images",
        "expect_column_values_to_be_between",
        "EX-006: image width ≥ 704 px (4CIF)",
        {"split": "train", "clip": "clip_0001", "image_id": 4, "width": 320},
    ),
    (
        missing_file,
        "images",
        "expect_column_values_to_be_in_set",
        "image file present",
        {"split": "val", "file_name": "images/clip_0002/999999.jpg"},
    ),
    (
        duplicate_image_id,
        "images",
        "expect_compound_columns_to_be_unique",
        "image ids unique within a split",
        {"split": "test", "image_id": 2},
    ),
    (
        leaked_clip,
        "clip_splits",
        "expect_column_values_to_be_unique",
        "no leakage",
        {"clip": "clip_0000"},
    ),
    (
        leaked_images,
        "clip_splits",
        "expect_column_values_to_be_unique",
        "no leakage",
        {"clip": "clip_0001"},
    ),
    (
        empty_split,
        "splits",
        "expect_column_values_to_be_between",
        "no empty split (images)",
        {"split": "val", "images": 0},
    ),
    (
        malformed_bbox,
        "boxes",
        "expect_column_values_to_not_be_null",
        "x1 renseigné",
        {"split": "val", "annotation_id": 4},
    ),
    (
        null_clip,
        "images",
        "expect_column_values_to_not_be_null",
        "clip renseigné",
        {"split": "test", "image_id": 2},
    ),
]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("good"), make_dataset())


def test_good_dataset_passes(good: Path, tmp_path: Path) -> None:
    report = validate_dataset(good, tmp_path / "reports", data_docs=False)
    assert report.success, report.message()
    assert report.failures == ()
    assert report.evaluated >= 20
    assert report.rows == {"images": 12, "boxes": 24, "splits": 3, "clip_splits": 4}
    summary = json.loads((tmp_path / "reports" / "validation.json").read_text("utf-8"))
    assert summary["success"] is True
    assert summary["evaluated"] == report.evaluated
    assert all(r["success"] for r in summary["expectations"])
    page = (tmp_path / "reports" / "index.html").read_text("utf-8")
    assert "conforme" in page
    assert not (tmp_path / "reports" / "gx").exists()


def test_box_edge_float_noise_is_tolerated(good: Path) -> None:
    # The bag ends at 600.1 + 103.9, which is 704.0000000000001 in floating point.
    tables = load_tables(good)
    assert tables.boxes["x2"].max() == 704.0


@pytest.mark.req("EX-087")
@pytest.mark.parametrize(
    ("corrupt", "table", "expectation", "description", "sample"),
    [pytest.param(*row, id=row[0].__name__) for row in CORRUPTIONS],
)
def test_corruption_fails_the_named_expectation_on_the_named_sample(
    tmp_path: Path,
    corrupt: Callable[[Dataset], None],
    table: str,
    expectation: str,
    description: str,
    sample: dict[str, Any],
) -> None:
    data = make_dataset()
    corrupt(data)
    root = write_dataset(tmp_path / "processed", data)
    if "missing" in data:
        (root / data["missing"]).unlink()
    report = validate_dataset(root, tmp_path / "reports", data_docs=False)
    assert not report.success
    matching = [
        f
        for f in report.failures
        if f.table == table
        and f.expectation == expectation
        and description in (f.description or "")
    ]
    assert matching, report.message()
    failure: FailedExpectation = matching[0]
    assert failure.samples, failure.describe()
    assert any(all(s.get(k) == v for k, v in sample.items()) for s in failure.samples), (
        failure.samples
    )
    line = failure.describe()
    assert expectation in line
    assert description in line
    for key, value in sample.items():
        assert f"{key}={value}" in line
    assert line in report.message()
    summary = json.loads((tmp_path / "reports" / "validation.json").read_text("utf-8"))
    assert summary["success"] is False
    assert line in [r.get("message") for r in summary["expectations"]]


@pytest.mark.req("EX-006")
def test_below_4cif_fails_width_and_height_only_for_that_image(tmp_path: Path) -> None:
    data = make_dataset()
    below_4cif(data)
    report = validate_dataset(
        write_dataset(tmp_path / "p", data), tmp_path / "reports", data_docs=False
    )
    failed = {(f.table, f.kwargs.get("column")) for f in report.failures}
    assert failed == {("images", "width"), ("images", "height")}
    for failure in report.failures:
        assert [(s["clip"], s["image_id"]) for s in failure.samples] == [("clip_0001", 4)]


def test_data_docs_site_is_written(good: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    (reports / "gx" / "stale").mkdir(parents=True)
    report = validate_dataset(good, reports, data_docs=True)
    assert report.data_docs_index == reports / "gx" / "index.html"
    assert report.data_docs_index.is_file()
    assert not (reports / "gx" / "stale").exists()
    assert len(list((reports / "gx" / "validations").rglob("*.html"))) == 4
    assert "gx/index.html" in (reports / "index.html").read_text("utf-8")


def test_missing_dataset_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatasetReadError, match=r"splits\.json not found"):
        load_tables(tmp_path)
