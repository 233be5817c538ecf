"""Streamed exports of journal entries: CSV, JSON Lines, JSON array, Parquet, Feather, XLSX.

Memory stays bounded whatever the journal's size: entries are read by keyset pagination on
``seq`` (``seq > last ORDER BY seq LIMIT n``), and each page is written at once (CSV/JSON
line by line, Parquet and Feather as one record batch, XLSX through xlsxwriter's
constant-memory mode). Columns are flat and stable: lists and nested values are JSON strings.

Alerts are exported with the qualification of their latest review (a journal entry of kind
``review`` with ``alert_id`` and ``qualification``), joined in SQL.
"""

from __future__ import annotations

import csv
import functools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import JSON, ColumnElement, and_, cast, func, literal, literal_column, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select, Subquery

from veilleur.runtime.journal.repository import Journal, entries

Format = Literal["csv", "jsonl", "json", "parquet", "feather", "xlsx"]
FORMATS: Final[tuple[Format, ...]] = ("csv", "jsonl", "json", "parquet", "feather", "xlsx")
SUFFIXES: Final[dict[str, Format]] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".feather": "feather",
    ".arrow": "feather",
    ".xlsx": "xlsx",
}
PAGE_SIZE: Final = 2000
XLSX_MAX_ROWS: Final = 1_048_576  # Excel's limit per sheet, header included

# Qualification values of reviews, normalised (the review module may use either spelling).
TRUE_POSITIVE: Final = "true_positive"
FALSE_POSITIVE: Final = "false_positive"
UNREVIEWED: Final = "unreviewed"
_QUALIFICATION_ALIASES: Final[dict[str, str]] = {
    "true_positive": TRUE_POSITIVE,
    "tp": TRUE_POSITIVE,
    "vrai_positif": TRUE_POSITIVE,
    "true": TRUE_POSITIVE,
    "false_positive": FALSE_POSITIVE,
    "fp": FALSE_POSITIVE,
    "faux_positif": FALSE_POSITIVE,
    "false": FALSE_POSITIVE,
}

ColType = Literal["int", "float", "str"]
GENERIC_COLUMNS: Final[tuple[tuple[str, ColType], ...]] = (
    ("seq", "int"),
    ("id", "str"),
    ("kind", "str"),
    ("utc", "str"),
    ("local_time", "str"),
    ("camera_id", "str"),
    ("event", "str"),
    ("alert_id", "str"),
    ("qualification", "str"),
    ("payload", "str"),
    ("prev_hash", "str"),
    ("hash", "str"),
)
ALERT_COLUMNS: Final[tuple[tuple[str, ColType], ...]] = (
    ("seq", "int"),
    ("id", "str"),
    ("utc", "str"),
    ("local_time", "str"),
    ("camera_id", "str"),
    ("event", "str"),
    ("label_fr", "str"),
    ("severity", "str"),
    ("confidence", "float"),
    ("rule_id", "str"),
    ("zone", "str"),
    ("start_s", "float"),
    ("alert_s", "float"),
    ("frame_index", "int"),
    ("track_ids", "str"),
    ("boxes", "str"),
    ("classes", "str"),
    ("config_version", "str"),
    ("model_sha256", "str"),
    ("engine_version", "str"),
    ("qualification", "str"),
    ("reviewed_utc", "str"),
    ("reviewer", "str"),
    ("review_comment", "str"),
    ("hash", "str"),
)
FRENCH_HEADERS: Final[dict[str, str]] = {
    "seq": "numero",
    "id": "identifiant",
    "kind": "type_entree",
    "utc": "horodatage_utc",
    "local_time": "heure_locale",
    "camera_id": "camera",
    "event": "evenement",
    "label_fr": "libelle",
    "severity": "gravite",
    "confidence": "confiance",
    "rule_id": "regle",
    "zone": "zone",
    "start_s": "debut_s",
    "alert_s": "alerte_s",
    "frame_index": "indice_image",
    "track_ids": "pistes",
    "boxes": "boites",
    "classes": "classes",
    "config_version": "version_configuration",
    "model_sha256": "sha256_modele",
    "engine_version": "version_moteur",
    "alert_id": "identifiant_alerte",
    "qualification": "qualification",
    "reviewed_utc": "revue_utc",
    "reviewer": "relecteur",
    "review_comment": "commentaire_revue",
    "payload": "contenu",
    "prev_hash": "empreinte_precedente",
    "hash": "empreinte",
}


_ALERT_BODY: Final = tuple(
    c
    for c, _ in ALERT_COLUMNS
    if c not in ("seq", "local_time", "qualification", "reviewed_utc", "reviewer", "review_comment")
)


class ExportError(ValueError):
    """A bad export request (unknown format, bad period, bad qualification)."""


def utc_bound(value: str | datetime | None) -> str | None:
    """A period bound as the journal stores times (ISO 8601, UTC, milliseconds)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ExportError(f"date invalide (ISO 8601 attendu) : {value!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    except (OverflowError, ValueError):  # e.g. 0001-01-01T00:00+14:00 falls before year 1 UTC
        raise ExportError(f"date hors des limites représentables : {value.isoformat()!r}") from None


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_of(tz: str) -> ZoneInfo:
    """The IANA time zone ``tz``; only names of the time zone database are looked up, so no
    other file is ever opened (``../../etc/passwd``, ``zone.tab``…)."""
    if tz not in _known_zones():
        raise ExportError(f"fuseau horaire inconnu : {tz!r} (nom IANA attendu, ex. Europe/Paris)")
    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError, OSError):
        raise ExportError(f"fuseau horaire illisible : {tz!r}") from None


def normalise_qualification(value: str | None) -> str | None:
    if value is None:
        return None
    return _QUALIFICATION_ALIASES.get(value.strip().lower(), value.strip().lower())


@dataclass(frozen=True)
class ExportFilter:
    """Which entries to export. ``since`` is inclusive, ``until`` exclusive (UTC)."""

    since: str | datetime | None = None
    until: str | datetime | None = None
    camera_id: str | None = None
    event: str | None = None
    kinds: tuple[str, ...] = ("alert",)
    qualification: str | None = None  # true_positive | false_positive | unreviewed
    cameras: tuple[str, ...] | None = None  # a user's profile: only these cameras

    def __post_init__(self) -> None:
        s, u = utc_bound(self.since), utc_bound(self.until)
        if s is not None and u is not None and s >= u:
            raise ExportError(f"période vide : début {s} postérieur ou égal à la fin {u}")
        q = normalise_qualification(self.qualification)
        if q is not None and q not in (TRUE_POSITIVE, FALSE_POSITIVE, UNREVIEWED):
            raise ExportError(
                f"qualification inconnue : {self.qualification!r} "
                "(true_positive, false_positive ou unreviewed)"
            )


def json_field(engine: Engine, column: Any, key: str) -> ColumnElement[Any]:
    """``payload ->> key`` for SQLite and PostgreSQL (payload is JSON text)."""
    if not key.isidentifier():
        raise ValueError(f"bad JSON key {key!r}")
    # literal paths (keys are constants of this package), as in reviews.py: an expression
    # index on ``json_extract(payload, '$.alert_id')`` then serves the lookups
    if engine.dialect.name == "postgresql":
        return func.json_extract_path_text(cast(column, JSON), literal_column(f"'{key}'"))
    return func.json_extract(column, literal_column(f"'$.{key}'"))


def latest_reviews(engine: Engine) -> Subquery:
    """Per alert id, the latest review that carries a qualification (seq, utc, payload)."""
    r = entries.alias("r")
    aid = json_field(engine, r.c.payload, "alert_id")
    qual = json_field(engine, r.c.payload, "qualification")
    last = (
        select(aid.label("alert_id"), func.max(r.c.seq).label("mseq"))
        .where(r.c.kind == "review", qual.is_not(None))
        .group_by(aid)
        .subquery("last_review")
    )
    r2 = entries.alias("r2")
    return (
        select(
            last.c.alert_id,
            json_field(engine, r2.c.payload, "qualification").label("qualification"),
            r2.c.utc.label("reviewed_utc"),
            r2.c.payload.label("review_payload"),
        )
        .join(r2, r2.c.seq == last.c.mseq)
        .subquery("rq")
    )


def filter_conditions(flt: ExportFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if flt.kinds:
        conds.append(entries.c.kind.in_(list(flt.kinds)))
    since, until = utc_bound(flt.since), utc_bound(flt.until)
    if since is not None:
        conds.append(entries.c.utc >= since)
    if until is not None:
        conds.append(entries.c.utc < until)
    if flt.camera_id:
        conds.append(entries.c.camera_id == flt.camera_id)
    if flt.cameras is not None:
        conds.append(entries.c.camera_id.in_(sorted(set(flt.cameras))))
    if flt.event:
        conds.append(entries.c.event == flt.event)
    return conds


def _query(engine: Engine, flt: ExportFilter) -> Select[Any]:
    conds = filter_conditions(flt)
    cols: list[Any] = [
        entries.c.seq,
        entries.c.kind,
        entries.c.utc,
        entries.c.payload,
        entries.c.prev_hash,
        entries.c.hash,
    ]
    q = flt.qualification and normalise_qualification(flt.qualification)
    wants_reviews = "alert" in flt.kinds or not flt.kinds
    if not wants_reviews:
        if q:
            raise ExportError("le filtre de qualification ne s'applique qu'aux alertes")
        return select(*cols).where(*conds)
    rq = latest_reviews(engine)
    cols += [rq.c.qualification, rq.c.reviewed_utc, rq.c.review_payload]
    sel = select(*cols).select_from(
        entries.outerjoin(rq, and_(entries.c.kind == "alert", rq.c.alert_id == entries.c.id))
    )
    if q:
        conds.append(entries.c.kind == "alert")
        if q == UNREVIEWED:
            conds.append(rq.c.alert_id.is_(None))
        else:
            aliases = [k for k, v in _QUALIFICATION_ALIASES.items() if v == q]
            conds.append(or_(*(func.lower(rq.c.qualification) == literal(a) for a in aliases)))
    return sel.where(*conds)


def iter_pages(
    engine: Engine, flt: ExportFilter, page_size: int = PAGE_SIZE
) -> Iterator[Sequence[Any]]:
    """The matching rows, ``page_size`` at a time, by ``seq`` (keyset pagination)."""
    base = _query(engine, flt)
    last = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                base.where(entries.c.seq > last).order_by(entries.c.seq).limit(page_size)
            ).all()
        if not rows:
            return
        yield rows
        last = int(rows[-1].seq)
        if len(rows) < page_size:
            return


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_SCALARS: Final = (str, int, float, bool, type(None))


def _flat(value: Any) -> Any:
    """Scalars as they are; lists and objects as compact JSON text."""
    return value if type(value) in _SCALARS else _encode(value)


def _local(utc: str, tz: ZoneInfo) -> str:
    try:
        return datetime.fromisoformat(utc).astimezone(tz).isoformat(timespec="milliseconds")
    except ValueError:
        return ""


def _reviewer(review: dict[str, Any]) -> Any:
    for key in ("actor", "reviewer", "user", "username", "operator", "by"):
        if review.get(key) is not None:
            return review[key]
    return None


def row_to_record(row: Any, tz: ZoneInfo, alert_schema: bool) -> dict[str, Any]:
    """One flat record (column name → value) for a database row."""
    body: dict[str, Any] = json.loads(row.payload)
    qual = getattr(row, "qualification", None)
    if alert_schema:
        review: dict[str, Any] = json.loads(row.review_payload) if row.review_payload else {}
        rec = {name: _flat(body.get(name)) for name, _ in ALERT_COLUMNS if name in body}
        rec.update(
            seq=int(row.seq),
            utc=row.utc,
            local_time=_local(row.utc, tz),
            qualification=normalise_qualification(qual),
            reviewed_utc=row.reviewed_utc,
            reviewer=_flat(_reviewer(review)),
            review_comment=_flat(review.get("comment")),
            hash=row.hash,
        )
        return rec
    if row.kind == "review":
        qual = body.get("qualification")
    return {
        "seq": int(row.seq),
        "id": body.get("id"),
        "kind": row.kind,
        "utc": row.utc,
        "local_time": _local(row.utc, tz),
        "camera_id": _flat(body.get("camera_id")),
        "event": _flat(body.get("event")),
        "alert_id": _flat(body.get("alert_id")),
        "qualification": normalise_qualification(qual) if isinstance(qual, str) else None,
        "payload": row.payload,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def columns_for(flt: ExportFilter) -> tuple[tuple[str, ColType], ...]:
    return ALERT_COLUMNS if tuple(flt.kinds) == ("alert",) else GENERIC_COLUMNS


def format_for(path: Path, fmt: str | None = None) -> Format:
    if fmt:
        if fmt not in FORMATS:
            raise ExportError(f"format inconnu : {fmt!r} ({', '.join(FORMATS)})")
        return fmt
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ExportError(
            f"{path}: extension inconnue ; choisir un format parmi {', '.join(FORMATS)}"
        ) from None


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: Format
    rows: int
    bytes: int


RecordPages = Iterator[list[dict[str, Any]]]
Writer = Callable[[Path, list[str], list[ColType], list[str], RecordPages], int]


def _write_csv(
    path: Path, names: list[str], types: list[ColType], headers: list[str], pages: RecordPages
) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        for page in pages:
            w.writerows([[rec.get(c) for c in names] for rec in page])
            n += len(page)
    return n


def _write_jsonl(
    path: Path, names: list[str], types: list[ColType], headers: list[str], pages: RecordPages
) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for page in pages:
            fh.writelines(
                json.dumps(
                    {h: rec.get(c) for c, h in zip(names, headers, strict=True)},
                    ensure_ascii=False,
                )
                + "\n"
                for rec in page
            )
            n += len(page)
    return n


def _write_json(
    path: Path, names: list[str], types: list[ColType], headers: list[str], pages: RecordPages
) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write("[")
        for page in pages:
            for rec in page:
                fh.write(",\n" if n else "\n")
                fh.write(
                    json.dumps(
                        {h: rec.get(c) for c, h in zip(names, headers, strict=True)},
                        ensure_ascii=False,
                    )
                )
                n += 1
        fh.write("\n]\n")
    return n


def _arrow_schema(types: list[ColType], headers: list[str]) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped]

    arrow = {"int": pa.int64(), "float": pa.float64(), "str": pa.string()}
    return pa.schema([pa.field(h, arrow[t]) for h, t in zip(headers, types, strict=True)])


def _batch(schema: Any, names: list[str], page: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    arrays = [
        pa.array([rec.get(c) for rec in page], type=f.type)
        for c, f in zip(names, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _write_parquet(
    path: Path, names: list[str], types: list[ColType], headers: list[str], pages: RecordPages
) -> int:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    schema = _arrow_schema(types, headers)
    n = 0
    with pq.ParquetWriter(str(path), schema, compression="zstd") as w:
        for page in pages:
            w.write_batch(_batch(schema, names, page))
            n += len(page)
    return n


def _write_feather(
    path: Path, names: list[str], types: list[ColType], headers: list[str], pages: RecordPages
) -> int:
    import pyarrow as pa

    schema = _arrow_schema(types, headers)
    n = 0
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as w:
        for page in pages:
            w.write_batch(_batch(schema, names, page))
            n += len(page)
    return n


def _write_xlsx(
    path: Path, names: list[str], types: list[ColType], headers: list[str], pages: RecordPages
) -> int:
    import xlsxwriter  # type: ignore[import-untyped]

    # Text stays text: a comment or camera name starting with "=" must never become a formula.
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    bold = wb.add_format({"bold": True})
    sheet: Any = None
    r = 0
    n = 0
    sheets = 0
    try:
        for page in pages:
            for rec in page:
                if sheet is None or r >= XLSX_MAX_ROWS:
                    sheets += 1
                    sheet = wb.add_worksheet("journal" if sheets == 1 else f"journal{sheets}")
                    sheet.write_row(0, 0, headers, bold)
                    sheet.freeze_panes(1, 0)
                    r = 1
                sheet.write_row(r, 0, [rec.get(c) for c in names])
                r += 1
                n += 1
        if sheet is None:
            wb.add_worksheet("journal").write_row(0, 0, headers, bold)
    finally:
        wb.close()
    return n


WRITERS: Final[dict[Format, Writer]] = {
    "csv": _write_csv,
    "jsonl": _write_jsonl,
    "json": _write_json,
    "parquet": _write_parquet,
    "feather": _write_feather,
    "xlsx": _write_xlsx,
}


def engine_of(journal: Journal | Engine | str | Path) -> Engine:
    if isinstance(journal, Journal):
        return journal.engine
    if isinstance(journal, Engine):
        return journal
    return Journal(journal).engine


def iter_records(
    journal: Journal | Engine | str | Path,
    flt: ExportFilter,
    *,
    tz: str = "Europe/Paris",
    page_size: int = PAGE_SIZE,
) -> RecordPages:
    """Flat records of the matching entries, a page at a time."""
    engine = engine_of(journal)
    zone = zone_of(tz)
    alert_schema = columns_for(flt) is ALERT_COLUMNS
    for rows in iter_pages(engine, flt, page_size):
        yield [row_to_record(r, zone, alert_schema) for r in rows]


def export(
    journal: Journal | Engine | str | Path,
    out: Path,
    flt: ExportFilter | None = None,
    *,
    fmt: str | None = None,
    french_headers: bool = False,
    tz: str = "Europe/Paris",
    page_size: int = PAGE_SIZE,
) -> ExportResult:
    """Write the entries that ``flt`` selects to ``out`` in the given (or suffix's) format."""
    flt = flt or ExportFilter()
    f = format_for(out, fmt)
    zone_of(tz)
    cols = columns_for(flt)
    names = [c for c, _ in cols]
    types = [t for _, t in cols]
    headers = [FRENCH_HEADERS[c] for c in names] if french_headers else names
    out.parent.mkdir(parents=True, exist_ok=True)
    pages = iter_records(journal, flt, tz=tz, page_size=page_size)
    n = WRITERS[f](out, names, types, headers, pages)
    return ExportResult(out, f, n, out.stat().st_size)


def write_records(
    out: Path,
    records: list[dict[str, Any]],
    columns: Sequence[tuple[str, ColType]],
    fmt: Format,
) -> int:
    """Write plain records (e.g. application log lines) with the journal's writers: the same
    formats, the same files. Values are taken by column name; extra keys are left out."""
    names = [c for c, _ in columns]
    types = [t for _, t in columns]
    rows = [{n: _flat(r.get(n)) for n in names} for r in records]
    out.parent.mkdir(parents=True, exist_ok=True)
    return WRITERS[fmt](out, names, types, names, iter([rows]))
