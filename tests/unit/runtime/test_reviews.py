"""Operator reviews (EX-039): journaled entries that reference the alert, never modify it."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests_helpers import sample_alert
from typer.testing import CliRunner

from veilleur.runtime.cli import app
from veilleur.runtime.core.events import EventType
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.journal.reviews import (
    MAX_COMMENT_CHARS,
    ReviewError,
    UnknownAlertError,
    acknowledge,
    comment,
    list_reviewed_alerts,
    qualify,
    record_review,
    review_state,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def alert_at(i: int, day: int, camera: str = "cam") -> dict[str, object]:
    a = sample_alert(i, camera=camera)
    a["utc"] = f"2026-03-{day:02d}T10:00:00.000+00:00"
    return a


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "j.db")


@pytest.mark.req("EX-039")
def test_review_flow_is_journaled_and_leaves_the_alert_untouched(
    journal: Journal, tmp_path: Path
) -> None:
    alert = journal.append("alert", sample_alert(1))
    before = (
        sqlite3.connect(tmp_path / "j.db")
        .execute("SELECT payload, hash FROM journal_entries WHERE seq = ?", (alert["seq"],))
        .fetchone()
    )

    ack = acknowledge(journal, alert["id"], "opérateur 1", now=T0)
    qualify(journal, alert["id"], "faux_positif", "opérateur 1")
    qualify(journal, alert["id"], "vrai_positif", "chef de salle")
    comment(journal, alert["id"], "  Personne autorisée, badge vu.  ", "opérateur 1")

    assert ack["kind"] == "review" and ack["action"] == "acknowledge"
    assert ack["alert_id"] == alert["id"]
    assert ack["camera_id"] == "cam" and ack["event"] == str(EventType.FRANCHISSEMENT)
    assert ack["utc"] == "2026-03-01T08:00:00.000+00:00"
    assert ack["qualification"] is None and ack["comment"] is None
    assert journal.count("review") == 4 and journal.count("alert") == 1
    after = (
        sqlite3.connect(tmp_path / "j.db")
        .execute("SELECT payload, hash FROM journal_entries WHERE seq = ?", (alert["seq"],))
        .fetchone()
    )
    assert after == before
    assert journal.verify().ok

    state = review_state(journal, alert["id"])
    assert state.acknowledged and state.acknowledged_by == "opérateur 1"
    assert state.acknowledged_at == "2026-03-01T08:00:00.000+00:00"
    assert state.qualification == "vrai_positif" and state.qualified_by == "chef de salle"
    assert [c["comment"] for c in state.comments] == ["Personne autorisée, badge vu."]
    assert state.reviews == 4
    assert state.to_dict()["acknowledged"] is True


@pytest.mark.req("EX-039")
def test_state_of_an_unreviewed_alert(journal: Journal) -> None:
    alert = journal.append("alert", sample_alert(1))
    state = review_state(journal, alert["id"])
    assert not state.acknowledged and state.qualification is None and state.comments == []


@pytest.mark.req("EX-039")
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "qualify", "qualification": "peut_etre"}, "qualification inconnue"),
        ({"action": "qualify"}, "qualification inconnue"),
        ({"action": "comment", "comment": "x" * (MAX_COMMENT_CHARS + 1)}, "trop long"),
        ({"action": "comment", "comment": "   "}, "vide"),
        ({"action": "delete"}, "action inconnue"),
        ({"action": "acknowledge", "actor": " "}, "obligatoire"),
        ({"action": "acknowledge", "comment": "x"}, "commentaire"),
    ],
)
def test_invalid_reviews_are_refused(
    journal: Journal, kwargs: dict[str, str], message: str
) -> None:
    alert = journal.append("alert", sample_alert(1))
    args = {"actor": "op", **kwargs}
    action, actor = args.pop("action"), args.pop("actor")
    with pytest.raises(ReviewError, match=message):
        record_review(journal, alert["id"], action, actor, **args)  # type: ignore[arg-type]
    assert journal.count("review") == 0


@pytest.mark.req("EX-039")
def test_unknown_alert_and_double_acknowledgement(journal: Journal) -> None:
    alert = journal.append("alert", sample_alert(1))
    control = journal.append("control", {"id": "c-1", "utc": "2026-03-01T00:00:00+00:00"})
    for bad in ("nope", control["id"], "x" * 100, ""):
        with pytest.raises(UnknownAlertError, match="alerte inconnue"):
            acknowledge(journal, bad, "op")
    with pytest.raises(UnknownAlertError):
        review_state(journal, "nope")
    comment(journal, alert["id"], "x" * MAX_COMMENT_CHARS, "op")  # the bound itself is fine
    acknowledge(journal, alert["id"], "op")
    with pytest.raises(ReviewError, match="déjà acquittée par op"):
        acknowledge(journal, alert["id"], "autre")
    assert journal.count("review") == 2


@pytest.mark.req("EX-039")
def test_list_filters_by_qualification_acknowledgement_and_period(journal: Journal) -> None:
    ids = [journal.append("alert", alert_at(i, day=1 + i))["id"] for i in range(6)]
    # 0: ack + FP; 1: FP then TP (latest counts); 2: ack only; 3: TP; 4, 5: nothing
    acknowledge(journal, ids[0], "op")
    qualify(journal, ids[0], "faux_positif", "op")
    qualify(journal, ids[1], "faux_positif", "op")
    qualify(journal, ids[1], "vrai_positif", "op")
    acknowledge(journal, ids[2], "op")
    qualify(journal, ids[3], "vrai_positif", "op")
    comment(journal, ids[3], "ok", "op")

    def listed(**kw: object) -> list[str]:
        return [it["id"] for it in list_reviewed_alerts(journal, **kw).items]  # type: ignore[arg-type]

    assert listed() == ids[::-1]
    assert listed(qualification="faux_positif") == [ids[0]]
    assert listed(qualification="vrai_positif") == [ids[3], ids[1]]
    assert listed(qualification="non_qualifiee") == [ids[5], ids[4], ids[2]]
    assert listed(acknowledged=True) == [ids[2], ids[0]]
    assert listed(acknowledged=False) == [ids[5], ids[4], ids[3], ids[1]]
    assert listed(acknowledged=False, qualification="vrai_positif") == [ids[3], ids[1]]
    since, until = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)
    assert listed(since=since, until=until) == [ids[2], ids[1]]
    assert listed(since=since, qualification="vrai_positif") == [ids[3], ids[1]]
    assert listed(since=since, acknowledged=True) == [ids[2]]
    assert listed(camera_id="other") == []

    page = list_reviewed_alerts(journal, acknowledged=False, limit=2, offset=1)
    assert page.total == 4 and [it["id"] for it in page.items] == [ids[4], ids[3]]
    rv = page.items[1]["review"]
    assert rv["qualification"] == "vrai_positif" and rv["comments"][0]["comment"] == "ok"
    assert rv["acknowledged"] is False
    with pytest.raises(ReviewError, match="filtre de qualification"):
        list_reviewed_alerts(journal, qualification="vrai")


runner = CliRunner()


@pytest.mark.req("EX-039")
def test_cli_review(journal: Journal, tmp_path: Path) -> None:
    alert = journal.append("alert", sample_alert(1))
    db = str(tmp_path / "j.db")
    base = ["journal", "review", alert["id"], "--journal", db, "--actor", "op"]
    r = runner.invoke(app, [*base, "--ack", "--qualify", "faux_positif", "--comment", "reflet"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["acknowledged_by"] == "op" and out["qualification"] == "faux_positif"
    assert [e["action"] for e in reversed(journal.list("review"))] == [
        "acknowledge",
        "qualify",
        "comment",
    ]
    r = runner.invoke(app, [*base, "--qualify", "peut_etre"])
    assert r.exit_code == 2 and "qualification inconnue" in r.output
    r = runner.invoke(app, ["journal", "review", "nope", "--journal", db, "--actor", "op", "--ack"])
    assert r.exit_code == 2 and "alerte inconnue" in r.output
    r = runner.invoke(app, [*base])
    assert r.exit_code == 2 and "--ack" in r.output
    assert journal.count("review") == 3
