"""Engine control: global stop, camera and rule switches, live config changes, all journaled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from veilleur.runtime.config import parse_site_config
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.engine import Engine
from veilleur.runtime.ingest.video import Frame
from veilleur.runtime.journal.repository import Journal

ZONE = {"id": "z", "kind": "polygon", "points": [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]}


def cam(cid: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "source": {"url": f"{cid}.mp4"},
        "view_monitor": {"enabled": False},
        "zones": [ZONE],
        "rules": [{"id": "intrus", "type": "franchissement", "zone": "z", "cooldown_s": 0.5}],
        **extra,
    }


def site(*cams: dict[str, Any]) -> Any:
    return parse_site_config({"version": 1, "site": {"name": "t"}, "cameras": list(cams)})


class CountingDetector:
    """Returns one person in the zone's half of the frame; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def detect_batch(self, frames: list[Any]) -> list[Detections]:
        self.calls += 1
        return [Detections.from_arrays([[150, 20, 170, 90]], [0.9], [0]) for _ in frames]


def frame(i: int) -> Frame:
    return Frame(index=i, t=i * 0.2, image=np.zeros((100, 200, 3), dtype=np.uint8))


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "j.db")


def control_actions(journal: Journal) -> list[tuple[str, str]]:
    return [(e["action"], e["actor"]) for e in reversed(journal.list(kind="control"))]


@pytest.mark.req("EX-046")
def test_global_stop_halts_every_camera_and_is_journaled(journal: Journal) -> None:
    det = CountingDetector()
    eng = Engine(site(cam("a"), cam("b")), det, "sha", journal=journal)
    before = [a for i in range(3) for a in eng.process_batch([("a", frame(i)), ("b", frame(i))])]
    assert sorted(a.camera_id for a in before) == ["a", "b"]
    eng.stop_analysis("admin1", reason="demande préfecture")
    calls = det.calls
    assert eng.process_batch([("a", frame(3)), ("b", frame(3))]) == []
    assert det.calls == calls  # nothing was even detected
    assert eng.state()["analysis_stopped"] is True
    eng.resume_analysis("admin1")
    eng.process_batch([("a", frame(4))])
    assert det.calls == calls + 1 and eng.state()["analysis_stopped"] is False
    assert journal.count("alert") == 2  # the same person, still inside: no second alert
    assert control_actions(journal) == [
        ("analysis_stopped", "admin1"),
        ("analysis_resumed", "admin1"),
    ]
    stop = journal.list(kind="control")[-1]
    assert stop["reason"] == "demande préfecture" and stop["config_version"] == eng.config_version
    assert journal.verify().ok


@pytest.mark.req("EX-021")
def test_rule_and_camera_switches_at_run_time(journal: Journal) -> None:
    eng = Engine(site(cam("a"), cam("b")), CountingDetector(), "sha", journal=journal)
    eng.set_rule_enabled("a", "intrus", False, "op")
    eng.set_camera_enabled("b", False, "op")
    assert [eng.process_batch([("a", frame(i)), ("b", frame(i))]) for i in range(3)] == [[]] * 3
    eng.set_rule_enabled("a", "intrus", True, "op")
    alerts = [a for i in range(3, 6) for a in eng.process_batch([("a", frame(i)), ("b", frame(i))])]
    assert {a.camera_id for a in alerts} == {"a"}
    with pytest.raises(KeyError, match="no rule 'ghost' on camera 'a'"):
        eng.set_rule_enabled("a", "ghost", True, "op")
    with pytest.raises(KeyError, match="no camera 'zz'"):
        eng.set_camera_enabled("zz", True, "op")
    assert control_actions(journal) == [
        ("rule_disabled", "op"), ("camera_disabled", "op"), ("rule_enabled", "op"),
    ]  # fmt: skip
    assert eng.state()["cameras"]["b"]["enabled"] is False


def test_apply_config_keeps_untouched_cameras_running(journal: Journal) -> None:
    eng = Engine(site(cam("a"), cam("b")), CountingDetector(), "sha", journal=journal)
    eng.process_batch([("a", frame(0)), ("b", frame(0))])
    tracker_a, tracker_b = eng.cameras["a"].tracker, eng.cameras["b"].tracker
    old_version = eng.config_version
    changed_b = cam("b")
    changed_b["rules"][0]["min_duration_s"] = 5.0
    change = eng.apply_config(site(cam("a"), changed_b, cam("c")), "adv")
    assert (change.added, change.removed, change.changed) == (["c"], [], ["b"])
    assert change.sources_changed == []
    assert eng.cameras["a"].tracker is tracker_a  # untouched: state kept
    assert eng.cameras["b"].tracker is not tracker_b
    entry = journal.list(kind="control")[0]
    assert entry["action"] == "config_applied"
    assert entry["previous_config_version"] == old_version != entry["new_config_version"]
    alerts = [
        a
        for i in range(1, 8)
        for a in eng.process_batch([("a", frame(i)), ("b", frame(i)), ("c", frame(i))])
    ]
    assert {a.camera_id for a in alerts} == {"a", "c"}  # b now waits 5 s in the zone
    assert {a.config_version for a in alerts} == {eng.config_version}


@pytest.mark.req("EX-008")
def test_uncalibrated_metric_rules_are_reported_degraded() -> None:
    c = cam("a")
    c["rules"].append({"id": "dense", "type": "densite", "zone": "z", "max_density_m2": 2.0})
    calibrated = cam("b")
    calibrated["rules"] = list(c["rules"])
    calibrated["calibration"] = {
        "image_points": [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]],
        "ground_points_m": [[0, 10], [10, 10], [10, 0], [0, 0]],
    }
    eng = Engine(site(c, calibrated), CountingDetector(), "sha")
    eng.process_batch([("a", frame(0)), ("b", frame(0))])
    state = eng.state()["cameras"]
    assert list(state["a"]["degraded_rules"]) == ["dense"]
    assert "non calibrée" in state["a"]["degraded_rules"]["dense"]
    assert state["b"]["degraded_rules"] == {}


class SecondPersonDetector:
    """One person in the zone, then from the 21st call a second one elsewhere in the zone."""

    def __init__(self) -> None:
        self.calls = 0

    def detect_batch(self, frames: list[Any]) -> list[Detections]:
        self.calls += 1
        boxes = [[500, 100, 540, 220]] + ([[620, 300, 660, 420]] if self.calls > 20 else [])
        return [Detections.from_arrays(boxes, [0.9] * len(boxes), [0] * len(boxes)) for _ in frames]


@pytest.mark.req("EX-010")
def test_view_change_suspends_zone_rules_and_is_reported(journal: Journal) -> None:
    rng = np.random.default_rng(0)
    scene = (rng.random((72, 88)) * 255).astype(np.uint8)
    scene = np.kron(scene, np.ones((8, 8), dtype=np.uint8))  # 576×704 blocky texture
    view = np.dstack([scene] * 3)
    panned = np.roll(view, 140, axis=1)
    c = cam("a")
    c["view_monitor"] = {"enabled": True, "confirm_s": 1.0}
    eng = Engine(site(c), SecondPersonDetector(), "sha", journal=journal)

    def run(frames: range, img: np.ndarray) -> list[bool]:
        out = []
        for i in frames:
            eng.process_batch([("a", Frame(index=i, t=i * 0.2, image=img))])
            out.append(eng.state()["cameras"]["a"]["view_ok"])
        return out

    assert all(run(range(10), view))  # 2 s: the first person alerts
    assert journal.count("alert") == 1
    panned_states = run(range(10, 30), panned)  # 4 s panned; a second person from frame 20
    assert not any(panned_states[7:])  # changed once confirm_s (1 s) has passed
    reason = eng.state()["cameras"]["a"]["view_reason"]
    assert reason and reason.startswith("Vue")
    assert journal.count("alert") == 1  # the zone rule was suspended: no alert for the second
    assert all(run(range(30, 45), view)[6:])  # the view returns: rules resume
    assert journal.count("alert") == 2  # ... and the second person, still there, now alerts
