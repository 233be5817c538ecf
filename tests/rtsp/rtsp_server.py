#!/usr/bin/python3
"""A camera-like RTSP server for the tests: serves an H.264 MP4 in a loop on 127.0.0.1.

Run with the system Python (``/usr/bin/python3``): GStreamer's ``gi`` bindings do not import in
the project's venv. Needs the Debian packages of ``scripts/install-debian-deps.sh``.

    /usr/bin/python3 tests/rtsp/rtsp_server.py --port 8554 --file clip.mp4 [--mount /cam]

Prints ``READY rtsp://127.0.0.1:PORT/cam`` on stdout once listening; exits cleanly (status 0)
on SIGTERM or SIGINT. TCP and UDP unicast transports are allowed on the mount, all sockets on
127.0.0.1. Multicast is not offered: on one host it needs a network namespace and three fixes
(see ../shared/design/stack.md, "A real RTSP server for tests").

The clip loops with rising timestamps, as a camera's would: GStreamer has no loop flag and a
plain seek at EOS stalls, so a probe on the payloader's sink pad drops the demuxer's EOS,
flush-seeks the demuxer back to 0 from the main loop, keeps the flush away from the payloader
and the network sinks, and starts each new pass's running time where the last one ended.

The media is shared by all clients and, like a camera, not seekable: FFmpeg's PLAY carries
``Range: npt=0-``, which on a seekable shared media rewinds it for every client already there.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

PIPELINE = (
    '( filesrc location="{path}" ! qtdemux name=d d.video_0 ! h264parse ! '
    "rtph264pay name=pay0 pt=96 config-interval=1 )"
)


class Looper:
    """Loops one media's demuxer with continuous running time (see the module docstring)."""

    def __init__(self, demux: Gst.Element, pay_sink: Gst.Pad) -> None:
        self.demux = demux
        self.passes = 0  # rewinds done so far
        self.end = 0  # running time (ns) just after the last buffer sent
        self.seeking = False
        pay_sink.add_probe(
            Gst.PadProbeType.EVENT_DOWNSTREAM | Gst.PadProbeType.EVENT_FLUSH, self.on_event
        )
        pay_sink.add_probe(Gst.PadProbeType.BUFFER, self.on_buffer)
        pay_sink.add_probe(Gst.PadProbeType.QUERY_UPSTREAM, self.on_query)

    @staticmethod
    def on_query(_pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        # Not seekable, like a camera: else each client's PLAY (FFmpeg sends "Range:
        # npt=0-") flush-seeks the shared pipeline and the stream of every client already
        # there jumps back to 0. A failed SEEKING query makes the media not seekable.
        if info.get_query().type == Gst.QueryType.SEEKING:
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    def on_buffer(self, pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        buf = info.get_buffer()
        ts = buf.pts if buf.pts != Gst.CLOCK_TIME_NONE else buf.dts
        if ts != Gst.CLOCK_TIME_NONE:
            dur = buf.duration if buf.duration != Gst.CLOCK_TIME_NONE else 0
            self.end = max(self.end, pad.get_offset() + ts + dur)
        return Gst.PadProbeReturn.OK

    def on_event(self, pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        kind = info.get_event().type
        if kind == Gst.EventType.EOS:
            if not self.seeking:
                self.seeking = True
                GLib.idle_add(self.rewind)
            return Gst.PadProbeReturn.DROP
        if kind in (Gst.EventType.FLUSH_START, Gst.EventType.FLUSH_STOP):
            return Gst.PadProbeReturn.DROP  # our own rewind: downstream must not reset
        if kind == Gst.EventType.SEGMENT and self.passes > 0:
            # a new pass: its running time starts where the previous pass ended (the pad
            # applies an offset changed in a probe to the event being probed)
            pad.set_offset(self.end)
        return Gst.PadProbeReturn.OK

    def rewind(self) -> bool:
        self.passes += 1  # before the seek: the new segment may come before it returns
        ok = self.demux.seek_simple(
            Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0
        )
        if not ok:
            print("rtsp_server: rewind seek failed", file=sys.stderr, flush=True)
        self.seeking = False
        return False  # one-shot idle callback


def on_media_configure(
    _factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia
) -> None:
    bin_ = media.get_element()
    pay = bin_.get_by_name("pay0")
    demux = bin_.get_by_name("d")
    # keep the looper alive as long as the media
    media.looper = Looper(demux, pay.get_static_pad("sink"))  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--file", type=Path, required=True, help="H.264 MP4 clip to loop")
    ap.add_argument("--mount", default="/cam")
    args = ap.parse_args(argv)
    clip = args.file.resolve()
    if not clip.is_file():
        print(f"rtsp_server: {clip}: file not found", file=sys.stderr, flush=True)
        return 2
    mount = args.mount if args.mount.startswith("/") else "/" + args.mount

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(PIPELINE.format(path=str(clip).replace("\\", "\\\\").replace('"', '\\"')))
    factory.set_shared(True)
    factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP)
    factory.connect("media-configure", on_media_configure)
    # UDP unicast: the server's RTP/RTCP sockets on loopback too (else on 0.0.0.0), on ports
    # below Linux's ephemeral range; a port already taken is skipped
    pool = GstRtspServer.RTSPAddressPool()
    pool.add_range("127.0.0.1", "127.0.0.1", 20000, 29999, 0)
    factory.set_address_pool(pool)
    server.get_mount_points().add_factory(mount, factory)

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print(f"rtsp_server: cannot listen on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, lambda: (loop.quit(), False)[1])
    print(f"READY rtsp://127.0.0.1:{args.port}{mount}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
