"""Metrics exposition without a live runtime, a broken journal, and content negotiation."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine
from tests_helpers import sample_alert

from veilleur.runtime import ENGINE_VERSION
from veilleur.runtime.core.events import EventType
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.ops.metrics import render_metrics


def samples(body: bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for fam in text_string_to_metric_families(body.decode())
        for s in fam.samples
    }


@pytest.mark.req("EX-023", "EX-025")
def test_journal_counts_per_camera_and_event(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.db")
    for i in range(3):
        j.append("alert", sample_alert(i, camera="cam-a"))
    j.append("alert", sample_alert(3, camera="cam-b", event=EventType.FEU))
    body, ctype = render_metrics(j, None, clock=False, process=False)
    assert ctype == "text/plain; version=0.0.4; charset=utf-8"
    s = samples(body)
    key = frozenset({"camera": "cam-a", "event": "franchissement"}.items())
    assert s[("veilleur_alerts_journaled", key)] == 3
    assert (
        s[("veilleur_alerts_journaled", frozenset({"camera": "cam-b", "event": "feu"}.items()))]
        == 1
    )
    assert s[("veilleur_journal_entries", frozenset({"kind": "alert"}.items()))] == 4
    assert s[("veilleur_journal_up", frozenset())] == 1
    build = frozenset(
        {"engine_version": ENGINE_VERSION, "config_version": "", "model_sha256": ""}.items()
    )
    assert s[("veilleur_build_info", build)] == 1
    assert not any(name.startswith("veilleur_stream") for name, _ in s)  # no runtime
    text = body.decode()
    assert "# HELP veilleur_alerts_journaled Alertes présentes au journal" in text


@pytest.mark.req("EX-025")
def test_unreachable_journal_answers_with_journal_down(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.db")
    j.engine = create_engine(f"sqlite:///{tmp_path}/missing/dir/j.db")
    s = samples(render_metrics(j, None, clock=False, process=False)[0])
    assert s[("veilleur_journal_up", frozenset())] == 0


def test_openmetrics_on_request(tmp_path: Path) -> None:
    body, ctype = render_metrics(
        Journal(tmp_path / "j.db"), None, accept="application/openmetrics-text; version=1.0.0"
    )
    assert ctype.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")
