"""Image sizes and video properties, read without decoding whole files where possible."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import av
import cv2


class MediaError(RuntimeError):
    """The file cannot be read as an image or a video."""


def _png_size(head: bytes) -> tuple[int, int] | None:
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        return int(width), int(height)
    return None


def _jpeg_size(path: Path) -> tuple[int, int] | None:
    with path.open("rb") as fh:
        if fh.read(2) != b"\xff\xd8":
            return None
        while True:
            byte = fh.read(1)
            while byte and byte != b"\xff":
                byte = fh.read(1)
            while byte == b"\xff":
                byte = fh.read(1)
            if not byte:
                return None
            marker = byte[0]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                continue
            length_bytes = fh.read(2)
            if len(length_bytes) < 2:
                return None
            (length,) = struct.unpack(">H", length_bytes)
            if marker in {
                0xC0,
                0xC1,
                0xC2,
                0xC3,
                0xC5,
                0xC6,
                0xC7,
                0xC9,
                0xCA,
                0xCB,
                0xCD,
                0xCE,
                0xCF,
            }:
                data = fh.read(5)
                if len(data) < 5:
                    return None
                height, width = struct.unpack(">HH", data[1:5])
                return int(width), int(height)
            fh.seek(length - 2, 1)


def image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image file: from the PNG/JPEG header, else by decoding.

    Raises:
        MediaError: missing or unreadable file.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(32)
        size = _png_size(head) or (_jpeg_size(path) if head[:2] == b"\xff\xd8" else None)
    except OSError as exc:
        raise MediaError(f"cannot read image ({exc})") from exc
    if size is not None and size[0] > 0 and size[1] > 0:
        return size
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise MediaError("not a readable image")
    return int(pixels.shape[1]), int(pixels.shape[0])


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """Properties of a video file."""

    width: int
    height: int
    fps: float
    frames: int
    """Frame count (counted by demuxing when the container does not give it)."""


def probe_video(path: Path) -> VideoInfo:
    """Size, frame rate and frame count of ``path`` (first video stream).

    Raises:
        MediaError: missing file, no video stream, or a file PyAV cannot open.
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError("no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            frames = int(stream.frames or 0)
            if frames <= 0:
                frames = sum(1 for packet in container.demux(stream) if packet.size)
            return VideoInfo(int(stream.width), int(stream.height), fps, frames)
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot open video ({exc})") from exc
