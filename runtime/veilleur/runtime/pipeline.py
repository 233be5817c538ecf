"""Live wiring: one reader thread per camera, a detection thread and an analysis thread.

Readers keep only the newest frame of each camera (drop-oldest): analysis never lags behind
the live stream. The detection thread takes the pending frame of every camera and runs them
through the detector in one call; the analysis thread tracks, computes scene cues, applies
the rules and journals the alerts of that batch while the detector already works on the
next one (:class:`DetectAnalyse`). onnxruntime, OpenCV and numpy release the GIL, so the two
use two cores. A queue of one batch joins them: latency stays bounded (a batch waits for at
most one batch being analysed) and frames never pile up.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from veilleur.runtime.config import CameraConfig, SiteConfig
from veilleur.runtime.core.alerts import Alert
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.engine import ConfigChange, Engine, camera_source
from veilleur.runtime.ingest.video import Frame, SourceError, StreamStatus, read_file, read_stream

log = logging.getLogger(__name__)

Batch = Sequence[tuple[str, Frame]]
"""Frames of several cameras (camera id, frame), detected in one call."""
BatchSource = Callable[[], Batch | None]
"""Gives the next batch; an empty one when no frame is waiting yet, None when finished."""
OnAnalysed = Callable[[float, Sequence[tuple[str, Frame, Detections]], list[Alert]], None]
"""Called after each analysed batch with the time it was taken (``perf_counter``), its frames
and detections, and its alerts (already journaled)."""


@dataclass(frozen=True)
class _Detected:
    handed: float
    items: list[tuple[str, Frame, Detections]]


class DetectAnalyse:
    """Detection in one thread, analysis in another, joined by a bounded queue.

    The detection thread calls ``take`` for a batch, runs :meth:`Engine.detect` on it (no
    detector call for cameras not analysed now: global stop, disabled cameras) and queues
    the detections; the analysis thread runs :meth:`Engine.process_detections` on them.
    Per camera, frames stay in order. A batch whose detection or analysis fails is logged
    and counted in :attr:`failed`; both threads go on.

    Used by :class:`LiveRuntime` and, on pre-decoded frames, by ``veilleur bench``: the
    benchmark measures this class.

    Args:
        engine: the engine.
        take: the batch source (see :data:`BatchSource`); called in the detection thread.
        queue_size: detected batches that may wait for the analysis (1–2: more only adds
            latency).
        idle_s: sleep of the detection thread when no frame is waiting.
        on_analysed: see :data:`OnAnalysed`; called in the analysis thread.
        switch_interval_s: when set, the interpreter's GIL switch interval at start (see
            ``sys.setswitchinterval``); None leaves it as it is.
    """

    def __init__(
        self,
        engine: Engine,
        take: BatchSource,
        *,
        queue_size: int = 1,
        idle_s: float = 0.01,
        on_analysed: OnAnalysed | None = None,
        switch_interval_s: float | None = None,
    ) -> None:
        if not 1 <= queue_size <= 2:
            raise ValueError(f"queue_size must be 1 or 2, got {queue_size}")
        self.engine = engine
        self.take = take
        self.idle_s = idle_s
        self.switch_interval_s = switch_interval_s
        self.on_analysed = on_analysed
        self.detected = 0
        """Detector calls made."""
        self.batches = 0
        """Batches analysed (tracked, ruled, journaled)."""
        self.failed = 0
        """Batches whose detection or analysis raised (logged)."""
        self._queue: queue.Queue[_Detected | None] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self) -> None:
        if self.running:
            raise RuntimeError("the pipeline is already running")
        self._stop.clear()
        if self.switch_interval_s is not None:
            # how long a thread keeps the GIL when another wants it (CPython's default 5 ms):
            # shorter, the detection thread's OpenCV/numpy calls wait less for the Python-bound
            # analysis thread between their GIL-free parts. Process-wide.
            sys.setswitchinterval(self.switch_interval_s)
        self._queue = queue.Queue(maxsize=self._queue.maxsize)
        self._threads = [
            threading.Thread(target=self._detect_loop, name="detection", daemon=True),
            threading.Thread(target=self._analysis_loop, name="analysis", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End both threads (a batch waiting for analysis is dropped) and join them."""
        self._stop.set()
        self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for both threads (they end when ``take`` says finished, or on :meth:`stop`);
        True when they have ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not self.running

    def _put(self, item: _Detected | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _detect_loop(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    batch = self.take()
                except Exception:  # a failing source must not stop the analysis
                    log.exception("taking the next frames failed")
                    time.sleep(self.idle_s)
                    continue
                if batch is None:
                    return
                if not batch:
                    time.sleep(self.idle_s)
                    continue
                handed = time.perf_counter()
                try:
                    items = self.engine.detect(batch)
                except Exception:  # the next batch must still be detected
                    self.failed += 1
                    log.exception("detection failed on a batch of %d frame(s)", len(batch))
                    continue
                if not items:  # nothing analysed now: no detector call was made
                    continue
                self.detected += 1
                if not self._put(_Detected(handed, items)):
                    return
        finally:
            self._put(None)  # the end

    def _analysis_loop(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            if item is None or self._stop.is_set():
                return
            try:
                alerts = self.engine.process_detections(item.items)
            except Exception:  # analysis of the next batches must go on
                self.failed += 1
                log.exception("analysis failed on a batch of %d frame(s)", len(item.items))
                continue
            self.batches += 1
            if self.on_analysed is not None:
                try:
                    self.on_analysed(item.handed, item.items, alerts)
                except Exception:
                    log.exception("on_analysed callback failed")


@dataclass
class CameraWorker:
    """Reads one camera into a one-frame slot; records its health."""

    camera: CameraConfig
    url: str
    status: StreamStatus = field(default_factory=StreamStatus)
    frames_read: int = 0
    finished: bool = False
    _slot: Frame | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> Frame | None:
        with self._lock:
            f, self._slot = self._slot, None
            return f

    def run(self, stop: threading.Event | _AnyEvent) -> None:
        try:
            if self.camera.source.is_stream:
                frames = read_stream(
                    self.url,
                    self.camera.source.transport,
                    self.camera.analysis_fps,
                    status=self.status,
                    stop=stop.is_set,
                    frozen_after_s=self.camera.source.frozen_after_s,
                )
            else:
                self.status.connected = True
                frames = read_file(self.url, self.camera.analysis_fps, status=self.status)
            for frame in frames:
                if stop.is_set():
                    break
                self.frames_read += 1
                self.status.last_frame_utc = time.time()
                if not self.camera.source.is_stream:
                    # a file source drops no frame: wait until the previous one was analysed
                    while self._slot is not None and not stop.is_set():
                        time.sleep(0.005)
                with self._lock:
                    self._slot = frame
        except SourceError as exc:
            self.status.last_error = str(exc)
            log.error("camera %s: %s", self.camera.id, exc)
        except Exception as exc:  # a dead reader must show red, never "file finished"
            self.status.last_error = f"lecture arrêtée : {exc!r}"
            log.exception("camera %s: reader failed", self.camera.id)
        finally:
            self.status.connected = False
            self.finished = True


class LiveRuntime:
    """Runs the engine on every enabled camera until stopped.

    The global stop of the analysis (EX-046) is :meth:`Engine.stop_analysis`: readers keep
    their streams open, no frame is analysed. :meth:`stop` ends the threads themselves.
    """

    def __init__(self, engine: Engine, config_path: Path) -> None:
        self.engine = engine
        self.config_path = config_path
        self.workers: dict[str, CameraWorker] = {}
        self._worker_stops: dict[str, threading.Event] = {}
        self._worker_threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()
        self.pipeline: DetectAnalyse | None = None
        """Detection and analysis threads, while started."""
        self._batches_before = 0
        self._failed_before = 0
        for c in engine.config.cameras:
            if c.enabled:
                self.workers[c.id] = CameraWorker(c, camera_source(config_path, c))

    @property
    def running(self) -> bool:
        workers = any(t.is_alive() for t in self._worker_threads.values())
        return workers or (self.pipeline is not None and self.pipeline.running)

    @property
    def batches(self) -> int:
        """Batches analysed since the runtime was created."""
        return self._batches_before + (self.pipeline.batches if self.pipeline else 0)

    @property
    def failed_batches(self) -> int:
        """Batches whose detection or analysis failed (logged; the runtime went on)."""
        return self._failed_before + (self.pipeline.failed if self.pipeline else 0)

    def start(self) -> None:
        self._stop.clear()
        for cid in self.workers:
            self._start_worker(cid)
        self.pipeline = DetectAnalyse(self.engine, self._take)
        self.pipeline.start()

    def _start_worker(self, camera_id: str) -> None:
        w = self.workers[camera_id]
        stop = threading.Event()
        self._worker_stops[camera_id] = stop
        t = threading.Thread(
            target=w.run, args=(_AnyEvent(stop, self._stop),), name=f"cam-{camera_id}"
        )
        t.daemon = True
        t.start()
        self._worker_threads[camera_id] = t

    def _stop_worker(self, camera_id: str, timeout: float = 5.0) -> None:
        self._worker_stops.pop(camera_id, threading.Event()).set()
        t = self._worker_threads.pop(camera_id, None)
        if t is not None:
            t.join(timeout)
        self.workers.pop(camera_id, None)

    def stop(self, timeout: float = 5.0) -> None:
        """End the readers, the detection and the analysis threads, and join them."""
        self._stop.set()
        if self.pipeline is not None:
            self.pipeline.stop(timeout)
            self._batches_before += self.pipeline.batches
            self._failed_before += self.pipeline.failed
        for t in self._worker_threads.values():
            t.join(timeout)
        self._worker_threads = {}
        self.pipeline = None

    def apply_config(self, config: SiteConfig, actor: str) -> ConfigChange:
        """Apply a new configuration; streams of untouched cameras keep running (no reconnect)."""
        change = self.engine.apply_config(config, actor)
        restart = set(change.removed) | set(change.sources_changed)
        for cid in sorted(restart | set(change.changed)):
            c = next((c for c in config.cameras if c.id == cid), None)
            if (cid in restart or c is None or not c.enabled) and cid in self.workers:
                self._stop_worker(cid)
        for c in config.cameras:
            if c.enabled and c.id not in self.workers:
                self.workers[c.id] = CameraWorker(c, camera_source(self.config_path, c))
                if not self._stop.is_set() and self.pipeline is not None:
                    self._start_worker(c.id)
            elif c.id in self.workers:
                self.workers[c.id].camera = c
        return change

    def _take(self) -> Batch | None:
        """The pending frame of every camera; None once every (file) camera has finished."""
        workers = list(self.workers.items())
        batch = [(cid, f) for cid, w in workers if (f := w.take()) is not None]
        if not batch and workers and all(w.finished for _cid, w in workers):
            return None
        return batch


class _AnyEvent:
    """Set when either of two events is set (a worker's own stop, or the runtime's)."""

    def __init__(self, a: threading.Event, b: threading.Event) -> None:
        self._a, self._b = a, b

    def is_set(self) -> bool:
        return self._a.is_set() or self._b.is_set()
