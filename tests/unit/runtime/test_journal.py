"""The journal on its embedded default, SQLite (fast, no server). The same tests run on SQLite
and PostgreSQL in tests/integration/test_journal_backends.py, with the migrations, concurrent
writers, and tests/integration/test_journal_crash.py for kill -9 mid-burst."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from tests_helpers import sample_alert

from veilleur.runtime.journal.repository import Journal


@pytest.mark.req("EX-014")
def test_append_list_and_verify(tmp_path: Path):
    j = Journal(tmp_path / "j.db")
    for i in range(5):
        j.append("alert", sample_alert(i))
    assert j.count("alert") == 5
    items = j.list("alert", limit=2)
    assert [it["frame_index"] for it in items] == [40, 30]
    assert items[0]["label_fr"] == "Franchissement"
    assert j.verify().ok and j.verify().entries == 5
    with sqlite3.connect(tmp_path / "j.db") as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.req("EX-014")
@pytest.mark.parametrize(
    ("sql", "seq", "reason"),
    [
        (
            "UPDATE journal_entries SET payload = replace(payload, '0.9', '0.1') WHERE seq = 3",
            3,
            "content",
        ),
        ("DELETE FROM journal_entries WHERE seq = 2", 3, "link"),
    ],
)
def test_tampering_is_detected(tmp_path: Path, sql: str, seq: int, reason: str):
    j = Journal(tmp_path / "j.db")
    for i in range(5):
        j.append("alert", sample_alert(i))
    with sqlite3.connect(tmp_path / "j.db") as c:
        c.execute(sql)
    r = j.verify()
    assert not r.ok
    assert r.first_broken_seq == seq
    assert reason in (r.reason or "")
