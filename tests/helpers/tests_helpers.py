"""Small builders shared by tests (imported by name: tests/helpers is on sys.path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from veilleur.data.synth.bundle import ClipRecord, generate_clip
from veilleur.data.synth.params import SynthParams
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


def easy_clip(out_dir: Path, scenario: str, seed: int = 1) -> ClipRecord:
    """A 10 s generated clip in conditions where YOLOX-Nano finds most synthetic people.

    Daylight, clear weather, low density, a low mast: with seed 1, ``intrusion`` gives one
    person in ``zone-interdite`` from 2.24 s to 8.4 s, on which YOLOX alerts (rule
    ``intrusion-zone``).
    """
    params = SynthParams.easy(seed)
    return generate_clip(params, 0, out_dir, scenario)  # type: ignore[arg-type]


def write_clip(path: Path, seconds: float = 20.0, fps: int = 10) -> None:
    """A small H.264 clip (160 × 120) of grey frames whose brightness changes every frame."""
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(int(seconds * fps)):
            img = np.full((120, 160, 3), (i * 3) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
