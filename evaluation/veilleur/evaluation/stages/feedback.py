"""``veilleur feedback``: field feedback from the operators' reviews (EX-065).

Usage::

    veilleur feedback --export site-a.jsonl [--export site-b.jsonl | --export DIR] \\
        --out reports/feedback [--period day|week|month] [--tz Europe/Paris] \\
        [--hard-negatives DIR --snapshots DIR [--snapshots DIR …] \\
         (--retention-days N | --retention retention.yaml)] [--now ISO] [--licence TEXT]

Each export is a complete journal export with its chain (``veilleur journal export
FILE.jsonl --kind all``; also ``.json``, ``.csv``, ``.parquet``, ``.feather``), one file per
site (the site is named after the file); a folder stands for every export file in it. Each
export's hash chain is recomputed by the journal's own verifier before anything is counted: a
broken chain stops the command (exit 2) naming the file and the entry.

Writes ``OUT/feedback.json`` and ``OUT/index.html`` (French) and, with ``--hard-negatives``, a
COCO folder (``annotations.json``, ``images/``, ``source.yaml``, ``hard_negatives.json``) that
``veilleur data ingest DIR --format coco`` reads. ``--snapshots`` gives each export's snapshot
folder (once for all exports, or once per export, in the same order).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import yaml
from jinja2 import Environment, StrictUndefined
from sqlalchemy.exc import IntegrityError

from veilleur.evaluation.charts import BarSeries, grouped_bar_chart_png
from veilleur.evaluation.feedback import (
    DIRECTIONS_FR,
    INTERVAL_METHOD,
    PERIODS,
    FeedbackError,
    FieldAlert,
    JoinResult,
    PeriodKind,
    PrecisionRow,
    Selection,
    SnapshotCheck,
    coco_document,
    iso_utc,
    join_alerts,
    model_summaries,
    parse_utc,
    precision_table,
    select_hard_negatives,
    source_document,
    trends,
)
from veilleur.evaluation.fr_format import fr_date, fr_int, fr_interval, fr_number, fr_percent
from veilleur.runtime.core.events import EVENT_LABELS_FR, EventType
from veilleur.runtime.evidence.snapshots import SnapshotError, SnapshotStore
from veilleur.runtime.journal.export import FRENCH_HEADERS, ExportError, zone_of
from veilleur.runtime.journal.repository import Journal, entries

READABLE: Final = (".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".feather", ".arrow")
CHAIN_COLUMNS: Final = ("seq", "kind", "payload", "prev_hash", "hash")
MARKER: Final = "hard_negatives.json"
DEFAULT_LICENCE: Final = (
    "Interne : images d'exploitation du site, réservées à l'amélioration du modèle,"
    " sous la durée de conservation de chaque image"
)
_FROM_FRENCH: Final = {fr: en for en, fr in FRENCH_HEADERS.items()}
_VERIFY_REASONS_FR: Final = {
    "content": "contenu modifié : il ne correspond plus à son empreinte",
    "previous": "lien avec l'entrée précédente rompu (entrée supprimée ou insérée ?)",
    "first": "la première entrée ne suit ni le début du journal ni l'ancre d'une purge"
    " (export filtré ou entrées supprimées)",
}


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class VerifiedExport:
    path: Path
    site: str
    sha256: str
    entries: int
    last_hash: str
    join: JoinResult


def _export_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in READABLE)
            if not found:
                raise FeedbackError(f"{p} : aucun export lisible ({', '.join(READABLE)})")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise FeedbackError(f"{p} : export introuvable")
    return files


def _rows(path: Path) -> list[dict[str, Any]]:
    """The export's rows, as written by ``veilleur.runtime.journal.export`` (any format but
    XLSX), with French headers read back to their technical names."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".jsonl", ".ndjson"):
            rows = []
            with path.open(encoding="utf-8") as fh:
                for n, line in enumerate(fh, start=1):
                    if line.strip():
                        try:
                            rows.append(json.loads(line))
                        except json.JSONDecodeError as exc:
                            raise FeedbackError(
                                f"{path} : ligne {n} illisible (JSON : {exc.msg})"
                            ) from None
        elif suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(doc, list):
                raise FeedbackError(f"{path} : un tableau JSON d'entrées est attendu")
            rows = doc
        elif suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh))
        elif suffix in (".parquet", ".feather", ".arrow"):
            import pyarrow.feather as feather  # type: ignore[import-untyped]
            import pyarrow.parquet as pq  # type: ignore[import-untyped]

            table = pq.read_table(path) if suffix == ".parquet" else feather.read_table(path)
            rows = table.to_pylist()
        else:
            raise FeedbackError(
                f"{path} : format non pris en charge ({path.suffix or 'sans extension'}) ;"
                f" formats lus : {', '.join(READABLE)}"
            )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedbackError(f"{path} : export illisible ({exc})") from None
    except Exception as exc:  # pyarrow's own errors (ArrowInvalid …)
        if isinstance(exc, FeedbackError):
            raise
        raise FeedbackError(f"{path} : export illisible ({type(exc).__name__} : {exc})") from None
    return [
        {_FROM_FRENCH.get(str(k), str(k)): v for k, v in r.items()}
        for r in rows
        if isinstance(r, dict)
    ]


def _reason_fr(reason: str | None) -> str:
    r = reason or ""
    if r.startswith("content"):
        return _VERIFY_REASONS_FR["content"]
    if "first entry" in r:
        return _VERIFY_REASONS_FR["first"]
    if r.startswith("previous"):
        return _VERIFY_REASONS_FR["previous"]
    return r


def verify_export(path: Path, site: str) -> VerifiedExport:
    """Read one export and verify its hash chain with :meth:`Journal.verify` (the entries are
    loaded as they are into a scratch journal, so the check is the journal's own)."""
    rows = _rows(path)
    if not rows:
        raise FeedbackError(f"{path} : export vide (aucune entrée)")
    missing = [c for c in CHAIN_COLUMNS if c not in rows[0]]
    if missing:
        raise FeedbackError(
            f"{path} : export sans chaînage (colonnes absentes : {', '.join(missing)}) ;"
            " exporter le journal complet : veilleur journal export FICHIER.jsonl --kind all"
        )
    bodies: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    for n, r in enumerate(rows, start=1):
        try:
            seq = int(r["seq"])
            body = json.loads(str(r["payload"]))
            if not isinstance(body, dict):
                raise ValueError("payload is not an object")
            values.append(
                {
                    "seq": seq,
                    "id": str(body["id"]),
                    "kind": str(body.get("kind") or r["kind"]),
                    "utc": str(body["utc"]),
                    "camera_id": body.get("camera_id"),
                    "event": body.get("event"),
                    "payload": str(r["payload"]),
                    "prev_hash": str(r["prev_hash"]),
                    "hash": str(r["hash"]),
                }
            )
        except (KeyError, TypeError, ValueError):
            raise FeedbackError(
                f"{path} : entrée n° {r.get('seq', '?')} (ligne {n}) illisible :"
                " numéro, contenu ou empreintes manquants"
            ) from None
        bodies.append({**body, "seq": seq})
    with tempfile.TemporaryDirectory(prefix="veilleur-feedback-") as tmp:
        alembic = logging.getLogger("alembic")
        level = alembic.level
        alembic.setLevel(logging.WARNING)  # the scratch journal's migrations are no news
        try:
            journal = Journal(Path(tmp) / "verify.db")
        finally:
            alembic.setLevel(level)
        try:
            with journal.engine.begin() as conn:
                conn.execute(entries.insert(), values)
        except IntegrityError:  # duplicated seq or id: an entry copied twice
            raise FeedbackError(
                f"{path} : export altéré (une entrée y figure deux fois, même numéro ou"
                " même identifiant)"
            ) from None
        result = journal.verify()
        journal.engine.dispose()
    if not result.ok:
        raise FeedbackError(
            f"{path} : export altéré ou incomplet, chaîne rompue à l'entrée n°"
            f" {result.first_broken_seq} : {_reason_fr(result.reason)}"
        )
    ordered = sorted(values, key=lambda v: int(v["seq"]))
    return VerifiedExport(
        path=path,
        site=site,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        entries=len(values),
        last_hash=str(ordered[-1]["hash"]),
        join=join_alerts(site, bodies),
    )


def load_exports(paths: Sequence[Path]) -> list[VerifiedExport]:
    """Every export verified; an alert found in two exports is an error (counted twice)."""
    files = _export_files(paths)
    sites = [f.stem for f in files]
    dup_sites = sorted({s for s in sites if sites.count(s) > 1})
    if dup_sites:
        raise FeedbackError(
            f"deux exports portent le même nom de site : {', '.join(dup_sites)} (renommer un"
            " des fichiers : le site est le nom du fichier)"
        )
    out = [verify_export(f, f.stem) for f in files]
    seen: dict[str, Path] = {}
    for v in out:
        for a in v.join.alerts:
            if a.alert_id in seen:
                raise FeedbackError(
                    f"l'alerte {a.alert_id} figure dans {seen[a.alert_id]} et dans {v.path} :"
                    " exports qui se recouvrent (elle serait comptée deux fois)"
                )
            seen[a.alert_id] = v.path
    return out


# --------------------------------------------------------------------------- hard negatives


def _checker(
    stores: dict[str, SnapshotStore],
) -> tuple[Callable[[FieldAlert], SnapshotCheck], dict[str, bytes]]:
    """A snapshot check for :func:`select_hard_negatives`, keeping the bytes read."""
    data: dict[str, bytes] = {}

    def check(a: FieldAlert) -> SnapshotCheck:
        assert a.snapshot_path is not None
        try:
            raw = stores[a.site].open(a.snapshot_path)  # path checks: inside the root, .jpg
        except FileNotFoundError:
            return "missing"
        except SnapshotError:
            return "refused"
        if hashlib.sha256(raw).hexdigest() != a.snapshot_sha256:
            return "altered"
        data[a.alert_id] = raw
        return "ok"

    return check, data


def _image_size(raw: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(raw)) as img:
        return int(img.width), int(img.height)


def _prepare_folder(folder: Path) -> None:
    """An empty folder, or one this command wrote before (its files are replaced)."""
    if folder.exists() and not folder.is_dir():
        raise FeedbackError(f"{folder} : ce n'est pas un dossier")
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / MARKER).is_file():
            raise FeedbackError(
                f"{folder} : dossier non vide qui n'est pas un dossier de retour terrain ;"
                " choisir un dossier vide"
            )
        for name in ("images", "annotations.json", "source.yaml", MARKER):
            p = folder / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    folder.mkdir(parents=True, exist_ok=True)


def write_hard_negatives(
    folder: Path, selection: Selection, data: dict[str, bytes], now: datetime, licence: str
) -> dict[str, Any]:
    """Write the COCO folder; return its summary (also written as ``hard_negatives.json``)."""
    _prepare_folder(folder)
    sized = []
    for s in selection.samples:
        if now >= parse_utc(s.expires_utc):  # never copy what retention no longer allows
            raise FeedbackError(f"alerte {s.alert.alert_id} : conservation dépassée")
        raw = data[s.alert.alert_id]
        target = folder / "images" / s.file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(raw)
        w, h = _image_size(raw)
        sized.append((s, w, h))
    coco = coco_document(sized)
    (folder / "annotations.json").write_text(
        json.dumps(coco, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    if selection.samples:
        src = source_document(selection.samples, now=now, licence=licence)
        src = {k: v for k, v in src.items() if v is not None}
        (folder / "source.yaml").write_text(
            yaml.safe_dump(src, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    summary = {
        "generated_utc": iso_utc(now),
        "samples": [
            {
                "file": f"images/{s.file_name}",
                "site": s.alert.site,
                "alert_id": s.alert.alert_id,
                "camera": s.alert.camera_id,
                "event": s.alert.event,
                "week": s.week,
                "utc": s.alert.utc,
                "predicted_class": s.predicted_class,
                "boxes": sum(b["image_id"] == i for b in coco["annotations"]),
                "model_sha256": s.alert.model_sha256,
                "config_version": s.alert.config_version,
                "comments": list(s.alert.comments),
                "tags": ["faux_positif", s.alert.event, s.alert.camera_id, s.week],
                "expires_utc": s.expires_utc,
            }
            for i, (s, _w, _h) in enumerate(sized, start=1)
        ],
        "excluded": [e.to_dict() for e in selection.excluded],
        "earliest_expiry_utc": min((s.expires_utc for s in selection.samples), default=None),
    }
    (folder / MARKER).write_text(
        json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return summary


# --------------------------------------------------------------------------- reports


def _event_fr(event: str) -> str:
    try:
        return EVENT_LABELS_FR[EventType(event)]
    except ValueError:
        return event


def _chart(rows: list[PrecisionRow]) -> str | None:
    """Precision per event (and model) and period, with the 95 % intervals."""
    periods = sorted({r.period for r in rows if r.camera is None})
    series_keys = sorted({(r.site, r.event, r.model_sha256) for r in rows if r.camera is None})
    if not periods or not any(r.reviewed for r in rows):
        return None
    sites = {k[0] for k in series_keys}
    models: dict[tuple[str, str], set[str]] = {}
    for site, event, model in series_keys:
        models.setdefault((site, event), set()).add(model)
    by_key = {(r.site, r.event, r.model_sha256, r.period): r for r in rows if r.camera is None}
    series = []
    for site, event, model in series_keys:
        label = _event_fr(event)
        if len(sites) > 1:
            label = f"{site} · {label}"
        if len(models[(site, event)]) > 1:
            label += f" (modèle {model[:8]})"
        found = [by_key.get((site, event, model, p)) for p in periods]
        series.append(
            BarSeries(
                label,
                [None if r is None else r.precision for r in found],
                [None if r is None else r.interval for r in found],
            )
        )
    return grouped_bar_chart_png(
        periods,
        series,
        title="Précision constatée par les opérateurs, par événement et par période",
        y_label="Précision (IC 95 % de Wilson)",
    )


_TEMPLATE: Final = """<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>Retour terrain — précision constatée sur site</title>
<style>
body{font-family:sans-serif;margin:2em;max-width:75em}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #bbb;padding:.25em .6em;text-align:right}th{background:#eef}
td.t{text-align:left}code{font-size:.9em}.note{color:#444}
</style></head>
<body>
<h1>Retour terrain : précision constatée sur site</h1>
<p>Généré le {{ generated }} ; période : <strong>{{ period_fr }}</strong> (fuseau {{ tz }}).
Précision = alertes confirmées / alertes qualifiées ; intervalle de confiance à 95 % de Wilson
(fiable même avec peu de revues par période). Les alertes non qualifiées sont comptées à part
et n'entrent jamais dans la précision. Une précision ne mélange jamais deux modèles.</p>

<h2>Exports vérifiés</h2>
<table><tr><th>Site</th><th>Fichier</th><th>Entrées</th><th>Alertes</th>
<th>Dernière empreinte</th></tr>
{% for s in sources %}<tr><td class="t">{{ s.site }}</td>
<td class="t"><code>{{ s.file }}</code></td><td>{{ s.entries }}</td><td>{{ s.alerts }}</td>
<td class="t"><code>{{ s.last_hash[:16] }}…</code></td></tr>
{% endfor %}</table>

{% if chart %}<h2>Évolution</h2>
<img alt="Précision par événement et par période"
 src="data:image/png;base64,{{ chart }}">{% endif %}

<h2>Précision par événement, période et modèle</h2>
{{ table(by_event, False) }}

<h2>Tendance (dernière période qualifiée comparée aux précédentes, même modèle)</h2>
<table><tr><th>Site</th><th>Événement</th><th>Modèle</th><th>Dernière période</th>
<th>Précision</th><th>Périodes précédentes</th><th>Écart</th><th>Tendance</th></tr>
{% for t in trends %}<tr><td class="t">{{ t.site }}</td><td class="t">{{ t.event }}</td>
<td class="t"><code>{{ t.model }}</code></td><td class="t">{{ t.last_period }}</td>
<td>{{ t.last }}</td><td>{{ t.previous }}</td><td>{{ t.delta }}</td>
<td class="t">{{ t.direction }}</td></tr>
{% endfor %}</table>
<p class="note">« En hausse » ou « en baisse » seulement si les deux intervalles à 95 % sont
disjoints.</p>

<h2>Effet des changements de modèle</h2>
<table><tr><th>Site</th><th>Événement</th><th>Modèle</th><th>Périodes</th><th>Alertes</th>
<th>Confirmées</th><th>Rejetées</th><th>Non qualifiées</th><th>Précision</th>
<th>IC 95 %</th><th>Configurations</th></tr>
{% for m in models %}<tr><td class="t">{{ m.site }}</td><td class="t">{{ m.event }}</td>
<td class="t"><code>{{ m.model }}</code></td><td class="t">{{ m.periods }}</td>
<td>{{ m.alerts }}</td><td>{{ m.confirmed }}</td><td>{{ m.rejected }}</td>
<td>{{ m.unreviewed }}</td><td>{{ m.precision }}</td><td>{{ m.ci }}</td>
<td class="t"><code>{{ m.configs }}</code></td></tr>
{% endfor %}</table>

<h2>Précision par caméra</h2>
{{ table(by_camera, True) }}

{% if orphans %}<p class="note">{{ orphans }} revue(s) qualifiante(s) portent sur des alertes
déjà purgées du journal : elles ne sont pas comptées (modèle inconnu).</p>{% endif %}

<h2>Négatifs difficiles (alertes rejetées)</h2>
{% if hard %}<p>Dossier : <code>{{ hard.folder }}</code> — <strong>{{ hard.samples }}</strong>
échantillon(s) copiés, {{ hard.excluded|length }} exclu(s). Chaque copie porte sa date
d'expiration (<code>expires_utc</code>, fin de la conservation des images) : elle doit être
supprimée de toute copie à cette date.</p>
{% if hard.excluded %}<table><tr><th>Site</th><th>Alerte</th><th>Caméra</th><th>Événement</th>
<th>Date</th><th>Raison</th></tr>
{% for e in hard.excluded %}<tr><td class="t">{{ e.site }}</td>
<td class="t"><code>{{ e.alert_id }}</code></td>
<td class="t">{{ e.camera or "—" }}</td><td class="t">{{ e.event or "—" }}</td>
<td class="t">{{ e.utc or "—" }}</td><td class="t">{{ e.reason_fr }}</td></tr>
{% endfor %}</table>{% endif %}
{% else %}<p>Non demandés (option <code>--hard-negatives</code>).</p>{% endif %}
</body></html>
"""

_TABLE: Final = """{% macro table(rows, cameras) %}<table><tr><th>Site</th><th>Événement</th>
{% if cameras %}<th>Caméra</th>{% endif %}<th>Période</th><th>Modèle</th><th>Alertes</th>
<th>Confirmées</th><th>Rejetées</th><th>Non qualifiées</th><th>Précision</th><th>IC 95 %</th>
<th>Taux de revue</th></tr>
{% for r in rows %}<tr><td class="t">{{ r.site }}</td><td class="t">{{ r.event }}</td>
{% if cameras %}<td class="t">{{ r.camera }}</td>{% endif %}<td class="t">{{ r.period }}</td>
<td class="t"><code>{{ r.model }}</code></td><td>{{ r.alerts }}</td><td>{{ r.confirmed }}</td>
<td>{{ r.rejected }}</td><td>{{ r.unreviewed }}</td><td>{{ r.precision }}</td><td>{{ r.ci }}</td>
<td>{{ r.coverage }}</td></tr>
{% endfor %}</table>{% endmacro %}"""

PERIODS_FR: Final = {"day": "jour", "week": "semaine ISO", "month": "mois"}


def _row_view(r: PrecisionRow) -> dict[str, str]:
    return {
        "site": r.site,
        "event": _event_fr(r.event),
        "camera": r.camera or "",
        "period": r.period,
        "model": r.model_sha256[:12],
        "alerts": fr_int(r.alerts),
        "confirmed": fr_int(r.confirmed),
        "rejected": fr_int(r.rejected),
        "unreviewed": fr_int(r.unreviewed),
        "precision": fr_number(r.precision),
        "ci": fr_interval(r.interval),
        "coverage": fr_percent(r.review_coverage),
    }


def render_html(report: dict[str, Any], rows: list[PrecisionRow], cams: list[PrecisionRow],
                chart: str | None) -> str:  # fmt: skip
    env = Environment(autoescape=True, undefined=StrictUndefined)
    table = env.from_string(_TABLE).module.table  # type: ignore[attr-defined]
    hard = report["hard_negatives"]
    return env.from_string(_TEMPLATE).render(
        generated=fr_date(parse_utc(report["generated_utc"])),
        period_fr=PERIODS_FR[report["period"]],
        tz=report["timezone"],
        sources=report["sources"],
        chart=chart,
        table=table,
        by_event=[_row_view(r) for r in rows],
        by_camera=[_row_view(r) for r in cams],
        trends=[
            {
                "site": t["site"],
                "event": _event_fr(t["event"]),
                "model": t["model_sha256"][:12],
                "last_period": t["last_period"],
                "last": _with_ci(t["last_precision"], t["last_interval_95"]),
                "previous": _with_ci(t["previous_precision"], t["previous_interval_95"]),
                "delta": fr_number(t["delta"]),
                "direction": DIRECTIONS_FR[t["direction"]],
            }
            for t in report["trends"]
        ],
        models=[
            {
                "site": m["site"],
                "event": _event_fr(m["event"]),
                "model": m["model_sha256"][:12],
                "periods": f"{m['first_period']} → {m['last_period']}",
                "alerts": fr_int(m["alerts"]),
                "confirmed": fr_int(m["confirmed"]),
                "rejected": fr_int(m["rejected"]),
                "unreviewed": fr_int(m["unreviewed"]),
                "precision": fr_number(m["precision"]),
                "ci": fr_interval(_pair(m["interval_95"])),
                "configs": ", ".join(c[:12] for c in m["config_versions"]),
            }
            for m in report["models"]
        ],
        orphans=sum(s["orphan_reviews"] for s in report["sources"]),
        hard=None
        if hard is None
        else {
            "folder": hard["folder"],
            "samples": len(hard["samples"]),
            "excluded": hard["excluded"],
        },
    )


def _with_ci(value: float | None, interval: list[float] | None) -> str:
    if value is None:
        return fr_number(None)
    return f"{fr_number(value)} {fr_interval(_pair(interval))}"


def _pair(v: list[float] | None) -> tuple[float, float] | None:
    return None if v is None else (float(v[0]), float(v[1]))


# --------------------------------------------------------------------------- command


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="veilleur feedback", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--export", type=Path, action="append", required=True,
                    help="journal export (--kind all) of a site, or a folder; repeat")  # fmt: skip
    ap.add_argument("--out", type=Path, default=Path("reports/feedback"))
    ap.add_argument("--period", choices=PERIODS, default="week")
    ap.add_argument("--tz", default="Europe/Paris", help="time zone of the periods")
    ap.add_argument("--hard-negatives", type=Path, default=None, help="COCO folder to write")
    ap.add_argument("--snapshots", type=Path, action="append", default=[],
                    help="snapshot folder (once, or once per export)")  # fmt: skip
    ret = ap.add_mutually_exclusive_group()
    ret.add_argument("--retention-days", type=int, default=None,
                     help="retention of snapshot images, in days")  # fmt: skip
    ret.add_argument("--retention", type=Path, default=None,
                     help="retention policy YAML (its 'snapshot' days)")  # fmt: skip
    ap.add_argument("--now", default=None, help="reference time (ISO 8601; default: now)")
    ap.add_argument("--licence", default=DEFAULT_LICENCE, help="licence line of source.yaml")
    return ap


def _retention_days(args: argparse.Namespace) -> int:
    if args.retention is not None:
        from veilleur.runtime.config import ConfigError
        from veilleur.runtime.journal.retention import load_policy

        try:
            days = load_policy(args.retention).snapshot
        except ConfigError as exc:
            raise FeedbackError(str(exc)) from None
        if days is None:
            raise FeedbackError(
                f"{args.retention} : aucune durée pour les clichés (clé snapshot) ;"
                " indiquer --retention-days N"
            )
        return int(days)
    if args.retention_days is None:
        raise FeedbackError(
            "--hard-negatives demande la durée de conservation des images :"
            " --retention-days N ou --retention FICHIER"
        )
    if args.retention_days < 1:
        raise FeedbackError(f"--retention-days : {args.retention_days} jour(s), 1 au moins")
    return int(args.retention_days)


def run(args: argparse.Namespace) -> dict[str, Any]:
    try:
        tz = zone_of(args.tz)
    except ExportError as exc:
        raise FeedbackError(str(exc)) from None
    now = parse_utc(args.now) if args.now else datetime.now(UTC)
    period: PeriodKind = args.period
    days = _retention_days(args) if args.hard_negatives is not None else None
    exports = load_exports(args.export)
    alerts = [a for v in exports for a in v.join.alerts]
    orphans = [o for v in exports for o in v.join.orphans]
    rows = precision_table(alerts, period, tz)
    cams = precision_table(alerts, period, tz, by_camera=True)
    hard: dict[str, Any] | None = None
    if args.hard_negatives is not None and days is not None:
        if len(args.snapshots) not in (1, len(exports)):
            raise FeedbackError(
                f"--snapshots : {len(args.snapshots)} dossier(s) pour {len(exports)} export(s)"
                " (un seul pour tous, ou un par export dans le même ordre)"
            )
        roots = args.snapshots * len(exports) if len(args.snapshots) == 1 else args.snapshots
        stores = {v.site: SnapshotStore(r) for v, r in zip(exports, roots, strict=True)}
        check, data = _checker(stores)
        selection = select_hard_negatives(
            alerts, orphans, now=now, retention_days=days, tz=tz, check=check
        )
        hard = {
            "folder": args.hard_negatives.as_posix(),
            "retention_days": days,
            **write_hard_negatives(args.hard_negatives, selection, data, now, args.licence),
        }
    report: dict[str, Any] = {
        "generated_utc": iso_utc(datetime.now(UTC)),
        "reference_utc": iso_utc(now),
        "period": period,
        "timezone": args.tz,
        "interval": {"method": INTERVAL_METHOD, "confidence": 0.95},
        "sources": [
            {
                "site": v.site,
                "file": v.path.as_posix(),
                "sha256": v.sha256,
                "entries": v.entries,
                "last_hash": v.last_hash,
                "alerts": len(v.join.alerts),
                "orphan_reviews": len(v.join.orphans),
            }
            for v in exports
        ],
        "totals": {
            "alerts": len(alerts),
            "confirmed": sum(a.status == "confirmed" for a in alerts),
            "rejected": sum(a.status == "rejected" for a in alerts),
            "unreviewed": sum(a.status == "unreviewed" for a in alerts),
        },
        "by_event": [r.to_dict() for r in rows],
        "by_camera": [r.to_dict() for r in cams],
        "trends": [t.to_dict() for t in trends(rows)],
        "models": [m.to_dict() for m in model_summaries(alerts, period, tz)],
        "hard_negatives": hard,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "feedback.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    (args.out / "index.html").write_text(
        render_html(report, rows, cams, _chart(rows)), encoding="utf-8"
    )
    return report


def main(argv: list[str] | None = None) -> int:
    """Run ``veilleur feedback``; 0 when the reports are written, 2 on bad or altered input."""
    args = build_parser().parse_args(argv)
    try:
        report = run(args)
    except FeedbackError as exc:
        print(f"erreur : {exc}", file=sys.stderr)  # noqa: T201 - the command's error
        return 2
    t = report["totals"]
    hard = report["hard_negatives"]
    print(  # noqa: T201 - the command's output
        f"Retour terrain : {t['alerts']} alerte(s), {t['confirmed']} confirmée(s),"
        f" {t['rejected']} rejetée(s), {t['unreviewed']} non qualifiée(s) ;"
        f" rapport {args.out / 'index.html'}"
    )
    if hard is not None:
        print(  # noqa: T201
            f"Négatifs difficiles : {len(hard['samples'])} copié(s) dans {hard['folder']},"
            f" {len(hard['excluded'])} exclu(s)"
        )
        for e in hard["excluded"]:
            print(f"  exclu {e['alert_id']} ({e['site']}) : {e['reason_fr']}")  # noqa: T201
    return 0


__all__ = ["build_parser", "load_exports", "main", "run", "verify_export"]
