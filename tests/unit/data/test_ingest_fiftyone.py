"""Ingest of FiftyOne exports, read as JSON without importing FiftyOne (no MongoDB)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from ingest_fixture import TAXONOMY, write_image, write_source, write_video

from veilleur.data.ingest import (
    IngestedDataset,
    IngestError,
    ingest,
    load_source_config,
    load_taxonomy,
)


def _load(src: Path, label_field: str | None = None) -> IngestedDataset:
    return ingest(
        src,
        "fiftyone",
        load_source_config(src / "source.yaml"),
        load_taxonomy(TAXONOMY),
        label_field=label_field,
    )


@pytest.mark.req("EX-047", "EX-048", "EX-084")
def test_fiftyone_image_detection_dataset(tmp_path: Path) -> None:
    src = tmp_path / "fo"
    write_image(src / "data" / "u1.jpg", 400, 200)
    write_image(src / "data" / "u2.jpg", 400, 200)
    labels = {
        "classes": ["person", "backpack"],
        "labels": {
            "u1": [
                {"label": 0, "bounding_box": [0.1, 0.1, 0.1, 0.5], "attributes": {"pose": "up"}},
                {"label": "backpack", "bounding_box": [0.5, 0.5, 0.1, 0.1]},
            ],
            "u2": [],
        },
    }
    (src / "labels.json").write_text(json.dumps(labels), encoding="utf-8")
    write_source(src, "fo-det", split_unit="image")
    ds = _load(src)
    u1 = next(s for s in ds.samples if s.path.stem == "u1")
    person, bag = u1.boxes
    assert (person.label, person.x1, person.y1, person.x2, person.y2) == (
        "person", 40.0, 20.0, 80.0, 120.0,
    )  # fmt: skip
    assert person.attributes == {"pose": "up"} and bag.label == "bag"
    assert ds.report.samples == 2
    assert "fiftyone" not in sys.modules


@pytest.mark.req("EX-047", "EX-048", "EX-084")
def test_fiftyone_dataset_images_and_video(tmp_path: Path) -> None:
    src = tmp_path / "fo"
    write_image(src / "data" / "a.jpg", 400, 200)
    write_video(src / "data" / "v.mp4", frames=5, fps=5)
    det = {"_cls": "Detection", "label": "car", "bounding_box": [0.5, 0.5, 0.25, 0.25]}
    samples = {
        "samples": [
            {
                "_id": {"$oid": "s1"},
                "filepath": "data/a.jpg",
                "tags": ["train"],
                "_media_type": "image",
                "metadata": {"width": 400, "height": 200},
                "ground_truth": {"_cls": "Detections", "detections": [det]},
                "predictions": {"_cls": "Detections", "detections": [det, det]},
            },
            {"_id": {"$oid": "s2"}, "filepath": "data/v.mp4", "_media_type": "video"},
        ]
    }
    frames = {
        "frames": [
            {
                "_sample_id": {"$oid": "s2"},
                "frame_number": 2,
                "ground_truth": {
                    "_cls": "Detections",
                    "detections": [{**det, "label": "person", "index": 4}],
                },
            }
        ]
    }
    (src / "samples.json").write_text(json.dumps(samples), encoding="utf-8")
    (src / "frames.json").write_text(json.dumps(frames), encoding="utf-8")
    (src / "metadata.json").write_text("{}", encoding="utf-8")
    write_source(src, "fo-ds")
    ds = _load(src)
    image = next(s for s in ds.samples if s.kind == "image")
    assert [b.label for b in image.boxes] == ["vehicle"]  # ground_truth, not predictions
    assert image.metadata.extra["tags"] == "train"
    video = sorted((s for s in ds.samples if s.kind == "video"), key=lambda s: s.frame_index or 0)
    assert len(video) == 5 and {s.clip for s in video} == {"fo-ds-v"}
    assert [(b.label, b.track_id) for b in video[1].boxes] == [("person", 4)]
    assert all(not s.boxes for i, s in enumerate(video) if i != 1)
    assert [b.label for b in _load(src, "predictions").samples[0].boxes] == ["vehicle"] * 2
    assert "fiftyone" not in sys.modules


def test_fiftyone_errors(tmp_path: Path) -> None:
    src = tmp_path / "fo"
    write_image(src / "data" / "u1.jpg", 400, 200)
    labels = {
        "classes": ["person"],
        "labels": {
            "u1": [{"label": 3, "bounding_box": [0.1, 0.1, 0.1, 0.5]}, {"label": "person"}],
            "ghost": [],
        },
    }
    (src / "labels.json").write_text(json.dumps(labels), encoding="utf-8")
    write_source(src)
    with pytest.raises(IngestError) as err:
        _load(src)
    text = str(err.value)
    assert "labels['u1'][0]: label index 3 unknown" in text
    assert "labels['u1'][1]: needs 'label' and 'bounding_box'" in text
    assert "labels['ghost']: no image data/ghost.* found" in text
