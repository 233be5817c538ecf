"""DetectAnalyse: detection and analysis in two threads, joined by a bounded queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from veilleur.runtime.config import parse_site_config
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.engine import Engine
from veilleur.runtime.ingest.video import Frame
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.pipeline import DetectAnalyse

ZONE = {"id": "z", "kind": "polygon", "points": [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]}


def site(*ids: str) -> Any:
    cams = [
        {
            "id": cid,
            "source": {"url": f"{cid}.mp4"},
            "view_monitor": {"enabled": False},
            "zones": [ZONE],
            "rules": [{"id": "intrus", "type": "franchissement", "zone": "z", "cooldown_s": 0.5}],
        }
        for cid in ids
    ]
    return parse_site_config({"version": 1, "site": {"name": "t"}, "cameras": cams})


class PersonDetector:
    """One person in the zone's half of every frame; counts calls and frames; may fail."""

    def __init__(self, fail_on: Sequence[int] = ()) -> None:
        self.calls = 0
        self.frames = 0
        self.fail_on = set(fail_on)

    def detect_batch(self, frames: list[Any]) -> list[Detections]:
        self.calls += 1
        if self.calls in self.fail_on:
            raise RuntimeError(f"detector failure on call {self.calls}")
        self.frames += len(frames)
        return [Detections.from_arrays([[150, 20, 170, 90]], [0.9], [0]) for _ in frames]


def frame(i: int) -> Frame:
    return Frame(index=i, t=i * 0.2, image=np.zeros((100, 200, 3), dtype=np.uint8))


def batches(n: int, cams: Sequence[str] = ("a", "b")) -> list[list[tuple[str, Frame]]]:
    return [[(c, frame(i)) for c in cams] for i in range(n)]


def run_all(engine: Engine, calls: list[list[tuple[str, Frame]]], **kw: Any) -> DetectAnalyse:
    pending = iter(calls)
    pipe = DetectAnalyse(engine, lambda: next(pending, None), **kw)
    pipe.start()
    assert pipe.join(timeout=30)
    return pipe


def alert_keys(alerts: Sequence[Any]) -> list[tuple[str, int]]:
    return [(a.camera_id, a.frame_index) for a in alerts]


def test_same_alerts_as_process_batch_in_the_same_order(tmp_path: Path) -> None:
    serial = Engine(site("a", "b"), PersonDetector(), "0" * 64, clock=None)
    expected = [a for call in batches(12) for a in serial.process_batch(call)]
    assert expected  # the person in the zone alerts (cooldown 0.5 s: several times)

    journal = Journal(tmp_path / "j.db")
    detector = PersonDetector()
    engine = Engine(site("a", "b"), detector, "0" * 64, journal=journal, clock=None)
    seen: list[Any] = []
    handed: list[float] = []

    def analysed(t: float, items: Sequence[Any], alerts: list[Any]) -> None:
        handed.append(t)
        seen.extend(alerts)

    pipe = run_all(engine, batches(12), on_analysed=analysed)
    assert not pipe.running
    assert (pipe.detected, pipe.batches, pipe.failed) == (12, 12, 0)
    assert detector.calls == 12 and detector.frames == 24  # both cameras in one call
    assert alert_keys(seen) == alert_keys(expected)
    assert handed == sorted(handed)  # batches analysed in the order they were taken
    assert journal.count("alert") == len(expected)
    assert engine.cameras["a"].frames == engine.cameras["b"].frames == 12


def test_a_failing_detector_call_does_not_stop_later_batches() -> None:
    detector = PersonDetector(fail_on=[3])
    engine = Engine(site("a"), detector, "0" * 64, clock=None)
    pipe = run_all(engine, batches(8, ["a"]))
    assert pipe.failed == 1
    assert detector.calls == 8
    assert pipe.batches == 7
    assert engine.cameras["a"].frames == 7  # every frame but the failed batch's


def test_a_failing_analysis_does_not_stop_later_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine(site("a"), PersonDetector(), "0" * 64, clock=None)
    real = engine.process_detections
    calls = {"n": 0}

    def flaky(items: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ValueError("analysis failure")
        return real(items)

    monkeypatch.setattr(engine, "process_detections", flaky)
    pipe = run_all(engine, batches(6, ["a"]))
    assert (pipe.detected, pipe.batches, pipe.failed) == (6, 5, 1)
    assert engine.cameras["a"].frames == 5


def test_stop_joins_both_threads_of_a_source_that_never_ends() -> None:
    detector = PersonDetector()
    engine = Engine(site("a"), detector, "0" * 64, clock=None)
    taken = {"n": 0}

    def take() -> list[tuple[str, Frame]]:
        taken["n"] += 1
        return [("a", frame(taken["n"]))] if taken["n"] <= 3 else []  # then nothing, forever

    pipe = DetectAnalyse(engine, take, idle_s=0.001)
    pipe.start()
    threads = list(pipe._threads)
    assert [t.name for t in threads] == ["detection", "analysis"]
    deadline = time.monotonic() + 10
    while pipe.batches < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pipe.running and pipe.batches == 3
    pipe.stop(timeout=10)
    assert not pipe.running
    assert not any(t.is_alive() for t in threads)


def test_stop_ends_an_analysis_that_waits_on_a_full_queue() -> None:
    """The detection thread blocked on the full queue and the analysis thread blocked in a
    batch: stop still ends both, once the batch in progress returns."""
    engine = Engine(site("a"), PersonDetector(), "0" * 64, clock=None)
    release = threading.Event()
    real = engine.process_detections
    entered = threading.Event()

    def slow(items: Any) -> Any:
        entered.set()
        release.wait(10)
        return real(items)

    engine.process_detections = slow  # type: ignore[method-assign]
    taken = {"n": 0}

    def take() -> list[tuple[str, Frame]]:
        taken["n"] += 1
        return [("a", frame(taken["n"]))]

    pipe = DetectAnalyse(engine, take, queue_size=1)
    pipe.start()
    assert entered.wait(10)
    deadline = time.monotonic() + 10
    while taken["n"] < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    # one batch in analysis, one in the queue, one detected and waiting to be queued:
    # the detector never runs further ahead of the analysis than that
    assert taken["n"] == 3
    release.set()
    pipe.stop(timeout=10)
    assert not pipe.running


def test_no_detector_call_while_analysis_is_stopped(tmp_path: Path) -> None:
    detector = PersonDetector()
    engine = Engine(site("a", "b"), detector, "0" * 64, journal=Journal(tmp_path / "j.db"))
    engine.stop_analysis("op", "test")
    pipe = run_all(engine, batches(5))
    assert detector.calls == 0
    assert (pipe.detected, pipe.batches, pipe.failed) == (0, 0, 0)
    assert engine.cameras["a"].frames == 0

    engine.resume_analysis("op")
    engine.set_camera_enabled("b", False, "op")
    pipe = run_all(engine, batches(5))
    assert detector.calls == 5 and detector.frames == 5  # camera b is not detected
    assert engine.cameras["a"].frames == 5 and engine.cameras["b"].frames == 0


def test_frames_detected_before_a_stop_are_not_analysed_after_it() -> None:
    """A batch detected just before the global stop must not raise alerts after it."""
    engine = Engine(site("a"), PersonDetector(), "0" * 64, clock=None)
    items = engine.detect([("a", frame(0))])
    assert len(items) == 1
    engine.stop_analysis("op")
    assert engine.process_detections(items) == []
    assert engine.cameras["a"].frames == 0


def test_queue_size_is_bounded() -> None:
    engine = Engine(site("a"), PersonDetector(), "0" * 64, clock=None)
    with pytest.raises(ValueError, match="queue_size"):
        DetectAnalyse(engine, lambda: None, queue_size=5)


def test_switch_interval_is_set_only_when_asked():
    import sys

    before = sys.getswitchinterval()
    engine = Engine(site("a"), PersonDetector(), "0" * 64)
    try:
        run_all(engine, batches(2, ("a",)))
        assert sys.getswitchinterval() == before  # left alone by default
        run_all(engine, batches(2, ("a",)), switch_interval_s=0.0005)
        assert sys.getswitchinterval() == pytest.approx(0.0005)
    finally:
        sys.setswitchinterval(before)
