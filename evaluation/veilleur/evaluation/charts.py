"""Charts of the validation report, as base64 PNG ready for a ``data:`` URI.

Matplotlib is driven through its object API (``Figure``), never ``pyplot``: no global state,
no display needed, the Agg canvas renders off-screen. Every visible label is in French and
axis numbers use a decimal comma.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from veilleur.evaluation.fr_format import fr_number

__all__ = [
    "BarSeries",
    "Curve",
    "SlicePanel",
    "confusion_matrix_png",
    "grouped_bar_chart_png",
    "pr_curves_png",
    "slice_panels_png",
]

_COLORS = ("#1f4e79", "#c55a11", "#548235", "#7f6000")
# Curves must stay apart in a black-and-white print: colour, line style and marker all vary.
_LINE_COLORS = (
    "#1f4e79",
    "#c55a11",
    "#548235",
    "#7f6000",
    "#7030a0",
    "#404040",
    "#b00020",
    "#008080",
)
_LINE_STYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


@dataclass(frozen=True)
class BarSeries:
    """One series of bars: a value per category (``None`` = not drawn) and optional CIs."""

    label: str
    values: Sequence[float | None]
    intervals: Sequence[tuple[float, float] | None] | None = None


def _to_png_base64(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def grouped_bar_chart_png(
    categories: Sequence[str],
    series: Sequence[BarSeries],
    *,
    title: str,
    y_label: str,
    y_max: float = 1.0,
) -> str:
    """Grouped bar chart with asymmetric error bars from the intervals, as base64 PNG.

    Undefined values are drawn as no bar and marked "n.d." (non défini) under the axis.

    Example:
        >>> png = grouped_bar_chart_png(["Feu"], [BarSeries("Précision", [0.9])],
        ...                             title="Exemple", y_label="Valeur")
        >>> png[:8]
        'iVBORw0K'
    """
    n_cat = max(len(categories), 1)
    fig = Figure(figsize=(max(5.0, 1.3 * n_cat + 2.0), 3.6))
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(categories), dtype=np.float64)
    width = 0.8 / max(len(series), 1)
    for s_idx, s in enumerate(series):
        offset = (s_idx - (len(series) - 1) / 2.0) * width
        heights = np.array([np.nan if v is None else v for v in s.values], dtype=np.float64)
        err = np.zeros((2, len(categories)), dtype=np.float64)
        if s.intervals is not None:
            for i, (value, interval) in enumerate(zip(s.values, s.intervals, strict=True)):
                if value is not None and interval is not None:
                    err[0, i] = max(value - interval[0], 0.0)
                    err[1, i] = max(interval[1] - value, 0.0)
        color = _COLORS[s_idx % len(_COLORS)]
        ax.bar(
            x + offset,
            np.nan_to_num(heights),
            width,
            label=s.label,
            color=color,
            yerr=err if s.intervals is not None else None,
            capsize=3,
            ecolor="#333333",
        )
        for i, h in enumerate(heights):
            if np.isnan(h):
                ax.text(x[i] + offset, 0.02 * y_max, "n.d.", ha="center", fontsize=7, rotation=90)
    ax.set_xticks(x)
    ax.set_xticklabels(list(categories), rotation=20, ha="right")
    ax.set_ylim(0.0, y_max * 1.05)
    ax.set_ylabel(y_label)
    ax.set_title(title)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fr_number(v, 1)))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=len(series), frameon=False)
    return _to_png_base64(fig)


@dataclass(frozen=True)
class SlicePanel:
    """One criterion's slices: their labels, and one series per metric (with intervals)."""

    title: str
    categories: Sequence[str]
    series: Sequence[BarSeries]


def slice_panels_png(
    panels: Sequence[SlicePanel],
    *,
    floors: Sequence[tuple[str, float]] = (),
    title: str,
) -> str:
    """One small bar chart per criterion, two per row, with dashed floor lines; base64 PNG.

    Sized for an A4 page (about 17 cm wide): readable in print.
    """
    n = max(len(panels), 1)
    cols = 1 if n == 1 else 2
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(7.5, 2.3 * rows + 0.8))
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n)]
    for ax, panel in zip(axes, panels, strict=False):
        x = np.arange(len(panel.categories), dtype=np.float64)
        width = 0.8 / max(len(panel.series), 1)
        for s_idx, s in enumerate(panel.series):
            offset = (s_idx - (len(panel.series) - 1) / 2.0) * width
            heights = np.array([np.nan if v is None else v for v in s.values], dtype=np.float64)
            err = np.zeros((2, len(panel.categories)), dtype=np.float64)
            for i, (value, interval) in enumerate(
                zip(s.values, s.intervals or [None] * len(s.values), strict=True)
            ):
                if value is not None and interval is not None:
                    err[0, i] = max(value - interval[0], 0.0)
                    err[1, i] = max(interval[1] - value, 0.0)
            ax.bar(
                x + offset,
                np.nan_to_num(heights),
                width,
                label=s.label,
                color=_COLORS[s_idx % len(_COLORS)],
                yerr=err,
                capsize=3,
                ecolor="#333333",
            )
            for i, h in enumerate(heights):
                if np.isnan(h):
                    ax.text(x[i] + offset, 0.03, "n.d.", ha="center", fontsize=7, rotation=90)
        for f_idx, (label, value) in enumerate(floors):
            ax.axhline(
                value,
                linestyle="--",
                linewidth=1,
                color=_COLORS[f_idx % len(_COLORS)],
                label=label,
            )
        ax.set_xticks(x)
        ax.set_xticklabels(list(panel.categories), fontsize=8)
        ax.set_ylim(0.0, 1.08)
        ax.set_title(panel.title, fontsize=9, loc="left")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fr_number(v, 1)))
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=max(len(labels), 1), frameon=False,
               fontsize=8)  # fmt: skip
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0.0, 0.05, 1.0, 0.97))
    return _to_png_base64(fig)


@dataclass(frozen=True)
class Curve:
    """One precision–recall curve: its legend, points, and optionally an operating point."""

    label: str
    recall: Sequence[float]
    precision: Sequence[float]
    operating_point: tuple[float, float] | None = None


def pr_curves_png(curves: Sequence[Curve], *, title: str, operating_label: str = "") -> str:
    """Precision against recall, one line per class, sized for an A4 page; base64 PNG.

    Each line has its own colour, style and marker (readable in black and white); the
    operating point of a curve, when given, is a filled black marker.
    """
    fig = Figure(figsize=(7.5, 4.6))
    ax = fig.add_subplot(1, 1, 1)
    shown_op = False
    for i, c in enumerate(curves):
        color = _LINE_COLORS[i % len(_LINE_COLORS)]
        ax.plot(
            list(c.recall),
            list(c.precision),
            linestyle=_LINE_STYLES[i % len(_LINE_STYLES)],
            color=color,
            linewidth=1.6,
            marker=_MARKERS[i % len(_MARKERS)],
            markevery=max(len(c.recall) // 6, 1),
            markersize=5,
            label=c.label,
        )
        if c.operating_point is not None:
            ax.plot(
                [c.operating_point[0]],
                [c.operating_point[1]],
                marker=_MARKERS[i % len(_MARKERS)],
                markersize=9,
                color="black",
                linestyle="none",
                label=operating_label if operating_label and not shown_op else None,
            )
            shown_op = True
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel("Rappel (part des objets annotés retrouvés)")
    ax.set_ylabel("Précision (part des détections correctes)")
    ax.set_title(title, fontsize=10)
    fmt = FuncFormatter(lambda v, _pos: fr_number(v, 1))
    ax.xaxis.set_major_formatter(fmt)
    ax.yaxis.set_major_formatter(fmt)
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return _to_png_base64(fig)


def confusion_matrix_png(
    labels: Sequence[str],
    counts: Sequence[Sequence[int]],
    *,
    title: str,
    row_title: str,
    column_title: str,
    blank: tuple[int, int] | None = None,
) -> str:
    """Heat map of a confusion matrix, the count written in every cell; base64 PNG.

    Colour is the share of the row (so a rare class reads as well as a frequent one); the
    numbers are counts; the ``blank`` cell (row, column), meaningless, shows a dash. Sized
    for an A4 page.
    """
    m = np.asarray(counts, dtype=np.float64).reshape(len(labels), len(labels))
    totals = m.sum(axis=1, keepdims=True)
    share = np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)
    n = len(labels)
    side = min(max(3.8, 0.75 * n + 1.8), 7.5)
    fig = Figure(figsize=(side + 1.0, side))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                "—" if (i, j) == blank else f"{int(m[i, j])}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if share[i, j] > 0.55 else "black",
            )
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(list(labels), rotation=35, ha="right", fontsize=8)
    ax.set_yticklabels(list(labels), fontsize=8)
    ax.set_xlabel(column_title, fontsize=9)
    ax.set_ylabel(row_title, fontsize=9)
    ax.set_title(title, fontsize=10)
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fr_number(v, 1)))
    bar.ax.tick_params(labelsize=7)
    bar.set_label("Part de la ligne", fontsize=8)
    return _to_png_base64(fig)
