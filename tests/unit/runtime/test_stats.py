"""Alert statistics (EX-015): counts per event, camera, local hour/day; TP/FP rates."""

from __future__ import annotations

from pathlib import Path

import pytest
from postgres_fixture import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests_helpers import sample_alert

from veilleur.runtime.core.events import EventType
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.journal.stats import alert_stats

F, FEU = EventType.FRANCHISSEMENT, EventType.FEU


@pytest.fixture(params=["sqlite", "postgresql"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Journal:
    if request.param == "postgresql":
        j = Journal(request.getfixturevalue("postgres_url"))
    else:
        j = Journal(tmp_path / "j.db")
    spec = [  # utc, camera, event, reviews (oldest first)
        ("2026-03-28T22:10:00.000+00:00", "cam-1", F, ["true_positive"]),  # 23h Paris (UTC+1)
        ("2026-03-28T22:50:00.000+00:00", "cam-2", F, ["false_positive"]),
        ("2026-03-29T01:30:00.000+00:00", "cam-1", FEU, ["false_positive", "true_positive"]),
        ("2026-03-29T09:00:00.000+00:00", "cam-1", F, []),  # 11h Paris (UTC+2 since 01:00 UTC)
        ("2026-03-29T09:45:00.000+00:00", "cam-2", FEU, ["vrai_positif"]),
        ("2026-03-30T12:00:00.000+00:00", "cam-1", F, ["false_positive"]),
    ]
    for i, (utc, cam, ev, reviews) in enumerate(spec):
        a = sample_alert(i, camera=cam, event=ev)
        a["utc"] = utc
        j.append("alert", a)
        for k, q in enumerate(reviews):
            j.append(
                "review", {"id": f"r{i}-{k}", "utc": utc, "alert_id": a["id"], "qualification": q}
            )
        if i == 0:  # an acknowledgement without a qualification does not count
            j.append("review", {"id": "ack", "utc": utc, "alert_id": a["id"]})
    return j


@pytest.mark.req("EX-015")
def test_counts_local_buckets_and_rates(journal: Journal):
    s = alert_stats(journal, tz="Europe/Paris")
    assert s.total == 6
    assert s.by_event == {"feu": 2, "franchissement": 4}
    assert s.by_camera == {"cam-1": 4, "cam-2": 2}
    assert s.by_camera_event == {
        "cam-1": {"feu": 1, "franchissement": 3},
        "cam-2": {"feu": 1, "franchissement": 1},
    }
    # DST starts 2026-03-29 at 01:00 UTC: 22:xx UTC on the 28th is 23h local, 01:30 UTC is 03h.
    assert s.by_hour == {
        "2026-03-28T23": 2,
        "2026-03-29T03": 1,
        "2026-03-29T11": 2,
        "2026-03-30T14": 1,
    }
    assert s.by_day == {"2026-03-28": 2, "2026-03-29": 3, "2026-03-30": 1}
    assert s.by_hour_of_day == {3: 1, 11: 2, 14: 1, 23: 2}
    assert (s.true_positives, s.false_positives, s.reviewed, s.unreviewed) == (3, 2, 5, 1)
    assert s.true_positive_rate == 0.6 and s.false_positive_rate == 0.4
    assert s.review_coverage == pytest.approx(5 / 6, abs=1e-6)
    assert s.by_event_quality == {
        "feu": {"true_positive": 2, "false_positive": 0},
        "franchissement": {"true_positive": 1, "false_positive": 2},
    }
    assert s.to_dict()["total"] == 6


@pytest.mark.req("EX-015")
def test_filters_and_utc_buckets(journal: Journal):
    s = alert_stats(
        journal, since="2026-03-29T00:00:00Z", until="2026-03-30", camera_id="cam-1", tz="UTC"
    )
    assert s.total == 2 and s.by_event == {"feu": 1, "franchissement": 1}
    assert s.by_hour == {"2026-03-29T01": 1, "2026-03-29T09": 1}
    assert (s.true_positives, s.false_positives, s.unreviewed) == (1, 0, 1)
    assert s.true_positive_rate == 1.0
    e = alert_stats(journal, event="arme")
    assert e.total == 0 and e.true_positive_rate is None and e.review_coverage is None
