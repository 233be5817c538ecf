"""Streamed journal exports (EX-014, EX-015): formats, filters, headers, bounded memory."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from postgres_fixture import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests_helpers import sample_alert

from veilleur.runtime.core.events import EventType
from veilleur.runtime.journal.export import (
    ALERT_COLUMNS,
    GENERIC_COLUMNS,
    ExportError,
    ExportFilter,
    export,
)
from veilleur.runtime.journal.repository import GENESIS, Journal, metadata

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("xlsxwriter")


def _alert(i: int, utc: str, camera: str = "cam-1", event: EventType = EventType.FRANCHISSEMENT):
    a = sample_alert(i, camera=camera, event=event)
    a["utc"] = utc
    return a


@pytest.fixture(params=["sqlite", "postgresql"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Journal, list[str]]:
    """6 alerts on 2 cameras / 2 events over 3 days, 3 reviews (one superseded), 1 control."""
    if request.param == "postgresql":
        j = Journal(request.getfixturevalue("postgres_url"))
    else:
        j = Journal(tmp_path / "j.db")
    spec = [
        ("2026-06-01T08:00:00.000+00:00", "cam-1", EventType.FRANCHISSEMENT),
        ("2026-06-01T09:30:00.000+00:00", "cam-2", EventType.FRANCHISSEMENT),
        ("2026-06-02T10:00:00.000+00:00", "cam-1", EventType.FEU),
        ("2026-06-02T22:30:00.000+00:00", "cam-2", EventType.FEU),
        ("2026-06-03T00:15:00.000+00:00", "cam-1", EventType.FRANCHISSEMENT),
        ("2026-06-03T12:00:00.000+00:00", "cam-1", EventType.FEU),
    ]
    ids = [j.append("alert", _alert(i, *s))["id"] for i, s in enumerate(spec)]
    j.append("control", {"id": "c1", "utc": "2026-06-01T08:05:00.000+00:00", "action": "pause"})
    for n, (aid, q) in enumerate(
        [
            (ids[0], "true_positive"),
            (ids[1], "true_positive"),
            (ids[1], "false_positive"),
            (ids[2], "true_positive"),
        ]
    ):
        j.append(
            "review",
            {
                "id": f"r{n}",
                "utc": f"2026-06-04T0{n}:00:00.000+00:00",
                "alert_id": aid,
                "qualification": q,
                "user": "op",
                "comment": "vu ✓",
            },
        )
    return j, ids


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.req("EX-014", "EX-015")
@pytest.mark.parametrize("suffix", ["csv", "jsonl", "json", "parquet", "feather", "xlsx"])
def test_every_format_has_the_same_rows_and_columns(journal, tmp_path: Path, suffix: str):
    j, ids = journal
    out = tmp_path / f"alerts.{suffix}"
    r = export(j, out, ExportFilter())
    assert r.rows == 6 and r.format == suffix
    names = [c for c, _ in ALERT_COLUMNS]
    if suffix == "csv":
        rows = _csv(out)
        assert list(rows[0]) == names
        got_ids = [x["id"] for x in rows]
    elif suffix == "jsonl":
        recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert list(recs[0]) == names
        got_ids = [x["id"] for x in recs]
    elif suffix == "json":
        recs = json.loads(out.read_text(encoding="utf-8"))
        got_ids = [x["id"] for x in recs]
        assert recs[1]["qualification"] == "false_positive"  # the latest review wins
        assert recs[1]["reviewer"] == "op" and recs[1]["review_comment"] == "vu ✓"
        assert json.loads(recs[0]["boxes"]) == [[0.1, 0.2, 0.3, 0.4]]
    elif suffix in ("parquet", "feather"):
        t = pq.read_table(out) if suffix == "parquet" else pa.ipc.open_file(out).read_all()
        assert t.column_names == names
        assert t.schema.field("confidence").type == pa.float64()
        assert t.schema.field("seq").type == pa.int64()
        got_ids = t.column("id").to_pylist()
    else:
        with zipfile.ZipFile(out) as z:
            sheet = z.read("xl/worksheets/sheet1.xml").decode()
        assert sheet.count("<row ") == 7  # header + 6
        got_ids = [i for i in ids if i in sheet]
    assert got_ids == ids


@pytest.mark.req("EX-014")
def test_filters_period_camera_event_qualification(journal, tmp_path: Path):
    j, ids = journal

    def ids_of(**kw: object) -> list[str]:
        out = tmp_path / "f.csv"
        export(j, out, ExportFilter(**kw))  # type: ignore[arg-type]
        return [r["id"] for r in _csv(out)]

    assert ids_of(since="2026-06-02", until="2026-06-03T00:15:00Z") == ids[2:4]
    assert ids_of(since="2026-06-02T12:00:00+02:00") == ids[2:]  # 10:00 UTC inclusive
    assert ids_of(camera_id="cam-2") == [ids[1], ids[3]]
    assert ids_of(event="feu", camera_id="cam-1") == [ids[2], ids[5]]
    assert ids_of(qualification="true_positive") == [ids[0], ids[2]]
    assert ids_of(qualification="faux_positif") == [ids[1]]
    assert ids_of(qualification="unreviewed") == ids[3:]
    with pytest.raises(ExportError, match="période vide"):
        ExportFilter(since="2026-06-03", until="2026-06-02")
    with pytest.raises(ExportError, match="qualification inconnue"):
        ExportFilter(qualification="peut-être")
    with pytest.raises(ExportError, match="date invalide"):
        ExportFilter(since="hier")
    with pytest.raises(ExportError, match="extension inconnue"):
        export(j, tmp_path / "x.txt")


@pytest.mark.req("EX-014")
def test_other_kinds_and_french_headers(journal, tmp_path: Path):
    j, ids = journal
    out = tmp_path / "all.csv"
    r = export(j, out, ExportFilter(kinds=()), french_headers=True, tz="Europe/Paris")
    rows = _csv(out)
    assert r.rows == 11
    assert list(rows[0])[:5] == [
        "numero",
        "identifiant",
        "type_entree",
        "horodatage_utc",
        "heure_locale",
    ]
    assert [x["type_entree"] for x in rows].count("review") == 4
    assert rows[0]["heure_locale"] == "2026-06-01T10:00:00.000+02:00"
    reviews = _csv(out) and [x for x in rows if x["type_entree"] == "review"]
    assert reviews[2]["identifiant_alerte"] == ids[1]
    assert reviews[2]["qualification"] == "false_positive"
    assert json.loads(reviews[2]["contenu"])["comment"] == "vu ✓"
    out2 = tmp_path / "control.jsonl"
    export(j, out2, ExportFilter(kinds=("control",)))
    (rec,) = [json.loads(x) for x in out2.read_text().splitlines()]
    assert list(rec) == [c for c, _ in GENERIC_COLUMNS]
    assert json.loads(rec["payload"])["action"] == "pause"
    with pytest.raises(ExportError, match="qualification"):
        export(j, out2, ExportFilter(kinds=("control",), qualification="tp"))


def test_xlsx_never_turns_text_into_formulas(tmp_path: Path):
    j = Journal(tmp_path / "j.db")
    j.append("alert", sample_alert(1, camera='=HYPERLINK("http://x","clic")'))
    export(j, tmp_path / "a.xlsx")
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "HYPERLINK" in sheet


def test_empty_exports_are_valid_files(tmp_path: Path):
    j = Journal(tmp_path / "empty.db")
    for suffix in ("csv", "json", "parquet", "feather", "xlsx"):
        assert export(j, tmp_path / f"e.{suffix}").rows == 0
    assert json.loads((tmp_path / "e.json").read_text()) == []
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 0


def fill_fast(db: Path, n: int) -> None:
    """``n`` alerts written by one executemany (no per-row commit; chain fields are dummies)."""
    Journal(db)  # schema
    template = sample_alert(0)
    rows = []
    for i in range(n):
        a = dict(
            template,
            id=str(uuid.UUID(int=i + 1)),
            frame_index=i,
            kind="alert",
            camera_id=f"cam-{i % 16}",
            utc=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00.000+00:00",
        )
        rows.append(
            (
                a["id"],
                "alert",
                a["utc"],
                a["camera_id"],
                a["event"],
                json.dumps(a, sort_keys=True, separators=(",", ":")),
                GENESIS,
                GENESIS,
            )
        )
    c = sqlite3.connect(db)
    try:
        with c:
            c.executemany(
                "INSERT INTO journal_entries (id, kind, utc, camera_id, event, payload, prev_hash,"
                " hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    finally:
        c.close()  # the last connection's close checkpoints the WAL, as a running journal does
    assert metadata.tables


_MEASURE = """
import json, sys, time
from pathlib import Path
from veilleur.runtime.journal.export import export, ExportFilter
import pyarrow, pyarrow.parquet, xlsxwriter
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
def hwm():  # peak RSS of this image (ru_maxrss would count the parent's, through the fork)
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) * 1024 for x in f if x.startswith("VmHWM"))
db, out = sys.argv[1], Path(sys.argv[2])
base = rss()
small = export(db, out, ExportFilter(until="2026-01-02"))  # pays the writers' fixed set-up
warm = hwm()
t = time.perf_counter()
r = export(db, out, ExportFilter())
dt = time.perf_counter() - t
print(json.dumps({"rows": r.rows, "small": small.rows, "seconds": dt, "setup": warm - base,
                  "growth": hwm() - warm, "total": hwm() - base}))
"""

N_BIG = 200_000
# Bounds. Measured here: pyarrow's Parquet writer costs a fixed ~85 MB the first time (codec,
# thread pools, allocator arenas; the same for 30k rows as for 200k), CSV ~10 MB. After that
# set-up the 200k-row export must add < 32 MB: one page of 2000 rows is ~2000 x 3 KB of
# Python objects (~6 MB), held twice (rows and records), plus SQLite's 2 MB page cache and one
# record batch in Arrow buffers. Holding the 200k alerts instead would take > 500 MB as Python
# dicts (~100 MB as JSON text), so a non-streamed implementation fails.
MAX_GROWTH = 32 * 2**20
MAX_TOTAL = 160 * 2**20


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.req("EX-014")
def test_export_of_200k_alerts_runs_in_bounded_memory(tmp_path: Path, repo_root: Path):
    db = tmp_path / "big.db"
    fill_fast(db, N_BIG)
    for suffix in ("csv", "parquet"):
        out = tmp_path / f"big.{suffix}"
        res = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(db), str(out)],
            capture_output=True,
            text=True,
            cwd=repo_root,
            check=True,
        )
        m = json.loads(res.stdout.strip().splitlines()[-1])
        print(suffix, m, f"{m['rows'] / m['seconds']:.0f} rows/s")
        assert m["rows"] == N_BIG and 0 < m["small"] < N_BIG / 50
        assert m["growth"] < MAX_GROWTH, m
        assert m["total"] < MAX_TOTAL, m
    assert pq.ParquetFile(tmp_path / "big.parquet").metadata.num_rows == N_BIG
