"""Retention of journal entries and snapshot files, and the purge that enforces it (EX-043/44).

An administrator sets a period in days per kind (``alert``, ``review``, ``control``, and
``snapshot`` files in a folder); ``None`` keeps that kind. :func:`purge` deletes what is older
than its period and journals what it did as a ``purge`` entry (counts per kind, cut-offs,
period, and the *anchor*: seq and hash of the last deleted entry), so the hash chain stays
verifiable (:meth:`Journal.verify` accepts a chain that starts at that anchor).

Design choice: the chain can only lose its *oldest* entries without a hole, so a purge deletes
the oldest **contiguous prefix** of entries whose retention has expired; the first entry that
must be kept (a kind with a longer period, a kind kept forever, or any kind the policy does not
name) stops the prefix, and entries after it wait for a later purge. Earlier ``purge`` entries
inside the prefix go too: the new one carries the running totals (``totals``) and names the
latest one it replaces (``previous_purge``). See docs/journal.md.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import and_, false, func, or_, select

from veilleur.runtime.config import ConfigError, format_errors, read_yaml
from veilleur.runtime.journal.repository import Journal, entries

ENTRY_KINDS = ("alert", "review", "control", "audit")
"""Journal entry kinds a policy may expire (``purge`` entries are handled by the purge)."""

MAX_DAYS = 36_500


class RetentionPolicy(BaseModel):
    """Retention in days per kind; ``None`` keeps that kind for good."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alert: int | None = Field(default=None, ge=1, le=MAX_DAYS, description="Alert entries.")
    review: int | None = Field(
        default=None, ge=1, le=MAX_DAYS, description="Operator review entries."
    )
    control: int | None = Field(
        default=None, ge=1, le=MAX_DAYS, description="Control (stop, switch, config) entries."
    )
    audit: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DAYS,
        description="Connection and usage logs (the audit log, its own journal).",
    )
    snapshot: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DAYS,
        description="Snapshot image files (video-protection rules apply).",
    )

    def days(self) -> dict[str, int | None]:
        return {"alert": self.alert, "review": self.review, "control": self.control,
                "audit": self.audit, "snapshot": self.snapshot}  # fmt: skip


def load_policy(path: Path | str) -> RetentionPolicy:
    """Read a retention policy YAML (``alert: 30``, ``review: 365``...).

    Raises:
        ConfigError: naming the file and each offending field (unknown fields included).
    """
    path = Path(path)
    doc = read_yaml(path, "the retention policy")
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        return RetentionPolicy.model_validate(doc)
    except ValidationError as err:
        raise ConfigError(format_errors(str(path), err, "retention policy")) from None


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class PurgeReport:
    """What one purge did; ``entry`` is the ``purge`` journal entry (None: nothing to do)."""

    counts: dict[str, int]
    cutoffs: dict[str, str | None]
    entry: dict[str, Any] | None = None
    snapshot_errors: list[str] = field(default_factory=list)

    @property
    def deleted(self) -> int:
        return sum(self.counts.values())


def cutoffs(policy: RetentionPolicy, now: datetime) -> dict[str, str | None]:
    """ISO-8601 UTC cut-off per kind: what is strictly older is expired (None: kept)."""
    return {
        kind: None if days is None else _iso(now - timedelta(days=days))
        for kind, days in policy.days().items()
    }


def _purge_snapshots(folder: Path, cutoff: datetime) -> tuple[int, list[str]]:
    """Delete regular files under ``folder`` last modified before ``cutoff``."""
    limit = cutoff.timestamp()
    n, errors = 0, []
    for p in sorted(folder.rglob("*")):
        try:
            if p.is_symlink() or not p.is_file() or p.stat().st_mtime >= limit:
                continue
            p.unlink()
            n += 1
        except OSError as exc:
            errors.append(f"{p}: {exc.strerror}")
    return n, errors


def _expired_prefix(journal: Journal, cuts: dict[str, str | None]) -> int | None:
    """The seq of the last entry of the oldest run of expired entries (None: no such run)."""
    expired = [
        and_(entries.c.kind == kind, entries.c.utc < cut)
        for kind, cut in cuts.items()
        if kind in ENTRY_KINDS and cut is not None
    ]
    # a purge entry is superseded by the new one, which carries its totals
    is_expired = or_(entries.c.kind == "purge", *expired) if expired else false()
    with journal.engine.connect() as conn:
        stop = conn.execute(
            select(entries.c.seq).where(~is_expired).order_by(entries.c.seq).limit(1)
        ).scalar()
        q = select(func.max(entries.c.seq))
        if stop is not None:
            q = q.where(entries.c.seq < stop)
        last = conn.execute(q).scalar()
    return None if last is None else int(last)


def purge(
    journal: Journal,
    policy: RetentionPolicy,
    now: datetime,
    actor: str,
    snapshot_dir: Path | None = None,
) -> PurgeReport:
    """Delete what the policy says has expired at ``now``; journal it as one ``purge`` entry.

    Journal entries: the oldest contiguous run of expired entries (see the module docstring).
    Snapshots: files under ``snapshot_dir`` whose modification time is before the cut-off.
    Running it again with the same ``now`` deletes nothing and writes nothing.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    cuts = cutoffs(policy, now)
    counts: dict[str, int] = dict.fromkeys((*ENTRY_KINDS, "purge", "snapshot"), 0)
    snapshot_errors: list[str] = []
    if snapshot_dir is not None and policy.snapshot is not None and snapshot_dir.is_dir():
        counts["snapshot"], snapshot_errors = _purge_snapshots(
            snapshot_dir, now - timedelta(days=policy.snapshot)
        )

    last = _expired_prefix(journal, cuts)
    rows: dict[str, Any] = {}
    previous: dict[str, Any] | None = None
    if last is not None:
        upto = entries.c.seq <= last
        with journal.engine.connect() as conn:
            for kind, n in conn.execute(
                select(entries.c.kind, func.count()).where(upto).group_by(entries.c.kind)
            ):
                counts[str(kind)] = counts.get(str(kind), 0) + int(n)
            rows = dict(
                conn.execute(
                    select(
                        func.min(entries.c.utc).label("oldest"),
                        func.max(entries.c.utc).label("newest"),
                    ).where(upto, entries.c.kind != "purge")
                )
                .one()
                ._mapping
            )
            anchor_hash = conn.execute(
                select(entries.c.hash).where(entries.c.seq == last)
            ).scalar_one()

    deleted_entries = sum(counts[k] for k in ENTRY_KINDS)
    if deleted_entries or counts["snapshot"]:
        # the latest purge entry (kept or about to go): running totals and back-reference
        with journal.engine.connect() as conn:
            prev_payload = conn.execute(
                select(entries.c.payload)
                .where(entries.c.kind == "purge")
                .order_by(entries.c.seq.desc())
                .limit(1)
            ).scalar()
        if prev_payload is not None:
            previous = json.loads(prev_payload)
    if deleted_entries == 0 and counts["snapshot"] == 0:
        # only earlier purge entries (or nothing) would go: keep the journal as it is
        return PurgeReport(
            counts=dict.fromkeys(counts, 0), cutoffs=cuts, snapshot_errors=snapshot_errors
        )
    if deleted_entries == 0:
        counts["purge"] = 0
        last = None

    prev_totals: dict[str, int] = dict(previous.get("totals", {})) if previous else {}
    totals = {k: prev_totals.get(k, 0) + counts[k] for k in counts if k != "purge"}
    payload: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "utc": _iso(now),
        "actor": actor,
        "policy_days": policy.days(),
        "cutoffs": cuts,
        "counts": counts,
        "totals": totals,
        "period": (
            {"from": rows.get("oldest"), "to": rows.get("newest")} if last is not None else None
        ),
        "previous_purge": (
            {"id": previous["id"], "utc": previous["utc"]} if previous is not None else None
        ),
        "snapshot_errors": snapshot_errors,
        "anchor": None,
        "first_seq": None,
    }
    if last is None:
        entry = journal.append("purge", payload)
    else:
        payload["anchor"] = {"seq": last, "hash": anchor_hash}
        payload["first_seq"] = journal.head_seq()
        entry = journal.delete_through(
            last, anchor_hash, sum(counts[k] for k in (*ENTRY_KINDS, "purge")), payload
        )
    return PurgeReport(counts=counts, cutoffs=cuts, entry=entry, snapshot_errors=snapshot_errors)
