"""The runtime engine: detector → tracker → event analytics → rules → journal → notifiers.

The same engine serves live streams (:mod:`veilleur.runtime.pipeline`) and recorded clips
(:func:`replay`), so evaluation measures what the site runs.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from veilleur.runtime import ENGINE_VERSION
from veilleur.runtime.analytics.base import NO_CUES, SceneCues, box_tuple
from veilleur.runtime.analytics.rules import BuildContext, RuleSet, static_cue_s
from veilleur.runtime.config import CameraConfig, SiteConfig, resolve_path
from veilleur.runtime.core.alerts import Alert
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.taxonomy import CLASSES
from veilleur.runtime.evidence.render import ZoneShape
from veilleur.runtime.evidence.snapshots import SnapshotStore
from veilleur.runtime.ingest.video import Frame, read_file
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.notify.sinks import Notifier
from veilleur.runtime.scene.imaging import one_frame
from veilleur.runtime.track.bytetrack import ByteTracker

log = logging.getLogger(__name__)

STAGES = ("detect", "track", "scene", "rules", "journal")
"""Stages timed by :attr:`Engine.timings` (decoding is timed by the caller that reads)."""


class Detector(Protocol):
    """What the engine needs of a detector (e.g. :class:`.detect.onnx.OnnxDetector`)."""

    def detect_batch(self, frames: list[NDArray[np.uint8]]) -> list[Detections]: ...


@dataclass
class CameraAnalysis:
    """Per-camera state: tracker, compiled rules (built on the first frame, when the frame's
    shape is known), scene cues (static objects, view monitor) and the on/off switch."""

    camera: CameraConfig
    tracker: ByteTracker = field(default_factory=ByteTracker)
    rules: RuleSet | None = None
    enabled: bool = True
    frames: int = 0
    last_detections: Detections = field(default_factory=Detections.empty)
    last_cues: SceneCues = NO_CUES
    static_objects: StaticObjectSource | None = None
    view: ViewSource | None = None
    rule_switches: dict[str, bool] = field(default_factory=dict)
    last_frame: Frame | None = None
    """The latest analysed frame (live view; a reference, not a copy)."""
    last_analysed_utc: float | None = None
    cue_updates: int = 0
    """Frames on which the scene cues were computed (``scene.cue_fps``; the others reuse them)."""
    _cue_slot: float | None = None

    def __post_init__(self) -> None:
        self.enabled = self.camera.enabled

    def ensure_rules(self, frame: Frame) -> RuleSet:
        if self.rules is None:
            ground = self.camera.calibration.ground_plane() if self.camera.calibration else None
            cue_s = static_cue_s(self.camera)
            ctx = BuildContext(
                ground=ground,
                frame_aspect=frame.width / max(frame.height, 1),
                static_cue_s=cue_s or 5.0,
            )
            self.rules = RuleSet(self.camera, ctx)
            for rule_id, on in self.rule_switches.items():
                self.rules.set_enabled(rule_id, on)
            self.static_objects = _static_source(self.camera)
            self.view = _view_source(self.camera)
        return self.rules

    def cues(self, frame: Frame) -> SceneCues:
        """The scene cues for this frame: computed at ``scene.cue_fps``, else the latest.

        Cues are computed on the first frame of each ``1 / cue_fps`` slot of stream time
        (``floor(t · cue_fps)`` changes), so on average ``cue_fps`` times per second whatever
        the analysis rate; a stream whose time goes back (a restarted file) starts afresh.
        """
        if self.view is None and self.static_objects is None:
            return self.last_cues
        rate = self.camera.scene.cue_fps
        if rate > 0:
            slot = math.floor(frame.t * rate)
            if slot == self._cue_slot:
                return self.last_cues
            self._cue_slot = slot
        self.cue_updates += 1
        with one_frame():  # both start from the same grey image: converted once
            view_ok = self.view.update(frame.image, frame.t) if self.view is not None else True
            static = (
                self.static_objects.update(frame.image, frame.t)
                if self.static_objects is not None and view_ok
                else Detections.empty()
            )
        self.last_cues = SceneCues(static_objects=static, view_ok=view_ok)
        return self.last_cues

    def state(self) -> dict[str, Any]:
        """What health and the operator see of this camera's analysis (French reasons)."""
        degraded = dict(self.rules.degraded) if self.rules is not None else {}
        view_reason = None
        if self.view is not None and not self.last_cues.view_ok:
            view_reason = self.view.reason
        return {
            "enabled": self.enabled,
            "frames": self.frames,
            "view_ok": self.last_cues.view_ok,
            "view_reason": view_reason,
            "degraded_rules": degraded,
        }


class StaticObjectSource(Protocol):
    def update(self, image: NDArray[np.uint8], t: float) -> Detections: ...


class ViewSource(Protocol):
    reason: str

    def update(self, image: NDArray[np.uint8], t: float) -> bool: ...


def _static_source(camera: CameraConfig) -> StaticObjectSource | None:
    """Background modelling, only for cameras with an abandoned-object rule that uses it."""
    cue_s = static_cue_s(camera)
    if cue_s is None:
        return None
    from veilleur.runtime.scene.static_objects import StaticObjectDetector

    return StaticObjectDetector(static_s=cue_s)


def _view_source(camera: CameraConfig) -> ViewSource | None:
    if not camera.view_monitor.enabled:
        return None
    from veilleur.runtime.scene.view_change import ViewMonitor

    return ViewMonitor(confirm_s=camera.view_monitor.confirm_s)


Clock = Callable[[], datetime]


class Engine:
    """Runs batches of frames from any cameras through detection, tracking and rules.

    Args:
        config: the site configuration.
        detector: a batched detector.
        model_sha256: SHA-256 of the model file, journaled with each alert.
        journal: where alerts and control actions are written, before any notifier sees them.
        notifiers: called with each alert (as a dict) after it is journaled.
        clock: the site's local time, for rule schedules (EX-041); default: now in the
            site's time zone. Replays of recorded clips pass ``None`` to ignore schedules.
    """

    def __init__(
        self,
        config: SiteConfig,
        detector: Detector,
        model_sha256: str,
        journal: Journal | None = None,
        notifiers: Sequence[Notifier] = (),
        clock: Clock | Literal["site"] | None = "site",
        snapshots: SnapshotStore | None = None,
    ) -> None:
        self.config = config
        self.snapshots = snapshots
        """Where alert snapshots go (EX-017, EX-104); None: no snapshot."""
        self.config_version = config.digest()
        self.detector = detector
        self.model_sha256 = model_sha256
        self.journal = journal
        self.notifiers = list(notifiers)
        self.cameras = {c.id: CameraAnalysis(c) for c in config.cameras}
        self.analysis_stopped = False
        self._lock = threading.RLock()
        if clock == "site":
            tz = ZoneInfo(config.site.timezone)
            self.clock: Clock | None = lambda: datetime.now(tz)
        else:
            self.clock = clock
        self.timings: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        """Seconds spent per stage since start (see :data:`STAGES`), for health and benchmarks."""

    # -- analysis -------------------------------------------------------------------------

    def process_batch(self, items: Sequence[tuple[str, Frame]]) -> list[Alert]:
        """Detect on all frames in one call, then track and apply rules camera by camera.

        Frames of one camera must come in time order, within and across calls. Frames of
        disabled cameras, and every frame while analysis is stopped, are not analysed.
        The live runtime runs the two halves, :meth:`detect` and :meth:`process_detections`,
        in two threads (:class:`~veilleur.runtime.pipeline.DetectAnalyse`).
        """
        return self.process_detections(self.detect(items))

    def analysed(self, camera_id: str) -> bool:
        """Whether frames of this camera are analysed now (known, enabled, no global stop)."""
        with self._lock:
            cam = self.cameras.get(camera_id)
            return not self.analysis_stopped and cam is not None and cam.enabled

    def detect(self, items: Sequence[tuple[str, Frame]]) -> list[tuple[str, Frame, Detections]]:
        """Run the detector once on the frames that are analysed now (see :meth:`analysed`).

        No detector call at all when none is (global stop, disabled cameras).

        The switches are read without the engine's lock: in the live pipeline the analysis
        thread holds it while it analyses the previous batch, and waiting for it here would
        serialise detection and analysis again. Reading them is atomic; a switch changed
        meanwhile is caught by :meth:`process_detections`, which checks again under the lock.
        """
        stopped, cameras = self.analysis_stopped, self.cameras
        if stopped:
            return []
        items = [(c, f) for c, f in items if (cam := cameras.get(c)) is not None and cam.enabled]
        if not items:
            return []
        t0 = time.perf_counter()
        dets = self.detector.detect_batch([f.image for _, f in items])
        self.timings["detect"] += time.perf_counter() - t0
        return [(c, f, d) for (c, f), d in zip(items, dets, strict=True)]

    def process_detections(self, items: Sequence[tuple[str, Frame, Detections]]) -> list[Alert]:
        """Track and apply rules to frames whose detections are already known (pixels).

        :meth:`process_batch` calls it after the detector; evaluation calls it directly with
        ground-truth boxes to measure the analytics alone. Frames of cameras that are no
        longer analysed (stopped, disabled or removed since their detection ran in another
        thread) are dropped.
        """
        raised: list[tuple[Alert, Frame, CameraConfig]] = []
        with self._lock:
            now = self.clock() if self.clock is not None else None
            for camera_id, frame, d in items:
                cam = self.cameras.get(camera_id)
                if self.analysis_stopped or cam is None or not cam.enabled:
                    continue
                raised.extend((a, frame, cam.camera) for a in self._analyse(cam, frame, d, now))
        t0 = time.perf_counter()
        for alert, frame, camera in raised:
            self._emit(alert, frame, camera)
        self.timings["journal"] += time.perf_counter() - t0
        return [a for a, _f, _c in raised]

    def _analyse(
        self, cam: CameraAnalysis, frame: Frame, dets: Detections, now: datetime | None
    ) -> list[Alert]:
        t0 = time.perf_counter()
        tracked = cam.tracker.update(dets, frame.t)
        t1 = time.perf_counter()
        self.timings["track"] += t1 - t0
        cam.frames += 1
        cam.last_detections = tracked
        cam.last_frame = frame
        cam.last_analysed_utc = time.time()
        rules = cam.ensure_rules(frame)
        cues = cam.cues(frame)
        t2 = time.perf_counter()
        self.timings["scene"] += t2 - t1
        norm = tracked.scaled(1.0 / frame.width, 1.0 / frame.height)
        hits = rules.update(norm, frame.t, cues, now)
        self.timings["rules"] += time.perf_counter() - t2
        if not hits:
            return []
        # the class of each alert box: the rules' boxes are rows of ``norm`` (box_tuple)
        class_of = {
            box_tuple(norm, i): CLASSES[int(c)]
            for i, c in enumerate(norm.class_id)
            if 0 <= c < len(CLASSES)
        }
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
                severity=rules.severity(hit.rule_id),
                classes=tuple(class_of.get(b) for b in hit.boxes),
            )
            for hit in hits
        ]

    def _emit(
        self, alert: Alert, frame: Frame | None = None, camera: CameraConfig | None = None
    ) -> None:
        record = alert.to_dict()
        if self.snapshots is not None and frame is not None:
            # written before the alert is journaled, so the entry carries its hash; a failed
            # snapshot never loses the alert (the entry says why it has none)
            zones = tuple(
                ZoneShape(z.id, z.kind, tuple((p[0], p[1]) for p in z.points))
                for z in (camera.zones if camera is not None else [])
            )
            try:
                record["snapshot"] = self.snapshots.save(record, frame.image, zones)
            except Exception as exc:
                log.exception("snapshot of alert %s failed", alert.id)
                record["snapshot_error"] = str(exc)[:200]
        if self.journal is not None:
            self.journal.append("alert", record)
        for n in self.notifiers:
            try:
                n.notify(record)
            except Exception:  # a failing notifier must never lose the alert or stop analysis
                log.exception("notifier %r failed for alert %s", n, alert.id)

    # -- control (EX-021, EX-046): every action is journaled before it takes effect ---------

    def _journal_action(self, action: str, actor: str, **details: Any) -> None:
        record = {
            "id": str(uuid.uuid4()),
            "utc": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "action": action,
            "actor": actor,
            "config_version": self.config_version,
            **details,
        }
        log.info("control: %s by %s %s", action, actor, details)
        if self.journal is not None:
            self.journal.append("control", record)

    def stop_analysis(self, actor: str, reason: str = "") -> None:
        """The global stop: no frame of any camera is analysed until :meth:`resume_analysis`."""
        with self._lock:
            self._journal_action("analysis_stopped", actor, reason=reason)
            self.analysis_stopped = True

    def resume_analysis(self, actor: str) -> None:
        with self._lock:
            self._journal_action("analysis_resumed", actor)
            self.analysis_stopped = False

    def set_camera_enabled(self, camera_id: str, enabled: bool, actor: str) -> None:
        with self._lock:
            cam = self._camera(camera_id)
            self._journal_action(
                "camera_enabled" if enabled else "camera_disabled", actor, camera_id=camera_id
            )
            cam.enabled = enabled

    def set_rule_enabled(self, camera_id: str, rule_id: str, enabled: bool, actor: str) -> None:
        with self._lock:
            cam = self._camera(camera_id)
            if rule_id not in {r.id for r in cam.camera.rules}:
                raise KeyError(f"no rule {rule_id!r} on camera {camera_id!r}")
            self._journal_action(
                "rule_enabled" if enabled else "rule_disabled",
                actor,
                camera_id=camera_id,
                rule_id=rule_id,
            )
            cam.rule_switches[rule_id] = enabled
            if cam.rules is not None:
                cam.rules.set_enabled(rule_id, enabled)

    def apply_config(self, config: SiteConfig, actor: str) -> ConfigChange:
        """Switch to a new site configuration without touching unchanged cameras.

        Cameras whose configuration is unchanged keep their tracker and rule state; changed
        cameras restart their analysis (rules, tracker); removed cameras stop; new ones start.
        """
        with self._lock:
            old = {c.id: c for c in self.config.cameras}
            new = {c.id: c for c in config.cameras}
            change = ConfigChange(
                added=sorted(new.keys() - old.keys()),
                removed=sorted(old.keys() - new.keys()),
                changed=sorted(k for k in new.keys() & old.keys() if new[k] != old[k]),
                sources_changed=sorted(
                    k for k in new.keys() & old.keys() if new[k].source != old[k].source
                ),
            )
            self._journal_action(
                "config_applied",
                actor,
                previous_config_version=self.config_version,
                new_config_version=config.digest(),
                added=change.added,
                removed=change.removed,
                changed=change.changed,
            )
            for k in change.removed:
                del self.cameras[k]
            for k in change.added:
                self.cameras[k] = CameraAnalysis(new[k])
            for k in change.changed:
                # a changed camera restarts its analysis; its run-time switches (EX-021) stay,
                # for the rules it still has, and its on/off unless the file changed it
                before = self.cameras[k]
                fresh = CameraAnalysis(new[k])
                kept = {r.id for r in new[k].rules}
                fresh.rule_switches = {r: on for r, on in before.rule_switches.items() if r in kept}
                if old[k].enabled == new[k].enabled:
                    fresh.enabled = before.enabled
                self.cameras[k] = fresh
            self.config = config
            self.config_version = config.digest()
            return change

    def _camera(self, camera_id: str) -> CameraAnalysis:
        try:
            return self.cameras[camera_id]
        except KeyError:
            raise KeyError(f"no camera {camera_id!r}; cameras: {', '.join(self.cameras)}") from None

    def state(self) -> dict[str, Any]:
        """Analysis state for health: global stop, and each camera's view and degraded rules."""
        with self._lock:
            return {
                "analysis_stopped": self.analysis_stopped,
                "config_version": self.config_version,
                "cameras": {k: c.state() for k, c in self.cameras.items()},
            }


@dataclass(frozen=True)
class ConfigChange:
    """Which cameras a configuration change touched."""

    added: list[str]
    removed: list[str]
    changed: list[str]
    sources_changed: list[str]


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
    on_frame: Callable[[Frame, Detections], None] | None = None,
) -> list[Alert]:
    """Run a recorded clip through ``engine`` as camera ``camera_id`` (EX-037).

    ``on_frame``, when given, is called after each analysed frame with the tracker's output
    for it (evaluation's tracking metrics); detection stays batched, the frames of a batch are
    then analysed one by one, which gives the same alerts as :meth:`Engine.process_batch`.
    """
    camera = engine.config.camera(camera_id)
    alerts: list[Alert] = []

    def run(batch: list[tuple[str, Frame]]) -> None:
        if on_frame is None:
            alerts.extend(engine.process_batch(batch))
            return
        for item in engine.detect(batch):
            analysis = engine.cameras[camera_id]
            before = analysis.frames
            alerts.extend(engine.process_detections([item]))
            if analysis.frames > before:
                on_frame(item[1], analysis.last_detections)

    batch: list[tuple[str, Frame]] = []
    frames: Iterable[Frame] = read_file(clip, camera.analysis_fps)
    for frame in frames:
        batch.append((camera_id, frame))
        if len(batch) >= batch_size:
            run(batch)
            batch = []
    run(batch)
    return alerts
