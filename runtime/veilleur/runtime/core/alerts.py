"""``Alert``: what the engine raises and the journal stores (contracts §7)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from veilleur.runtime.core.events import EVENT_LABELS_FR, EventType


@dataclass(frozen=True)
class Alert:
    """One attention signal (*signalement d'attention*). A human confirms it; nothing else."""

    camera_id: str
    event: EventType
    rule_id: str
    start_s: float
    alert_s: float
    frame_index: int
    confidence: float
    track_ids: tuple[int, ...]
    boxes: tuple[tuple[float, float, float, float], ...]
    zone: str | None
    config_version: str
    model_sha256: str
    engine_version: str
    severity: str = "medium"
    classes: tuple[str | None, ...] = ()
    """Taxonomy class of each of ``boxes`` as detected at alert time; ``None`` for an object
    the detector has no class for (a static-object cue) or a box from an earlier frame."""
    utc: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def label_fr(self) -> str:
        return EVENT_LABELS_FR[self.event]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["event"] = str(self.event)
        d["label_fr"] = self.label_fr
        d["track_ids"] = list(self.track_ids)
        d["boxes"] = [list(b) for b in self.boxes]
        d["classes"] = list(self.classes)
        return d
