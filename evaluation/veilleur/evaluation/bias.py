"""Bias findings over slices (EX-087): worst slice, disparity ratio, and the gates of params.yaml.

For each slicing criterion (lighting, weather, density, camera height …) and each metric
(recall, precision), the slices with enough support (``min_events`` ground-truth events for
recall, ``min_events`` alerts for precision) are compared: the worst slice, the best, and the
disparity ratio ``worst / best`` (1 = no disparity). A gate fails when a supported slice is
below its floor, or when a criterion's ratio is below ``min_disparity_ratio``. Every verdict
comes with a French sentence: the report prints them, the stage logs and exits on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from veilleur.evaluation.event_matching import Interval
from veilleur.evaluation.fr_format import fr_number
from veilleur.evaluation.params import GateParams
from veilleur.evaluation.slices import SliceMetrics

__all__ = [
    "METRIC_LABELS_FR",
    "BiasAnalysis",
    "CriterionFinding",
    "GateVerdict",
    "SliceRow",
    "analyse_bias",
]

METRIC_LABELS_FR: Mapping[str, str] = {"recall": "rappel", "precision": "précision"}


@dataclass(frozen=True)
class SliceRow:
    """One slice's value of one metric, and whether it has enough support to be gated."""

    key: str
    value: str
    metric: str
    estimate: float | None
    interval: Interval | None
    support: int
    gated: bool


@dataclass(frozen=True)
class CriterionFinding:
    """Worst and best supported slices of one criterion for one metric."""

    key: str
    metric: str
    rows: tuple[SliceRow, ...]
    worst: SliceRow | None
    best: SliceRow | None
    disparity_ratio: float | None


@dataclass(frozen=True)
class GateVerdict:
    """One gate check: what was measured, against what, and the French sentence saying it."""

    kind: str  # "floor" | "disparity"
    key: str
    value: str | None
    metric: str
    observed: float
    threshold: float
    passed: bool
    message_fr: str


@dataclass(frozen=True)
class BiasAnalysis:
    findings: tuple[CriterionFinding, ...]
    verdicts: tuple[GateVerdict, ...]
    params: GateParams

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    @property
    def failures(self) -> tuple[GateVerdict, ...]:
        return tuple(v for v in self.verdicts if not v.passed)

    def summary_fr(self) -> str:
        """One French paragraph: the verdict, then each failed gate."""
        if not self.verdicts:
            return (
                "Aucune tranche n’a un effectif suffisant pour être soumise aux seuils : "
                "aucune conclusion sur les biais n’est possible avec ces données."
            )
        if self.passed:
            return (
                f"Les {len(self.verdicts)} contrôles de biais sont satisfaits : aucune tranche "
                "n’est sous son plancher et aucun écart entre tranches ne dépasse la borne fixée."
            )
        lines = [f"{len(self.failures)} contrôle(s) de biais sur {len(self.verdicts)} échoue(nt) :"]
        lines += [v.message_fr for v in self.failures]
        return " ".join(lines)


def _at_least(metric: str) -> str:
    return "au moins égale" if metric == "precision" else "au moins égal"


def _below(metric: str) -> str:
    return "inférieure" if metric == "precision" else "inférieur"


def _label(mapping: Mapping[str, str], text: str) -> str:
    return mapping.get(text, text)


def analyse_bias(
    slices: Sequence[SliceMetrics],
    params: GateParams,
    *,
    key_labels: Mapping[str, str] | None = None,
    value_labels: Mapping[str, str] | None = None,
) -> BiasAnalysis:
    """Worst slice, disparity ratio and gate verdicts for recall and precision.

    Args:
        slices: per-slice metrics (:func:`veilleur.evaluation.slices.evaluate_slices`); the
            overall row (all evaluated events) of each slice is used.
        params: floors and bounds (``evaluate.gates`` of params.yaml).
        key_labels, value_labels: French names of criteria and values for the messages.
    """
    keys_fr = key_labels or {}
    values_fr = value_labels or {}
    by_key: dict[str, list[SliceMetrics]] = {}
    for s in slices:
        by_key.setdefault(s.key, []).append(s)
    findings: list[CriterionFinding] = []
    verdicts: list[GateVerdict] = []
    for key, members in by_key.items():
        for metric in ("recall", "precision"):
            floor = params.recall_floor if metric == "recall" else params.precision_floor
            rows = []
            for s in members:
                m = s.evaluation.overall
                support = m.n_gt if metric == "recall" else m.tp + m.fp
                estimate = m.recall if metric == "recall" else m.precision
                interval = m.recall_ci if metric == "recall" else m.precision_ci
                rows.append(
                    SliceRow(
                        key=key,
                        value=s.value,
                        metric=metric,
                        estimate=estimate,
                        interval=interval,
                        support=support,
                        gated=estimate is not None and support >= params.min_events,
                    )
                )
            gated = [r for r in rows if r.gated]
            worst = min(gated, key=lambda r: (r.estimate, r.value)) if gated else None
            best = max(gated, key=lambda r: (r.estimate, r.value)) if gated else None
            ratio = None
            if worst is not None and best is not None and len(gated) >= 2:
                assert worst.estimate is not None and best.estimate is not None
                ratio = worst.estimate / best.estimate if best.estimate > 0 else None
            findings.append(CriterionFinding(key, metric, tuple(rows), worst, best, ratio))
            name = METRIC_LABELS_FR[metric]
            crit = _label(keys_fr, key)
            for r in gated:
                assert r.estimate is not None
                ok = r.estimate >= floor
                where = f"Tranche « {crit} = {_label(values_fr, r.value)} »"
                verdicts.append(
                    GateVerdict(
                        kind="floor",
                        key=key,
                        value=r.value,
                        metric=metric,
                        observed=r.estimate,
                        threshold=floor,
                        passed=ok,
                        message_fr=(
                            f"{where} : {name} {fr_number(r.estimate)} "
                            f"{_at_least(metric) if ok else _below(metric)} au plancher "
                            f"{fr_number(floor)}."
                        ),
                    )
                )
            if ratio is not None and worst is not None and best is not None:
                ok = ratio >= params.min_disparity_ratio
                verdicts.append(
                    GateVerdict(
                        kind="disparity",
                        key=key,
                        value=None,
                        metric=metric,
                        observed=ratio,
                        threshold=params.min_disparity_ratio,
                        passed=ok,
                        message_fr=(
                            f"Critère « {crit} » : rapport de disparité du {name} (pire tranche "
                            f"« {_label(values_fr, worst.value)} » / meilleure « "
                            f"{_label(values_fr, best.value)} ») {fr_number(ratio)} "
                            f"{'au moins égal' if ok else 'inférieur'} à la borne "
                            f"{fr_number(params.min_disparity_ratio)}."
                        ),
                    )
                )
    return BiasAnalysis(tuple(findings), tuple(verdicts), params)
