"""Two models (or two configurations) on the same clips: a regression table with significance.

Both sides are ``metrics.json`` files of the evaluate / report stages, whose ``clips`` section
holds, per clip, the TP / FP / FN of each event and the clip's slice values. On the clips both
evaluated, each row (an event, the overall row, or a slice) gets the candidate's and the
reference's recall and precision, their difference, a paired bootstrap interval of the
difference (the same clips drawn for both, so clip difficulty cancels out) and a two-sided
bootstrap p-value. A difference is called significant when its interval excludes zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from veilleur.evaluation.event_matching import Interval
from veilleur.evaluation.event_metrics import OVERALL, resample_weights

__all__ = ["Comparison", "ComparisonRow", "compare_metrics"]

VERDICTS_FR: Mapping[str, str] = {
    "regression": "régression significative",
    "improvement": "amélioration significative",
    "same": "pas de différence significative",
    "undefined": "non comparable",
}


@dataclass(frozen=True)
class ComparisonRow:
    group: str  # "event" | "slice"
    key: str  # event type (or "all"), or slice criterion
    value: str | None  # slice value
    metric: str  # "recall" | "precision"
    n_clips: int
    reference: float | None
    candidate: float | None
    delta: float | None
    delta_ci: Interval | None
    p_value: float | None
    verdict: str

    @property
    def verdict_fr(self) -> str:
        return VERDICTS_FR[self.verdict]


@dataclass(frozen=True)
class Comparison:
    reference_label: str
    candidate_label: str
    n_common_clips: int
    n_bootstrap: int
    rows: tuple[ComparisonRow, ...]

    @property
    def regressions(self) -> tuple[ComparisonRow, ...]:
        return tuple(r for r in self.rows if r.verdict == "regression")


def _counts(metrics: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    clips = metrics.get("clips")
    if not isinstance(clips, Mapping) or not clips:
        raise ValueError(
            "metrics.json has no per-clip counts ('clips'): regenerate it with this version "
            "of `veilleur evaluate` / `veilleur report` before comparing"
        )
    return clips


def _metric(
    tp: NDArray[np.float64], fp: NDArray[np.float64], fn: NDArray[np.float64], metric: str
) -> NDArray[np.float64]:
    den = tp + fn if metric == "recall" else tp + fp
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, tp / np.where(den > 0, den, 1.0), np.nan)


def _label(metrics: Mapping[str, Any], fallback: str) -> str:
    sha = (metrics.get("model") or {}).get("sha256")
    return f"modèle {str(sha)[:12]}" if sha else fallback


def compare_metrics(
    reference: Mapping[str, Any],
    candidate: Mapping[str, Any],
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Comparison:
    """Paired-bootstrap comparison of ``candidate`` against ``reference`` (two metrics.json).

    Raises:
        ValueError: a side lacks per-clip counts, or the two share no clip.
    """
    ref_clips, cand_clips = _counts(reference), _counts(candidate)
    common = sorted(set(ref_clips) & set(cand_clips))
    if not common:
        raise ValueError("the two evaluations share no clip: compare them on the same test set")
    events = sorted(
        {e for c in common for e in cand_clips[c]["counts"]}
        & {e for c in common for e in ref_clips[c]["counts"]}
    )
    events = [e for e in events if e != OVERALL] + ([OVERALL] if OVERALL in events else [])
    rng = np.random.default_rng(seed)
    weights = resample_weights(len(common), n_bootstrap, rng) if n_bootstrap > 0 else None
    alpha = (1.0 - confidence) / 2.0 * 100.0

    def arrays(side: Mapping[str, Any], event: str) -> NDArray[np.float64]:
        return np.array(
            [side[c]["counts"].get(event, [0, 0, 0]) for c in common], dtype=np.float64
        ).reshape(len(common), 3)

    groups: list[tuple[str, str, str | None, NDArray[np.bool_]]] = [
        ("event", e, None, np.ones(len(common), dtype=bool)) for e in events
    ]
    slice_values: dict[tuple[str, str], list[bool]] = {}
    for i, c in enumerate(common):
        for key, value in (cand_clips[c].get("slices") or {}).items():
            slice_values.setdefault((key, str(value)), [False] * len(common))[i] = True
    for (key, value), flags in sorted(slice_values.items()):
        groups.append(("slice", key, value, np.array(flags, dtype=bool)))

    rows: list[ComparisonRow] = []
    for group, key, value, member in groups:
        event = key if group == "event" else OVERALL
        ref, cand = (
            arrays(ref_clips, event) * member[:, None],
            arrays(cand_clips, event) * member[:, None],
        )
        for metric in ("recall", "precision"):
            r_sum, c_sum = ref.sum(axis=0), cand.sum(axis=0)
            r_est = float(_metric(r_sum[0], r_sum[1], r_sum[2], metric))
            c_est = float(_metric(c_sum[0], c_sum[1], c_sum[2], metric))
            r_val = None if np.isnan(r_est) else r_est
            c_val = None if np.isnan(c_est) else c_est
            delta = None if r_val is None or c_val is None else c_val - r_val
            ci: Interval | None = None
            p: float | None = None
            if delta is not None and weights is not None:
                rs, cs = weights @ ref, weights @ cand
                d = _metric(cs[:, 0], cs[:, 1], cs[:, 2], metric) - _metric(
                    rs[:, 0], rs[:, 1], rs[:, 2], metric
                )
                d = d[np.isfinite(d)]
                if d.size:
                    bounds = np.percentile(d, [alpha, 100.0 - alpha])
                    ci = (float(bounds[0]), float(bounds[1]))
                    below, above = float(np.mean(d <= 0.0)), float(np.mean(d >= 0.0))
                    p = min(1.0, 2.0 * min(below, above))
            if delta is None:
                verdict = "undefined"
            elif ci is not None and ci[1] < 0.0:
                verdict = "regression"
            elif ci is not None and ci[0] > 0.0:
                verdict = "improvement"
            else:
                verdict = "same"
            rows.append(
                ComparisonRow(
                    group=group,
                    key=key,
                    value=value,
                    metric=metric,
                    n_clips=int(member.sum()),
                    reference=r_val,
                    candidate=c_val,
                    delta=delta,
                    delta_ci=ci,
                    p_value=p,
                    verdict=verdict,
                )
            )
    return Comparison(
        reference_label=_label(reference, "référence"),
        candidate_label=_label(candidate, "candidat"),
        n_common_clips=len(common),
        n_bootstrap=n_bootstrap,
        rows=tuple(rows),
    )


def comparison_dict(comparison: Comparison) -> dict[str, Any]:
    """JSON-ready form (``metrics.json``'s ``comparison``)."""
    return {
        "reference": comparison.reference_label,
        "candidate": comparison.candidate_label,
        "n_common_clips": comparison.n_common_clips,
        "n_bootstrap": comparison.n_bootstrap,
        "rows": [
            {
                "group": r.group,
                "key": r.key,
                "value": r.value,
                "metric": r.metric,
                "n_clips": r.n_clips,
                "reference": r.reference,
                "candidate": r.candidate,
                "delta": r.delta,
                "delta_ci": r.delta_ci,
                "p_value": r.p_value,
                "verdict": r.verdict,
            }
            for r in comparison.rows
        ],
    }


def rows_for(comparison: Comparison, group: str) -> Sequence[ComparisonRow]:
    return [r for r in comparison.rows if r.group == group]
