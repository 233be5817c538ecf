"""Event-level metrics per event type and overall, with bootstrap confidence intervals.

Counting rules are those of :mod:`veilleur.evaluation.event_matching` (TP, FP, FN, duplicates).
Precision is ``TP / (TP + FP)``, recall ``TP / (TP + FN)``; a ratio with a zero denominator is
``None``, never an exception. Confidence intervals come from a percentile bootstrap over clips
(clips are the independent unit, not alerts), drawn from a seeded ``numpy.random.Generator``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from veilleur.evaluation.event_gt import ClipInfo, GroundTruthEvent
from veilleur.evaluation.event_matching import (
    Interval,
    Match,
    MatchResult,
    PredictedAlert,
    Tolerance,
    match_events,
)

__all__ = ["OVERALL", "EventEvaluation", "EventMetrics", "evaluate_events", "resample_weights"]

logger = logging.getLogger(__name__)

OVERALL = "all"
"""``EventMetrics.event`` of the all-types (micro-averaged) row."""


@dataclass(frozen=True)
class EventMetrics:
    """Counts and rates for one event type (or ``OVERALL``) over a set of clips.

    Ratios are in 0–1 and ``None`` when undefined (no alert for precision, no ground-truth
    event for recall). Intervals are ``(low, high)`` percentile bootstrap bounds over clips.
    """

    event: str
    n_gt: int
    tp: int
    fp: int
    fn: int
    duplicates: int
    precision: float | None
    recall: float | None
    f1: float | None
    precision_ci: Interval | None
    recall_ci: Interval | None
    f1_ci: Interval | None
    duration_s: float
    false_alarms_per_hour: float | None
    delay_mean_s: float | None
    delay_median_s: float | None
    delay_max_s: float | None
    false_alarms_per_hour_ci: Interval | None = None
    delay_mean_ci: Interval | None = None


@dataclass(frozen=True)
class EventEvaluation:
    """Result of :func:`evaluate_events`: one row per event type plus the overall row."""

    per_event: Mapping[str, EventMetrics]
    overall: EventMetrics
    n_clips: int
    duration_s: float
    tolerance: Tolerance
    n_bootstrap: int
    seed: int
    match: MatchResult
    clip_counts: Mapping[str, Mapping[str, tuple[int, int, int]]] = field(default_factory=dict)
    """Per clip, per event type (plus ``OVERALL``): ``(TP, FP, FN)`` — the unit of the
    bootstrap, kept so that two models can be compared clip by clip (paired bootstrap)."""


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None:
        return None
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


_CountArray = NDArray[np.int64]


@dataclass(frozen=True)
class _BootstrapCIs:
    precision: list[Interval | None]
    recall: list[Interval | None]
    f1: list[Interval | None]
    fa_per_hour: list[Interval | None]
    delay_mean: list[Interval | None]


def _percentile_interval(samples: NDArray[np.float64], confidence: float) -> Interval | None:
    kept = samples[np.isfinite(samples)]
    if kept.size == 0:
        return None
    alpha = (1.0 - confidence) / 2.0 * 100.0
    lo, hi = np.percentile(kept, [alpha, 100.0 - alpha])
    return float(lo), float(hi)


def resample_weights(n_items: int, n_boot: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """How many times each item is drawn in each of ``n_boot`` resamples with replacement.

    Shape ``(n_boot, n_items)``; every row sums to ``n_items``. Memory stays
    ``O(n_boot * n_items)`` instead of materialising every resampled item.
    """
    idx = rng.integers(0, n_items, size=(n_boot, n_items))
    offsets = idx + (np.arange(n_boot) * n_items)[:, None]
    weights = np.bincount(offsets.ravel(), minlength=n_boot * n_items)
    return weights.reshape(n_boot, n_items).astype(np.float64)


def _bootstrap_ci(
    counts: _CountArray,
    durations_h: NDArray[np.float64],
    delay_sums: NDArray[np.float64],
    n_boot: int,
    rng: np.random.Generator,
    confidence: float,
) -> _BootstrapCIs:
    """Percentile CIs per column of precision, recall, F1, false alarms per hour, mean delay.

    ``counts`` has shape ``(n_clips, n_columns, 3)`` holding TP, FP, FN per clip;
    ``durations_h`` the clip durations in hours; ``delay_sums`` ``(n_clips, n_columns)`` the
    sum of the detection delays of the clip's true positives.
    """
    n_clips, n_cols, _ = counts.shape
    if n_clips == 0 or n_boot <= 0:
        none: list[Interval | None] = [None] * n_cols
        return _BootstrapCIs(list(none), list(none), list(none), list(none), list(none))
    weights = resample_weights(n_clips, n_boot, rng)
    flat = counts.reshape(n_clips, n_cols * 3).astype(np.float64)
    sums = (weights @ flat).reshape(n_boot, n_cols, 3)
    tp, fp, fn = sums[..., 0], sums[..., 1], sums[..., 2]
    hours = weights @ durations_h
    delays = weights @ delay_sums
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
        rec = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        f1 = np.where(prec + rec > 0, 2 * prec * rec / (prec + rec), 0.0)
        fa = np.where(hours[:, None] > 0, fp / hours[:, None], np.nan)
        delay = np.where(tp > 0, delays / tp, np.nan)
    f1 = np.where(np.isnan(prec) | np.isnan(rec), np.nan, f1)

    def cis(samples: NDArray[np.float64]) -> list[Interval | None]:
        return [_percentile_interval(samples[:, c], confidence) for c in range(n_cols)]

    return _BootstrapCIs(cis(prec), cis(rec), cis(f1), cis(fa), cis(delay))


def _delays(matches: Iterable[Match]) -> tuple[float | None, float | None, float | None]:
    values = np.array([m.delay_s for m in matches], dtype=np.float64)
    if values.size == 0:
        return None, None, None
    return float(values.mean()), float(np.median(values)), float(values.max())


def evaluate_events(
    gt: Sequence[GroundTruthEvent],
    alerts: Sequence[PredictedAlert],
    clips: Mapping[str, ClipInfo],
    *,
    event_types: Sequence[str] | None = None,
    tolerance: Tolerance | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> EventEvaluation:
    """Event metrics per type and overall, with bootstrap CIs over clips.

    Args:
        gt: ground-truth events of the analysed clips.
        alerts: alerts raised while replaying those clips.
        clips: every analysed clip, by id, including clips with no event and no alert (their
            duration counts in false alarms per hour and they take part in the bootstrap).
        event_types: rows to report, in this order (e.g. the types the runtime implements).
            Ground truth and alerts of other types are ignored. Default: every type seen.
        tolerance: matching window; default 2 s before the start, 3 s after the end.
        n_bootstrap: number of clip resamples for the CIs (0 disables them).
        seed: seed of the ``numpy.random.Generator`` used for the resamples.
        confidence: CI level.

    Raises:
        ValueError: an event or alert belongs to a clip absent from ``clips``.
    """
    tol = tolerance or Tolerance()
    unknown = sorted(({g.clip for g in gt} | {a.clip for a in alerts}) - set(clips))
    if unknown:
        raise ValueError(
            f"events or alerts refer to clips not in `clips`: {', '.join(unknown)}; pass every "
            "analysed clip so that its duration is counted"
        )
    types = (
        list(event_types)
        if event_types is not None
        else sorted({g.event for g in gt} | {a.event for a in alerts})
    )
    wanted = set(types)
    gt_kept = [g for g in gt if g.event in wanted]
    alerts_kept = [a for a in alerts if a.event in wanted]
    if len(gt_kept) < len(gt) or len(alerts_kept) < len(alerts):
        logger.info(
            "ignored %d ground-truth events and %d alerts of types not evaluated",
            len(gt) - len(gt_kept),
            len(alerts) - len(alerts_kept),
        )
    result = match_events(gt_kept, alerts_kept, tol)

    clip_ids = sorted(clips)
    clip_index = {c: i for i, c in enumerate(clip_ids)}
    col = {t: j for j, t in enumerate(types)}
    counts = np.zeros((len(clip_ids), len(types), 3), dtype=np.int64)
    for m in result.matches:
        counts[clip_index[m.gt.clip], col[m.gt.event], 0] += 1
    for a in result.false_positives:
        counts[clip_index[a.clip], col[a.event], 1] += 1
    for g in result.false_negatives:
        counts[clip_index[g.clip], col[g.event], 2] += 1
    delay_sums = np.zeros((len(clip_ids), len(types) + 1), dtype=np.float64)
    for m in result.matches:
        delay_sums[clip_index[m.gt.clip], col[m.gt.event]] += m.delay_s
        delay_sums[clip_index[m.gt.clip], len(types)] += m.delay_s
    with_overall = np.concatenate([counts, counts.sum(axis=1, keepdims=True)], axis=1)
    durations_h = np.array([clips[c].duration_s / 3600.0 for c in clip_ids], dtype=np.float64)
    rng = np.random.default_rng(seed)
    ci = _bootstrap_ci(with_overall, durations_h, delay_sums, n_bootstrap, rng, confidence)

    duration = float(sum(clips[c].duration_s for c in clip_ids))
    hours = duration / 3600.0

    def row(name: str, j: int, only: str | None) -> EventMetrics:
        tp, fp, fn = (int(v) for v in with_overall[:, j, :].sum(axis=0))
        p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        mean, median, worst = _delays(m for m in result.matches if only in (None, m.gt.event))
        return EventMetrics(
            event=name,
            n_gt=tp + fn,
            tp=tp,
            fp=fp,
            fn=fn,
            duplicates=sum(1 for d in result.duplicates if only in (None, d.alert.event)),
            precision=p,
            recall=r,
            f1=_f1(p, r),
            precision_ci=ci.precision[j],
            recall_ci=ci.recall[j],
            f1_ci=ci.f1[j],
            duration_s=duration,
            false_alarms_per_hour=_ratio(fp, hours),
            delay_mean_s=mean,
            delay_median_s=median,
            delay_max_s=worst,
            false_alarms_per_hour_ci=ci.fa_per_hour[j],
            delay_mean_ci=ci.delay_mean[j],
        )

    per_event = {t: row(t, col[t], t) for t in types}
    overall = row(OVERALL, len(types), None)
    return EventEvaluation(
        per_event=per_event,
        overall=overall,
        n_clips=len(clip_ids),
        duration_s=duration,
        tolerance=tol,
        n_bootstrap=n_bootstrap,
        seed=seed,
        match=result,
        clip_counts={
            c: {
                name: tuple(int(v) for v in with_overall[i, j])  # type: ignore[misc]
                for j, name in enumerate([*types, OVERALL])
            }
            for i, c in enumerate(clip_ids)
        },
    )
