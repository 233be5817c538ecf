"""Prometheus metrics (EX-023, EX-025) of a real live runtime: YOLOX-Nano on a generated clip,
read through LiveRuntime into a real journal; the exposition is parsed back and checked
against the runtime's own state."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests_helpers import easy_clip

from veilleur.runtime import ENGINE_VERSION
from veilleur.runtime.cli import load_detector
from veilleur.runtime.config import load_site_config
from veilleur.runtime.engine import STAGES, Engine
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.ops.metrics import render_metrics
from veilleur.runtime.pipeline import LiveRuntime

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(journal: Journal, live: LiveRuntime | None, **kw: object) -> Samples:
    body, content_type = render_metrics(journal, live, **kw)  # type: ignore[arg-type]
    assert content_type.startswith("text/plain")
    out: Samples = {}
    for fam in text_string_to_metric_families(body.decode("utf-8")):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


@pytest.mark.slow
@pytest.mark.req("EX-023", "EX-025")
def test_metrics_of_a_live_runtime_on_a_synthetic_clip(tmp_path: Path, shared_dir: Path) -> None:
    rec = easy_clip(tmp_path, "intrusion")
    config_path = tmp_path / rec.site
    site = load_site_config(config_path)
    detector = load_detector(site, config_path, shared_dir / "models" / "yolox_nano.onnx")
    journal = Journal(tmp_path / "journal.db")
    engine = Engine(site, detector, detector.info.sha256, journal=journal)
    live = LiveRuntime(engine, config_path)
    cam = site.cameras[0].id

    before = scrape(journal, live)
    assert value(before, "veilleur_analysis_stopped") == 0
    assert value(before, "veilleur_frames_read_total", camera=cam) == 0
    assert value(before, "veilleur_journal_up") == 1

    live.start()
    deadline = time.monotonic() + 180
    seen_up = False
    while live.running and time.monotonic() < deadline:
        s = scrape(journal, live, process=False)
        seen_up = seen_up or value(s, "veilleur_stream_up", camera=cam) == 1
        time.sleep(0.2)
    assert not live.running, "the file source did not finish within 180 s"
    live.stop()
    assert seen_up, "the stream was never seen up while it was read"

    worker = live.workers[cam]
    s = scrape(journal, live, data_dirs=[tmp_path])
    assert value(s, "veilleur_frames_read_total", camera=cam) == worker.frames_read > 20
    # a file source drops no frame: every frame read was analysed
    assert value(s, "veilleur_frames_analysed_total", camera=cam) == engine.cameras[cam].frames
    assert engine.cameras[cam].frames == worker.frames_read
    assert value(s, "veilleur_stream_up", camera=cam) == 0  # finished
    assert value(s, "veilleur_stream_outages_total", camera=cam) == worker.status.outages == 0
    assert value(s, "veilleur_decode_errors_total", camera=cam) == 0
    assert value(s, "veilleur_last_frame_timestamp_seconds", camera=cam) == pytest.approx(
        worker.status.last_frame_utc
    )
    assert value(s, "veilleur_inference_batches_total") == live.batches > 0
    for stage in STAGES:
        assert value(s, "veilleur_stage_seconds_total", stage=stage) == pytest.approx(
            engine.timings[stage]
        )
    assert value(s, "veilleur_stage_seconds_total", stage="detect") > 0

    alerts = journal.list(kind="alert", limit=1000)
    assert alerts, "YOLOX finds the intruder of the easy clip"
    by_event: dict[str, int] = {}
    for a in alerts:
        by_event[a["event"]] = by_event.get(a["event"], 0) + 1
    for ev, n in by_event.items():
        assert value(s, "veilleur_alerts_journaled", camera=cam, event=ev) == n
    assert value(s, "veilleur_journal_entries", kind="alert") == len(alerts)

    info = {
        "engine_version": ENGINE_VERSION,
        "config_version": site.digest(),
        "model_sha256": detector.info.sha256,
    }
    assert value(s, "veilleur_build_info", **info) == 1
    assert value(s, "veilleur_disk_health", path=str(tmp_path)) in (0, 1, 2)
    assert value(s, "veilleur_disk_free_bytes", path=str(tmp_path)) > 0
    assert ("veilleur_clock_health", frozenset()) in s
    assert ("veilleur_process_resident_memory_bytes", frozenset()) in s

    # the global stop shows at once, and its control entry is counted
    engine.stop_analysis("admin", reason="essai")
    s = scrape(journal, live)
    assert value(s, "veilleur_analysis_stopped") == 1
    assert value(s, "veilleur_journal_entries", kind="control") == 1
