"""THE slice definitions, shared by the data stage and evaluation."""

from __future__ import annotations

import pytest

from veilleur.data.ingest.build import PERSON_SIZE_PX as INGEST_PERSON_SIZE_PX
from veilleur.data.slices import (
    CRITERIA,
    PERSON_SIZE_PX,
    SLICE_KEY_LABELS_FR,
    camera_height_bucket_of,
    person_size_bucket_of,
    scene_of,
    slice_values,
)
from veilleur.evaluation.event_gt import ClipInfo
from veilleur.evaluation.slices import DEFAULT_SLICERS, camera_height_bucket, metadata_slicer


@pytest.mark.parametrize(
    ("height", "bucket"),
    [(None, None), ("high", None), (True, None), (3.99, "< 4 m"), (4.0, "4–8 m"),
     (7.9, "4–8 m"), (8.0, "≥ 8 m"), ("12", "≥ 8 m")],
)  # fmt: skip
def test_camera_height_buckets(height: object, bucket: str | None) -> None:
    assert camera_height_bucket_of(height) == bucket


@pytest.mark.parametrize(
    ("heights", "bucket"),
    [([], None), ([49.9], "small"), ([30.0, 60.0, 200.0], "medium"), ([150.0], "large")],
)
def test_person_size_is_the_median_person_height(heights: list[float], bucket: str | None) -> None:
    assert person_size_bucket_of(heights) == bucket


def test_person_size_thresholds_are_the_ingests() -> None:
    assert PERSON_SIZE_PX == INGEST_PERSON_SIZE_PX


def test_slice_values_of_a_sample() -> None:
    values = slice_values(
        {"lighting": "night", "weather": "rain", "camera_height_m": 9.0}, [20.0, 30.0]
    )
    assert values == {
        "lighting": "night",
        "weather": "rain",
        "camera_height": "≥ 8 m",
        "density": None,
        "person_size": "small",
    }
    # An ingested image's declared person size wins over the measure.
    assert slice_values({"person_size": "large"}, [10.0])["person_size"] == "large"


def test_every_criterion_has_french_labels() -> None:
    for c in CRITERIA:
        assert SLICE_KEY_LABELS_FR[c.key] == c.label_fr
        assert c.values_fr, c.key
    lighting = CRITERIA[0]
    assert lighting.label_of("night") == "nuit"
    assert lighting.order(["zzz", "night", "day"]) == ["day", "night", "zzz"]


@pytest.mark.req("EX-087")
def test_evaluation_slices_with_the_same_definitions() -> None:
    clip = ClipInfo("c1", 10.0, metadata={"camera_height_m": 5.2, "negative": True})
    assert camera_height_bucket(clip) == camera_height_bucket_of(5.2) == "4–8 m"
    assert DEFAULT_SLICERS["camera_height"] is camera_height_bucket
    assert metadata_slicer("negative")(clip) == "true"
    assert metadata_slicer("lighting")(clip) is None


def test_scene_of_a_clip_record() -> None:
    record = {"provenance": {"source": "parvis", "site": "Parvis nord", "camera": "cam-01"}}
    assert scene_of(record) == "parvis:Parvis nord/cam-01"
    assert scene_of({"metadata": {"camera_id": "site/cam-02"}}) == ":-/site/cam-02"
    assert scene_of({"metadata": {"lighting": "day"}}) is None
