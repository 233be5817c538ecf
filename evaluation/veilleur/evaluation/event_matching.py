"""Matching of alerts to ground-truth events (pure).

Vocabulary of the specification (requirements §2):

- *vrai positif* (TP): an alert whose time falls inside the tolerance window of a ground-truth
  event of the same type, in the same clip, that no earlier alert has matched;
- *faux positif* (FP): an alert that falls in no window of its type;
- *faux négatif* (FN): a ground-truth event that no alert matched;
- *doublon* (duplicate): a further alert inside the window of an already matched event. It is
  neither TP nor FP (an operator sees it as the same incident) and is counted on its own.

The window of an event is ``[start_s - before_s, end_s + after_s]``. Alerts are taken in time
order and each goes to the open window that closes first, which maximises the number of TPs
for interval–point matching.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from veilleur.evaluation.event_gt import GroundTruthEvent

__all__ = [
    "Duplicate",
    "Interval",
    "Match",
    "MatchResult",
    "PredictedAlert",
    "Tolerance",
    "match_events",
]

Interval = tuple[float, float]


@dataclass(frozen=True)
class PredictedAlert:
    """One alert raised by the runtime on a replayed clip (times in seconds of clip time)."""

    clip: str
    event: str
    alert_s: float
    start_s: float | None = None
    confidence: float | None = None
    alert_id: str | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any], clip: str) -> PredictedAlert:
        """Build from a journal line of ``veilleur replay`` (contracts §7) or a plain dict.

        The type is read from ``event`` (or ``type``), the time from ``alert_s`` (or, failing
        that, ``start_s``).

        Raises:
            ValueError: neither key of a pair is present.
        """
        event = record.get("event", record.get("type"))
        time = record.get("alert_s", record.get("start_s"))
        if event is None or time is None:
            raise ValueError(
                f"alert record {record!r} needs 'event' (or 'type') and 'alert_s' (or 'start_s')"
            )
        start = record.get("start_s")
        conf = record.get("confidence")
        alert_id = record.get("id")
        return cls(
            clip=clip,
            event=str(event),
            alert_s=float(time),
            start_s=None if start is None else float(start),
            confidence=None if conf is None else float(conf),
            alert_id=None if alert_id is None else str(alert_id),
        )


@dataclass(frozen=True)
class Tolerance:
    """How far before the start and after the end of an event an alert still counts."""

    before_s: float = 2.0
    after_s: float = 3.0

    def window(self, gt: GroundTruthEvent) -> Interval:
        return gt.start_s - self.before_s, gt.end_s + self.after_s


@dataclass(frozen=True)
class Match:
    """A true positive: the first alert inside the window of a ground-truth event."""

    gt: GroundTruthEvent
    alert: PredictedAlert

    @property
    def delay_s(self) -> float:
        """Detection delay ``alert_s - start_s`` (negative if raised in the tolerance before)."""
        return self.alert.alert_s - self.gt.start_s


@dataclass(frozen=True)
class Duplicate:
    """A further alert inside the window of an event already matched."""

    gt: GroundTruthEvent
    alert: PredictedAlert


@dataclass(frozen=True)
class MatchResult:
    matches: tuple[Match, ...]
    duplicates: tuple[Duplicate, ...]
    false_positives: tuple[PredictedAlert, ...]
    false_negatives: tuple[GroundTruthEvent, ...]


def match_events(
    gt: Iterable[GroundTruthEvent],
    alerts: Iterable[PredictedAlert],
    tolerance: Tolerance | None = None,
) -> MatchResult:
    """Match alerts to ground-truth events, per clip and per event type.

    Example:
        >>> ev = GroundTruthEvent(clip="c1", event="feu", start_s=10.0, end_s=20.0)
        >>> res = match_events([ev], [PredictedAlert(clip="c1", event="feu", alert_s=11.0)])
        >>> len(res.matches), len(res.false_positives), len(res.false_negatives)
        (1, 0, 0)
    """
    tol = tolerance or Tolerance()
    gt_groups: dict[tuple[str, str], list[GroundTruthEvent]] = defaultdict(list)
    alert_groups: dict[tuple[str, str], list[PredictedAlert]] = defaultdict(list)
    for g in gt:
        gt_groups[(g.clip, g.event)].append(g)
    for a in alerts:
        alert_groups[(a.clip, a.event)].append(a)

    matches: list[Match] = []
    duplicates: list[Duplicate] = []
    false_pos: list[PredictedAlert] = []
    false_neg: list[GroundTruthEvent] = []
    for key in sorted(set(gt_groups) | set(alert_groups)):
        events = sorted(gt_groups.get(key, []), key=lambda g: (g.start_s, g.end_s))
        windows = [tol.window(g) for g in events]
        matched: dict[int, PredictedAlert] = {}
        for alert in sorted(alert_groups.get(key, []), key=lambda a: a.alert_s):
            t = alert.alert_s
            inside = [i for i, (lo, hi) in enumerate(windows) if lo <= t <= hi]
            free = [i for i in inside if i not in matched]
            if free:
                best = min(free, key=lambda i: (windows[i][1], windows[i][0]))
                matched[best] = alert
                matches.append(Match(gt=events[best], alert=alert))
            elif inside:
                duplicates.append(Duplicate(gt=events[inside[0]], alert=alert))
            else:
                false_pos.append(alert)
        false_neg.extend(g for i, g in enumerate(events) if i not in matched)
    return MatchResult(
        matches=tuple(matches),
        duplicates=tuple(duplicates),
        false_positives=tuple(false_pos),
        false_negatives=tuple(false_neg),
    )
