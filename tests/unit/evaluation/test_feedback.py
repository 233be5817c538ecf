"""Field feedback's pure logic (EX-065): the join of alerts and reviews, site precision with
Wilson intervals per period and model, trends, and the retention cut-off of hard negatives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from veilleur.data.ingest.source import SourceConfig
from veilleur.evaluation.feedback import (
    FeedbackError,
    FieldAlert,
    SnapshotCheck,
    coco_document,
    join_alerts,
    model_summaries,
    period_key,
    pixel_box,
    precision_table,
    select_hard_negatives,
    source_document,
    trends,
    wilson_interval,
)

PARIS = ZoneInfo("Europe/Paris")
M1, M2 = "1" * 64, "2" * 64


def alert(seq: int, utc: str, *, camera: str = "cam-1", event: str = "franchissement",
          model: str = M1, snapshot: bool = True, boxes: Any = None) -> dict[str, Any]:  # fmt: skip
    body: dict[str, Any] = {
        "kind": "alert",
        "seq": seq,
        "id": f"00000000-0000-0000-0000-{seq:012d}",
        "utc": utc,
        "camera_id": camera,
        "event": event,
        "rule_id": "r",
        "model_sha256": model,
        "config_version": "cfg1",
        "boxes": [[0.5, 0.25, 0.75, 0.75]] if boxes is None else boxes,
    }
    if snapshot:
        body["snapshot"] = {"path": f"{utc[:10]}/{body['id']}.jpg", "sha256": "f" * 64}
    return body


def review(
    seq: int,
    alert_seq: int,
    qualification: str | None,
    action: str = "qualify",
    comment: str | None = None,
    utc: str = "2026-06-10T12:00:00.000+00:00",
) -> dict[str, Any]:
    return {
        "kind": "review",
        "seq": seq,
        "id": f"r-{seq}",
        "utc": utc,
        "alert_id": f"00000000-0000-0000-0000-{alert_seq:012d}",
        "camera_id": "cam-1",
        "event": "franchissement",
        "action": action,
        "qualification": qualification,
        "comment": comment,
        "actor": "op",
    }


def field_alerts(statuses: list[str], utc: str, model: str = M1, camera: str = "cam-1",
                 start: int = 1) -> list[FieldAlert]:  # fmt: skip
    """Alerts joined with one qualification each (``tp``, ``fp`` or ``-`` for none)."""
    entries: list[dict[str, Any]] = []
    for i, s in enumerate(statuses, start=start):
        entries.append(alert(i, utc, model=model, camera=camera))
        if s != "-":
            q = "vrai_positif" if s == "tp" else "faux_positif"
            entries.append(review(1000 + i, i, q))
    return list(join_alerts("site-a", entries).alerts)


# --------------------------------------------------------------------------- statistics


@pytest.mark.req("EX-065")
def test_wilson_interval_numbers() -> None:
    assert wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson_interval(1, 3) == pytest.approx((0.0615, 0.7923), abs=1e-4)
    # never a zero-width interval at the bounds, and exactly 0 and 1 at the ends
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(10, 10)[1] == 1.0  # type: ignore[index]
    assert wilson_interval(0, 5) == pytest.approx((0.0, 0.4345), abs=1e-4)
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError, match="outside"):
        wilson_interval(4, 3)


@pytest.mark.req("EX-065")
def test_periods_are_local_and_iso_weeks_use_the_iso_year() -> None:
    t = "2026-12-31T23:30:00.000+00:00"  # already 1 January 2027 in Paris
    assert period_key(t, "day", PARIS) == "2027-01-01"
    assert period_key(t, "month", PARIS) == "2027-01"
    assert period_key(t, "week", PARIS) == "2026-W53"  # Friday of the 53rd week of 2026
    assert period_key(t, "day", ZoneInfo("UTC")) == "2026-12-31"
    assert period_key("2027-01-04T08:00:00Z", "week", PARIS) == "2027-W01"
    with pytest.raises(FeedbackError, match="horodatage illisible"):
        period_key("hier", "day", PARIS)


# --------------------------------------------------------------------------- join


@pytest.mark.req("EX-065", "EX-039")
def test_join_keeps_the_latest_qualification_and_never_guesses() -> None:
    entries = [
        alert(1, "2026-06-08T10:00:00Z"),
        alert(2, "2026-06-08T11:00:00Z"),
        alert(3, "2026-06-08T12:00:00Z"),
        review(4, 1, "faux_positif"),
        review(5, 1, "vrai_positif"),  # the latest qualification wins
        review(6, 2, None, action="acknowledge"),  # acknowledged only: unreviewed
        review(7, 3, "faux_positif"),
        review(8, 3, None, action="comment", comment="Reflet sur la vitre"),
        review(9, 99, "faux_positif"),  # its alert was purged
    ]
    joined = join_alerts("site-a", reversed(entries))  # order comes from seq
    status = {a.seq: a.status for a in joined.alerts}
    assert status == {1: "confirmed", 2: "unreviewed", 3: "rejected"}
    third = next(a for a in joined.alerts if a.seq == 3)
    assert third.comments == ("Reflet sur la vitre",)
    assert third.snapshot_path == "2026-06-08/00000000-0000-0000-0000-000000000003.jpg"
    assert third.boxes == ((0.5, 0.25, 0.75, 0.75),)
    assert [(o.alert_id[-2:], o.status) for o in joined.orphans] == [("99", "rejected")]


# --------------------------------------------------------------------------- precision


@pytest.mark.req("EX-065")
def test_precision_per_period_counts_unreviewed_apart_and_splits_models() -> None:
    week1 = "2026-06-09T10:00:00Z"  # 2026-W24
    alerts = (
        field_alerts(["tp", "tp", "tp", "fp", "-"], week1, M1)
        + field_alerts(["tp", "fp", "fp", "-", "-"], week1, M2, start=10)  # retrained mid-week
    )
    rows = precision_table(alerts, "week", PARIS)
    assert [(r.period, r.model_sha256) for r in rows] == [("2026-W24", M1), ("2026-W24", M2)]
    r1, r2 = rows
    assert (r1.alerts, r1.confirmed, r1.rejected, r1.unreviewed) == (5, 3, 1, 1)
    assert r1.precision == 0.75 and r1.review_coverage == 0.8
    assert r1.interval == pytest.approx((0.3006, 0.9544), abs=1e-4)
    assert (r2.alerts, r2.confirmed, r2.rejected, r2.unreviewed) == (5, 1, 2, 2)
    assert r2.precision == pytest.approx(1 / 3)
    assert r2.to_dict()["config_versions"] == ["cfg1"]
    # nothing reviewed: no precision, no interval, never a guess
    (none,) = precision_table(field_alerts(["-", "-"], week1), "week", PARIS)
    assert none.precision is None and none.interval is None and none.unreviewed == 2


@pytest.mark.req("EX-065")
def test_precision_per_camera_and_per_day() -> None:
    alerts = field_alerts(["tp", "fp"], "2026-06-09T10:00:00Z", camera="cam-1") + field_alerts(
        ["tp"], "2026-06-10T10:00:00Z", camera="cam-2", start=10
    )
    by_cam = precision_table(alerts, "day", PARIS, by_camera=True)
    assert [(r.camera, r.period, r.precision) for r in by_cam] == [
        ("cam-1", "2026-06-09", 0.5),
        ("cam-2", "2026-06-10", 1.0),
    ]
    (month,) = precision_table(alerts, "month", PARIS)
    assert (month.period, month.alerts) == ("2026-06", 3)
    assert month.precision == pytest.approx(2 / 3)


@pytest.mark.req("EX-065")
def test_trend_is_called_only_when_the_intervals_separate() -> None:
    w1, w2 = "2026-06-02T10:00:00Z", "2026-06-09T10:00:00Z"  # W23, W24
    up = field_alerts(["tp"] + ["fp"] * 9, w1) + field_alerts(["tp"] * 10, w2, start=100)
    (t,) = trends(precision_table(up, "week", PARIS))
    assert (t.last_period, t.previous_precision, t.last_precision) == ("2026-W24", 0.1, 1.0)
    assert t.direction == "up" and t.delta == pytest.approx(0.9)
    down = field_alerts(["tp"] * 10, w1) + field_alerts(["fp"] * 10, w2, start=100)
    assert trends(precision_table(down, "week", PARIS))[0].direction == "down"
    flat = field_alerts(["tp", "tp", "tp", "fp", "fp"], w1) + field_alerts(
        ["tp", "tp", "tp", "tp", "fp"], w2, start=100
    )
    assert trends(precision_table(flat, "week", PARIS))[0].direction == "flat"  # 0.6 → 0.8
    (single,) = trends(precision_table(field_alerts(["tp"], w1), "week", PARIS))
    assert single.direction == "insufficient" and single.delta is None
    # a retraining starts a new series: the trend never compares two models
    two = field_alerts(["fp"] * 10, w1, M1) + field_alerts(["tp"] * 10, w2, M2, start=100)
    assert [t.direction for t in trends(precision_table(two, "week", PARIS))] == [
        "insufficient",
        "insufficient",
    ]
    (m1, m2) = model_summaries(two, "week", PARIS)
    assert (m1.model_sha256, m1.counts.precision, m1.first_period) == (M1, 0.0, "2026-W23")
    assert (m2.model_sha256, m2.counts.precision, m2.first_period) == (M2, 1.0, "2026-W24")


# --------------------------------------------------------------------------- hard negatives


def _rejected(*utcs: str) -> list[FieldAlert]:
    out: list[FieldAlert] = []
    for i, utc in enumerate(utcs, start=1):
        out += field_alerts(["fp"], utc, start=i)
    return out


@pytest.mark.req("EX-065", "EX-043")
def test_retention_cut_off_is_decided_before_reading_the_snapshot() -> None:
    now = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    edge = now - timedelta(days=30)  # expires exactly now: refused
    inside = edge + timedelta(milliseconds=1)
    alerts = _rejected(edge.isoformat(), inside.isoformat()) + field_alerts(
        ["tp", "-"], inside.isoformat(), start=50
    )
    read: list[str] = []

    def check(a: FieldAlert) -> SnapshotCheck:
        read.append(a.alert_id)
        return "ok"

    sel = select_hard_negatives(alerts, [], now=now, retention_days=30, tz=PARIS, check=check)
    assert [e.reason for e in sel.excluded] == ["retention_expired"]
    assert sel.excluded[0].expires_utc == "2026-07-01T12:00:00.000+00:00"
    (sample,) = sel.samples
    assert read == [sample.alert.alert_id]  # the expired one was never opened
    assert sample.expires_utc == "2026-07-01T12:00:00.001+00:00"
    assert (sample.week, sample.predicted_class) == ("2026-W23", "person")
    assert sample.file_name == f"site-a/cam-1/{sample.alert.alert_id}.jpg"
    with pytest.raises(FeedbackError, match="durée de conservation invalide"):
        select_hard_negatives(alerts, [], now=now, retention_days=0, tz=PARIS, check=check)


@pytest.mark.req("EX-065", "EX-017")
def test_every_rejected_alert_left_out_has_a_reason() -> None:
    now = datetime(2026, 6, 12, tzinfo=UTC)
    t = "2026-06-10T10:00:00Z"
    entries = [alert(i, t) for i in (1, 2, 3, 4)] + [alert(5, t, snapshot=False)]
    entries += [review(100 + i, i, "faux_positif") for i in (1, 2, 3, 4, 5)]
    entries += [review(200, 77, "faux_positif"), review(201, 78, "vrai_positif")]  # purged
    joined = join_alerts("site-a", entries)
    states: dict[int, SnapshotCheck] = {1: "ok", 2: "missing", 3: "altered", 4: "refused"}
    sel = select_hard_negatives(
        joined.alerts, joined.orphans, now=now, retention_days=30, tz=PARIS,
        check=lambda a: states[a.seq],
    )  # fmt: skip
    assert [s.alert.seq for s in sel.samples] == [1]
    assert [(e.alert_id[-2:], e.reason) for e in sel.excluded] == [
        ("02", "snapshot_missing"),
        ("03", "snapshot_altered"),
        ("04", "snapshot_path_refused"),
        ("05", "no_snapshot"),
        ("77", "alert_purged"),  # a confirmed purged alert is no hard negative
    ]
    assert sel.excluded[0].to_dict()["reason_fr"].startswith("cliché absent")


@pytest.mark.req("EX-065", "EX-084")
def test_coco_and_source_documents_carry_boxes_tags_and_expiry() -> None:
    entries = [
        alert(
            1,
            "2026-06-10T10:00:00Z",
            event="arme",
            camera="cam 1/é",
            boxes=[[0.5, 0.25, 0.75, 0.75], [0.9, 0.9, 1.4, 0.9]],
        ),
        alert(2, "2026-06-11T10:00:00Z", event="feu"),
        review(3, 1, "faux_positif"),
        review(4, 2, "faux_positif"),
    ]
    joined = join_alerts("site-a", entries)
    now = datetime(2026, 6, 12, tzinfo=UTC)
    sel = select_hard_negatives(joined.alerts, [], now=now, retention_days=30, tz=PARIS,
                                check=lambda a: "ok")  # fmt: skip
    coco = coco_document([(s, 200, 100) for s in sel.samples])
    assert [i["file_name"] for i in coco["images"]] == [
        "site-a/cam_1__/00000000-0000-0000-0000-000000000001.jpg",
        "site-a/cam-1/00000000-0000-0000-0000-000000000002.jpg",
    ]
    cats = {c["id"]: c["name"] for c in coco["categories"]}
    got = [(a["image_id"], cats[a["category_id"]], a["bbox"]) for a in coco["annotations"]]
    # the flat box (zero height) is dropped; pixel boxes are x, y, w, h
    assert got == [(1, "weapon", [100.0, 25.0, 50.0, 50.0]), (2, "fire", [100.0, 25.0, 50.0, 50.0])]
    assert coco["annotations"][0]["attributes"]["faux_positif"] is True
    assert coco["images"][0]["expires_utc"] == "2026-07-10T10:00:00.000+00:00"
    assert pixel_box((-0.1, 0.5, 0.2, 1.5), 100, 10) == [0.0, 5.0, 20.0, 5.0]  # clipped

    doc = source_document(sel.samples, now=now, licence="interne")
    src = SourceConfig.model_validate(doc)  # the ingest's own schema accepts it
    assert src.capture_date == "2026-06-10/2026-06-11" and src.split_unit == "camera"
    site, camera, date, meta = src.resolve(f"images/{coco['images'][0]['file_name']}")
    assert (site, camera, date) == ("site-a", "cam 1/é", "2026-06-10")
    assert meta.extra == {
        "faux_positif": True,
        "origine": "retour_terrain",
        "event": "arme",
        "week": "2026-W24",
        "alert_id": "00000000-0000-0000-0000-000000000001",
        "model_sha256": M1,
        "expires_utc": "2026-07-10T10:00:00.000+00:00",
    }
    with pytest.raises(FeedbackError, match="aucun échantillon"):
        source_document([], now=now, licence="interne")


@pytest.mark.req("EX-065")
def test_recorded_box_classes_win_over_the_event_class() -> None:
    recorded = alert(1, "2026-06-10T10:00:00Z", event="franchissement",
                     boxes=[[0.5, 0.25, 0.75, 0.75], [0.1, 0.1, 0.3, 0.3]])  # fmt: skip
    recorded["classes"] = ["vehicle", None]  # a class per box; None: not detected as a class
    entries = [recorded, review(2, 1, "faux_positif")]
    sel = select_hard_negatives(join_alerts("site-a", entries).alerts, [],
                                now=datetime(2026, 6, 12, tzinfo=UTC), retention_days=30,
                                tz=PARIS, check=lambda a: "ok")  # fmt: skip
    coco = coco_document([(s, 200, 100) for s in sel.samples])
    cats = {c["id"]: c["name"] for c in coco["categories"]}
    assert [cats[a["category_id"]] for a in coco["annotations"]] == ["vehicle", "person"]
