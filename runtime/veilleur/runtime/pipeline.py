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

from veilleur.runtime.config import CameraConfig
from veilleur.runtime.engine import Engine, camera_source
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

    def run(self, stop: threading.Event) -> None:
        try:
            if self.camera.source.is_stream:
                frames = read_stream(
                    self.url,
                    self.camera.source.transport,
                    self.camera.analysis_fps,
                    status=self.status,
                    stop=stop.is_set,
                )
            else:
                self.status.connected = True
                frames = read_file(self.url, self.camera.analysis_fps)
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
    """Runs the engine on every enabled camera until stopped (the global stop, EX-046)."""

    def __init__(self, engine: Engine, config_path: Path) -> None:
        self.engine = engine
        self.workers = {
            c.id: CameraWorker(c, camera_source(config_path, c))
            for c in engine.config.cameras
            if c.enabled
        }
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.batches = 0

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self) -> None:
        self._stop.clear()
        for w in self.workers.values():
            t = threading.Thread(target=w.run, args=(self._stop,), name=f"cam-{w.camera.id}")
            t.daemon = True
            t.start()
            self._threads.append(t)
        t = threading.Thread(target=self._infer_loop, name="inference", daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self._threads = []

    def _infer_loop(self) -> None:
        while not self._stop.is_set():
            batch = [(cid, f) for cid, w in self.workers.items() if (f := w.take()) is not None]
            if not batch:
                if all(w.finished for w in self.workers.values()):
                    return
                time.sleep(0.01)
                continue
            try:
                self.engine.process_batch(batch)
                self.batches += 1
            except Exception:  # analysis of other cameras must go on
                log.exception("inference batch failed")
