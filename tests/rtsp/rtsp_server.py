#!/usr/bin/python3
"""A camera-like RTSP server for the tests: serves an H.264 MP4 in a loop on 127.0.0.1.

Run with the system Python (``/usr/bin/python3``): GStreamer's ``gi`` bindings do not import in
the project's venv. Needs the Debian packages of ``scripts/install-debian-deps.sh``.

    /usr/bin/python3 tests/rtsp/rtsp_server.py --port 8554 --file clip.mp4 [--mount /cam]
        [--multicast]

Prints ``READY rtsp://127.0.0.1:PORT/cam`` on stdout once listening; exits cleanly (status 0)
on SIGTERM or SIGINT. TCP and UDP unicast transports are allowed on the mount, all sockets on
127.0.0.1.

With ``--multicast`` the mount offers UDP multicast only (groups 239.255.42.1–10, ports
5000–5100, TTL 1, on ``lo``). On one host this works only inside a network namespace whose
``lo`` is up, multicast-enabled and routes 224.0.0.0/4 (on the host, 239.x routes out of the
machine), with three fixes applied here (see ../shared/design/stack.md, "A real RTSP server
for tests"): SO_REUSEADDR and multicast loopback on the server's multicast sockets before
the SETUP reply leaves (the client then binds the same group and port), ``loop=True`` on the network
sinks, and no RTCP (else the server hears its own RTCP, sends a BYE and the client stops).

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
import socket
import sys
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gio, GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

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


class MulticastFixes:
    """Makes multicast on one host work: the client shares the group's port and hears us.

    The server's multicast sockets are bound to the group's ports while it handles SETUP,
    before the client binds them too: both sides need SO_REUSEADDR (FFmpeg sets it on its
    side), and ours must have it before the client gets the SETUP reply and binds. The
    "setup-request" signal comes after the reply has left (too late: the client's bind then
    fails now and then), so the fixes run on "send-message", just before every reply goes
    out; that signal's context does not reach Python, hence the media kept here. Multicast
    loopback and ``loop`` on the network sinks bring the packets sent on ``lo`` back to local
    receivers. Idempotent.
    """

    def __init__(self) -> None:
        self.medias: list[GstRtspServer.RTSPMedia] = []

    def on_media_configure(
        self, _factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia
    ) -> None:
        self.medias.append(media)
        media.connect("unprepared", self.on_unprepared)

    def on_unprepared(self, media: GstRtspServer.RTSPMedia) -> None:
        if media in self.medias:
            self.medias.remove(media)

    def on_client_connected(
        self, _server: GstRtspServer.RTSPServer, client: GstRtspServer.RTSPClient
    ) -> None:
        client.connect("send-message", self.on_send_message)

    def on_send_message(self, _client: GstRtspServer.RTSPClient, *_args: object) -> None:
        for media in self.medias:
            self.apply(media)

    @staticmethod
    def apply(media: GstRtspServer.RTSPMedia) -> None:
        for i in range(media.n_streams()):
            stream = media.get_stream(i)
            for get in (stream.get_rtp_multicast_socket, stream.get_rtcp_multicast_socket):
                sock = get(Gio.SocketFamily.IPV4)
                if sock is None:
                    continue
                try:
                    sock.set_option(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                except GLib.Error as exc:
                    print(f"rtsp_server: SO_REUSEADDR: {exc.message}", file=sys.stderr, flush=True)
                sock.set_multicast_loopback(True)
        bin_ = media.get_element()
        (bin_.get_parent() or bin_).iterate_recurse().foreach(_loop_back)


def _loop_back(element: Gst.Element) -> None:
    factory = element.get_factory()
    if factory is not None and factory.get_name() == "multiudpsink":
        element.set_property("loop", True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--file", type=Path, required=True, help="H.264 MP4 clip to loop")
    ap.add_argument("--mount", default="/cam")
    ap.add_argument(
        "--multicast",
        action="store_true",
        help="offer UDP multicast only (run inside a network namespace, see the docstring)",
    )
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
    factory.connect("media-configure", on_media_configure)
    pool = GstRtspServer.RTSPAddressPool()
    if args.multicast:
        factory.set_protocols(GstRtsp.RTSPLowerTrans.UDP_MCAST)
        # site-local groups, TTL 1: the packets never leave the namespace's loopback
        pool.add_range("239.255.42.1", "239.255.42.10", 5000, 5100, 1)
        factory.set_multicast_iface("lo")
        factory.set_enable_rtcp(False)
        fixes = MulticastFixes()
        factory.connect("media-configure", fixes.on_media_configure)
        server.connect("client-connected", fixes.on_client_connected)
    else:
        factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP)
        # UDP unicast: the server's RTP/RTCP sockets on loopback too (else on 0.0.0.0), on
        # ports below Linux's ephemeral range; a port already taken is skipped
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
