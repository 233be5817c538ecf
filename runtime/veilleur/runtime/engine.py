"""The runtime engine: detector → tracker → event analytics → rules → journal → notifiers.

The same engine serves live streams (:mod:`veilleur.runtime.pipeline`) and recorded clips
(:func:`replay`), so evaluation measures what the site runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from veilleur.runtime import ENGINE_VERSION
from veilleur.runtime.analytics.rules import RuleSet
from veilleur.runtime.config import CameraConfig, SiteConfig, resolve_path
from veilleur.runtime.core.alerts import Alert
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.ingest.video import Frame, read_file
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.notify.sinks import Notifier
from veilleur.runtime.track.bytetrack import ByteTracker

log = logging.getLogger(__name__)

STAGES = ("detect", "track", "rules", "journal")
"""Stages timed by :attr:`Engine.timings` (decoding is timed by the caller that reads)."""


class Detector(Protocol):
    """What the engine needs of a detector (e.g. :class:`.detect.onnx.OnnxDetector`)."""

    def detect_batch(self, frames: list[NDArray[np.uint8]]) -> list[Detections]: ...


@dataclass
class CameraAnalysis:
    """Per-camera state: its tracker and its compiled rules."""

    camera: CameraConfig
    tracker: ByteTracker = field(default_factory=ByteTracker)
    rules: RuleSet | None = None
    frames: int = 0
    last_detections: Detections = field(default_factory=Detections.empty)

    def __post_init__(self) -> None:
        self.rules = RuleSet(self.camera)


class Engine:
    """Runs batches of frames from any cameras through detection, tracking and rules.

    Args:
        config: the site configuration.
        detector: a batched detector.
        model_sha256: SHA-256 of the model file, journaled with each alert.
        journal: where alerts are written, before any notifier sees them.
        notifiers: called with each alert (as a dict) after it is journaled.
    """

    def __init__(
        self,
        config: SiteConfig,
        detector: Detector,
        model_sha256: str,
        journal: Journal | None = None,
        notifiers: Sequence[Notifier] = (),
    ) -> None:
        self.config = config
        self.config_version = config.digest()
        self.detector = detector
        self.model_sha256 = model_sha256
        self.journal = journal
        self.notifiers = list(notifiers)
        self.cameras = {c.id: CameraAnalysis(c) for c in config.cameras}
        self.timings: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        """Seconds spent per stage since start (see :data:`STAGES`), for health and benchmarks."""

    def process_batch(self, items: Sequence[tuple[str, Frame]]) -> list[Alert]:
        """Detect on all frames in one call, then track and apply rules camera by camera.

        Frames of one camera must come in time order, within and across calls.
        """
        if not items:
            return []
        t0 = time.perf_counter()
        dets = self.detector.detect_batch([f.image for _, f in items])
        self.timings["detect"] += time.perf_counter() - t0
        alerts: list[Alert] = []
        for (camera_id, frame), d in zip(items, dets, strict=True):
            alerts.extend(self._analyse(self.cameras[camera_id], frame, d))
        t0 = time.perf_counter()
        for alert in alerts:
            self._emit(alert)
        self.timings["journal"] += time.perf_counter() - t0
        return alerts

    def _analyse(self, cam: CameraAnalysis, frame: Frame, dets: Detections) -> list[Alert]:
        t0 = time.perf_counter()
        tracked = cam.tracker.update(dets, frame.t)
        t1 = time.perf_counter()
        self.timings["track"] += t1 - t0
        cam.frames += 1
        cam.last_detections = tracked
        norm = tracked.scaled(1.0 / frame.width, 1.0 / frame.height)
        assert cam.rules is not None
        hits = cam.rules.update(norm, frame.t)
        self.timings["rules"] += time.perf_counter() - t1
        return [
            Alert(
                camera_id=cam.camera.id,
                event=hit.event,
                rule_id=hit.rule_id,
                start_s=round(hit.start_s, 3),
                alert_s=round(hit.t, 3),
                frame_index=frame.index,
                confidence=round(hit.confidence, 4),
                track_ids=hit.track_ids,
                boxes=hit.boxes,
                zone=hit.zone,
                config_version=self.config_version,
                model_sha256=self.model_sha256,
                engine_version=ENGINE_VERSION,
            )
            for hit in hits
        ]

    def _emit(self, alert: Alert) -> None:
        record = alert.to_dict()
        if self.journal is not None:
            self.journal.append("alert", record)
        for n in self.notifiers:
            try:
                n.notify(record)
            except Exception:  # a failing notifier must never lose the alert or stop analysis
                log.exception("notifier %r failed for alert %s", n, alert.id)


def camera_source(config_path: Path | str, camera: CameraConfig) -> str:
    """The camera's source URL, with file paths resolved against the config file."""
    if camera.source.is_stream:
        return camera.source.url
    return str(resolve_path(config_path, camera.source.url))


def replay(
    engine: Engine,
    clip: Path | str,
    camera_id: str,
    batch_size: int = 4,
) -> list[Alert]:
    """Run a recorded clip through ``engine`` as camera ``camera_id`` (EX-037)."""
    camera = engine.config.camera(camera_id)
    alerts: list[Alert] = []
    batch: list[tuple[str, Frame]] = []
    frames: Iterable[Frame] = read_file(clip, camera.analysis_fps)
    for frame in frames:
        batch.append((camera_id, frame))
        if len(batch) >= batch_size:
            alerts.extend(engine.process_batch(batch))
            batch = []
    alerts.extend(engine.process_batch(batch))
    return alerts
