"""Append-only, hash-chained journal of alerts (and later reviews and admin actions).

Every entry stores ``hash = sha256(prev_hash + canonical JSON of the entry)``; editing or
deleting a row breaks the chain at that row, which :meth:`Journal.verify` reports. SQLite in
WAL mode is the embedded default; any SQLAlchemy URL (PostgreSQL) works with the same schema.
An alert is durable (committed) before :meth:`Journal.append` returns, so it is written
before it is notified.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.engine import Engine

GENESIS = "0" * 64

metadata = MetaData()
entries = Table(
    "journal_entries",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("kind", String(16), nullable=False, index=True),
    Column("utc", String(32), nullable=False, index=True),
    Column("camera_id", String(64), index=True),
    Column("event", String(32), index=True),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# Statements of every append, built once (SQLAlchemy then reuses their compiled form).
_LAST_HASH = select(entries.c.hash).order_by(entries.c.seq.desc()).limit(1)
_INSERT = entries.insert()


def _canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + _canonical(payload)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    first_broken_seq: int | None = None
    reason: str | None = None


SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another one (a busy node, a purge) before failing."""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own implicit BEGIN is off: _sqlite_begin emits it, so that appends can
    # take the write lock at once (BEGIN IMMEDIATE) instead of failing to upgrade a read.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # Wait for another writer first: switching to WAL needs the lock too, and an alert write
    # must wait its turn (up to SQLITE_BUSY_TIMEOUT_MS) rather than fail.
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # Switching to WAL can fail at once with "database is locked" (SQLite does not call the
    # busy handler for it) while another process writes: retry for up to 10 s.
    for attempt in range(200):
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 199:
                raise
            time.sleep(0.05)
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    """``BEGIN``, or ``BEGIN IMMEDIATE`` on a connection with ``sqlite_begin="IMMEDIATE"``."""
    mode = conn.get_execution_options().get("sqlite_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


def engine_for(url_or_path: str | Path) -> Engine:
    """SQLAlchemy engine from a URL, or from a file path (SQLite, WAL mode)."""
    url = str(url_or_path)
    if "://" not in url:
        Path(url).parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{url}"
    sqlite = url.startswith("sqlite")
    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000} if sqlite else {}
    eng = create_engine(url, future=True, connect_args=connect_args)
    if eng.dialect.name == "sqlite":
        event.listen(eng, "connect", _sqlite_pragmas)
        event.listen(eng, "begin", _sqlite_begin)
    return eng


class Journal:
    """The alert journal. Appends are serialised within a process (a lock) and across
    processes and nodes by the database (SQLite's write lock, a PostgreSQL table lock), so the
    hash chain stays one unbroken chain whatever the number of writers."""

    def __init__(self, url_or_path: str | Path) -> None:
        from veilleur.runtime.journal.migrations import upgrade_to_head

        self.engine = engine_for(url_or_path)
        upgrade_to_head(self.engine)  # Alembic `upgrade head`; stamps pre-Alembic journals
        self._lock = threading.Lock()

    def append(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Durably append one entry; returns it with its ``seq`` and ``hash``."""
        with (
            self._lock,
            self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn,
            conn.begin(),
        ):
            if conn.dialect.name == "postgresql":
                # One writer at a time on the chain head, across nodes; readers are not blocked.
                # Released at commit, after which the next writer reads this entry as its last.
                conn.execute(text("LOCK TABLE journal_entries IN EXCLUSIVE MODE"))
            last = conn.execute(_LAST_HASH).scalar()
            prev = last or GENESIS
            body = {"kind": kind, **payload}
            h = chain_hash(prev, body)
            result = conn.execute(
                _INSERT,
                {
                    "id": payload["id"],
                    "kind": kind,
                    "utc": payload["utc"],
                    "camera_id": payload.get("camera_id"),
                    "event": payload.get("event"),
                    "payload": _canonical(body),
                    "prev_hash": prev,
                    "hash": h,
                },
            )
            seq = result.inserted_primary_key[0] if result.inserted_primary_key else None
        return {**body, "seq": seq, "hash": h}

    def list(
        self,
        kind: str | None = None,
        camera_id: str | None = None,
        event_type: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        q = select(entries.c.seq, entries.c.payload, entries.c.hash).order_by(entries.c.seq.desc())
        if kind:
            q = q.where(entries.c.kind == kind)
        if camera_id:
            q = q.where(entries.c.camera_id == camera_id)
        if event_type:
            q = q.where(entries.c.event == event_type)
        q = q.limit(limit).offset(offset)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [{**json.loads(r.payload), "seq": r.seq, "hash": r.hash} for r in rows]

    def count(self, kind: str | None = None) -> int:
        q = select(func.count()).select_from(entries)
        if kind:
            q = q.where(entries.c.kind == kind)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def iter_all(self) -> Iterator[tuple[int, str, str, str]]:
        q = select(entries.c.seq, entries.c.payload, entries.c.prev_hash, entries.c.hash)
        with self.engine.connect() as conn:
            for r in conn.execute(q.order_by(entries.c.seq)):
                yield int(r.seq), str(r.payload), str(r.prev_hash), str(r.hash)

    def head_seq(self) -> int | None:
        """The smallest ``seq`` still in the journal (None when empty)."""
        with self.engine.connect() as conn:
            v = conn.execute(select(func.min(entries.c.seq))).scalar()
        return None if v is None else int(v)

    def delete_through(
        self, through_seq: int, expected_hash: str, expected_count: int, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Delete the oldest entries up to ``through_seq`` and append a ``purge`` entry, atomically.

        The ``purge`` entry (``payload``, which should name the anchor: the seq and hash of
        the last deleted entry) is chained to the current last entry before the prefix goes,
        so the chain continues; :meth:`verify` then accepts a first entry whose previous hash
        is that anchor. Nothing is changed when the entry at ``through_seq`` no longer has
        ``expected_hash`` or the prefix no longer holds ``expected_count`` entries (a
        concurrent purge): :class:`ValueError`.
        """
        with (
            self._lock,
            self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn,
            conn.begin(),
        ):
            if conn.dialect.name == "postgresql":  # the same writer lock as append
                conn.execute(text("LOCK TABLE journal_entries IN EXCLUSIVE MODE"))
            anchor = conn.execute(
                select(entries.c.hash).where(entries.c.seq == through_seq)
            ).scalar()
            if anchor != expected_hash:
                raise ValueError(f"entry {through_seq} changed or is gone: purge abandoned")
            last = conn.execute(_LAST_HASH).scalar()
            prev = last or GENESIS
            body = {"kind": "purge", **payload}
            h = chain_hash(prev, body)
            result = conn.execute(
                entries.insert().values(
                    id=payload["id"],
                    kind="purge",
                    utc=payload["utc"],
                    camera_id=None,
                    event=None,
                    payload=_canonical(body),
                    prev_hash=prev,
                    hash=h,
                )
            )
            seq = result.inserted_primary_key[0] if result.inserted_primary_key else None
            deleted = conn.execute(entries.delete().where(entries.c.seq <= through_seq)).rowcount
            if deleted != expected_count:
                raise ValueError(
                    f"{deleted} entries up to {through_seq}, expected {expected_count}:"
                    " purge abandoned"
                )
        return {**body, "seq": seq, "hash": h}

    def verify(self) -> VerifyResult:
        """Recompute the chain; report the first entry whose link or content is broken.

        The first entry follows the genesis hash, or, once a purge removed the oldest
        entries, the anchor (hash of the last purged entry) that the latest ``purge`` entry
        with an anchor records; that entry is itself verified like every other one.
        """
        prev: str | None = None
        head_seq: int | None = None
        head_prev = GENESIS
        anchor: str | None = None
        n = 0
        for seq, payload, prev_hash, h in self.iter_all():
            n += 1
            if prev is None:  # the first remaining entry
                head_seq, head_prev, prev = seq, prev_hash, prev_hash
            if prev_hash != prev:
                return VerifyResult(False, n, seq, "previous-hash link broken (entry removed?)")
            body = json.loads(payload)
            if chain_hash(prev, body) != h:
                return VerifyResult(False, n, seq, "content does not match its hash (edited?)")
            if body.get("kind") == "purge" and isinstance(body.get("anchor"), dict):
                anchor = body["anchor"].get("hash")
            prev = h
        if head_seq is not None and head_prev != GENESIS and head_prev != anchor:
            return VerifyResult(
                False,
                n,
                head_seq,
                "previous-hash link broken: the first entry follows neither the genesis nor"
                " the anchor of the latest purge (entries removed?)",
            )
        return VerifyResult(True, n)
