"""What every event analyser shares: the hit it returns and the protocol it follows."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class SceneCues:
    """Image-level cues of one frame, computed by the engine before the rules run.

    Attributes:
        static_objects: class-agnostic boxes of objects that appeared in the scene and stay
            still (background modelling, :mod:`veilleur.runtime.scene.static_objects`), in
            normalised coordinates; ``tracker_id`` is the static blob's id, ``class_id`` -1.
        view_ok: False while the camera's view differs from its reference (pan, zoom,
            masking); zone rules are suspended meanwhile (EX-010).
    """

    static_objects: Detections = field(default_factory=Detections.empty)
    view_ok: bool = True


NO_CUES = SceneCues()


class Analyzer(Protocol):
    """A pure, stateful event analyser: no clock, no I/O; time is injected.

    ``dets`` are tracked detections in normalised coordinates (0–1); analysers that take a
    :class:`~veilleur.runtime.core.calibration.GroundPlane` at construction measure in metres.
    """

    rule_id: str

    def update(self, dets: Detections, t: float, cues: SceneCues = NO_CUES) -> list[RuleHit]:
        """Consume one analysed frame."""
        ...


def box_tuple(d: Detections, i: int) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (round(float(v), 4) for v in d.xyxy[i])
    return (x1, y1, x2, y2)


def check_k_of_n(k: int, n: int) -> None:
    """Refuse a persistence window "k of the last n frames" that can never or always hold."""
    if not 1 <= k <= n:
        raise ValueError(f"need 1 ≤ k ≤ n, got k={k}, n={n}")
