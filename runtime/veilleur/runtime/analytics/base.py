"""What every event analyser shares: the hit it returns and the protocol it follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.events import EventType


@dataclass(frozen=True)
class RuleHit:
    """A rule's condition became true at stream time ``t``; the engine makes it an alert."""

    rule_id: str
    event: EventType
    zone: str | None
    start_s: float
    t: float
    confidence: float
    track_ids: tuple[int, ...]
    boxes: tuple[tuple[float, float, float, float], ...]


class Analyzer(Protocol):
    """A pure, stateful event analyser: no clock, no I/O; time is injected."""

    rule_id: str

    def update(self, dets: Detections, t: float) -> list[RuleHit]:
        """Consume one analysed frame's tracked detections (normalised coordinates)."""
        ...


def box_tuple(d: Detections, i: int) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (round(float(v), 4) for v in d.xyxy[i])
    return (x1, y1, x2, y2)
