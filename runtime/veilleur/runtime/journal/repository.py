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
import threading
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


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def engine_for(url_or_path: str | Path) -> Engine:
    """SQLAlchemy engine from a URL, or from a file path (SQLite, WAL mode)."""
    url = str(url_or_path)
    if "://" not in url:
        Path(url).parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{url}"
    eng = create_engine(url, future=True)
    if eng.dialect.name == "sqlite":
        event.listen(eng, "connect", _sqlite_pragmas)
    return eng


class Journal:
    """The alert journal. Thread-safe for appends within one process."""

    def __init__(self, url_or_path: str | Path) -> None:
        self.engine = engine_for(url_or_path)
        metadata.create_all(self.engine)
        self._lock = threading.Lock()

    def append(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Durably append one entry; returns it with its ``seq`` and ``hash``."""
        with self._lock, self.engine.begin() as conn:
            last = conn.execute(
                select(entries.c.hash).order_by(entries.c.seq.desc()).limit(1)
            ).scalar()
            prev = last or GENESIS
            body = {"kind": kind, **payload}
            h = chain_hash(prev, body)
            result = conn.execute(
                entries.insert().values(
                    id=payload["id"],
                    kind=kind,
                    utc=payload["utc"],
                    camera_id=payload.get("camera_id"),
                    event=payload.get("event"),
                    payload=_canonical(body),
                    prev_hash=prev,
                    hash=h,
                )
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

    def verify(self) -> VerifyResult:
        """Recompute the chain; report the first entry whose link or content is broken."""
        prev = GENESIS
        n = 0
        for seq, payload, prev_hash, h in self.iter_all():
            n += 1
            if prev_hash != prev:
                return VerifyResult(False, n, seq, "previous-hash link broken (entry removed?)")
            if chain_hash(prev, json.loads(payload)) != h:
                return VerifyResult(False, n, seq, "content does not match its hash (edited?)")
            prev = h
        return VerifyResult(True, n)
