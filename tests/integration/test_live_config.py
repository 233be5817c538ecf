"""Live configuration changes: untouched cameras keep their stream, changed sources restart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests_helpers import write_clip

from veilleur.runtime.config import parse_site_config
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.engine import Engine
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.pipeline import LiveRuntime


class SlowDetector:
    """No boxes; sleeps a little so that the file readers stay busy for the test's duration."""

    def detect_batch(self, frames: list[Any]) -> list[Detections]:
        time.sleep(0.02)
        return [Detections.empty() for _ in frames]


def site(tmp: Path, b_clip: str, b_rule_s: float) -> Any:
    def cam(cid: str, clip: str, min_s: float) -> dict[str, Any]:
        return {
            "id": cid, "source": {"url": clip}, "analysis_fps": 10,
            "zones": [{"id": "z", "kind": "polygon", "points": [[0, 0], [1, 0], [1, 1]]}],
            "rules": [{"id": "r", "type": "franchissement", "zone": "z", "min_duration_s": min_s}],
        }  # fmt: skip

    doc = {
        "version": 1,
        "site": {"name": "t"},
        "cameras": [cam("a", "a.mp4", 0), cam("b", b_clip, b_rule_s)],
    }
    return parse_site_config(doc)


def test_config_change_keeps_untouched_streams_and_restarts_changed_sources(tmp_path: Path) -> None:
    for name in ("a.mp4", "b.mp4", "b2.mp4"):
        write_clip(tmp_path / name)
    journal = Journal(tmp_path / "j.db")
    engine = Engine(site(tmp_path, "b.mp4", 0), SlowDetector(), "sha", journal=journal)
    live = LiveRuntime(engine, tmp_path / "site.yaml")
    live.start()
    try:
        time.sleep(1.0)
        worker_a, worker_b = live.workers["a"], live.workers["b"]
        thread_a = live._worker_threads["a"]
        read_a = worker_a.frames_read
        assert read_a > 0 and worker_b.frames_read > 0
        assert live.batches > 0  # analysed, not just read
        # rules of b change: neither stream restarts
        live.apply_config(site(tmp_path, "b.mp4", 3.0), "adv")
        assert live.workers["a"] is worker_a and live.workers["b"] is worker_b
        assert live._worker_threads["a"] is thread_a and thread_a.is_alive()
        # b's source changes: only b restarts, on the new file
        live.apply_config(site(tmp_path, "b2.mp4", 3.0), "adv")
        assert live.workers["a"] is worker_a and live._worker_threads["a"] is thread_a
        assert live.workers["b"] is not worker_b and live.workers["b"].url.endswith("b2.mp4")
        time.sleep(1.0)
        assert worker_a.frames_read > read_a  # a never stopped
        assert live.workers["b"].frames_read > 0
        assert engine.cameras["b"].frames > 0 and engine.cameras["b"].rules is not None
    finally:
        live.stop()
    actions = [e["action"] for e in reversed(journal.list(kind="control"))]
    assert actions == ["config_applied", "config_applied"]
    assert journal.verify().ok
