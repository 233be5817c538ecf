"""Evidence images: alert snapshots and live overlays, drawn where the boxes and zones are."""

from __future__ import annotations

import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest

from veilleur.runtime.core.detections import Detections
from veilleur.runtime.evidence.render import (
    ALERT_COLOUR,
    ZoneShape,
    ascii_fr,
    draw_alert,
    draw_detections,
)
from veilleur.runtime.evidence.snapshots import SnapshotError, SnapshotStore


def alert() -> dict:
    return {
        "id": str(uuid.uuid4()),
        "utc": "2026-11-28T18:00:00.000+00:00",
        "camera_id": "cam-a",
        "label_fr": "Franchissement",
        "boxes": [[0.5, 0.5, 0.75, 0.9]],
        "track_ids": [7],
        "zone": "z",
    }


def test_alert_box_and_zone_are_drawn_where_they_are():
    img = np.zeros((200, 400, 3), dtype=np.uint8)
    zone = ZoneShape("z", "polygon", ((0.1, 0.1), (0.3, 0.1), (0.3, 0.3)))
    out = draw_alert(img, [[0.5, 0.5, 0.75, 0.9]], [7], "Franchissement", (zone,), "z")
    assert img.sum() == 0  # the original is untouched
    # the box's left edge (x = 200) is red; the inside of the box stays black
    assert tuple(out[150, 200]) == ALERT_COLOUR
    assert out[150, 250].sum() == 0
    assert tuple(out[40, 120]) == ALERT_COLOUR  # the highlighted zone's right edge (x=120)
    assert out[:20].any()  # the title band


def test_live_detections_show_class_and_track_id():
    img = np.zeros((100, 200, 3), dtype=np.uint8)
    d = Detections.from_arrays([[50, 40, 90, 95]], [0.9], [7])
    d = Detections(d.xyxy, d.confidence, d.class_id, np.array([12]))
    draw_detections(img, d)
    assert img[60, 50].any() and not img[60, 70].any()
    assert ascii_fr("personne au sol é « » ") == "personne au sol e   "


def test_snapshot_is_written_hashed_and_checked(tmp_path: Path):
    store = SnapshotStore(tmp_path / "clichés")
    a = alert()
    ref = store.save(a, np.full((120, 160, 3), 90, dtype=np.uint8))
    assert ref["path"] == f"2026-11-28/{a['id']}.jpg"
    data = store.open(ref["path"], ref["sha256"])
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (120, 160, 3)
    (tmp_path / "clichés" / ref["path"]).write_bytes(data[:-10])
    with pytest.raises(SnapshotError, match="modifié"):
        store.open(ref["path"], ref["sha256"])
    with pytest.raises(SnapshotError, match="refusé"):
        store.open("../../etc/passwd")
    with pytest.raises(FileNotFoundError, match="purgé"):
        store.open("2020-01-01/x.jpg")
    with pytest.raises(SnapshotError):
        store.save({**a, "id": "../evil"}, np.zeros((10, 10, 3), np.uint8))
