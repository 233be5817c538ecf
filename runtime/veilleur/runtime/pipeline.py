"""Live wiring: one reader thread per camera, one inference thread batching across cameras.

Readers keep only the newest frame of each camera (drop-oldest): analysis never lags behind
the live stream. The inference thread takes the pending frame of every camera, runs them
through the engine in one detector call, and sleeps briefly when no frame is waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from veilleur.runtime.config import CameraConfig, SiteConfig
from veilleur.runtime.engine import ConfigChange, Engine, camera_source
from veilleur.runtime.ingest.video import Frame, SourceError, StreamStatus, read_file, read_stream

log = logging.getLogger(__name__)


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
        self._infer_thread: threading.Thread | None = None
        self.batches = 0
        for c in engine.config.cameras:
            if c.enabled:
                self.workers[c.id] = CameraWorker(c, camera_source(config_path, c))

    @property
    def running(self) -> bool:
        threads = [*self._worker_threads.values(), self._infer_thread]
        return any(t is not None and t.is_alive() for t in threads)

    def start(self) -> None:
        self._stop.clear()
        for cid in self.workers:
            self._start_worker(cid)
        self._infer_thread = threading.Thread(
            target=self._infer_loop, name="inference", daemon=True
        )
        self._infer_thread.start()

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
        self._stop.set()
        for t in [*self._worker_threads.values(), self._infer_thread]:
            if t is not None:
                t.join(timeout)
        self._worker_threads = {}
        self._infer_thread = None

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
                if not self._stop.is_set() and self._infer_thread is not None:
                    self._start_worker(c.id)
            elif c.id in self.workers:
                self.workers[c.id].camera = c
        return change

    def _infer_loop(self) -> None:
        while not self._stop.is_set():
            workers = list(self.workers.items())
            batch = [(cid, f) for cid, w in workers if (f := w.take()) is not None]
            if not batch:
                if workers and all(w.finished for _cid, w in workers):
                    return
                time.sleep(0.01)
                continue
            try:
                self.engine.process_batch(batch)
                self.batches += 1
            except Exception:  # analysis of other cameras must go on
                log.exception("inference batch failed")


class _AnyEvent:
    """Set when either of two events is set (a worker's own stop, or the runtime's)."""

    def __init__(self, a: threading.Event, b: threading.Event) -> None:
        self._a, self._b = a, b

    def is_set(self) -> bool:
        return self._a.is_set() or self._b.is_set()
