"""The alert journal on both storage backends (EX-014): SQLite in WAL mode, the embedded
default, and PostgreSQL for several runtime nodes writing one journal. Same schema (Alembic
migrations), same hash chain, one unbroken chain with concurrent writers."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from tests_helpers import sample_alert

from veilleur.runtime.journal.migrations import BASELINE, current_revision, head_revision
from veilleur.runtime.journal.repository import (
    GENESIS,
    Journal,
    chain_hash,
    engine_for,
    entries,
    metadata,
)


def _exec(journal: Journal, sql: str) -> None:
    """Tamper with the table behind the journal's back, as an attacker with DB access would."""
    with journal.engine.begin() as conn:
        conn.execute(text(sql))


@pytest.mark.req("EX-014")
def test_append_list_and_verify(journal_url: str):
    j = Journal(journal_url)
    for i in range(5):
        j.append("alert", sample_alert(i))
    assert j.count("alert") == 5
    items = j.list("alert", limit=2)
    assert [it["frame_index"] for it in items] == [40, 30]
    assert items[0]["label_fr"] == "Franchissement"
    assert [it["seq"] for it in j.list("alert")] == [5, 4, 3, 2, 1]
    assert j.verify().ok and j.verify().entries == 5
    if j.engine.dialect.name == "sqlite":
        with j.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    # reopening (a restart) keeps the chain going
    j.engine.dispose()
    j2 = Journal(journal_url)
    j2.append("alert", sample_alert(5))
    assert j2.verify().ok and j2.verify().entries == 6


@pytest.mark.req("EX-014")
@pytest.mark.parametrize(
    ("sql", "seq", "reason"),
    [
        (
            "UPDATE journal_entries SET payload = replace(payload, '0.9', '0.1') WHERE seq = 3",
            3,
            "content",
        ),
        ("DELETE FROM journal_entries WHERE seq = 2", 3, "link"),
    ],
)
def test_tampering_is_detected(journal_url: str, sql: str, seq: int, reason: str):
    j = Journal(journal_url)
    for i in range(5):
        j.append("alert", sample_alert(i))
    _exec(j, sql)
    r = j.verify()
    assert not r.ok
    assert r.first_broken_seq == seq
    assert reason in (r.reason or "")


@pytest.mark.req("EX-014")
def test_fresh_journal_is_migrated_to_head(journal_url: str):
    j = Journal(journal_url)
    assert current_revision(j.engine) == head_revision()
    with j.engine.connect() as c:
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            head_revision()
        )
    # a second start finds nothing to do
    Journal(journal_url)
    assert current_revision(j.engine) == head_revision()


@pytest.mark.req("EX-014")
def test_pre_alembic_journal_is_stamped_not_recreated(journal_url: str):
    """A journal from before Alembic (tables made by ``create_all``, no ``alembic_version``)
    is stamped at the baseline revision and keeps its entries and chain."""
    eng = engine_for(journal_url)
    metadata.create_all(eng)
    body = {"kind": "alert", **sample_alert(0)}
    payload = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    row = {k: body[k] for k in ("id", "kind", "utc", "camera_id", "event")}
    with eng.begin() as c:
        c.execute(
            entries.insert().values(
                **row, payload=payload, prev_hash=GENESIS, hash=chain_hash(GENESIS, body)
            )
        )
    assert not inspect(eng).has_table("alembic_version")
    eng.dispose()
    j = Journal(journal_url)
    assert current_revision(j.engine) == BASELINE == head_revision()
    assert j.count() == 1 and j.verify().ok
    j.append("alert", sample_alert(1))
    assert j.count() == 2 and j.verify().ok


@pytest.mark.req("EX-014")
def test_migrated_schema_is_the_tables_schema(journal_url: str):
    """What the migrations build is exactly what the code's metadata declares, on both
    backends (Alembic's autogenerate comparison finds no difference)."""
    j = Journal(journal_url)
    with j.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), metadata)
        cols = {
            col["name"]: (str(col["type"]).split("(")[0], col["nullable"])
            for col in inspect(c).get_columns("journal_entries")
        }
        idx = {tuple(i["column_names"]) for i in inspect(c).get_indexes("journal_entries")}
        uniq = [u["column_names"] for u in inspect(c).get_unique_constraints("journal_entries")]
    assert diff == []
    assert set(cols) == {c.name for c in entries.columns}
    assert {n for n, (_, nullable) in cols.items() if nullable} == {"camera_id", "event"}
    assert {("kind",), ("utc",), ("camera_id",), ("event",)} <= idx
    assert ["id"] in uniq or ("id",) in idx


_WRITER = r"""
import sys, time
from veilleur.runtime.journal.repository import Journal
url, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
j = Journal(url)
print("READY", flush=True)
sys.stdin.readline()
for i in range(n):
    j.append("alert", {"id": f"{tag}-{i}", "utc": "2026-11-28T12:00:00+00:00",
                       "camera_id": tag, "event": "intrusion", "i": i})
    time.sleep(0.002)  # alerts come in bursts, not back to back: lets SQLite's waiter in
print("DONE", flush=True)
"""


@pytest.mark.req("EX-014")
def test_concurrent_writers_keep_one_unbroken_chain(journal_url: str):
    """Two processes (two runtime nodes) append 200 alerts each, at the same time, to one
    journal: 400 entries, one chain that verifies, both writers interleaved."""
    n = 200
    if journal_url.startswith("sqlite"):
        # SQLite serves one node: its processes start one after the other, not at the same
        # instant (two first-time WAL switches can collide); concurrent *appends* are tested
        Journal(journal_url)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, journal_url, tag, str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("node-a", "node-b")
    ]
    try:
        for p in procs:  # both have migrated the (fresh) database concurrently, and wait
            assert p.stdout is not None and p.stdout.readline().strip() == "READY", (
                p.stderr.read() if p.stderr else ""
            )
        t0 = time.perf_counter()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [p.communicate(timeout=300) for p in procs]
        elapsed = time.perf_counter() - t0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0 and "DONE" in out, err[-3000:]
    j = Journal(journal_url)
    r = j.verify()
    assert r.ok, r
    assert r.entries == 2 * n == j.count()
    with j.engine.connect() as c:
        tags = [
            row[0] for row in c.execute(text("SELECT camera_id FROM journal_entries ORDER BY seq"))
        ]
    switches = sum(a != b for a, b in itertools.pairwise(tags))
    assert switches > 1, "the two writers never interleaved: the test proved nothing"
    print(f"{j.engine.dialect.name}: 2x{n} concurrent appends in {elapsed:.2f} s, "
          f"{switches} writer switches")  # fmt: skip
