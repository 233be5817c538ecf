"""LiveRuntime on file cameras: reader threads → detection thread → analysis thread → journal.

Checks behaviour (alerts journaled, every frame analysed, failures survived, threads joined, no
detector call while the analysis is stopped), never how fast this machine is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests_helpers import write_clip

from veilleur.runtime.config import parse_site_config
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.engine import Engine, replay
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.pipeline import LiveRuntime


def site(*cams: str) -> Any:
    def cam(cid: str) -> dict[str, Any]:
        return {
            "id": cid, "source": {"url": f"{cid}.mp4"}, "analysis_fps": 10,
            "zones": [{"id": "z", "kind": "polygon", "points": [[0, 0], [1, 0], [1, 1]]}],
            "rules": [{"id": "r", "type": "franchissement", "zone": "z", "cooldown_s": 1.0}],
        }  # fmt: skip

    return parse_site_config(
        {"version": 1, "site": {"name": "t"}, "cameras": [cam(c) for c in cams]}
    )


class PersonDetector:
    """A person in the zone (top right) of every frame; counts calls; may fail or be slow."""

    def __init__(self, fail_on: tuple[int, ...] = (), sleep_s: float = 0.0) -> None:
        self.calls = 0
        self.frames = 0
        self.fail_on = set(fail_on)
        self.sleep_s = sleep_s

    def detect_batch(self, frames: list[Any]) -> list[Detections]:
        self.calls += 1
        time.sleep(self.sleep_s)
        if self.calls in self.fail_on:
            raise RuntimeError(f"detector failure on call {self.calls}")
        self.frames += len(frames)
        return [Detections.from_arrays([[110, 10, 130, 40]], [0.9], [0]) for _ in frames]


def wait_for(cond: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_alerts_arrive_and_every_frame_of_the_files_is_analysed(tmp_path: Path) -> None:
    for c in ("a", "b"):
        write_clip(tmp_path / f"{c}.mp4", seconds=4.0)
    journal = Journal(tmp_path / "j.db")
    detector = PersonDetector()
    engine = Engine(site("a", "b"), detector, "sha", journal=journal)
    live = LiveRuntime(engine, tmp_path / "site.yaml")
    live.start()
    try:
        assert wait_for(lambda: not live.running), "the file cameras never finished"
    finally:
        live.stop()
    for c in ("a", "b"):
        read = live.workers[c].frames_read
        assert read == 40  # 4 s at 10 fps
        assert engine.cameras[c].frames == read  # a file camera drops no frame
    assert detector.frames == 80
    assert live.batches == detector.calls and live.failed_batches == 0
    alerts = journal.list(kind="alert")
    assert {a["camera_id"] for a in alerts} == {"a", "b"}
    assert journal.verify().ok
    # the same alerts as a replay of each file through the engine, call after call
    offline = Engine(site("a", "b"), PersonDetector(), "sha")
    expected = [a for c in ("a", "b") for a in replay(offline, tmp_path / f"{c}.mp4", c)]
    key = lambda a: (a["camera_id"], a["frame_index"], a["rule_id"])  # noqa: E731
    assert sorted(map(key, alerts)) == sorted(key(a.to_dict()) for a in expected)


def test_a_failing_batch_does_not_stop_the_live_analysis(tmp_path: Path) -> None:
    write_clip(tmp_path / "a.mp4", seconds=3.0)
    detector = PersonDetector(fail_on=(2,))
    engine = Engine(site("a"), detector, "sha", journal=Journal(tmp_path / "j.db"))
    live = LiveRuntime(engine, tmp_path / "site.yaml")
    live.start()
    try:
        assert wait_for(lambda: not live.running)
        assert live.failed_batches == 1
    finally:
        live.stop()
    assert live.workers["a"].frames_read == 30
    assert engine.cameras["a"].frames == 29  # every frame but the failed batch's
    assert detector.calls == 30


def test_stop_joins_the_readers_the_detection_and_the_analysis_threads(tmp_path: Path) -> None:
    write_clip(tmp_path / "a.mp4", seconds=20.0)
    engine = Engine(site("a"), PersonDetector(sleep_s=0.02), "sha")
    live = LiveRuntime(engine, tmp_path / "site.yaml")
    live.start()
    assert live.pipeline is not None
    threads = [*live.pipeline._threads, *live._worker_threads.values()]
    assert {t.name for t in threads} == {"detection", "analysis", "cam-a"}
    assert wait_for(lambda: live.batches >= 3)
    assert live.running
    live.stop()
    assert not live.running and live.pipeline is None
    assert not any(t.is_alive() for t in threads)
    analysed = live.batches
    assert analysed >= 3  # kept after the threads ended
    assert engine.cameras["a"].frames == analysed


def test_no_detector_call_while_the_analysis_is_stopped(tmp_path: Path) -> None:
    write_clip(tmp_path / "a.mp4", seconds=20.0)
    journal = Journal(tmp_path / "j.db")
    detector = PersonDetector(sleep_s=0.01)
    engine = Engine(site("a"), detector, "sha", journal=journal)
    engine.stop_analysis("op", "maintenance")
    live = LiveRuntime(engine, tmp_path / "site.yaml")
    live.start()
    try:
        # the reader keeps its file open and frames are taken (and dropped), but not detected
        assert wait_for(lambda: live.workers["a"].frames_read >= 20)
        assert detector.calls == 0 and live.batches == 0
        assert engine.cameras["a"].frames == 0
        engine.resume_analysis("op")
        assert wait_for(lambda: detector.calls >= 3 and live.batches >= 3)
    finally:
        live.stop()
    assert journal.count("alert") >= 1
