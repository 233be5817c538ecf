"""Field feedback (EX-065): operators' qualified alerts back into the evaluation.

Pure logic, no I/O: the stage ``veilleur feedback``
(:mod:`veilleur.evaluation.stages.feedback`) reads and verifies the journal exports, checks the
snapshot files, and writes the reports; everything that decides a number lives here.

- :func:`join_alerts`: each alert of a verified export with its **latest qualifying review**
  (the same rule as the journal's exports and statistics: an acknowledgement or a comment does
  not qualify; a later qualification replaces an earlier one).
- :func:`precision_table`: per site, event (and camera), period and **model**: alerts,
  confirmed, rejected, unreviewed, and the site precision ``confirmed / reviewed`` with a 95 %
  **Wilson score interval**. Unreviewed alerts are counted, never guessed.
- :func:`trends` and :func:`model_summaries`: how precision moves over time for one model, and
  what a retraining changed (precision of each model over its own periods).
- :func:`select_hard_negatives`: rejected alerts whose snapshot is still inside its retention
  period and intact become candidate hard negatives; the others are listed with a reason.
- :func:`coco_document` and :func:`source_document`: the COCO file and ``source.yaml`` that
  ``veilleur data ingest --format coco`` reads.

Why Wilson and not a bootstrap: a per-week precision rests on a handful of reviews (often
fewer than 20, sometimes all confirmed). The Wilson interval has close to nominal coverage for
small ``n`` and never collapses to a zero-width interval at 0 or 1 (a percentile bootstrap of
10 confirmations out of 10 gives ``[1 ; 1]``); it is closed-form, hence deterministic, and the
reviews of one site-week are the independent Bernoulli trials it assumes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from veilleur.runtime.core.taxonomy import CLASSES, coco_categories
from veilleur.runtime.journal.export import (
    FALSE_POSITIVE,
    TRUE_POSITIVE,
    normalise_qualification,
)

PeriodKind = Literal["day", "week", "month"]
PERIODS: Final[tuple[PeriodKind, ...]] = ("day", "week", "month")
Status = Literal["confirmed", "rejected", "unreviewed"]
Direction = Literal["up", "down", "flat", "insufficient"]
SnapshotCheck = Literal["ok", "missing", "altered", "refused"]
ExclusionReason = Literal[
    "alert_purged",
    "no_snapshot",
    "retention_expired",
    "snapshot_missing",
    "snapshot_altered",
    "snapshot_path_refused",
]

Z95: Final = 1.959963984540054
"""Two-sided 95 % quantile of the standard normal distribution."""
INTERVAL_METHOD: Final = "wilson"

REASONS_FR: Final[dict[str, str]] = {
    "alert_purged": "alerte déjà purgée du journal (seule la revue reste) : pas de cliché",
    "no_snapshot": "l'alerte n'a pas de cliché enregistré",
    "retention_expired": "durée de conservation du cliché dépassée : copie refusée",
    "snapshot_missing": "cliché absent (purgé ou jamais copié)",
    "snapshot_altered": "cliché modifié depuis l'alerte (empreinte SHA-256 différente)",
    "snapshot_path_refused": "chemin de cliché refusé (hors du dossier des clichés)",
}
DIRECTIONS_FR: Final[dict[str, str]] = {
    "up": "en hausse",
    "down": "en baisse",
    "flat": "stable (écart non significatif)",
    "insufficient": "indéterminée (une seule période revue)",
}

EVENT_PREDICTED_CLASS: Final[dict[str, str]] = {
    "franchissement": "person",
    "sens_circulation": "person",
    "mouvement_foule": "person",
    "densite": "person",
    "objet_abandonne": "bag",
    "arme": "weapon",
    "personne_au_sol": "person_lying",
    "feu": "fire",
}
"""The class an event's boxes were predicted as (the default class of each rule type in the
site configuration). An alert does not record a class per box: a rule configured with other
classes (a ``franchissement`` on vehicles) is labelled with this default."""


class FeedbackError(ValueError):
    """Field feedback cannot be computed; the message (French) says what and where."""


# --------------------------------------------------------------------------- statistics


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a binomial proportion (``None`` when ``n`` is 0).

    Example:
        >>> [round(v, 4) for v in wilson_interval(8, 10)]
        [0.4902, 0.9433]
    """
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} outside 0..{n}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def period_key(utc: str, period: PeriodKind, tz: ZoneInfo) -> str:
    """The local period of an ISO-8601 time: ``2026-11-28``, ``2026-W48`` (ISO week, ISO
    year), or ``2026-11``."""
    t = parse_utc(utc).astimezone(tz)
    if period == "day":
        return t.date().isoformat()
    if period == "month":
        return f"{t.year:04d}-{t.month:02d}"
    year, week, _ = t.isocalendar()
    return f"{year:04d}-W{week:02d}"


def parse_utc(value: str) -> datetime:
    """An ISO-8601 time as an aware UTC datetime (a naive time is read as UTC)."""
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise FeedbackError(f"horodatage illisible : {value!r} (ISO 8601 attendu)") from None
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC)


def iso_utc(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds")


# --------------------------------------------------------------------------- joining


@dataclass(frozen=True)
class FieldAlert:
    """One journaled alert and the operators' verdict on it."""

    site: str
    alert_id: str
    seq: int
    utc: str
    camera_id: str
    event: str
    rule_id: str | None
    model_sha256: str
    config_version: str
    boxes: tuple[tuple[float, float, float, float], ...]
    snapshot_path: str | None
    snapshot_sha256: str | None
    status: Status
    reviewed_utc: str | None = None
    reviewer: str | None = None
    comments: tuple[str, ...] = ()
    classes: tuple[str | None, ...] = ()
    """Class of each box as the engine detected it (alerts journaled since the runtime records
    it); empty for older alerts."""


@dataclass(frozen=True)
class OrphanReview:
    """The latest qualification of an alert that is no longer in the export (purged)."""

    site: str
    alert_id: str
    camera_id: str | None
    event: str | None
    status: Status
    reviewed_utc: str


@dataclass(frozen=True)
class JoinResult:
    alerts: tuple[FieldAlert, ...]
    orphans: tuple[OrphanReview, ...]


def _status(qualification: object) -> Status | None:
    q = normalise_qualification(qualification) if isinstance(qualification, str) else None
    if q == TRUE_POSITIVE:
        return "confirmed"
    if q == FALSE_POSITIVE:
        return "rejected"
    return None


def _boxes(value: object) -> tuple[tuple[float, float, float, float], ...]:
    out: list[tuple[float, float, float, float]] = []
    for b in value if isinstance(value, list) else []:
        if isinstance(b, list | tuple) and len(b) == 4:
            x1, y1, x2, y2 = (float(v) for v in b)
            out.append((x1, y1, x2, y2))
    return tuple(out)


def join_alerts(site: str, entries: Iterable[Mapping[str, Any]]) -> JoinResult:
    """Alerts of one site's verified entries (journal bodies with ``kind`` and ``seq``, in
    ``seq`` order), each with its latest qualifying review and its comments."""
    alerts: dict[str, Mapping[str, Any]] = {}
    latest: dict[str, Mapping[str, Any]] = {}
    comments: dict[str, list[str]] = defaultdict(list)
    for e in sorted(entries, key=lambda e: int(e["seq"])):
        if e.get("kind") == "alert":
            alerts[str(e["id"])] = e
        elif e.get("kind") == "review" and e.get("alert_id") is not None:
            aid = str(e["alert_id"])
            if _status(e.get("qualification")) is not None:
                latest[aid] = e
            if isinstance(e.get("comment"), str) and e["comment"].strip():
                comments[aid].append(str(e["comment"]))
    out: list[FieldAlert] = []
    for aid, a in alerts.items():
        review = latest.get(aid)
        snap = a.get("snapshot") if isinstance(a.get("snapshot"), dict) else None
        out.append(
            FieldAlert(
                site=site,
                alert_id=aid,
                seq=int(a["seq"]),
                utc=str(a["utc"]),
                camera_id=str(a.get("camera_id")),
                event=str(a.get("event")),
                rule_id=None if a.get("rule_id") is None else str(a["rule_id"]),
                model_sha256=str(a.get("model_sha256") or "inconnu"),
                config_version=str(a.get("config_version") or "inconnue"),
                boxes=_boxes(a.get("boxes")),
                classes=tuple(
                    c if isinstance(c, str) and c in CLASSES else None
                    for c in (a.get("classes") or ())
                ),
                snapshot_path=None if snap is None else str(snap.get("path")),
                snapshot_sha256=None if snap is None else str(snap.get("sha256")),
                status=(_status(review.get("qualification")) or "unreviewed")
                if review is not None
                else "unreviewed",
                reviewed_utc=None if review is None else str(review.get("utc")),
                reviewer=None if review is None else _str_or_none(review.get("actor")),
                comments=tuple(comments.get(aid, ())),
            )
        )
    orphans = tuple(
        OrphanReview(
            site=site,
            alert_id=aid,
            camera_id=_str_or_none(r.get("camera_id")),
            event=_str_or_none(r.get("event")),
            status=_status(r.get("qualification")) or "unreviewed",
            reviewed_utc=str(r.get("utc")),
        )
        for aid, r in latest.items()
        if aid not in alerts
    )
    return JoinResult(tuple(out), orphans)


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


# --------------------------------------------------------------------------- precision


@dataclass(frozen=True)
class PrecisionRow:
    """Counts and site precision of one (site, event, camera, period, model) group.

    ``camera`` is ``None`` for the event over all cameras of the site."""

    site: str
    event: str
    camera: str | None
    period: str
    model_sha256: str
    config_versions: tuple[str, ...]
    alerts: int
    confirmed: int
    rejected: int
    unreviewed: int

    @property
    def reviewed(self) -> int:
        return self.confirmed + self.rejected

    @property
    def precision(self) -> float | None:
        return self.confirmed / self.reviewed if self.reviewed else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.confirmed, self.reviewed)

    @property
    def review_coverage(self) -> float | None:
        return self.reviewed / self.alerts if self.alerts else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "event": self.event,
            "camera": self.camera,
            "period": self.period,
            "model_sha256": self.model_sha256,
            "config_versions": list(self.config_versions),
            "alerts": self.alerts,
            "confirmed": self.confirmed,
            "rejected": self.rejected,
            "unreviewed": self.unreviewed,
            "reviewed": self.reviewed,
            "precision": self.precision,
            "interval_95": None if self.interval is None else list(self.interval),
            "review_coverage": self.review_coverage,
        }


def _count(key: tuple[str, str, str | None, str, str], group: Sequence[FieldAlert]) -> PrecisionRow:
    site, event, camera, period, model = key
    return PrecisionRow(
        site=site,
        event=event,
        camera=camera,
        period=period,
        model_sha256=model,
        config_versions=tuple(sorted({a.config_version for a in group})),
        alerts=len(group),
        confirmed=sum(a.status == "confirmed" for a in group),
        rejected=sum(a.status == "rejected" for a in group),
        unreviewed=sum(a.status == "unreviewed" for a in group),
    )


def precision_table(
    alerts: Iterable[FieldAlert], period: PeriodKind, tz: ZoneInfo, *, by_camera: bool = False
) -> list[PrecisionRow]:
    """One row per site, event, (camera,) period and model, sorted. Two models in one period
    make two rows: a precision never mixes models."""
    groups: dict[tuple[str, str, str | None, str, str], list[FieldAlert]] = defaultdict(list)
    for a in alerts:
        key = (
            a.site,
            a.event,
            a.camera_id if by_camera else None,
            period_key(a.utc, period, tz),
            a.model_sha256,
        )
        groups[key].append(a)
    return [
        _count(k, g)
        for k, g in sorted(groups.items(), key=lambda kv: (kv[0][:2], kv[0][2] or "", kv[0][3:]))
    ]


@dataclass(frozen=True)
class Trend:
    """Precision of the latest reviewed period against the earlier ones (same model)."""

    site: str
    event: str
    model_sha256: str
    periods: tuple[str, ...]
    last_period: str | None
    last_precision: float | None
    last_interval: tuple[float, float] | None
    previous_precision: float | None
    previous_interval: tuple[float, float] | None
    direction: Direction

    @property
    def delta(self) -> float | None:
        if self.last_precision is None or self.previous_precision is None:
            return None
        return self.last_precision - self.previous_precision

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "event": self.event,
            "model_sha256": self.model_sha256,
            "periods": list(self.periods),
            "last_period": self.last_period,
            "last_precision": self.last_precision,
            "last_interval_95": None if self.last_interval is None else list(self.last_interval),
            "previous_precision": self.previous_precision,
            "previous_interval_95": (
                None if self.previous_interval is None else list(self.previous_interval)
            ),
            "delta": self.delta,
            "direction": self.direction,
        }


def trends(rows: Iterable[PrecisionRow]) -> list[Trend]:
    """Per site, event and model (rows over all cameras): the last period with reviews
    against all earlier ones pooled. ``up``/``down`` only when the two 95 % Wilson intervals
    do not overlap; ``flat`` otherwise; ``insufficient`` with one reviewed period."""
    series: dict[tuple[str, str, str], list[PrecisionRow]] = defaultdict(list)
    for r in rows:
        if r.camera is None and r.reviewed > 0:
            series[(r.site, r.event, r.model_sha256)].append(r)
    out: list[Trend] = []
    for (site, event, model), rs in sorted(series.items()):
        rs = sorted(rs, key=lambda r: r.period)
        last = rs[-1]
        earlier = rs[:-1]
        conf = sum(r.confirmed for r in earlier)
        rev = sum(r.reviewed for r in earlier)
        prev_p = conf / rev if rev else None
        prev_i = wilson_interval(conf, rev)
        direction: Direction = "insufficient"
        if prev_i is not None and last.interval is not None and prev_p is not None:
            direction = "flat"
            if last.interval[0] > prev_i[1]:
                direction = "up"
            elif last.interval[1] < prev_i[0]:
                direction = "down"
        out.append(
            Trend(
                site=site,
                event=event,
                model_sha256=model,
                periods=tuple(r.period for r in rs),
                last_period=last.period,
                last_precision=last.precision,
                last_interval=last.interval,
                previous_precision=prev_p,
                previous_interval=prev_i,
                direction=direction,
            )
        )
    return out


@dataclass(frozen=True)
class ModelSummary:
    """All the periods of one model on one site and event, pooled."""

    site: str
    event: str
    model_sha256: str
    first_period: str
    last_period: str
    first_utc: str
    counts: PrecisionRow

    def to_dict(self) -> dict[str, Any]:
        c = self.counts.to_dict()
        for k in ("site", "event", "camera", "period", "model_sha256"):
            c.pop(k)
        return {
            "site": self.site,
            "event": self.event,
            "model_sha256": self.model_sha256,
            "first_period": self.first_period,
            "last_period": self.last_period,
            "first_utc": self.first_utc,
            **c,
        }


def model_summaries(
    alerts: Iterable[FieldAlert], period: PeriodKind, tz: ZoneInfo
) -> list[ModelSummary]:
    """Per site and event, each model's pooled counts, in the order the models appeared: a
    reviewer sees what a retraining changed."""
    groups: dict[tuple[str, str, str], list[FieldAlert]] = defaultdict(list)
    for a in alerts:
        groups[(a.site, a.event, a.model_sha256)].append(a)
    out = []
    for (site, event, model), g in groups.items():
        periods = sorted(period_key(a.utc, period, tz) for a in g)
        out.append(
            ModelSummary(
                site,
                event,
                model,
                periods[0],
                periods[-1],
                min(a.utc for a in g),
                _count((site, event, None, "*", model), g),
            )
        )
    return sorted(out, key=lambda m: (m.site, m.event, m.first_utc))


# --------------------------------------------------------------------------- hard negatives


def snapshot_expiry(utc: str, retention_days: int) -> datetime:
    """When the snapshot of an alert raised at ``utc`` leaves its retention period."""
    return parse_utc(utc) + timedelta(days=retention_days)


@dataclass(frozen=True)
class HardNegative:
    """A rejected alert whose snapshot may be copied for the next curation round."""

    alert: FieldAlert
    expires_utc: str
    week: str
    predicted_class: str

    @property
    def file_name(self) -> str:
        """Path of the image under the folder's ``images/`` (split by camera)."""
        return f"{_safe(self.alert.site)}/{_safe(self.alert.camera_id)}/{self.alert.alert_id}.jpg"


@dataclass(frozen=True)
class Excluded:
    """A rejected alert that does not become a sample, and why."""

    site: str
    alert_id: str
    camera_id: str | None
    event: str | None
    utc: str | None
    reason: ExclusionReason
    expires_utc: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "alert_id": self.alert_id,
            "camera": self.camera_id,
            "event": self.event,
            "utc": self.utc,
            "reason": self.reason,
            "reason_fr": REASONS_FR[self.reason],
            "expires_utc": self.expires_utc,
        }


_CHECK_REASON: Final[dict[SnapshotCheck, ExclusionReason]] = {
    "missing": "snapshot_missing",
    "altered": "snapshot_altered",
    "refused": "snapshot_path_refused",
}


def _safe(text: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in text) or "_"


@dataclass(frozen=True)
class Selection:
    samples: tuple[HardNegative, ...]
    excluded: tuple[Excluded, ...] = field(default_factory=tuple)


def select_hard_negatives(
    alerts: Iterable[FieldAlert],
    orphans: Iterable[OrphanReview],
    *,
    now: datetime,
    retention_days: int,
    tz: ZoneInfo,
    check: Callable[[FieldAlert], SnapshotCheck],
) -> Selection:
    """Split the rejected alerts into samples and exclusions.

    Retention is decided first: a snapshot whose retention period is over (``now`` at or
    after ``utc + retention_days``) is refused even when the file is still there, and
    ``check`` (which reads the file) is called only for alerts inside their period.
    Rejected reviews of purged alerts are listed too (``alert_purged``).
    """
    if retention_days < 1:
        raise FeedbackError(f"durée de conservation invalide : {retention_days} jour(s)")
    samples: list[HardNegative] = []
    excluded: list[Excluded] = []
    for a in sorted(alerts, key=lambda a: (a.site, a.utc, a.alert_id)):
        if a.status != "rejected":
            continue
        expires = snapshot_expiry(a.utc, retention_days)

        def exclude(reason: ExclusionReason, a: FieldAlert = a, exp: datetime = expires) -> None:
            excluded.append(
                Excluded(a.site, a.alert_id, a.camera_id, a.event, a.utc, reason, iso_utc(exp))
            )

        if now >= expires:
            exclude("retention_expired")
        elif a.snapshot_path is None or a.snapshot_sha256 is None:
            exclude("no_snapshot")
        else:
            state = check(a)
            if state != "ok":
                exclude(_CHECK_REASON[state])
            else:
                samples.append(
                    HardNegative(
                        a,
                        iso_utc(expires),
                        period_key(a.utc, "week", tz),
                        EVENT_PREDICTED_CLASS.get(a.event, CLASSES[0]),
                    )
                )
    for o in sorted(orphans, key=lambda o: (o.site, o.reviewed_utc, o.alert_id)):
        if o.status == "rejected":
            excluded.append(
                Excluded(o.site, o.alert_id, o.camera_id, o.event, None, "alert_purged")
            )
    return Selection(tuple(samples), tuple(excluded))


def pixel_box(
    box: tuple[float, float, float, float], width: int, height: int
) -> list[float] | None:
    """A normalised ``xyxy`` box as a COCO ``[x, y, w, h]`` in pixels, clipped to the image;
    ``None`` when nothing of it is left inside."""
    x1, y1, x2, y2 = (min(max(v, 0.0), 1.0) for v in box)
    x, y = x1 * width, y1 * height
    w, h = (x2 - x1) * width, (y2 - y1) * height
    if w <= 0 or h <= 0:
        return None
    return [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]


def coco_document(samples: Sequence[tuple[HardNegative, int, int]]) -> dict[str, Any]:
    """COCO detection JSON of the samples (each with its image width and height): the boxes
    are the model's predictions, labelled with the predicted class and tagged
    ``faux_positif``: they are **not** ground truth."""
    cat_id = {c["name"]: int(str(c["id"])) for c in coco_categories()}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for i, (s, width, height) in enumerate(samples, start=1):
        a = s.alert
        images.append(
            {
                "id": i,
                "file_name": s.file_name,
                "width": width,
                "height": height,
                "alert_id": a.alert_id,
                "expires_utc": s.expires_utc,
            }
        )
        for k, box in enumerate(a.boxes):
            bbox = pixel_box(box, width, height)
            if bbox is None:
                continue
            # the class the engine tracked for this box when the alert records it, else the
            # event's usual class
            recorded = a.classes[k] if k < len(a.classes) else None
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i,
                    "category_id": cat_id[recorded or s.predicted_class],
                    "bbox": bbox,
                    "area": round(bbox[2] * bbox[3], 2),
                    "iscrowd": 0,
                    "attributes": {
                        "faux_positif": True,
                        "prediction": True,
                        "event": a.event,
                        "alert_id": a.alert_id,
                    },
                }
            )
    return {
        "info": {
            "description": "Retour terrain Veilleur : alertes rejetées (faux positifs)",
            "note": "boîtes prédites par le modèle et rejetées par un opérateur, pas une vérité",
        },
        "images": images,
        "annotations": annotations,
        "categories": coco_categories(),
    }


def source_document(
    samples: Sequence[HardNegative], *, now: datetime, licence: str
) -> dict[str, Any]:
    """The ``source.yaml`` of the folder (``veilleur.data.ingest.source`` schema): provenance,
    and one override per sample with its site, camera, date and tags (``faux_positif``,
    event, week, alert, model, ``expires_utc``)."""
    if not samples:
        raise FeedbackError("aucun échantillon : pas de source à écrire")
    dates = sorted(s.alert.utc[:10] for s in samples)
    sites = sorted({s.alert.site for s in samples})
    models = sorted({s.alert.model_sha256 for s in samples})
    return {
        "name": f"retour-terrain-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        "licence": licence,
        "site": sites[0] if len(sites) == 1 else None,
        "capture_date": dates[0] if dates[0] == dates[-1] else f"{dates[0]}/{dates[-1]}",
        "acquisition": (
            "Clichés d'alertes du journal Veilleur (export vérifié), rejetées comme faux positif"
            " par un opérateur ; copie soumise à la durée de conservation des images"
            " (expires_utc de chaque échantillon)"
        ),
        "selection": (
            "Toutes les alertes dont la dernière qualification est faux_positif, avec un cliché"
            " présent, intact (SHA-256) et dans sa durée de conservation"
        ),
        "annotation": (
            "Boîtes prédites par le modèle (" + ", ".join(m[:12] for m in models) + "), classe"
            " prédite selon l'événement ; rejetées par l'opérateur : candidats négatifs"
            " difficiles à vérifier, pas une vérité terrain"
        ),
        "split_unit": "camera",
        "metadata": {"extra": {"faux_positif": True, "origine": "retour_terrain"}},
        "overrides": [
            {
                "match": f"images/{s.file_name}",
                "site": s.alert.site,
                "camera": s.alert.camera_id,
                "capture_date": s.alert.utc[:10],
                "metadata": {
                    "extra": {
                        "event": s.alert.event,
                        "week": s.week,
                        "alert_id": s.alert.alert_id,
                        "model_sha256": s.alert.model_sha256,
                        "expires_utc": s.expires_utc,
                    }
                },
            }
            for s in samples
        ],
    }
