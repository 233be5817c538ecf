"""Retention policy and purge (EX-043, EX-044, EX-017): the chain stays verifiable."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests_helpers import sample_alert
from typer.testing import CliRunner

from veilleur.runtime.cli import app
from veilleur.runtime.config import ConfigError
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.journal.retention import RetentionPolicy, load_policy, purge
from veilleur.runtime.journal.reviews import acknowledge

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
AT = "WHERE seq = "
POLICY = RetentionPolicy(alert=30, review=365, control=365, snapshot=30)


def iso(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat(timespec="milliseconds")


def add_alert(j: Journal, days_ago: float, i: int = 0) -> dict[str, Any]:
    a = sample_alert(i)
    a["utc"] = iso(days_ago)
    return j.append("alert", a)


def add_control(j: Journal, days_ago: float) -> dict[str, Any]:
    return j.append(
        "control", {"id": f"c-{days_ago}", "utc": iso(days_ago), "action": "x", "actor": "a"}
    )


def sql(path: Path, statement: str, *args: object) -> None:
    with sqlite3.connect(path) as c:
        c.execute(statement, args)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "j.db"


@pytest.mark.req("EX-043")
def test_purge_deletes_expired_prefix_and_journals_it(db: Path) -> None:
    j = Journal(db)
    old = [add_alert(j, 60 - i, i) for i in range(5)]
    kept = [add_alert(j, 10 - i, i) for i in range(3)]
    report = purge(j, POLICY, NOW, "admin")

    assert report.counts == {
        "alert": 5,
        "review": 0,
        "control": 0,
        "audit": 0,
        "purge": 0,
        "snapshot": 0,
    }
    assert report.deleted == 5
    e = report.entry
    assert e is not None and e["kind"] == "purge" and e["actor"] == "admin"
    assert e["anchor"] == {"seq": old[-1]["seq"], "hash": old[-1]["hash"]}
    assert e["first_seq"] == old[0]["seq"]
    assert e["period"] == {"from": old[0]["utc"], "to": old[-1]["utc"]}
    assert e["cutoffs"]["alert"] == iso(30) and e["cutoffs"]["snapshot"] == iso(30)
    assert e["totals"]["alert"] == 5 and e["previous_purge"] is None
    assert e["utc"] == NOW.isoformat(timespec="milliseconds")
    assert [x["id"] for x in j.list("alert")] == [k["id"] for k in reversed(kept)]
    assert j.list("purge")[0]["seq"] == e["seq"] > kept[-1]["seq"]
    r = j.verify()
    assert r.ok and r.entries == 4

    # idempotent: same time, nothing more to delete, nothing written
    again = purge(j, POLICY, NOW, "admin")
    assert again.deleted == 0 and again.entry is None and j.count() == 4

    # the chain goes on after a purge
    add_alert(j, 0)
    assert j.verify().ok


@pytest.mark.req("EX-043")
def test_later_purge_supersedes_the_earlier_purge_entry(db: Path) -> None:
    j = Journal(db)
    for i in range(4):
        add_alert(j, 60, i)
    add_alert(j, 5)
    first = purge(j, POLICY, NOW, "admin").entry
    assert first is not None
    later = NOW + timedelta(days=40)
    second = purge(j, POLICY, later, "admin2")
    assert second.counts["alert"] == 1 and second.counts["purge"] == 1
    e = second.entry
    assert e is not None
    assert e["totals"]["alert"] == 5
    assert e["previous_purge"] == {"id": first["id"], "utc": first["utc"]}
    assert e["anchor"]["seq"] == first["seq"]
    assert j.count() == 1 and j.verify().ok


@pytest.mark.req("EX-043")
def test_a_kept_entry_stops_the_prefix(db: Path) -> None:
    j = Journal(db)
    add_alert(j, 90)
    rv_alert = add_alert(j, 80)
    acknowledge(j, rv_alert["id"], "op", now=NOW - timedelta(days=80))  # review: 365 days
    add_alert(j, 70)
    report = purge(j, POLICY, NOW, "admin")
    assert report.counts["alert"] == 2 and report.counts["review"] == 0
    assert j.count("alert") == 1 and j.count("review") == 1
    assert j.verify().ok
    # a kind the policy keeps (None) stops it too
    j2 = Journal(db.parent / "k.db")
    add_control(j2, 400)
    add_alert(j2, 90)
    assert purge(j2, RetentionPolicy(alert=30), NOW, "admin").deleted == 0
    assert purge(j2, POLICY, NOW, "admin").counts == {
        "alert": 1,
        "review": 0,
        "control": 1,
        "audit": 0,
        "purge": 0,
        "snapshot": 0,
    }
    assert j2.verify().ok


@pytest.mark.req("EX-043")
def test_purging_everything_leaves_a_verifiable_purge_entry(db: Path) -> None:
    j = Journal(db)
    last = [add_alert(j, 60, i) for i in range(3)][-1]
    e = purge(j, POLICY, NOW, "admin").entry
    assert e is not None
    assert j.count() == 1 and j.count("purge") == 1
    assert e["anchor"]["hash"] == last["hash"]
    assert j.verify().ok
    add_alert(j, 0)
    assert j.verify().ok and j.verify().entries == 2


@pytest.mark.req("EX-043")
@pytest.mark.parametrize(
    ("statement", "broken", "reason"),
    [
        (
            f"UPDATE journal_entries SET payload = replace(payload, '0.9', '0.1') {AT}7",
            7,
            "content",
        ),
        (
            f"UPDATE journal_entries SET payload = replace(payload, 'admin', 'x') {AT}9",
            9,
            "content",
        ),
        ("DELETE FROM journal_entries WHERE seq = 7", 8, "link"),
        ("DELETE FROM journal_entries WHERE seq = 5", 6, "anchor"),  # more of the head
        ("DELETE FROM journal_entries WHERE seq = 9", 5, "anchor"),  # the purge entry
    ],
)
def test_tampering_after_a_purge_is_detected(
    db: Path, statement: str, broken: int, reason: str
) -> None:
    j = Journal(db)
    for i in range(4):
        add_alert(j, 60, i)  # seq 1-4: purged
    for i in range(4):
        add_alert(j, 5, i)  # seq 5-8: kept
    e = purge(j, POLICY, NOW, "admin").entry
    assert e is not None and e["seq"] == 9 and j.verify().ok
    sql(db, statement)
    r = j.verify()
    assert not r.ok and r.first_broken_seq == broken
    assert reason in (r.reason or "")


@pytest.mark.req("EX-017")
def test_snapshots_older_than_their_period_are_deleted(db: Path, tmp_path: Path) -> None:
    snaps = tmp_path / "snapshots"
    (snaps / "cam").mkdir(parents=True)
    for name, days in (("old.jpg", 31), ("cam/old2.jpg", 45), ("new.jpg", 2)):
        p = snaps / name
        p.write_bytes(b"jpg")
        t = (NOW - timedelta(days=days)).timestamp()
        os.utime(p, (t, t))
    j = Journal(db)
    add_alert(j, 1)
    report = purge(j, POLICY, NOW, "admin", snapshot_dir=snaps)
    assert report.counts["snapshot"] == 2 and report.deleted == 2
    assert sorted(p.name for p in snaps.rglob("*.jpg")) == ["new.jpg"]
    e = report.entry
    assert e is not None and e["anchor"] is None and e["counts"]["snapshot"] == 2
    assert j.count("alert") == 1 and j.verify().ok
    assert purge(j, POLICY, NOW, "admin", snapshot_dir=snaps).entry is None


@pytest.mark.req("EX-043")
def test_policy_yaml(tmp_path: Path) -> None:
    p = tmp_path / "retention.yaml"
    p.write_text("alert: 30\nreview: 365\nsnapshot: 30\n", encoding="utf-8")
    assert load_policy(p) == RetentionPolicy(alert=30, review=365, snapshot=30)
    p.write_text("alert: 30\nalerts: 10\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"alerts: unknown field"):
        load_policy(p)
    p.write_text("alert: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"retention policy.*\n  - alert:"):
        load_policy(p)
    p.write_text("- alert\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_policy(p)
    with pytest.raises(ConfigError, match="cannot read"):
        load_policy(tmp_path / "absent.yaml")
    with pytest.raises(ValueError, match="timezone"):
        purge(Journal(tmp_path / "j.db"), RetentionPolicy(), datetime(2026, 1, 1), "a")


@pytest.mark.req("EX-043")
def test_cli_purge(db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    j = Journal(db)
    add_alert(j, 3650)  # expired whatever the date the test runs
    pol = tmp_path / "retention.yaml"
    pol.write_text("alert: 30\n", encoding="utf-8")
    args = ["journal", "purge", "--journal", str(db), "--policy", str(pol), "--actor", "admin"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["deleted"] == 1 and out["counts"]["alert"] == 1
    assert out["purge_entry"]["anchor"]["seq"] == 1
    r = runner.invoke(app, ["journal", "verify", str(db)])
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"] is True
    pol.write_text("alert: 30\nlogs: 10\n", encoding="utf-8")
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "logs: unknown field" in r.output
    pol.write_text("alert: 30\n", encoding="utf-8")
    r = runner.invoke(app, [*args[:3], str(tmp_path / "absent.db"), *args[4:]])
    assert r.exit_code == 2 and "introuvable" in r.output


@pytest.mark.req("EX-039")
def test_reviews_outlive_their_purged_alert(db: Path) -> None:
    from veilleur.runtime.journal.reviews import UnknownAlertError, comment, review_state

    j = Journal(db)
    gone = add_alert(j, 60)
    add_alert(j, 5)
    acknowledge(j, gone["id"], "op", now=NOW - timedelta(days=59))
    assert purge(j, POLICY, NOW, "admin").counts["alert"] == 1
    state = review_state(j, gone["id"])
    assert state.acknowledged_by == "op" and j.count("alert") == 1
    with pytest.raises(UnknownAlertError):  # no new review of an alert that is gone
        comment(j, gone["id"], "trop tard", "op")
    assert j.verify().ok


@pytest.mark.req("EX-043", "EX-044")
def test_audit_log_has_its_own_retention(tmp_path: Path):
    from veilleur.runtime.auth.audit import AuditLog

    log = AuditLog(tmp_path / "audit.db")
    for _ in range(3):
        log.record("login", actor="agent", ip="10.0.0.1")
    later = datetime.now(UTC) + timedelta(days=400)
    report = purge(log.journal, RetentionPolicy(audit=365), later, "admin")
    assert report.counts["audit"] == 3 and log.count() == 0
    assert log.journal.verify().ok  # the purge entry anchors the chain
    again = purge(log.journal, RetentionPolicy(audit=365, alert=1), later, "admin")
    assert again.deleted == 0
