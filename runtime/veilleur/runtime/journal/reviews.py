"""Operator reviews of alerts (EX-039): acknowledge, qualify, comment.

Each review action is its own journal entry of kind ``review`` that references the alert by
id; the alert entry is never modified. The review copies the alert's ``camera_id`` and
``event`` so that reviews stay filterable (and meaningful) after the alert's retention ends.

The review state of an alert is folded from its review entries: who acknowledged it and when
(the first acknowledgement; a second one is refused), the latest qualification (a later one
replaces an earlier one, both stay in the journal) and every comment in order.

Lookups by alert go through the JSON payload (``alert_id``) with the SQL JSON functions of
the database (SQLite ``json_extract``, PostgreSQL ``json_extract_path_text``); the alerts
themselves are filtered on indexed columns (``kind``, ``utc``, ``camera_id``, ``event``, ``id``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import JSON, ColumnElement, Select, cast, func, literal_column, select

from veilleur.runtime.journal.repository import Journal, entries

Action = Literal["acknowledge", "qualify", "comment"]
Qualification = Literal["vrai_positif", "faux_positif"]
QualificationFilter = Literal["vrai_positif", "faux_positif", "non_qualifiee"]
ACTIONS: tuple[str, ...] = get_args(Action)
QUALIFICATIONS: tuple[str, ...] = get_args(Qualification)
NOT_QUALIFIED = "non_qualifiee"
MAX_COMMENT_CHARS = 2000
MAX_ACTOR_CHARS = 128
MAX_PAGE = 1000
REVIEW: ColumnElement[Any] = literal_column(
    "'review'"
)  # literal, so a partial index WHERE kind = 'review' applies


class ReviewError(ValueError):
    """A review that cannot be recorded; the message is meant for the operator (French)."""


class UnknownAlertError(ReviewError, LookupError):
    """No alert with that id in the journal."""


class AlreadyAcknowledgedError(ReviewError):
    """The alert was acknowledged before (the first acknowledgement stands)."""


def _utc(t: datetime | str | None) -> str:
    if t is None:
        t = datetime.now(UTC)
    if isinstance(t, str):
        return t
    if t.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware (UTC)")
    return t.astimezone(UTC).isoformat(timespec="milliseconds")


def _period_bound(t: datetime | str) -> str:
    """A period bound of a listing, as the journal stores times; naive times are UTC (as in
    exports)."""
    if isinstance(t, str):
        return t
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    try:
        return t.astimezone(UTC).isoformat(timespec="milliseconds")
    except (OverflowError, ValueError):  # e.g. 0001-01-01T00:00+14:00: before year 1 UTC
        raise ReviewError(f"date hors des limites représentables : {t.isoformat()!r}") from None


def json_text(journal: Journal, column: Any, key: str) -> ColumnElement[Any]:
    """SQL expression: the text value of top-level ``key`` of a JSON text column."""
    if journal.engine.dialect.name == "postgresql":
        return func.json_extract_path_text(cast(column, JSON), literal_column(f"'{key}'"))
    # literal path (``key`` is always a constant of this module): an expression index on
    # ``json_extract(payload, '$.alert_id')`` can then serve the query
    return func.json_extract(column, literal_column(f"'$.{key}'"))


def _alert_row(journal: Journal, alert_id: str) -> tuple[int, dict[str, Any]] | None:
    """``(seq, payload with its hash)`` of the alert, or None."""
    if not alert_id or len(alert_id) > 36:
        return None
    with journal.engine.connect() as conn:
        row = conn.execute(
            select(entries.c.seq, entries.c.payload, entries.c.hash).where(
                entries.c.id == alert_id, entries.c.kind == "alert"
            )
        ).first()
    return None if row is None else (int(row.seq), {**json.loads(row.payload), "hash": row.hash})


def get_alert(journal: Journal, alert_id: str) -> dict[str, Any]:
    """The alert entry, or :class:`UnknownAlertError`."""
    found = _alert_row(journal, alert_id)
    if found is None:
        raise UnknownAlertError(f"alerte inconnue : {alert_id!r} (absente du journal)")
    return {**found[1], "seq": found[0]}


@dataclass
class ReviewState:
    """Where the review of one alert stands."""

    alert_id: str
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None
    qualification: str | None = None
    qualified_by: str | None = None
    qualified_at: str | None = None
    comments: list[dict[str, str]] = field(default_factory=list)
    reviews: int = 0

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None

    def apply(self, review: dict[str, Any]) -> None:
        self.reviews += 1
        action = review.get("action")
        if action == "acknowledge" and self.acknowledged_by is None:
            self.acknowledged_by, self.acknowledged_at = review["actor"], review["utc"]
        elif action == "qualify":
            self.qualification = review["qualification"]
            self.qualified_by, self.qualified_at = review["actor"], review["utc"]
        elif action == "comment":
            self.comments.append(
                {"utc": review["utc"], "actor": review["actor"], "comment": review["comment"]}
            )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "acknowledged": self.acknowledged}


def _reviews_of(journal: Journal, alert_ids: Iterable[str], after_seq: int = 0) -> Select[Any]:
    ids = list(alert_ids)
    aid = json_text(journal, entries.c.payload, "alert_id")
    return (
        select(entries.c.payload)
        .where(entries.c.kind == REVIEW, entries.c.seq > after_seq, aid.in_(ids))
        .order_by(entries.c.seq)
    )


def review_state(journal: Journal, alert_id: str) -> ReviewState:
    """The review state of one alert (reviews outlive a purged alert: its state still folds).

    Raises:
        UnknownAlertError: neither the alert nor any review of it is in the journal.
    """
    found = _alert_row(journal, alert_id)
    state = ReviewState(alert_id)
    with journal.engine.connect() as conn:
        for (payload,) in conn.execute(_reviews_of(journal, [alert_id], found[0] if found else 0)):
            state.apply(json.loads(payload))
    if found is None and state.reviews == 0:
        raise UnknownAlertError(f"alerte inconnue : {alert_id!r} (absente du journal)")
    return state


def _check_actor(actor: str) -> str:
    actor = actor.strip() if isinstance(actor, str) else ""
    if not actor:
        raise ReviewError("l'auteur de la revue (actor) est obligatoire")
    if len(actor) > MAX_ACTOR_CHARS:
        raise ReviewError(f"auteur trop long ({len(actor)} caractères, {MAX_ACTOR_CHARS} au plus)")
    return actor


def _prepare(
    journal: Journal,
    alert_id: str,
    action: str,
    actor: str,
    qualification: str | None,
    comment: str | None,
    now: datetime | None,
    acknowledged: bool | None = None,
) -> dict[str, Any]:
    """Validate one review; its payload (nothing written)."""
    if action not in ACTIONS:
        raise ReviewError(f"action inconnue : {action!r} (attendu : {', '.join(ACTIONS)})")
    actor = _check_actor(actor)
    if action == "qualify":
        if qualification not in QUALIFICATIONS:
            raise ReviewError(
                f"qualification inconnue : {qualification!r}"
                f" (attendu : {' ou '.join(QUALIFICATIONS)})"
            )
    elif qualification is not None:
        raise ReviewError("une qualification ne s'indique qu'avec l'action 'qualify'")
    if action == "comment":
        text = (comment or "").strip()
        if not text:
            raise ReviewError("le commentaire est vide")
        if len(text) > MAX_COMMENT_CHARS:
            raise ReviewError(
                f"commentaire trop long ({len(text)} caractères, {MAX_COMMENT_CHARS} au plus)"
            )
        comment = text
    elif comment is not None:
        raise ReviewError("un commentaire ne s'indique qu'avec l'action 'comment'")
    alert = get_alert(journal, alert_id)
    if action == "acknowledge":
        state = review_state(journal, alert_id)
        if state.acknowledged:
            raise AlreadyAcknowledgedError(
                f"alerte {alert_id} déjà acquittée par {state.acknowledged_by}"
                f" le {state.acknowledged_at}"
            )
    return {
        "id": str(uuid.uuid4()),
        "utc": _utc(now),
        "alert_id": alert_id,
        "camera_id": alert.get("camera_id"),
        "event": alert.get("event"),
        "action": action,
        "qualification": qualification,
        "comment": comment,
        "actor": actor,
    }


def record_review(
    journal: Journal,
    alert_id: str,
    action: str,
    actor: str,
    *,
    qualification: str | None = None,
    comment: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Validate and append one review entry; returns it (with ``seq`` and ``hash``).

    Raises:
        UnknownAlertError: no alert ``alert_id`` in the journal.
        ReviewError: unknown action or qualification, empty or too long comment, missing
            actor, or an alert already acknowledged.
    """
    payload = _prepare(journal, alert_id, action, actor, qualification, comment, now)
    return journal.append("review", payload)


def record_reviews(
    journal: Journal,
    alert_id: str,
    actor: str,
    *,
    ack: bool = False,
    qualification: str | None = None,
    comment: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Acknowledge, qualify and/or comment in that order; all are validated before any is written.

    Raises:
        ReviewError: as :func:`record_review`, or when no action is asked for.
    """
    todo: list[tuple[str, str | None, str | None]] = []
    if ack:
        todo.append(("acknowledge", None, None))
    if qualification is not None:
        todo.append(("qualify", qualification, None))
    if comment is not None:
        todo.append(("comment", None, comment))
    if not todo:
        raise ReviewError("aucune action : indiquer --ack, --qualify et/ou --comment")
    payloads = [_prepare(journal, alert_id, a, actor, q, c, now) for a, q, c in todo]
    return [journal.append("review", p) for p in payloads]


def acknowledge(
    journal: Journal, alert_id: str, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    """The operator has seen the alert (acquittement)."""
    return record_review(journal, alert_id, "acknowledge", actor, now=now)


def qualify(
    journal: Journal, alert_id: str, qualification: str, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    """True or false positive (``vrai_positif`` / ``faux_positif``); the latest one counts."""
    return record_review(journal, alert_id, "qualify", actor, qualification=qualification, now=now)


def comment(
    journal: Journal, alert_id: str, text: str, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    """A free comment (at most :data:`MAX_COMMENT_CHARS` characters)."""
    return record_review(journal, alert_id, "comment", actor, comment=text, now=now)


@dataclass(frozen=True)
class ReviewedAlerts:
    """One page of alerts, newest first, each with its ``review`` state; ``total`` matches."""

    total: int
    items: list[dict[str, Any]]


def list_reviewed_alerts(
    journal: Journal,
    *,
    qualification: str | None = None,
    acknowledged: bool | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    camera_id: str | None = None,
    event: str | None = None,
    cameras: Iterable[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> ReviewedAlerts:
    """Alerts with their review state, filtered in SQL.

    ``qualification``: ``vrai_positif``, ``faux_positif`` (the *latest* qualification) or
    ``non_qualifiee``; ``acknowledged``: True / False; ``since`` (inclusive) and ``until``
    (exclusive) bound the alert's UTC time; ``cameras`` restricts to those cameras (a user's
    profile), on top of ``camera_id``.
    """
    if qualification is not None and qualification not in (*QUALIFICATIONS, NOT_QUALIFIED):
        raise ReviewError(
            f"filtre de qualification inconnu : {qualification!r}"
            f" (attendu : {', '.join((*QUALIFICATIONS, NOT_QUALIFIED))})"
        )
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise ReviewError(f"pagination invalide (1 ≤ limit ≤ {MAX_PAGE}, offset ≥ 0)")
    a = entries
    conds: list[ColumnElement[bool]] = [a.c.kind == "alert"]
    if since is not None:
        conds.append(a.c.utc >= _period_bound(since))
    if until is not None:
        conds.append(a.c.utc < _period_bound(until))
    if camera_id:
        conds.append(a.c.camera_id == camera_id)
    if cameras is not None:
        conds.append(a.c.camera_id.in_(sorted(set(cameras))))
    if event:
        conds.append(a.c.event == event)

    # reviews always come after their alert: skip the reviews older than the period's first
    after = 0
    if since is not None and (acknowledged is not None or qualification is not None):
        with journal.engine.connect() as conn:
            first = conn.execute(select(func.min(a.c.seq)).where(*conds)).scalar()
        after = int(first) - 1 if first is not None else 0

    r = entries.alias("r")
    r_aid = json_text(journal, r.c.payload, "alert_id")
    r_action = json_text(journal, r.c.payload, "action")
    if acknowledged is not None:
        acked = select(r_aid).where(
            r.c.kind == REVIEW, r.c.seq > after, r_action == "acknowledge", r_aid.is_not(None)
        )
        conds.append(a.c.id.in_(acked) if acknowledged else a.c.id.not_in(acked))
    if qualification is not None:
        latest = (
            select(r_aid.label("aid"), func.max(r.c.seq).label("mseq"))
            .where(r.c.kind == REVIEW, r.c.seq > after, r_action == "qualify")
            .group_by(r_aid)
            .subquery("latest")
        )
        if qualification == NOT_QUALIFIED:
            conds.append(a.c.id.not_in(select(latest.c.aid).where(latest.c.aid.is_not(None))))
        else:
            q = entries.alias("q")
            q_ids = (
                select(latest.c.aid)
                .join(q, q.c.seq == latest.c.mseq)
                .where(json_text(journal, q.c.payload, "qualification") == qualification)
            )
            conds.append(a.c.id.in_(q_ids))

    with journal.engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(a).where(*conds)).scalar_one())
        rows = conn.execute(
            select(a.c.seq, a.c.payload, a.c.hash)
            .where(*conds)
            .order_by(a.c.seq.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        items = [{**json.loads(row.payload), "seq": row.seq, "hash": row.hash} for row in rows]
        states = {it["id"]: ReviewState(it["id"]) for it in items}
        if items:
            first_seq = min(int(row.seq) for row in rows)
            for (payload,) in conn.execute(_reviews_of(journal, states, first_seq)):
                rv = json.loads(payload)
                states[rv["alert_id"]].apply(rv)
    for it in items:
        it["review"] = states[it["id"]].to_dict()
    return ReviewedAlerts(total, items)
