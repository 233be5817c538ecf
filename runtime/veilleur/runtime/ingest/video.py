"""Video sources: files and RTSP streams decoded with PyAV, sampled at the analysis rate.

A stream that drops is reopened with exponential backoff and analysis resumes by itself
(EX-029); a file that cannot be decoded raises :class:`SourceError` naming the file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)


class SourceError(RuntimeError):
    """A source that cannot be opened or decoded; the message names it."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its index in the stream, its time in seconds, BGR pixels."""

    index: int
    t: float
    image: NDArray[np.uint8]

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


def _open(url: str, transport: str, timeout_s: float) -> Any:
    options: dict[str, str] = {}
    if url.startswith(("rtsp://", "rtsps://")):
        options = {"rtsp_transport": transport, "timeout": str(int(timeout_s * 1e6))}
    return av.open(url, options=options)


def _frames(
    container: Any, analysis_fps: float, decoded: list[int] | None = None
) -> Iterator[Frame]:
    """Decode the first video stream, keeping frames at ``analysis_fps``.

    ``decoded[0]`` counts every decoded frame (kept or not), for truncation checks.
    """
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    rate = float(stream.average_rate or stream.guessed_rate or 25)
    step = 1.0 / analysis_fps if analysis_fps > 0 else 0.0
    next_t = 0.0
    t0: float | None = None  # stream time of the first frame
    t = 0.0
    for index, frame in enumerate(container.decode(stream)):
        if decoded is not None:
            decoded[0] = index + 1
        if frame.pts is not None and frame.time_base is not None:
            if t0 is None:
                # frames before the first timestamped one (an RTSP stream's first frame has
                # no pts) were taken at index / rate: the stream need not start at 0
                t0 = float(frame.pts * frame.time_base) - index / rate
            t = float(frame.pts * frame.time_base) - t0
        elif index:
            t += 1.0 / rate
        if t + 1e-6 < next_t:
            continue
        next_t = max(next_t + step, t + step * 0.5) if step else t
        yield Frame(index=index, t=t, image=frame.to_ndarray(format="bgr24"))


def read_file(path: Path | str, analysis_fps: float = 0.0) -> Iterator[Frame]:
    """Frames of a video file, subsampled to ``analysis_fps`` (0 = every frame).

    Raises:
        SourceError: the file is missing, not a video, or corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: video file not found")
    try:
        container = _open(str(path), "tcp", 5.0)
    except av.error.FFmpegError as exc:
        raise SourceError(f"{path}: not a readable video ({exc})") from None
    try:
        if not container.streams.video:
            raise SourceError(f"{path}: no video stream in the file")
        decoded = [0]
        declared = int(container.streams.video[0].frames or 0)
        try:
            yield from _frames(container, analysis_fps, decoded)
        except av.error.FFmpegError as exc:
            raise SourceError(f"{path}: corrupt video after {decoded[0]} frames ({exc})") from None
        if decoded[0] == 0:
            raise SourceError(f"{path}: no decodable frame in the file")
        if declared and decoded[0] < declared - 2:
            raise SourceError(
                f"{path}: truncated or corrupt video: decoded {decoded[0]} of the "
                f"{declared} frames the file declares (frames before the break were analysed)"
            )
    finally:
        container.close()


@dataclass
class StreamStatus:
    """Health of a live source, read by the health endpoint (EX-025, EX-029)."""

    connected: bool = False
    outages: int = 0
    last_error: str | None = None
    last_frame_utc: float | None = None


def read_stream(
    url: str,
    transport: str = "tcp",
    analysis_fps: float = 6.25,
    *,
    status: StreamStatus | None = None,
    stop: Callable[[], bool] = lambda: False,
    timeout_s: float = 4.0,
    backoff_s: tuple[float, float] = (0.5, 10.0),
) -> Iterator[Frame]:
    """Frames of an RTSP stream forever, reconnecting with exponential backoff.

    Timestamps keep increasing across reconnections (time since the first connection), so
    rules based on durations stay coherent.
    """
    status = status or StreamStatus()
    delay = backoff_s[0]
    origin: float | None = None
    last_t: float | None = None  # time of the last frame yielded, on any connection
    decoded_before = 0  # frames decoded by earlier connections: indices run on across them
    gap = 1.0 / analysis_fps if analysis_fps > 0 else 0.04
    while not stop():
        # the stream's time 0 is when it was asked for: opening probes (buffers) its first
        # seconds, which then come in a burst
        wall0 = time.monotonic()
        try:
            container = _open(url, transport, timeout_s)
        except av.error.FFmpegError as exc:
            status.connected = False
            status.last_error = str(exc)
            log.warning("stream %s unavailable (%s); retry in %.1fs", url, exc, delay)
            _sleep(delay, stop)
            delay = min(delay * 2, backoff_s[1])
            continue
        status.connected = True
        delay = backoff_s[0]
        if origin is None:
            origin = wall0
        # time since the first connection; never at or before a frame already yielded (a
        # connection's stream time can run ahead of the wall clock, e.g. a burst on connect)
        offset = wall0 - origin if last_t is None else max(wall0 - origin, last_t + gap)
        decoded = [0]
        try:
            for frame in _frames(container, analysis_fps, decoded):
                if stop():
                    return
                status.last_frame_utc = time.time()
                last_t = offset + frame.t
                yield Frame(decoded_before + frame.index, last_t, frame.image)
        except av.error.FFmpegError as exc:
            status.last_error = str(exc)
        finally:
            container.close()
        decoded_before += decoded[0]
        status.connected = False
        status.outages += 1
        log.warning("stream %s lost (outage %d); reconnecting", url, status.outages)


def _sleep(seconds: float, stop: Callable[[], bool]) -> None:
    """Sleep, waking early when ``stop()`` turns true (a shutdown must not wait a backoff)."""
    end = time.monotonic() + seconds
    while not stop() and (left := end - time.monotonic()) > 0:
        time.sleep(min(left, 0.1))
