"""Frozen streams: :class:`FreezeDetector` alone, then inside read_stream on fake containers.

A frozen stream (the same picture over and over, or a stream time standing still) is treated
as lost: recorded in :class:`StreamStatus`, dropped, reopened with the backoff, its frozen
frames never analysed; analysis resumes by itself with the first fresh frame. The real-server
case is in tests/integration/test_rtsp.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from veilleur.runtime.ingest import video
from veilleur.runtime.ingest.video import FreezeDetector, StreamStatus, read_stream

TB = Fraction(1, 90000)
DT = 0.08  # 12.5 fps


def picture(seed: int) -> NDArray[np.uint8]:
    return np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)


FROZEN = picture(0)


# --- the detector alone -----------------------------------------------------------------


def feed(
    det: FreezeDetector, images: list[NDArray[np.uint8]], t0: float, now0: float
) -> list[bool]:
    """Frames every DT of both stream and wall time; whether each was fresh."""
    fresh = []
    for i, image in enumerate(images):
        det.stream_time(t0 + i * DT, now0 + i * DT)
        fresh.append(det.image(image, now0 + i * DT))
    return fresh


def test_live_pictures_never_freeze():
    det = FreezeDetector(2.0)
    det.connected(0.0)
    assert all(feed(det, [picture(i) for i in range(1, 200)], 0.0, 0.0))
    assert not det.frozen and not det.should_drop(16.0)


def test_one_picture_for_frozen_after_s_is_a_freeze():
    det = FreezeDetector(2.0)
    det.connected(0.0)
    fresh = feed(det, [FROZEN] * 40, 0.0, 0.0)  # 0 … 3.12 s
    # the same picture is still analysed until it has lasted 2 s, then the stream is frozen
    assert fresh == [i * DT < 2.0 - 1e-9 for i in range(40)]
    assert det.frozen and det.reason == "image figée depuis 2 s"
    assert det.should_drop(2.0)


def test_a_frozen_stream_stays_frozen_on_reconnection_until_a_fresh_picture():
    det = FreezeDetector(2.0)
    det.connected(0.0)
    feed(det, [FROZEN] * 30, 0.0, 0.0)
    assert det.frozen
    det.connected(10.0)  # reopened: given frozen_after_s to bring a fresh picture
    assert not det.should_drop(10.0)
    assert not any(feed(det, [FROZEN] * 20, 0.0, 10.0))
    assert det.frozen and not det.should_drop(11.9) and det.should_drop(12.0)
    det.connected(20.0)
    # a new picture on the connection's first frame: its stream time has not moved yet
    assert feed(det, [picture(5), picture(6), picture(7)], 0.0, 20.0) == [False, True, True]
    assert not det.frozen and det.reason is None and not det.should_drop(30.0)


def test_a_stream_time_standing_still_is_a_freeze():
    det = FreezeDetector(2.0)
    det.connected(0.0)
    for i in range(10):
        det.stream_time(i * DT, i * DT)
    # the clock stops: frames keep coming (the sampler would drop them all)
    for i in range(10, 40):
        det.stream_time(9 * DT, i * DT)
        if det.frozen:
            break
    assert det.reason == "horodatage figé depuis 2 s"
    assert det.should_drop(i * DT)
    assert i * DT == pytest.approx(9 * DT + 2.0, abs=DT)
    # back after a reconnection whose stream time moves, with a new picture
    det.connected(10.0)
    assert not det.should_drop(10.0)
    det.stream_time(0.0, 10.0)
    assert not det.image(picture(9), 10.0)  # the stream time has not moved yet
    det.stream_time(DT, 10.0 + DT)
    assert det.image(picture(10), 10.0 + DT)
    assert not det.frozen


def test_time_spent_reconnecting_is_not_frozen_time():
    det = FreezeDetector(2.0)
    det.connected(0.0)
    feed(det, [FROZEN] * 10, 0.0, 0.0)  # 0.72 s of one picture
    det.connected(60.0)  # a long outage, then the same picture again: not frozen yet
    assert all(feed(det, [FROZEN] * 10, 0.0, 60.0))
    assert not det.frozen


def test_zero_turns_the_detection_off():
    det = FreezeDetector(0.0)
    det.connected(0.0)
    for i in range(1000):
        det.stream_time(0.0, i * 1.0)
        assert det.image(FROZEN, i * 1.0)
    assert not det.frozen and not det.should_drop(1000.0)


# --- inside read_stream, on fake containers and a fake clock ------------------------------


class Clock:
    """Monotonic and wall time for video.py: a frame decoded takes DT, sleeping takes its time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s
        self.slept.append(s)


class FakeFrame:
    def __init__(self, pts: int, image: NDArray[np.uint8]) -> None:
        self.pts = pts
        self.time_base = TB
        self.image = image

    def to_ndarray(self, format: str) -> NDArray[np.uint8]:
        return self.image


class FakeStream:
    average_rate = Fraction(25, 2)
    guessed_rate = None
    thread_type = "SLICE"


class FakeContainer:
    """A connection delivering ``images`` at 12.5 fps of stream and (fake) wall time."""

    def __init__(self, clock: Clock, images: list[NDArray[np.uint8]], on_open: Any = None):
        self.clock = clock
        self.images = images
        self.streams = SimpleNamespace(video=[FakeStream()])
        self.on_open = on_open

    def decode(self, _stream: Any) -> Iterator[FakeFrame]:
        if self.on_open is not None:
            self.on_open()
        for i, image in enumerate(self.images):
            self.clock.now += DT
            yield FakeFrame(round(i * DT * 90000), image)

    def close(self) -> None:
        pass


def test_read_stream_drops_a_frozen_stream_and_resumes_with_fresh_frames(
    monkeypatch: pytest.MonkeyPatch,
):
    clock = Clock()
    monkeypatch.setattr(video, "time", clock)
    status = StreamStatus()
    seen: list[tuple[bool, bool]] = []  # (connected, frozen) when each connection starts
    live = [picture(i) for i in range(100, 150)]  # 4 s of live pictures

    def note() -> None:
        seen.append((status.connected, status.frozen))

    conns = iter(
        [
            FakeContainer(clock, live + [FROZEN] * 100, note),  # live, then frozen 8 s
            FakeContainer(clock, [FROZEN] * 100, note),  # reopened: still frozen
            FakeContainer(clock, [picture(i) for i in range(200, 260)], note),  # live again
        ]
    )
    monkeypatch.setattr(video, "_open", lambda *a: next(conns))
    monkeypatch.setattr(video, "_sleep", lambda s, _stop: clock.sleep(s))
    frames = read_stream(
        "rtsp://x/cam", analysis_fps=0, status=status, frozen_after_s=2.0, backoff_s=(0.5, 10.0)
    )
    got = []
    for f in frames:
        got.append(f)
        if len(got) == len(live):
            assert status.connected and not status.frozen and status.outages == 0
        if len(got) > len(live) and f.image is not FROZEN:
            break  # through the freeze and the reopenings: the first fresh frame
    # the frozen picture was analysed for 2 s only, then no more
    frozen = got[len(live) : -1]
    assert all(f.image is FROZEN for f in frozen)
    assert 2.0 / DT - 1 <= len(frozen) <= 2.0 / DT + 1
    # the freeze was recorded for the health endpoint, then the stream came back by itself
    assert status.outages == 2
    assert status.last_outage_reason == "image figée depuis 2 s"
    assert status.last_error == "image figée depuis 2 s"
    assert seen == [(True, False), (False, True), (False, True)]
    assert not status.frozen and status.connected
    # the backoff between frozen connections grows (a fresh frame resets it)
    assert clock.slept == [0.5, 1.0]
    # the third connection's first frame is held back: its stream time had not moved yet
    assert got[-1].image is not FROZEN
    assert all(b.t > a.t for a, b in itertools.pairwise(got))
    assert [f.index for f in got[:-1]] == list(range(len(got) - 1))


def test_read_stream_drops_a_stream_whose_time_stands_still(monkeypatch: pytest.MonkeyPatch):
    clock = Clock()
    monkeypatch.setattr(video, "time", clock)

    class StuckClock(FakeContainer):
        def decode(self, _stream: Any) -> Iterator[FakeFrame]:
            for i in range(200):
                clock.now += DT
                pts = min(i, 20) * DT  # stands still from frame 20 on
                yield FakeFrame(round(pts * 90000), picture(i))

    conns = iter(
        [StuckClock(clock, []), FakeContainer(clock, [picture(i) for i in range(300, 320)])]
    )
    monkeypatch.setattr(video, "_open", lambda *a: next(conns))
    status = StreamStatus()
    frames = read_stream("rtsp://x/cam", analysis_fps=12.5, status=status, frozen_after_s=2.0)
    got = [next(frames) for _ in range(21)]  # up to the last frame whose time moved
    assert not status.frozen
    got.append(next(frames))  # the stuck frames are never kept; the next fresh one comes
    assert status.outages == 1
    assert status.last_outage_reason == "horodatage figé depuis 2 s"
    assert got[-1].image is not got[-2].image and status.connected and not status.frozen
    assert all(b.t > a.t for a, b in itertools.pairwise(got))
