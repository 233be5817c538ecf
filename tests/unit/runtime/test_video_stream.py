"""read_stream's timestamps and reconnection, on fake PyAV containers (no network).

The real-server behaviour is covered by tests/integration/test_rtsp.py; these pin the cases a
loopback server does not produce on demand.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import av
import numpy as np
import pytest

from veilleur.runtime import pipeline
from veilleur.runtime.config import CameraConfig
from veilleur.runtime.ingest import video
from veilleur.runtime.ingest.video import StreamStatus, read_stream

TB = Fraction(1, 90000)


class FakeFrame:
    def __init__(self, pts: int | None) -> None:
        self.pts = pts
        self.time_base = TB

    def to_ndarray(self, format: str) -> np.ndarray:
        return np.zeros((4, 6, 3), np.uint8)


class FakeStream:
    average_rate = Fraction(25, 2)
    guessed_rate = None
    thread_type = "SLICE"


class FakeContainer:
    def __init__(self, pts: list[int | None]) -> None:
        self.pts = pts
        self.streams = type("Streams", (), {"video": [FakeStream()]})()
        self.closed = False

    def decode(self, _stream: Any) -> Iterator[FakeFrame]:
        for p in self.pts:
            yield FakeFrame(p)

    def close(self) -> None:
        self.closed = True


def secs(*values: float) -> list[int]:
    return [round(v * 90000) for v in values]


def test_first_frame_without_pts_does_not_shift_the_stream(monkeypatch: pytest.MonkeyPatch):
    # an RTSP stream's first frame has no pts, and a shared stream need not start at 0
    pts: list[int | None] = [None, *secs(5.2, 5.28, 5.36, 5.44)]
    monkeypatch.setattr(video, "_open", lambda *a: FakeContainer(pts))
    frames = read_stream("rtsp://x/cam", analysis_fps=0, stop=lambda: False)
    ts = [next(frames).t for _ in range(5)]
    assert ts == pytest.approx([0.0, 0.08, 0.16, 0.24, 0.32])


def test_timestamps_keep_increasing_across_reconnections(monkeypatch: pytest.MonkeyPatch):
    # the first connection's frames come in a burst, far ahead of the wall clock: the next
    # connection's frames must still come after them
    conns = iter(
        [
            FakeContainer([None, *secs(*(0.08 * i for i in range(1, 125)))]),
            FakeContainer([None, *secs(0.08, 0.16)]),
        ]
    )
    monkeypatch.setattr(video, "_open", lambda *a: next(conns))
    status = StreamStatus()
    frames = read_stream("rtsp://x/cam", analysis_fps=12.5, status=status, stop=lambda: False)
    got = [next(frames) for _ in range(128)]
    ts = [f.t for f in got]
    assert all(b > a for a, b in itertools.pairwise(ts))
    assert status.outages == 1 and status.connected
    # frame indices run on across the reconnection (alerts point at distinct frames)
    assert [f.index for f in got] == list(range(128))


def test_stop_interrupts_the_reconnection_backoff(monkeypatch: pytest.MonkeyPatch):
    def refuse(*_a: Any) -> Any:
        raise av.error.ConnectionRefusedError(111, "Connection refused", "rtsp://x/cam")

    monkeypatch.setattr(video, "_open", refuse)
    stop = threading.Event()
    status = StreamStatus()
    t = threading.Thread(
        target=lambda: list(
            read_stream("rtsp://x/cam", status=status, stop=stop.is_set, backoff_s=(2.0, 10.0))
        )
    )
    t.start()
    time.sleep(0.3)  # now in the first 2 s backoff
    t0 = time.monotonic()
    stop.set()
    t.join(5)
    assert not t.is_alive()
    assert time.monotonic() - t0 < 0.5
    assert not status.connected and "refused" in (status.last_error or "")


def test_a_stream_reader_that_dies_is_reported_not_finished(monkeypatch: pytest.MonkeyPatch):
    def broken(*_a: Any, **_kw: Any) -> Iterator[video.Frame]:
        raise IndexError("no video stream")
        yield  # a generator, like read_stream

    monkeypatch.setattr(pipeline, "read_stream", broken)
    cam = CameraConfig.model_validate(
        {"id": "cam-01", "source": {"url": "rtsp://x/cam", "transport": "tcp"}}
    )
    worker = pipeline.CameraWorker(cam, "rtsp://x/cam")
    worker.run(threading.Event())
    assert worker.finished and not worker.status.connected
    # the health endpoint shows a finished worker without error as "fichier terminé" (yellow)
    assert worker.status.last_error and "no video stream" in worker.status.last_error
