"""Video sources: files and RTSP streams decoded with PyAV, sampled at the analysis rate.

A stream that drops is reopened with exponential backoff and analysis resumes by itself
(EX-029); a file that cannot be decoded raises :class:`SourceError` naming the file.

A stream that still delivers frames but is frozen (the same picture over and over, or a stream
time that stands still; see :class:`FreezeDetector`) is treated as lost too. A packet with
invalid data, in a file or a stream, is skipped and counted (:attr:`StreamStatus.decode_errors`)
instead of ending the decoding.
"""

from __future__ import annotations

import hashlib
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


FROZEN_AFTER_S = 10.0
"""Default seconds of identical pictures, or of a stream time standing still, before a live
stream is treated as frozen."""

MAX_CONSECUTIVE_DECODE_ERRORS = 50
"""Invalid packets in a row, without a frame decoded between them, before decoding gives up."""


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


def _decode(
    container: Any, stream: Any, on_error: Callable[[Exception], None] | None
) -> Iterator[Any]:
    """Decoded frames of ``stream``; a packet with invalid data is skipped, not fatal.

    PyAV's decoding generator ends at the first error; it is restarted, demuxing on from the
    packet after the bad one. ``on_error`` is told of each skipped packet (invalid data from
    the decoder or the demuxer); without it, or after :data:`MAX_CONSECUTIVE_DECODE_ERRORS` in
    a row, the error is raised. Other errors (network, timeouts) end the decoding as before.
    """
    failures = 0  # invalid packets since the last decoded frame
    restarted = False
    while True:
        try:
            for frame in container.decode(stream):
                failures = 0
                yield frame
            return
        except av.error.InvalidDataError as exc:
            failures += 1
            if on_error is None or failures > MAX_CONSECUTIVE_DECODE_ERRORS:
                raise
            on_error(exc)
            restarted = True
        except av.error.EOFError:
            # the decoder is drained: an invalid packet among the last ones of a file, with
            # frame threading, surfaces while flushing, and the restarted decoding then
            # flushes a drained decoder (PyAV reports demuxing's own end without raising)
            if not restarted:
                raise
            return


def _frames(
    container: Any,
    analysis_fps: float,
    decoded: list[int] | None = None,
    *,
    on_time: Callable[[float], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> Iterator[Frame]:
    """Decode the first video stream, keeping frames at ``analysis_fps``.

    ``decoded[0]`` counts every decoded frame (kept or not), for truncation checks.
    ``on_time`` sees the stream time of every decoded frame, kept or not (frames whose time
    stands still are never kept); ``on_error`` is told of each skipped invalid packet.
    """
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    rate = float(stream.average_rate or stream.guessed_rate or 25)
    step = 1.0 / analysis_fps if analysis_fps > 0 else 0.0
    next_t = 0.0
    t0: float | None = None  # stream time of the first frame
    t = 0.0
    for index, frame in enumerate(_decode(container, stream, on_error)):
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
        if on_time is not None:
            on_time(t)
        if t + 1e-6 < next_t:
            continue
        next_t = max(next_t + step, t + step * 0.5) if step else t
        yield Frame(index=index, t=t, image=frame.to_ndarray(format="bgr24"))


def read_file(
    path: Path | str, analysis_fps: float = 0.0, *, status: StreamStatus | None = None
) -> Iterator[Frame]:
    """Frames of a video file, subsampled to ``analysis_fps`` (0 = every frame).

    A packet with invalid data inside the file is skipped, logged and counted in
    ``status.decode_errors``; the frames around it are still analysed.

    Raises:
        SourceError: the file is missing, not a video, corrupt beyond
            :data:`MAX_CONSECUTIVE_DECODE_ERRORS` bad packets in a row, or truncated (fewer
            frames decoded or skipped than the file declares; raised after the good frames).
    """
    path = Path(path)
    status = status if status is not None else StreamStatus()
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
        skipped = [0]  # invalid packets skipped in this file
        declared = int(container.streams.video[0].frames or 0)

        def on_error(exc: Exception) -> None:
            skipped[0] += 1
            status.decode_errors += 1
            _log_decode_error(str(path), exc, skipped[0], after=decoded[0])

        try:
            yield from _frames(container, analysis_fps, decoded, on_error=on_error)
        except av.error.FFmpegError as exc:
            raise SourceError(f"{path}: corrupt video after {decoded[0]} frames ({exc})") from None
        if decoded[0] == 0:
            raise SourceError(f"{path}: no decodable frame in the file")
        # a skipped packet is a frame the file has, not one cut off its end
        if declared and decoded[0] + skipped[0] < declared - 2:
            raise SourceError(
                f"{path}: truncated or corrupt video: decoded {decoded[0]} of the "
                f"{declared} frames the file declares (frames before the break were analysed)"
            )
    finally:
        container.close()


def _log_decode_error(source: str, exc: Exception, count: int, after: int) -> None:
    # the first skipped packet of a source, then one in a hundred: a damaged stream must not
    # flood the log
    if count == 1 or count % 100 == 0:
        log.warning(
            "%s: invalid packet skipped after %d frames (%d so far): %s", source, after, count, exc
        )


@dataclass
class StreamStatus:
    """Health of a live source, read by the health endpoint (EX-025, EX-029).

    ``last_error`` and ``last_outage_reason`` are shown to operators; the reasons this module
    writes are in French (FFmpeg's own messages are passed on as they are).
    """

    connected: bool = False
    outages: int = 0
    """Connections lost after they delivered (a failed reopening is not counted)."""
    last_error: str | None = None
    last_frame_utc: float | None = None
    frozen: bool = False
    """The stream delivers frames, but frozen ones (see :class:`FreezeDetector`)."""
    last_outage_reason: str | None = None
    decode_errors: int = 0
    """Invalid packets skipped since the start."""


def _thumbnail(image: NDArray[np.uint8]) -> bytes:
    """A digest of about 32×24 pixels spread over the image: equal for identical pictures."""
    h, w = image.shape[:2]
    thumb = np.ascontiguousarray(image[:: max(1, h // 24), :: max(1, w // 32)])
    return hashlib.blake2b(thumb.tobytes(), digest_size=16).digest()


class FreezeDetector:
    """Tells when a live stream froze. Pure logic: the caller passes the (monotonic) time.

    A stream is frozen when, for ``frozen_after_s`` seconds, every frame it delivers has the
    same pixels (compared on a thumbnail: a stuck encoder repeats one picture, while a working
    sensor always adds some noise) or its stream time stands still. A frozen stream is treated
    as lost: :meth:`should_drop` turns true at once, and again on each new connection that
    brings no fresh frame within ``frozen_after_s``. The stream stays frozen until a frame
    comes whose pixels differ from the frozen picture, with the stream time moving on the
    current connection. ``frozen_after_s <= 0`` turns the detection off.
    """

    def __init__(self, frozen_after_s: float = FROZEN_AFTER_S) -> None:
        self.frozen_after_s = frozen_after_s
        self.reason: str | None = None
        """Why the stream is frozen (French, shown to operators); None while it is live."""
        self._thumb: bytes | None = None  # the last kept frame's thumbnail
        self._thumb_since = 0.0  # when the picture last changed
        self._frozen_thumb: bytes | None = None  # the picture when the stream froze
        self._t: float | None = None  # the last stream time seen on this connection
        self._t_since = 0.0  # when the stream time last moved on
        self._t_moved = False  # whether the stream time moved on this connection
        self._drop_at: float | None = None

    @property
    def frozen(self) -> bool:
        return self.reason is not None

    def connected(self, now: float) -> None:
        """A new connection: its stream time starts afresh; reconnecting is not frozen time."""
        self._t = None
        self._t_moved = False
        self._t_since = self._thumb_since = now
        self._drop_at = now + self.frozen_after_s if self.frozen else None

    def stream_time(self, t: float, now: float) -> None:
        """The stream time of every decoded frame, kept for analysis or not."""
        if self.frozen_after_s <= 0:
            return
        if self._t is None or t > self._t + 1e-6:
            self._t_moved = self._t is not None
            self._t, self._t_since = t, now
        elif not self.frozen and now - self._t_since >= self.frozen_after_s:
            self._freeze(f"horodatage figé depuis {now - self._t_since:.0f} s", now)

    def image(self, image: NDArray[np.uint8], now: float) -> bool:
        """The pixels of every frame kept for analysis; whether it is fresh (to analyse)."""
        if self.frozen_after_s <= 0:
            return True
        thumb = _thumbnail(image)
        if thumb != self._thumb:
            self._thumb, self._thumb_since = thumb, now
        elif not self.frozen and now - self._thumb_since >= self.frozen_after_s:
            self._freeze(f"image figée depuis {now - self._thumb_since:.0f} s", now)
        if self.frozen and self._t_moved and thumb != self._frozen_thumb:
            self.reason = self._drop_at = None  # live again
        return not self.frozen

    def should_drop(self, now: float) -> bool:
        """Whether the reader should drop the connection now (and reconnect)."""
        return self._drop_at is not None and now >= self._drop_at

    def _freeze(self, reason: str, now: float) -> None:
        self.reason = reason
        self._frozen_thumb = self._thumb
        self._drop_at = now


class _Dropped(Exception):
    """Internal: the reader drops a connection that still delivers, but frozen frames."""


def read_stream(
    url: str,
    transport: str = "tcp",
    analysis_fps: float = 6.25,
    *,
    status: StreamStatus | None = None,
    stop: Callable[[], bool] = lambda: False,
    timeout_s: float = 4.0,
    backoff_s: tuple[float, float] = (0.5, 10.0),
    frozen_after_s: float = FROZEN_AFTER_S,
) -> Iterator[Frame]:
    """Frames of an RTSP stream forever, reconnecting with exponential backoff.

    Timestamps keep increasing across reconnections (time since the first connection), so
    rules based on durations stay coherent.

    A frozen stream (see :class:`FreezeDetector`; ``frozen_after_s <= 0`` turns it off) is
    treated as lost: ``status.frozen`` is set, the connection dropped and reopened with the same
    backoff, and its frozen frames are not analysed; frames come again as soon as fresh ones
    do. Invalid packets are skipped and counted in ``status.decode_errors``.
    """
    status = status or StreamStatus()
    freeze = FreezeDetector(frozen_after_s)
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
        # a frozen stream stays "not connected" until a fresh frame comes
        status.connected = not freeze.frozen
        freeze.connected(time.monotonic())
        if origin is None:
            origin = wall0
        # time since the first connection; never at or before a frame already yielded (a
        # connection's stream time can run ahead of the wall clock, e.g. a burst on connect)
        offset = wall0 - origin if last_t is None else max(wall0 - origin, last_t + gap)
        decoded = [0]

        def on_time(t: float) -> None:
            now = time.monotonic()
            freeze.stream_time(t, now)
            if freeze.should_drop(now):
                raise _Dropped(freeze.reason)

        def on_error(
            exc: Exception, decoded: list[int] = decoded, before: int = decoded_before
        ) -> None:
            status.decode_errors += 1
            _log_decode_error(url, exc, status.decode_errors, after=before + decoded[0])

        reason = "flux interrompu"
        fresh_frames = 0  # on this connection
        try:
            for frame in _frames(
                container, analysis_fps, decoded, on_time=on_time, on_error=on_error
            ):
                if stop():
                    return
                now = time.monotonic()
                fresh = freeze.image(frame.image, now)
                if freeze.should_drop(now):
                    raise _Dropped(freeze.reason)
                if not fresh:
                    continue  # a frozen picture is not analysed
                if status.frozen:
                    status.frozen = False
                    log.warning("stream %s live again: fresh frames", url)
                status.connected = True
                delay = backoff_s[0]  # reset by a fresh frame, not by a mere reopening
                fresh_frames += 1
                status.last_frame_utc = time.time()
                last_t = offset + frame.t
                yield Frame(decoded_before + frame.index, last_t, frame.image)
        except _Dropped as exc:
            reason = str(exc)
            status.last_error = reason  # what the health endpoint shows
        except av.error.FFmpegError as exc:
            status.last_error = str(exc)
            reason = f"flux interrompu : {exc}"
        finally:
            container.close()
        decoded_before += decoded[0]
        status.connected = False
        status.outages += 1
        status.last_outage_reason = reason
        status.frozen = freeze.frozen  # last: whoever sees it set sees the outage recorded
        # a camera that answers but gives no fresh frame (frozen, or dropping each client at
        # once) would be reopened in a tight loop without a pause
        pause = delay if freeze.frozen or not fresh_frames else 0.0
        log.warning(
            "stream %s lost (outage %d: %s); reconnecting in %.1fs",
            url, status.outages, reason, pause,
        )  # fmt: skip
        if pause:
            _sleep(pause, stop)
            delay = min(delay * 2, backoff_s[1])


def _sleep(seconds: float, stop: Callable[[], bool]) -> None:
    """Sleep, waking early when ``stop()`` turns true (a shutdown must not wait a backoff)."""
    end = time.monotonic() + seconds
    while not stop() and (left := end - time.monotonic()) > 0:
        time.sleep(min(left, 0.1))
