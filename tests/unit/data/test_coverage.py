"""Coverage per slice and class, gaps against the targets, distances between splits."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from veilleur.data.coverage import (
    BoxRecord,
    CoverageParams,
    ImageRecord,
    compute_coverage,
    jensen_shannon,
)


def dataset() -> tuple[list[ImageRecord], list[BoxRecord]]:
    """train: 4 day images (clip a, b); val: 2 night (clip c); test: 1 day + 1 night (clip d)."""
    layout = [
        ("train", "a", "day"), ("train", "a", "day"), ("train", "b", "day"), ("train", "b", "day"),
        ("val", "c", "night"), ("val", "c", "night"),
        ("test", "d", "day"), ("test", "d", "night"),
    ]  # fmt: skip
    images = [
        ImageRecord(split, clip, i, {"lighting": light, "camera_height": "4–8 m"})
        for i, (split, clip, light) in enumerate(layout)
    ]
    boxes = [BoxRecord(im.split, im.image_id, "person") for im in images for _ in range(2)]
    boxes += [BoxRecord("train", 0, "bag"), BoxRecord("test", 7, "weapon")]
    return images, boxes


@pytest.mark.req("EX-086")
def test_counts_per_slice_split_and_class() -> None:
    images, boxes = dataset()
    report = compute_coverage(images, boxes, CoverageParams())
    night = report.slice("lighting", "night")
    assert dict(night.images) == {"train": 0, "val": 2, "test": 1, "all": 3}
    assert dict(night.boxes) == {"train": 0, "val": 4, "test": 3, "all": 7}
    assert dict(night.clips) == {"train": 0, "val": 1, "test": 1, "all": 2}
    assert night.boxes_per_class["weapon"]["test"] == 1
    assert night.label_fr == "nuit"
    assert [s.value for s in report.values_of("lighting")] == ["day", "night"]
    assert report.values_of("weather") == []  # not described: no slice
    assert dict(report.totals["clips"]) == {"train": 2, "val": 1, "test": 1, "all": 4}
    person = next(c for c in report.classes if c.name == "person")
    assert dict(person.boxes) == {"train": 8, "val": 4, "test": 4, "all": 16}
    assert report.combinations[0] == (
        {"lighting": "day", "weather": None, "camera_height": "4–8 m", "density": None,
         "person_size": None},
        {"train": 4, "val": 0, "test": 1, "all": 5},
    )  # fmt: skip
    assert report.passed and report.reasons_fr() == ["Aucun objectif de couverture fixé."]


def test_jensen_shannon() -> None:
    assert jensen_shannon({"a": 3}, {"a": 5}) == 0.0
    assert jensen_shannon({"a": 1}, {"b": 2}) == 1.0
    assert jensen_shannon({"a": 1, "b": 1}, {"a": 1}) == pytest.approx(0.311278, abs=1e-6)
    assert jensen_shannon({}, {"a": 1}) is None


def test_distances_between_splits() -> None:
    images, boxes = dataset()
    report = compute_coverage(images, boxes, CoverageParams())
    d = {(x.criterion, x.a, x.b): x.divergence for x in report.distances}
    assert d[("lighting", "train", "val")] == 1.0  # all day vs all night
    assert d[("lighting", "val", "test")] == pytest.approx(0.311278, abs=1e-6)
    assert d[("camera_height", "train", "test")] == 0.0
    assert d[("weather", "train", "val")] is None
    assert ("class", "train", "test") in d


@pytest.mark.req("EX-086", "EX-087")
def test_gaps_and_french_reasons() -> None:
    images, boxes = dataset()
    params = CoverageParams.model_validate(
        {
            "required_slices": [
                {"criterion": "lighting", "value": "night", "min_images": 3,
                 "min_images_per_split": 1, "min_boxes": 8},
                {"criterion": "lighting", "value": "dusk", "min_images": 1},
            ],
            "min_boxes_per_class": {"person": 16, "bag": 2},
            "min_split_boxes_per_class": {"person": 4},
            "max_class_ratio": 10,
            "max_split_divergence": 0.5,
        }
    )  # fmt: skip
    report = compute_coverage(images, boxes, params)
    assert not report.passed
    failed = {(g.kind, g.subject, g.measure, g.scope) for g in report.failed_gaps}
    assert failed == {
        ("slice", "Tranche « Éclairage = nuit »", "boxes", "all"),
        ("slice", "Tranche « Éclairage = nuit »", "images", "train"),
        ("slice", "Tranche « Éclairage = crépuscule »", "images", "all"),
        ("class", "Classe « bag »", "boxes", "all"),
        ("balance", "plus fréquente « person » 16 boîtes, plus rare « bicycle » 0 boîtes",
         "ratio", "all"),
        ("distance", "« Éclairage »", "divergence", "train/val"),
    }  # fmt: skip
    reasons = report.reasons_fr()
    assert (
        "Tranche « Éclairage = nuit » sous-représentée dans l'ensemble du jeu : 7 boîtes "
        "(minimum 8)" in reasons
    )
    assert (
        "Tranche « Éclairage = crépuscule » sous-représentée dans l'ensemble du jeu : 0 "
        "images (minimum 1)" in reasons
    )
    assert any(
        r.startswith("Déséquilibre des classes : rapport") and "infini" in r for r in reasons
    )
    assert any(r.startswith("Écart entre les jeux train/val sur « Éclairage »") for r in reasons)
    met = [g for g in report.gaps if g.ok]
    assert ("class", "person", "val") in {(g.kind, g.key.get("class"), g.scope) for g in met}
    doc = report.as_dict()
    assert doc["passed"] is False and doc["distance"] == "jensen_shannon"
    assert len(doc["gaps"]) == len(report.gaps) and doc["reasons"] == reasons


def test_balance_ratio_when_every_class_is_present() -> None:
    images = [ImageRecord("train", "a", 1, {})]
    boxes = [
        BoxRecord("train", 1, name)
        for name, n in [("person", 30), ("vehicle", 3), ("bicycle", 3), ("bag", 3),
                        ("weapon", 3), ("fire", 3), ("smoke", 3), ("person_lying", 3)]
        for _ in range(n)
    ]  # fmt: skip
    (gap,) = compute_coverage(images, boxes, CoverageParams(max_class_ratio=10)).gaps
    assert (gap.actual, gap.ok) == (10.0, True)
    (gap,) = compute_coverage(images, boxes, CoverageParams(max_class_ratio=9.9)).gaps
    assert not gap.ok and not math.isinf(gap.actual or 0)


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"required_slices": [{"criterion": "colour", "value": "red"}]}, "unknown criterion"),
        ({"min_boxes_per_class": {"drone": 3}}, r"unknown classes \['drone'\]"),
        ({"min_boxes_per_class": {"person": -1}}, "must be ≥ 0"),
        ({"max_class_ratio": 0.5}, "greater than or equal to 1"),
        ({"max_split_divergence": 2}, "less than or equal to 1"),
        ({"targets": {}}, "Extra inputs are not permitted"),
    ],
)
def test_bad_targets_are_refused(doc: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        CoverageParams.model_validate(doc)
