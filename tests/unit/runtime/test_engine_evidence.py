"""The engine's evidence: each alert's snapshot written before it is journaled, the latest
frame kept for the live view, and run-time switches kept across configuration changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from veilleur.runtime.config import parse_site_config
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.engine import Engine
from veilleur.runtime.evidence.snapshots import SnapshotStore
from veilleur.runtime.ingest.video import Frame
from veilleur.runtime.journal.repository import Journal

ZONE = {"id": "z", "kind": "polygon", "points": [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]}


def site(**rule: Any) -> Any:
    cam = {
        "id": "cam-a",
        "source": {"url": "a.mp4"},
        "view_monitor": {"enabled": False},
        "zones": [ZONE],
        "rules": [
            {"id": "intrus", "type": "franchissement", "zone": "z", "cooldown_s": 60, **rule},
            {"id": "autre", "type": "franchissement", "zone": "z"},
        ],
    }
    return parse_site_config({"version": 1, "site": {"name": "t"}, "cameras": [cam]})


class OnePerson:
    def detect_batch(self, frames: list[Any]) -> list[Detections]:
        return [Detections.from_arrays([[150, 20, 170, 90]], [0.9], [0]) for _ in frames]


def frame(i: int) -> Frame:
    img = np.full((100, 200, 3), 60, dtype=np.uint8)
    return Frame(index=i, t=i * 0.2, image=img)


@pytest.mark.req("EX-017", "EX-104")
def test_alert_snapshot_is_written_first_and_referenced_with_its_hash(tmp_path: Path):
    journal = Journal(tmp_path / "j.db")
    store = SnapshotStore(tmp_path / "cliches")
    engine = Engine(site(), OnePerson(), "0" * 64, journal=journal, snapshots=store)
    alerts = []
    for i in range(10):
        alerts += engine.process_batch([("cam-a", frame(i))])
    assert len(alerts) == 2  # both rules, once each (cooldowns)
    entry = journal.list("alert")[0]
    ref = entry["snapshot"]
    data = store.open(ref["path"], ref["sha256"])
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (100, 200, 3)
    # the person's box (x 150–170) is drawn in red over the grey frame
    b, g, r = (int(v) for v in img[60, 150])
    assert r > 180 and g < 90 and b < 90
    assert engine.cameras["cam-a"].last_frame is not None
    assert engine.cameras["cam-a"].last_frame.index == 9


def test_a_failed_snapshot_never_loses_the_alert(tmp_path: Path):
    journal = Journal(tmp_path / "j.db")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    engine = Engine(site(), OnePerson(), "0" * 64, journal=journal,
                    snapshots=SnapshotStore(blocker))  # fmt: skip
    for i in range(6):
        engine.process_batch([("cam-a", frame(i))])
    entries = journal.list("alert")
    assert len(entries) == 2 and all("snapshot" not in e for e in entries)
    assert all(e["snapshot_error"] for e in entries)


@pytest.mark.req("EX-021")
def test_run_time_switches_survive_a_configuration_change(tmp_path: Path):
    engine = Engine(site(), OnePerson(), "0" * 64, journal=Journal(tmp_path / "j.db"))
    engine.process_batch([("cam-a", frame(0))])
    engine.set_rule_enabled("cam-a", "autre", False, "chef")
    engine.apply_config(site(min_duration_s=1.0), "chef")  # cam-a changed: analysis restarts
    alerts = []
    for i in range(1, 12):
        alerts += engine.process_batch([("cam-a", frame(i))])
    assert [a.rule_id for a in alerts] == ["intrus"]  # "autre" stays off
    engine.set_camera_enabled("cam-a", False, "chef")
    engine.apply_config(site(min_duration_s=2.0), "chef")
    assert engine.cameras["cam-a"].enabled is False


@pytest.mark.req("EX-065", "EX-104")
def test_each_alert_box_carries_the_class_it_was_detected_as(tmp_path: Path):
    class PersonAndBag:
        def detect_batch(self, frames: list[Any]) -> list[Detections]:
            return [
                Detections.from_arrays([[150, 20, 170, 90], [120, 60, 135, 80]], [0.9, 0.8], [0, 3])
                for _ in frames
            ]

    journal = Journal(tmp_path / "j.db")
    engine = Engine(site(), PersonAndBag(), "0" * 64, journal=journal)
    alerts = []
    for i in range(10):
        alerts += engine.process_batch([("cam-a", frame(i))])
    assert alerts and all(a.classes == ("person",) for a in alerts)  # the bag is outside z
    entry = journal.list("alert")[0]
    assert entry["classes"] == ["person"] and len(entry["boxes"]) == 1
