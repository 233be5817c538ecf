"""The Great Expectations suites on a prepared dataset (contracts §6).

Datasets are written here directly as JSON (and placeholder image files), then corrupted one way
per row: each row names the expectation that must fail and the sample it must point at.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from veilleur.data.coverage import CoverageParams
from veilleur.data.expectations import (
    DatasetReadError,
    FailedExpectation,
    ValidationReport,
    is_biometric_name,
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
    counts = {k: report.rows[k] for k in ("images", "boxes", "splits", "clip_splits")}
    assert counts == {"images": 12, "boxes": 24, "splits": 3, "clip_splits": 4}
    # Names checked for biometrics; no target table without targets.
    assert report.rows["labels"] > 0
    assert set(report.rows) == {"images", "boxes", "splits", "clip_splits", "labels"}
    summary = json.loads((tmp_path / "reports" / "validation.json").read_text("utf-8"))
    assert summary["success"] is True
    assert summary["evaluated"] == report.evaluated
    assert all(r["success"] for r in summary["expectations"])
    page = (tmp_path / "reports" / "index.html").read_text("utf-8")
    assert "conforme" in page
    # Coverage is counted (not gated) without targets.
    assert "Couverture par tranche" in page and "Aucun objectif de couverture fourni" in page
    coverage = json.loads((tmp_path / "reports" / "coverage.json").read_text("utf-8"))
    assert coverage["targets_set"] is False and coverage["passed"] is True
    assert coverage["totals"]["images"] == {"train": 6, "val": 3, "test": 3, "all": 12}
    person = next(c for c in coverage["classes"] if c["class"] == "person")
    assert person["boxes"]["all"] == 12
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
    assert len(list((reports / "gx" / "validations").rglob("*.html"))) == len(report.rows)
    assert "gx/index.html" in (reports / "index.html").read_text("utf-8")


def test_missing_dataset_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatasetReadError, match=r"splits\.json not found"):
        load_tables(tmp_path)


# --- Coverage targets, scene leakage and biometric names (issue 5 "done when") --------------


def _failure(report: ValidationReport, table: str) -> FailedExpectation:
    matching = [f for f in report.failures if f.table == table]
    assert matching, report.message()
    return matching[0]


def with_metadata(d: Dataset, lighting: str = "day") -> None:
    for record in d["splits"]["clips"].values():
        record["metadata"] = {"lighting": lighting, "weather": "clear", "camera_height_m": 5.0}


@pytest.mark.req("EX-089")
def test_face_annotation_fails_with_its_sample(tmp_path: Path) -> None:
    data = make_dataset()
    data["coco"]["val"]["categories"].append({"id": 9, "name": "face"})
    _ann(data, "val", 4)["category_id"] = 9
    _ann(data, "test", 2)["attributes"] = {"identité": "p-12"}
    _image(data, "train", 5)["metadata"] = {"licensePlate": "AB-123-CD"}
    report = validate_dataset(write_dataset(tmp_path / "p", data), tmp_path / "r")
    assert not report.success
    failure = _failure(report, "labels")
    assert failure.expectation == "expect_column_values_to_not_match_regex_list"
    line = failure.describe()
    assert "EX-089: no biometric annotation" in line
    assert failure.unexpected_count == 3
    assert "kind=category, name=face" in line
    assert (
        "kind=attribute_field, name=identité, clip=clip_0003, image_id=1, annotation_id=2" in line
    )
    assert "kind=image_metadata_field, name=licensePlate, clip=clip_0001, image_id=5" in line
    # The face box is outside the taxonomy, too.
    assert any(f.description == "category in the taxonomy" for f in report.failures)


@pytest.mark.parametrize(
    ("name", "biometric"),
    [
        ("face", True),
        ("Human Face", True),
        ("faceBox", True),
        ("visage", True),
        ("identité", True),
        ("person_id", True),
        ("license-plate", True),
        ("plaque immatriculation", True),
        ("surface", False),
        ("track_id", False),
        ("person_count", False),
        ("template", False),
        ("iscrowd", False),
    ],
)
def test_biometric_names(name: str, biometric: bool) -> None:
    assert is_biometric_name(name) is biometric


@pytest.mark.req("EX-086")
def test_scene_leakage_fails_naming_the_camera(tmp_path: Path) -> None:
    data = make_dataset()
    for clip in ("clip_0000", "clip_0003"):  # train and test, same camera
        data["splits"]["clips"][clip]["provenance"] = {
            "source": "parvis", "site": "Parvis nord", "camera": "cam-01"
        }  # fmt: skip
    root = write_dataset(tmp_path / "p", data)
    # Structural suites only: scenes are not checked.
    assert validate_dataset(root, tmp_path / "r0").success
    report = validate_dataset(root, tmp_path / "r", coverage=CoverageParams())
    failure = _failure(report, "scene_splits")
    line = failure.describe()
    assert "a scene (site/camera) is in one split only (no leakage)" in line
    assert "failed on 2 rows" in line and "scene=parvis:Parvis nord/cam-01" in line
    assert {(x["split"], x["scene"]) for x in failure.samples} == {
        ("train", "parvis:Parvis nord/cam-01"),
        ("test", "parvis:Parvis nord/cam-01"),
    }
    allowed = CoverageParams(forbid_scene_leakage=False)
    assert validate_dataset(root, tmp_path / "r2", coverage=allowed).success


@pytest.mark.req("EX-086", "EX-087")
def test_under_represented_slice_and_class_fail_with_the_slice_named(tmp_path: Path) -> None:
    data = make_dataset()
    with_metadata(data)
    data["splits"]["clips"]["clip_0003"]["metadata"]["lighting"] = "night"  # test only
    root = write_dataset(tmp_path / "p", data)
    targets = CoverageParams.model_validate(
        {
            "profile_name": "parvis de nuit",
            "required_slices": [
                {"criterion": "lighting", "value": "night", "min_images": 3,
                 "min_images_per_split": 1},
                {"criterion": "camera_height", "value": "4–8 m", "min_images": 12},
            ],
            "min_boxes_per_class": {"person": 12, "bag": 13},
            "max_class_ratio": 2.0,
        }
    )  # fmt: skip
    report = validate_dataset(root, tmp_path / "r", coverage=targets)
    assert not report.success
    slices = _failure(report, "slice_targets")
    assert "EX-086: each slice of the deployment profile" in slices.describe()
    assert slices.unexpected_count == 2  # night is absent from train and val
    assert {(s["criterion"], s["value"], s["scope"]) for s in slices.samples} == {
        ("lighting", "night", "train"),
        ("lighting", "night", "val"),
    }
    classes = _failure(report, "class_targets")
    assert [(s["class"], s["scope"]) for s in classes.samples] == [("bag", "all")]
    balance = _failure(report, "class_balance")  # 8 classes absent: ratio infinite
    assert balance.samples[0]["most"] in {"person", "bag"}
    assert report.coverage is not None
    reasons = report.coverage.reasons_fr()
    assert (
        "Tranche « Éclairage = nuit » sous-représentée dans le jeu « train » : 0 images "
        "(minimum 1)" in reasons
    )
    assert "Classe « bag » sous-représentée dans l'ensemble du jeu : 12 boîtes (minimum 13)" in (
        reasons
    )
    cov = json.loads((tmp_path / "r" / "coverage.json").read_text("utf-8"))
    assert cov["passed"] is False and cov["targets_set"] is True
    night = next(s for s in cov["slices"] if s["value"] == "night")
    assert night["images"] == {"train": 0, "val": 0, "test": 3, "all": 3}
    page = (tmp_path / "r" / "index.html").read_text("utf-8")
    assert "Couverture par tranche" in page and "parvis de nuit" in page and "NON atteint" in page


@pytest.mark.req("EX-086", "EX-089")
def test_stage_stops_on_an_under_represented_slice_and_a_face(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from veilleur.data.stages import prepare as stage

    data = make_dataset()
    with_metadata(data)
    data["coco"]["test"]["categories"].append({"id": 9, "name": "visage"})
    root = write_dataset(tmp_path / "p", data)
    manifest = {"format_version": 1, "dataset_version": "v-test", "source": {}, "params": {}}
    (root / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    params = tmp_path / "params.yaml"
    params.write_text(
        "prepare:\n  coverage:\n    required_slices:\n"
        "      - {criterion: lighting, value: night, min_images: 10}\n",
        "utf-8",
    )
    caplog.set_level(logging.INFO)
    args = ["--params", str(params), "--validate-only", "--out", str(root)]
    status = stage.main([*args, "--reports", str(tmp_path / "r")])
    assert status == 1
    failed = [r.getMessage() for r in caplog.records if "expectation failed" in r.getMessage()]
    assert len(failed) == 2, failed
    assert any(
        "slice_targets" in m and "criterion=lighting, value=night, measure=images, scope=all" in m
        and "actual=0" in m and "required=10" in m
        for m in failed
    )  # fmt: skip
    assert any("labels" in m and "kind=category, name=visage" in m for m in failed)
    assert "Tranche « Éclairage = nuit » sous-représentée" in caplog.text
    # The card is written even for a rejected dataset, and says so.
    card = (tmp_path / "r" / "dataset_card.md").read_text("utf-8")
    assert "NON CONFORME (2 attentes en échec" in card
    assert "ÉCHEC : des noms biométriques ont été trouvés" in card
