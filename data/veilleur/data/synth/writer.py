"""H.264 MP4 writing with PyAV (libx264, yuv420p), byte-identical for identical frames."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import cv2
import numpy as np
from numpy.typing import NDArray


def fps_fraction(fps: float) -> Fraction:
    """Exact frame rate as a fraction (12.5 → 25/2)."""
    return Fraction(fps).limit_denominator(1001)


class Mp4Writer:
    """Context manager that encodes BGR frames into an MP4 file.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "x.mp4")
        >>> with Mp4Writer(path, 64, 48, 12.5) as w:
        ...     w.write(np.zeros((48, 64, 3), np.uint8))
    """

    def __init__(
        self,
        path: Path | str,
        width: int,
        height: int,
        fps: float,
        crf: int = 23,
        preset: str = "veryfast",
    ) -> None:
        self.path = Path(path)
        self.width, self.height = width, height
        self.rate = fps_fraction(fps)
        self.crf, self.preset = crf, preset
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._index = 0

    def __enter__(self) -> Mp4Writer:
        container = av.open(str(self.path), mode="w", format="mp4")
        # No creation time and no encoder strings that vary between runs.
        container.metadata.clear()
        stream = container.add_stream("libx264", rate=self.rate)
        stream.width = self.width
        stream.height = self.height
        stream.pix_fmt = "yuv420p"
        stream.time_base = 1 / self.rate
        stream.codec_context.thread_count = 1
        # threads=1 and mbtree=0: x264's macroblock-tree rate control was measured to give
        # different bitstreams for identical frames depending on earlier heap activity in the
        # process (uninitialised lookahead state at the end of short clips).
        stream.options = {
            "crf": str(self.crf),
            "preset": self.preset,
            "threads": "1",
            "x264-params": "mbtree=0",
        }
        self._container, self._stream = container, stream
        return self

    def write(self, frame_bgr: NDArray[np.uint8]) -> None:
        """Encode one ``(height, width, 3)`` BGR frame."""
        assert self._stream is not None and self._container is not None, "use as a context manager"
        # Convert here (BT.601 limited range, as swscale does): letting PyAV convert inside
        # encode() was measured to give run-to-run different bitstreams for identical frames.
        yuv: NDArray[np.uint8] = np.asarray(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2YUV_I420))
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = self._index
        self._index += 1
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None and self._container is not None:
            if exc_type is None:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
            self._container.close()
        self._container = self._stream = None
