"""The French validation report: a self-contained, printable HTML page plus ``metrics.json``.

:func:`render_report` writes ``index.html`` (every visible word in French, EX-045; inline CSS,
charts embedded as base64 PNG, no external resource) and ``metrics.json`` (the same numbers,
machine-readable, tracked by DVC as metrics).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from veilleur.evaluation.charts import BarSeries, grouped_bar_chart_png
from veilleur.evaluation.event_metrics import EventMetrics
from veilleur.evaluation.fr_format import (
    fr_date,
    fr_int,
    fr_interval,
    fr_number,
    fr_percent,
    fr_sci,
)
from veilleur.evaluation.report_context import ReportContext
from veilleur.runtime.core.events import EVENT_DESCRIPTIONS_FR, EVENT_LABELS_FR, EventType
from veilleur.runtime.core.taxonomy import CLASS_LABELS_FR, CLASSES

__all__ = ["METRICS_SCHEMA_VERSION", "make_environment", "metrics_dict", "render_report"]

logger = logging.getLogger(__name__)

METRICS_SCHEMA_VERSION = 1
TEMPLATES_DIR = Path(__file__).parent / "templates"

SPLIT_LABELS_FR: Mapping[str, str] = {"train": "Entraînement", "val": "Validation", "test": "Test"}
SLICE_KEY_LABELS_FR: Mapping[str, str] = {
    "lighting": "Éclairage",
    "weather": "Conditions météorologiques",
    "density": "Densité de foule",
    "camera_height": "Hauteur de caméra",
    "negative": "Scène sans événement attendu",
    "scenario": "Scénario",
}
SLICE_VALUE_LABELS_FR: Mapping[str, str] = {
    "day": "jour",
    "dusk": "crépuscule",
    "night": "nuit",
    "clear": "temps clair",
    "rain": "pluie",
    "fog": "brouillard",
    "low": "faible",
    "medium": "moyenne",
    "high": "forte",
    "true": "oui",
    "false": "non",
}
_VALUE_ORDER = (
    *("day", "dusk", "night", "clear", "rain", "fog", "low", "medium", "high"),
    *("< 4 m", "4–8 m", "≥ 8 m", "false", "true"),
)


def make_environment() -> Environment:
    """Jinja environment of the report, with the French formatting filters."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        fr_num=fr_number,
        fr_int=fr_int,
        fr_pct=fr_percent,
        fr_ci=fr_interval,
        fr_sci=fr_sci,
        fr_date=fr_date,
        class_fr=lambda name: CLASS_LABELS_FR.get(name, name),
        split_fr=lambda name: SPLIT_LABELS_FR.get(name, name),
    )
    return env


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, datetime):
        return obj.isoformat()
    return obj


def _event_rows(ctx: ReportContext) -> list[dict[str, Any]]:
    implemented = {str(e) for e in ctx.implemented_events}
    rows = []
    for event in EventType:
        metrics = ctx.events.per_event.get(event.value) if event.value in implemented else None
        rows.append(
            {
                "type": event.value,
                "label": EVENT_LABELS_FR[event],
                "description": EVENT_DESCRIPTIONS_FR[event],
                "implemented": event.value in implemented,
                "metrics": metrics,
            }
        )
    return rows


def metrics_dict(context: ReportContext) -> dict[str, Any]:
    """Everything the report shows, as a JSON-ready dict (``metrics.json``)."""
    ev = context.events
    per_event: dict[str, Any] = {}
    for row in _event_rows(context):
        m: EventMetrics | None = row["metrics"]
        if m is not None:
            per_event[row["type"]] = {"status": "evaluated", **_jsonable(m)}
        else:
            status = "not_evaluated" if row["implemented"] else "not_implemented"
            per_event[row["type"]] = {"status": status}
    detection = None
    if context.detection is not None:
        detection = {"split": context.detection_split, **_jsonable(context.detection)}
    return {
        "schema_version": METRICS_SCHEMA_VERSION,
        "synthetic_data": context.synthetic_data,
        "dataset": _jsonable(context.dataset),
        "model": _jsonable(context.model),
        "detection": detection,
        "events": {
            "n_clips": ev.n_clips,
            "duration_s": ev.duration_s,
            "tolerance": _jsonable(ev.tolerance),
            "n_bootstrap": ev.n_bootstrap,
            "seed": ev.seed,
            "per_event": per_event,
            "overall": _jsonable(ev.overall),
        },
        "slices": [
            {
                "key": s.key,
                "value": s.value,
                "n_clips": s.n_clips,
                "duration_s": s.evaluation.duration_s,
                "overall": _jsonable(s.evaluation.overall),
                "per_event": _jsonable(s.evaluation.per_event),
            }
            for s in context.slices
        ],
        "provenance": _jsonable(context.provenance),
    }


def _event_chart(rows: Sequence[Mapping[str, Any]]) -> str | None:
    evaluated = [r for r in rows if r["metrics"] is not None]
    if not evaluated:
        return None
    ms: list[EventMetrics] = [r["metrics"] for r in evaluated]
    return grouped_bar_chart_png(
        [r["label"] for r in evaluated],
        [
            BarSeries("Précision", [m.precision for m in ms], [m.precision_ci for m in ms]),
            BarSeries("Rappel", [m.recall for m in ms], [m.recall_ci for m in ms]),
        ],
        title="Précision et rappel par événement (intervalle de confiance à 95 %)",
        y_label="Valeur (0 à 1)",
    )


def _detection_chart(ctx: ReportContext) -> str | None:
    if ctx.detection is None or not ctx.detection.per_class:
        return None
    per_class = ctx.detection.per_class
    return grouped_bar_chart_png(
        [CLASS_LABELS_FR.get(c.name, c.name) for c in per_class],
        [
            BarSeries("AP (IoU 0,50 à 0,95)", [c.ap for c in per_class]),
            BarSeries("AP (IoU 0,50)", [c.ap50 for c in per_class]),
        ],
        title="Précision moyenne par classe d’objet",
        y_label="AP (0 à 1)",
    )


def _slice_groups(ctx: ReportContext) -> list[dict[str, Any]]:
    def order(value: str) -> tuple[int, str]:
        return (_VALUE_ORDER.index(value) if value in _VALUE_ORDER else len(_VALUE_ORDER), value)

    groups: dict[str, list[Any]] = {}
    for s in ctx.slices:
        groups.setdefault(s.key, []).append(s)
    return [
        {
            "label": SLICE_KEY_LABELS_FR.get(key, key),
            "rows": [
                {
                    "value": SLICE_VALUE_LABELS_FR.get(s.value, s.value),
                    "n_clips": s.n_clips,
                    "duration_h": s.evaluation.duration_s / 3600.0,
                    "m": s.evaluation.overall,
                }
                for s in sorted(members, key=lambda s: order(s.value))
            ],
        }
        for key, members in groups.items()
    ]


def _dataset_view(ctx: ReportContext) -> dict[str, Any]:
    seen = {c for s in ctx.dataset.splits for c in s.boxes_per_class}
    classes = [c for c in CLASSES if c in seen] + sorted(seen - set(CLASSES))
    splits = list(ctx.dataset.splits)
    return {
        "splits": splits,
        "classes": classes,
        "total_clips": sum(s.clips for s in splits),
        "total_frames": sum(s.frames for s in splits),
        "boxes": {s.split: sum(s.boxes_per_class.values()) for s in splits},
        "class_totals": {c: sum(s.boxes_per_class.get(c, 0) for s in splits) for c in classes},
    }


def render_report(context: ReportContext, out_dir: Path) -> Path:
    """Write ``out_dir/index.html`` (French report) and ``out_dir/metrics.json``.

    Args:
        context: every number and version the report shows.
        out_dir: created if needed; only these two files are written.

    Returns:
        The path of ``index.html``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = _event_rows(context)
    template = make_environment().get_template("rapport.html.j2")
    html = template.render(
        ctx=context,
        event_rows=rows,
        not_implemented=[r["label"] for r in rows if not r["implemented"]],
        event_chart=_event_chart(rows),
        detection_chart=_detection_chart(context),
        slice_groups=_slice_groups(context),
        data=_dataset_view(context),
        duration_h=context.events.duration_s / 3600.0,
    )
    index = out_dir / "index.html"
    index.write_text(html, encoding="utf-8")
    metrics_path = out_dir / "metrics.json"
    metrics_path.write_text(
        json.dumps(metrics_dict(context), ensure_ascii=False, indent=2, allow_nan=False) + "\n",
        encoding="utf-8",
    )
    logger.info("validation report written to %s (and %s)", index, metrics_path)
    return index
