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

__all__ = ["BarSeries", "SlicePanel", "grouped_bar_chart_png", "slice_panels_png"]

_COLORS = ("#1f4e79", "#c55a11", "#548235", "#7f6000")


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
