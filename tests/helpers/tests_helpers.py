"""Small builders shared by tests (imported by name: tests/helpers is on sys.path)."""

from __future__ import annotations

from typing import Any

from veilleur.runtime.core.alerts import Alert
from veilleur.runtime.core.events import EventType


def sample_alert(
    i: int, camera: str = "cam", event: EventType = EventType.FRANCHISSEMENT
) -> dict[str, Any]:
    return Alert(
        camera_id=camera,
        event=event,
        rule_id="r",
        start_s=float(i),
        alert_s=float(i) + 0.5,
        frame_index=i * 10,
        confidence=0.9,
        track_ids=(i,),
        boxes=((0.1, 0.2, 0.3, 0.4),),
        zone="z",
        config_version="cfg",
        model_sha256="0" * 64,
        engine_version="0.1.0",
    ).to_dict()
