"""Reading the per-clip events JSON of the synthetic bundle (contracts §3)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from veilleur.evaluation.event_gt import (
    load_clip_events,
    load_ground_truth,
    load_manifest_ground_truth,
    parse_clip_events,
)

DOC: dict[str, Any] = {
    "clip": "clip_0001",
    "fps": 12.5,
    "width": 704,
    "height": 576,
    "duration_s": 40.0,
    "seed": 11,
    "metadata": {
        "lighting": "night",
        "weather": "fog",
        "camera_height_m": 6.5,
        "camera_tilt_deg": 30.0,
        "focal_px": 800.0,
        "density": "high",
        "negative": False,
        "hard_negatives": ["shadow"],
        "scenario": "intrusion",
        "extra_detail": 3,
    },
    "events": [
        {
            "type": "franchissement",
            "start_s": 5.0,
            "end_s": 9.5,
            "zone": "zone-interdite",
            "track_ids": [3],
        },
        {"type": "feu", "start_s": 20.0, "end_s": 40.0, "zone": None, "track_ids": []},
    ],
}


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_parse_gives_typed_records() -> None:
    info, events = parse_clip_events(DOC)
    assert (info.clip, info.duration_s, info.fps, info.width, info.seed) == (
        "clip_0001",
        40.0,
        12.5,
        704,
        11,
    )
    assert info.metadata["lighting"] == "night"
    assert info.metadata["camera_height_m"] == 6.5
    assert info.metadata["extra_detail"] == 3  # unknown metadata is kept
    assert [(e.event, e.start_s, e.end_s, e.zone, e.track_ids) for e in events] == [
        ("franchissement", 5.0, 9.5, "zone-interdite", (3,)),
        ("feu", 20.0, 40.0, None, ()),
    ]
    assert all(e.clip == "clip_0001" for e in events)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("events", 0, "type"), "bagarre", "type"),  # not one of the eight events
        (("events", 0, "end_s"), 1.0, "end_s"),  # ends before it starts
        (("duration_s",), -1.0, "duration_s"),
        (("fps",), 0, "fps"),
    ],
)
def test_invalid_documents_are_rejected(path: tuple[Any, ...], value: Any, message: str) -> None:
    doc = copy.deepcopy(DOC)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValueError, match=message):
        parse_clip_events(doc, source="bad.json")


def test_load_files_and_manifest(tmp_path: Path) -> None:
    second = copy.deepcopy(DOC)
    second.update(clip="clip_0002", events=[], metadata={"lighting": "day", "negative": True})
    p1 = _write(tmp_path / "clip_0001.events.json", DOC)
    p2 = _write(tmp_path / "clip_0002.events.json", second)
    info, events = load_clip_events(p1)
    assert info.clip == "clip_0001" and len(events) == 2

    gt_set = load_ground_truth([p1, p2])
    assert sorted(gt_set.clips) == ["clip_0001", "clip_0002"]
    assert len(gt_set.events) == 2
    assert gt_set.duration_s == pytest.approx(80.0)
    assert gt_set.clips["clip_0002"].metadata["negative"] is True

    manifest = {
        "generator_version": "0.1.0",
        "seed": 1,
        "params": {},
        "clips": [
            {"id": "clip_0001", "events": "clip_0001.events.json", "metadata": {}},
            {"id": "clip_0002", "events": "clip_0002.events.json", "metadata": {}},
        ],
    }
    mpath = _write(tmp_path / "manifest.json", manifest)
    assert sorted(load_manifest_ground_truth(mpath).clips) == ["clip_0001", "clip_0002"]
    assert list(load_manifest_ground_truth(mpath, ["clip_0002"]).clips) == ["clip_0002"]
    with pytest.raises(ValueError, match="clip_0404"):
        load_manifest_ground_truth(mpath, ["clip_0404"])


def test_duplicate_clip_is_rejected(tmp_path: Path) -> None:
    p1 = _write(tmp_path / "a.json", DOC)
    p2 = _write(tmp_path / "b.json", DOC)
    with pytest.raises(ValueError, match="already loaded"):
        load_ground_truth([p1, p2])
