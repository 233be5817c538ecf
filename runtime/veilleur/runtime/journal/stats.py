"""Alert statistics over a period: per event, per camera, per hour and day, TP/FP rates.

Counting is done in SQL (``GROUP BY``); hours are grouped by UTC hour in SQL (the first 13
characters of the stored ISO time) and then mapped to the site's local hour and day in Python,
which is exact for every time zone whose offsets are whole hours (Europe/Paris included, DST
too). Qualifications come from the latest qualified review of each alert.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from veilleur.runtime.journal.export import (
    FALSE_POSITIVE,
    TRUE_POSITIVE,
    ExportFilter,
    engine_of,
    filter_conditions,
    latest_reviews,
    normalise_qualification,
    zone_of,
)
from veilleur.runtime.journal.repository import Journal, entries


@dataclass(frozen=True)
class AlertStats:
    """Counts of alerts over ``since``..``until`` (UTC), local buckets in ``timezone``."""

    since: str | None
    until: str | None
    timezone: str
    total: int
    by_event: dict[str, int]
    by_camera: dict[str, int]
    by_camera_event: dict[str, dict[str, int]]
    by_hour: dict[str, int]  # local "YYYY-MM-DDTHH"
    by_day: dict[str, int]  # local "YYYY-MM-DD"
    by_hour_of_day: dict[int, int]  # local hour 0..23
    true_positives: int
    false_positives: int
    reviewed: int
    unreviewed: int
    true_positive_rate: float | None  # TP / (TP + FP): the precision operators observed
    false_positive_rate: float | None  # FP / (TP + FP)
    review_coverage: float | None  # (TP + FP) / total
    by_event_quality: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 6) if b else None


def _as_utc(value: str | datetime | None) -> str | None:
    """A period bound as given back: naive times are UTC, as in the filter (already checked
    by :class:`ExportFilter`, so always representable)."""
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def alert_stats(
    journal: Journal | Engine | str | Path,
    *,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    camera_id: str | None = None,
    event: str | None = None,
    cameras: tuple[str, ...] | None = None,
    tz: str = "Europe/Paris",
) -> AlertStats:
    """Statistics of the alerts that match the period, camera and event (and, for a user's
    profile, only ``cameras``)."""
    engine = engine_of(journal)
    flt = ExportFilter(since=since, until=until, camera_id=camera_id, event=event, cameras=cameras)
    zone = zone_of(tz)
    conds = filter_conditions(flt)
    n = func.count().label("n")
    with engine.connect() as conn:
        cam_ev = conn.execute(
            select(entries.c.camera_id, entries.c.event, n)
            .where(*conds)
            .group_by(entries.c.camera_id, entries.c.event)
        ).all()
        hour = func.substr(entries.c.utc, 1, 13)
        hours = conn.execute(select(hour.label("h"), n).where(*conds).group_by(hour)).all()
        rq = latest_reviews(engine)
        quals = conn.execute(
            select(entries.c.event, rq.c.qualification, n)
            .select_from(entries.join(rq, rq.c.alert_id == entries.c.id))
            .where(*conds)
            .group_by(entries.c.event, rq.c.qualification)
        ).all()

    by_event: Counter[str] = Counter()
    by_camera: Counter[str] = Counter()
    by_camera_event: dict[str, dict[str, int]] = {}
    for cam, ev, count in cam_ev:
        cam_s, ev_s = str(cam or ""), str(ev or "")
        by_event[ev_s] += count
        by_camera[cam_s] += count
        by_camera_event.setdefault(cam_s, {})[ev_s] = count
    by_hour: Counter[str] = Counter()
    by_day: Counter[str] = Counter()
    by_hod: Counter[int] = Counter()
    for h, count in hours:
        try:
            local = datetime.fromisoformat(f"{h}:00:00+00:00").astimezone(zone)
        except ValueError:
            continue
        by_hour[local.strftime("%Y-%m-%dT%H")] += count
        by_day[local.strftime("%Y-%m-%d")] += count
        by_hod[local.hour] += count
    quality: dict[str, dict[str, int]] = {}
    tp = fp = 0
    for ev, q, count in quals:
        nq = normalise_qualification(q)
        if nq == TRUE_POSITIVE:
            tp += count
        elif nq == FALSE_POSITIVE:
            fp += count
        else:
            continue
        bucket = quality.setdefault(str(ev or ""), {TRUE_POSITIVE: 0, FALSE_POSITIVE: 0})
        bucket[nq] += count
    total = sum(by_event.values())
    reviewed = tp + fp
    return AlertStats(
        since=_as_utc(flt.since),
        until=_as_utc(flt.until),
        timezone=tz,
        total=total,
        by_event=dict(sorted(by_event.items())),
        by_camera=dict(sorted(by_camera.items())),
        by_camera_event=dict(sorted(by_camera_event.items())),
        by_hour=dict(sorted(by_hour.items())),
        by_day=dict(sorted(by_day.items())),
        by_hour_of_day=dict(sorted(by_hod.items())),
        true_positives=tp,
        false_positives=fp,
        reviewed=reviewed,
        unreviewed=total - reviewed,
        true_positive_rate=_ratio(tp, reviewed),
        false_positive_rate=_ratio(fp, reviewed),
        review_coverage=_ratio(reviewed, total),
        by_event_quality=dict(sorted(quality.items())),
    )
