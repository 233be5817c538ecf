"""Decoding errors never kill a source: an invalid packet is skipped, logged and counted.

A real MP4 with damaged frames in the middle still yields its good frames (read_file), a
truncated one still raises the clear :class:`SourceError` after them, and a stream that
sends invalid packets keeps its connection unless nothing but invalid packets comes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import av
import numpy as np
import pytest

from veilleur.data.synth.writer import Mp4Writer
from veilleur.runtime.ingest import video
from veilleur.runtime.ingest.video import SourceError, StreamStatus, read_file, read_stream

N_FRAMES = 40


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 frames (3.2 s at 12.5 fps) of a moving block on a noisy background."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("decode-errors") / "clip.mp4"
    with Mp4Writer(path, 160, 120, 12.5) as w:
        for i in range(N_FRAMES):
            image = np.full((120, 160, 3), 90, np.uint8)
            image[40:80, 2 * i : 2 * i + 30] = (20, 200, 60)
            image += rng.integers(0, 20, image.shape, dtype=np.uint8)
            w.write(image)
    return path


def packets(path: Path) -> list[tuple[int, int]]:
    """(file offset, size) of each video packet, in decoding order."""
    with av.open(str(path)) as c:
        return [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size]


def damaged_copy(clip: Path, out: Path, damaged: list[int]) -> Path:
    """A copy whose packets ``damaged`` get an impossible NAL length: undecodable."""
    data = bytearray(clip.read_bytes())
    table = packets(clip)
    for i in damaged:
        pos, size = table[i]
        assert size > 8
        data[pos : pos + 4] = b"\xff\xff\xff\xff"  # AVCC length prefix of the first NAL
    out.write_bytes(bytes(data))
    return out


def test_the_clip_decodes_cleanly(clip: Path):
    status = StreamStatus()
    assert len(list(read_file(clip, status=status))) == N_FRAMES
    assert status.decode_errors == 0


def test_damaged_frames_in_the_middle_are_skipped_and_counted(
    clip: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    bad = damaged_copy(clip, tmp_path / "bad.mp4", [12, 13, 25])
    # the current design raised SourceError("corrupt video after 12 frames") here
    status = StreamStatus()
    with caplog.at_level(logging.WARNING, logger="veilleur.runtime.ingest.video"):
        frames = list(read_file(bad, status=status))
    assert status.decode_errors == 3
    # every other frame came, in order, with its own timestamp
    assert len(frames) == N_FRAMES - 3
    ts = [f.t for f in frames]
    assert ts == sorted(set(ts))
    assert ts[-1] == pytest.approx((N_FRAMES - 1) / 12.5)
    assert {(f.width, f.height) for f in frames} == {(160, 120)}
    # logged once, naming the file (then one in a hundred: a damaged source must not flood)
    warnings = [r.getMessage() for r in caplog.records if "invalid packet" in r.getMessage()]
    assert len(warnings) == 1 and str(bad) in warnings[0]


def test_damaged_frames_are_counted_at_the_analysis_rate_too(clip: Path, tmp_path: Path):
    bad = damaged_copy(clip, tmp_path / "bad.mp4", [20])
    status = StreamStatus()
    frames = list(read_file(bad, 5.0, status=status))
    assert status.decode_errors == 1
    assert 14 <= len(frames) <= 17  # 3.2 s at 5 fps


@pytest.mark.parametrize("last", [1, 2, 3])
def test_damage_among_the_last_frames_gives_frames_or_the_clear_error(
    clip: Path, tmp_path: Path, last: int
):
    # with frame threading, an invalid packet near the end surfaces while the decoder is
    # flushed, and frames still in its threads may be lost with it: the truncation check
    # may then speak; never anything else than SourceError
    bad = damaged_copy(clip, tmp_path / "bad.mp4", [N_FRAMES - last])
    status = StreamStatus()
    got: list[float] = []
    try:
        for f in read_file(bad, status=status):
            got.append(f.t)
    except SourceError as exc:
        assert "bad.mp4: truncated or corrupt video" in str(exc)
    assert len(got) >= N_FRAMES - 4
    assert got == sorted(set(got))


def test_a_file_of_damaged_frames_only_is_a_clear_error(clip: Path, tmp_path: Path):
    bad = damaged_copy(clip, tmp_path / "bad.mp4", list(range(N_FRAMES)))
    with pytest.raises(SourceError, match=r"bad\.mp4: no decodable frame"):
        list(read_file(bad))


def test_a_truncated_file_still_raises_after_its_good_frames(clip: Path, tmp_path: Path):
    # moov first (as cameras and exporters write it), then mdat cut in the middle
    faststart = tmp_path / "faststart.mp4"
    with (
        av.open(str(clip)) as src,
        av.open(str(faststart), "w", format="mp4", options={"movflags": "faststart"}) as dst,
    ):
        s_in = src.streams.video[0]
        s_out = dst.add_stream_from_template(s_in)
        for p in src.demux(s_in):
            if p.size:
                p.stream = s_out
                dst.mux(p)
    cut = packets(faststart)[N_FRAMES // 2][0]
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(faststart.read_bytes()[:cut])
    got: list[int] = []
    with pytest.raises(SourceError, match=r"truncated\.mp4: truncated or corrupt video"):
        for f in read_file(truncated):
            got.append(f.index)
    assert len(got) >= N_FRAMES // 2 - 2  # the frames before the cut were analysed


# --- streams -------------------------------------------------------------------------------

TB = Fraction(1, 90000)


class FakeFrame:
    def __init__(self, i: int) -> None:
        self.pts = round(i * 0.08 * 90000)
        self.time_base = TB
        self.i = i

    def to_ndarray(self, format: str) -> np.ndarray:
        return np.full((4, 6, 3), self.i % 256, np.uint8)


class FakeContainer:
    """Like PyAV: decode() raises on an invalid packet and, called again, goes on after it."""

    def __init__(self, items: list[int | Exception]) -> None:
        self.items = iter(items)
        self.streams = SimpleNamespace(
            video=[SimpleNamespace(average_rate=Fraction(25, 2), guessed_rate=None)]
        )

    def decode(self, _stream: Any) -> Iterator[FakeFrame]:
        for item in self.items:
            if isinstance(item, Exception):
                raise item
            yield FakeFrame(item)

    def close(self) -> None:
        pass


def invalid() -> Exception:
    return av.error.InvalidDataError(1094995529, "Invalid data found when processing input")


def test_invalid_packets_in_a_stream_are_skipped_without_reconnecting(
    monkeypatch: pytest.MonkeyPatch,
):
    items: list[int | Exception] = [0, 1, invalid(), 2, invalid(), invalid(), *range(3, 10)]
    conns = iter([FakeContainer(items)])
    monkeypatch.setattr(video, "_open", lambda *a: next(conns))
    status = StreamStatus()
    frames = read_stream("rtsp://x/cam", analysis_fps=0, status=status)
    got = [next(frames) for _ in range(10)]
    assert [f.image[0, 0, 0] for f in got] == list(range(10))
    assert status.decode_errors == 3
    assert status.outages == 0 and status.connected


def test_a_stream_of_invalid_packets_only_is_dropped_and_reopened(
    monkeypatch: pytest.MonkeyPatch,
):
    n = video.MAX_CONSECUTIVE_DECODE_ERRORS + 1
    conns = iter(
        [
            FakeContainer([0, *(invalid() for _ in range(n)), 1]),
            FakeContainer(list(range(2, 10))),
        ]
    )
    monkeypatch.setattr(video, "_open", lambda *a: next(conns))
    monkeypatch.setattr(video, "_sleep", lambda *a: None)
    status = StreamStatus()
    frames = read_stream("rtsp://x/cam", analysis_fps=0, status=status)
    got = [next(frames) for _ in range(3)]
    # the frame after the invalid run was on the dropped connection: never seen
    assert [f.image[0, 0, 0] for f in got] == [0, 2, 3]
    assert status.decode_errors == n - 1  # the last one ended the connection
    assert status.outages == 1
    assert status.last_outage_reason and status.last_outage_reason.startswith("flux interrompu")
