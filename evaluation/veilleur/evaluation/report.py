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

from veilleur.evaluation.bias import METRIC_LABELS_FR
from veilleur.evaluation.charts import (
    BarSeries,
    Curve,
    SlicePanel,
    confusion_matrix_png,
    grouped_bar_chart_png,
    pr_curves_png,
    slice_panels_png,
)
from veilleur.evaluation.compare import comparison_dict
from veilleur.evaluation.detection_metrics import BACKGROUND
from veilleur.evaluation.errors import CAUSE_LABELS_FR, thumbnail_base64
from veilleur.evaluation.event_metrics import OVERALL, EventMetrics
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

__all__ = [
    "METRICS_SCHEMA_VERSION",
    "PDF_NAME",
    "make_environment",
    "metrics_dict",
    "render_pdf",
    "render_report",
]

logger = logging.getLogger(__name__)

METRICS_SCHEMA_VERSION = 2
PDF_NAME = "rapport.pdf"
ERRORS_NAME = "erreurs_fiftyone.json"
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


_EVENT_LABELS: Mapping[str, str] = {
    **{e.value: EVENT_LABELS_FR[e] for e in EventType},
    OVERALL: "Ensemble des événements",
}


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
        key_fr=lambda key: SLICE_KEY_LABELS_FR.get(key, key),
        value_fr=lambda value: SLICE_VALUE_LABELS_FR.get(value, value),
        metric_fr=lambda m: METRIC_LABELS_FR.get(m, m),
        cause_fr=lambda c: CAUSE_LABELS_FR.get(c, c),
        event_fr=lambda e: _EVENT_LABELS.get(e, e),
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
        "per_camera": [
            {
                "camera": s.value,
                "n_clips": s.n_clips,
                "overall": _jsonable(s.evaluation.overall),
                "per_event": _jsonable(s.evaluation.per_event),
            }
            for s in context.per_camera
        ],
        "detection_slices": [s.to_dict() for s in context.detection_slices],
        "tracking": None if context.tracking is None else _jsonable(context.tracking.to_dict()),
        "clips": _clip_section(context),
        "bias": _bias_dict(context),
        "errors": None if context.errors is None else context.errors.to_dict(),
        "comparison": None if context.comparison is None else comparison_dict(context.comparison),
        "provenance": _jsonable(context.provenance),
    }


def _clip_section(context: ReportContext) -> dict[str, Any]:
    """Per clip: TP / FP / FN per event and the clip's slice values (for paired comparisons)."""
    slices: dict[str, dict[str, str]] = {}
    for s in context.slices:
        for clip in s.evaluation.clip_counts:
            slices.setdefault(clip, {})[s.key] = s.value
    return {
        clip: {"counts": {e: list(c) for e, c in counts.items()}, "slices": slices.get(clip, {})}
        for clip, counts in context.events.clip_counts.items()
    }


def _bias_dict(context: ReportContext) -> dict[str, Any] | None:
    bias = context.bias
    if bias is None:
        return None
    return {
        "passed": bias.passed,
        "summary_fr": bias.summary_fr(),
        "gates": _jsonable(bias.params.model_dump()),
        "verdicts": _jsonable(list(bias.verdicts)),
        "findings": [
            {
                "key": f.key,
                "metric": f.metric,
                "worst": _jsonable(f.worst),
                "best": _jsonable(f.best),
                "disparity_ratio": f.disparity_ratio,
                "rows": _jsonable(list(f.rows)),
            }
            for f in bias.findings
        ],
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


def _class_fr(name: str) -> str:
    return CLASS_LABELS_FR.get(name, name)


def _pr_chart(ctx: ReportContext) -> str | None:
    det = ctx.detection
    if det is None or not det.pr_curves:
        return None
    op = det.confusion.min_score if det.confusion is not None else None
    curves = []
    for c in det.pr_curves:
        if not any(p > 0 for p in c.precision):
            continue  # AP 0: a dot at the origin, said in the caption
        point = None
        if op is not None:
            reached = [i for i, s in enumerate(c.score) if s >= op]
            if reached:
                point = (c.recall[reached[-1]], c.precision[reached[-1]])
        curves.append(
            Curve(
                f"{_class_fr(c.name)} (AP 0,50 = {fr_number(c.ap50, 3)})",
                c.recall,
                c.precision,
                point,
            )
        )
    if not curves:
        return None
    return pr_curves_png(
        curves,
        title="Courbes précision–rappel par classe (IoU 0,50)",
        operating_label=(
            f"point de fonctionnement (score ≥ {fr_number(op)})" if op is not None else ""
        ),
    )


def _confusion_view(ctx: ReportContext) -> dict[str, Any] | None:
    """The confusion matrix restricted to the classes that appear in it, French labels."""
    det = ctx.detection
    cm = det.confusion if det is not None else None
    if cm is None:
        return None
    n = len(cm.labels)
    keep = [
        i
        for i in range(n)
        if cm.labels[i] == BACKGROUND or any(cm.counts[i][j] or cm.counts[j][i] for j in range(n))
    ]
    labels = ["fond" if cm.labels[i] == BACKGROUND else _class_fr(cm.labels[i]) for i in keep]
    counts = [[cm.counts[i][j] for j in keep] for i in keep]
    chart = confusion_matrix_png(
        labels,
        counts,
        title=f"Matrice de confusion (IoU ≥ {fr_number(cm.iou_threshold)}, "
        f"score ≥ {fr_number(cm.min_score)})",
        row_title="Classe annotée",
        column_title="Classe détectée",
        blank=(len(keep) - 1, len(keep) - 1),
    )
    return {"labels": labels, "counts": counts, "chart": chart, "cm": cm}


def _detection_slice_groups(ctx: ReportContext) -> list[dict[str, Any]]:
    groups: dict[str, list[Any]] = {}
    for s in ctx.detection_slices:
        groups.setdefault(s.key, []).append(s)
    return [
        {
            "label": SLICE_KEY_LABELS_FR.get(key, key),
            "rows": [
                {
                    "value": SLICE_VALUE_LABELS_FR.get(s.value, s.value),
                    "n_clips": len(s.clips),
                    "r": s,
                }
                for s in sorted(members, key=lambda s: _value_order(s.value))
            ],
        }
        for key, members in groups.items()
    ]


def _detection_slice_chart(groups: Sequence[Mapping[str, Any]]) -> str | None:
    if not groups:
        return None
    panels = [
        SlicePanel(
            title=g["label"],
            categories=[r["value"] for r in g["rows"]],
            series=[
                BarSeries(
                    "mAP, IoU 0,50",
                    [r["r"].map50 for r in g["rows"]],
                    [r["r"].map50_ci for r in g["rows"]],
                ),
                BarSeries(
                    "mAP, IoU 0,50 à 0,95",
                    [r["r"].map for r in g["rows"]],
                    [r["r"].map_ci for r in g["rows"]],
                ),
            ],
        )
        for g in groups
    ]
    return slice_panels_png(
        panels, title="Précision moyenne de détection par tranche (intervalle de confiance à 95 %)"
    )


def _tracking_chart(ctx: ReportContext) -> str | None:
    tr = ctx.tracking
    if tr is None or not tr.per_class:
        return None
    rows = [(_class_fr(c.name), c.metrics) for c in tr.per_class]
    if len(rows) > 1:
        rows.append(("toutes classes", tr.overall))
    return grouped_bar_chart_png(
        [label for label, _ in rows],
        [
            BarSeries("HOTA", [m.hota for _, m in rows], [m.hota_ci for _, m in rows]),
            BarSeries("DetA", [m.deta for _, m in rows], [m.deta_ci for _, m in rows]),
            BarSeries("AssA", [m.assa for _, m in rows], [m.assa_ci for _, m in rows]),
            BarSeries("IDF1", [m.idf1 for _, m in rows], [m.idf1_ci for _, m in rows]),
        ],
        title="Qualité du suivi par classe (intervalle de confiance à 95 %)",
        y_label="Valeur (0 à 1)",
    )


def _value_order(value: str) -> tuple[int, str]:
    return (_VALUE_ORDER.index(value) if value in _VALUE_ORDER else len(_VALUE_ORDER), value)


def _slice_groups(ctx: ReportContext) -> list[dict[str, Any]]:
    order = _value_order

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


def _slice_chart(ctx: ReportContext) -> str | None:
    if not ctx.slices:
        return None
    panels = []
    for group in _slice_groups(ctx):
        ms = [r["m"] for r in group["rows"]]
        panels.append(
            SlicePanel(
                title=group["label"],
                categories=[r["value"] for r in group["rows"]],
                series=[
                    BarSeries("Rappel", [m.recall for m in ms], [m.recall_ci for m in ms]),
                    BarSeries("Précision", [m.precision for m in ms], [m.precision_ci for m in ms]),
                ],
            )
        )
    floors = []
    if ctx.bias is not None:
        floors = [
            ("Plancher du rappel", ctx.bias.params.recall_floor),
            ("Plancher de la précision", ctx.bias.params.precision_floor),
        ]
    return slice_panels_png(
        panels,
        floors=floors,
        title="Rappel et précision par tranche (intervalle de confiance à 95 %)",
    )


def _thumbnails(ctx: ReportContext) -> dict[str, list[dict[str, Any]]]:
    """Error thumbnails (base64 JPEG), grouped by kind then cause, highest loss first."""
    out: dict[str, list[dict[str, Any]]] = {"fp": [], "fn": [], "events": []}
    if ctx.errors is None:
        return out
    for kind, errors, colour in (
        ("fp", ctx.errors.false_positives, (0, 0, 220)),
        ("fn", ctx.errors.false_negatives, (0, 140, 255)),
    ):
        for e in sorted(errors, key=lambda e: (e.cause, -e.loss)):
            thumb = None
            if ctx.images_dir is not None:
                thumb = thumbnail_base64(ctx.images_dir / e.file_name, e.bbox, colour=colour)
            out[kind].append({"e": e, "thumb": thumb})
    for ev in ctx.errors.event_errors:
        thumb = None
        if ctx.images_dir is not None and ev.file_name:
            thumb = thumbnail_base64(ctx.images_dir / ev.file_name, None, colour=(0, 0, 0))
        out["events"].append({"e": ev, "thumb": thumb})
    return out


def render_html(context: ReportContext) -> str:
    """The report as one self-contained HTML page (French)."""
    rows = _event_rows(context)
    det_slice_groups = _detection_slice_groups(context)
    template = make_environment().get_template("rapport.html.j2")
    return template.render(
        ctx=context,
        event_rows=rows,
        not_implemented=[r["label"] for r in rows if not r["implemented"]],
        event_chart=_event_chart(rows),
        detection_chart=_detection_chart(context),
        pr_chart=_pr_chart(context),
        confusion=_confusion_view(context),
        detection_slice_groups=det_slice_groups,
        detection_slice_chart=_detection_slice_chart(det_slice_groups),
        tracking_chart=_tracking_chart(context),
        slice_chart=_slice_chart(context),
        slice_groups=_slice_groups(context),
        thumbs=_thumbnails(context),
        data=_dataset_view(context),
        duration_h=context.events.duration_s / 3600.0,
    )


def render_pdf(html: str, pdf_path: Path) -> Path:
    """Print the HTML report to PDF with WeasyPrint (Pango; offline, no browser)."""
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    from weasyprint import HTML

    HTML(string=html, base_url=str(pdf_path.parent)).write_pdf(pdf_path)
    return pdf_path


def render_report(context: ReportContext, out_dir: Path, *, pdf: bool = True) -> Path:
    """Write ``out_dir/index.html`` (French report), ``rapport.pdf`` and ``metrics.json``.

    With error analysis and an images folder, also ``erreurs_fiftyone.json`` (the error
    samples for a FiftyOne view, :func:`veilleur.evaluation.errors.load_fiftyone_view`).

    Args:
        context: every number and version the report shows.
        out_dir: created if needed.
        pdf: also print ``rapport.pdf`` (WeasyPrint).

    Returns:
        The path of ``index.html``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    html = render_html(context)
    index = out_dir / "index.html"
    index.write_text(html, encoding="utf-8")
    metrics_path = out_dir / "metrics.json"
    metrics_path.write_text(
        json.dumps(metrics_dict(context), ensure_ascii=False, indent=2, allow_nan=False) + "\n",
        encoding="utf-8",
    )
    if context.errors is not None and context.images_dir is not None:
        from veilleur.evaluation.errors import write_fiftyone_samples

        write_fiftyone_samples(context.errors, context.images_dir, out_dir / ERRORS_NAME)
    if pdf:
        render_pdf(html, out_dir / PDF_NAME)
    logger.info("validation report written to %s (and %s)", index, metrics_path)
    return index
