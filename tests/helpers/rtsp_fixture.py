"""A real RTSP server for tests: ``tests/rtsp/rtsp_server.py`` run with the system Python.

    with rtsp_server(clip) as srv:      # clip: an H.264 MP4, served in a loop
        read_stream(srv.url, "tcp", ...)
        srv.stop()                      # the camera goes away (SIGTERM)
        srv.start()                     # and comes back, same port and URL

Multicast needs a network namespace (on the host, 239.x routes out of the machine):

    with net_namespace() as ns, rtsp_server(clip, netns=ns, multicast=True) as srv:
        ns.enter()                      # in a thread of ours: its sockets are in ns
        read_stream(srv.url, "udp_multicast", ...)

Needs the Debian packages of ``scripts/install-debian-deps.sh``; :func:`rtsp_available` and
:func:`netns_available` say whether they are there (tests skip with their reason otherwise).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import selectors
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).resolve().parents[1] / "rtsp" / "rtsp_server.py"
READY_TIMEOUT_S = 20.0
CLONE_NEWNET = 0x40000000  # <sched.h>
NETNS_DIR = Path("/run/netns")  # where `ip netns add` pins its namespaces

T = TypeVar("T")
_netns_ids = itertools.count()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rtsp_available() -> tuple[bool, str]:
    """Whether the system Python imports GStreamer's RTSP server, and why not."""
    if not Path(SYSTEM_PYTHON).is_file():
        return False, f"{SYSTEM_PYTHON} not found"
    probe = (
        "import gi; gi.require_version('GstRtspServer', '1.0'); "
        "from gi.repository import GstRtspServer"
    )
    r = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return False, (
            "GStreamer RTSP server not installed for the system Python "
            f"(run scripts/install-debian-deps.sh): {r.stderr.strip()[-300:]}"
        )
    return True, ""


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


def netns_available() -> tuple[bool, str]:
    """Whether this process may create network namespaces (root and iproute2), and why not."""
    if shutil.which("ip") is None:
        return False, "iproute2 not installed (run scripts/install-debian-deps.sh)"
    name = f"veilleur-probe-{os.getpid()}-{next(_netns_ids)}"
    r = _ip("netns", "add", name)
    if r.returncode != 0:
        return False, f"`ip netns add` not permitted here (root needed): {r.stderr.strip()}"
    _ip("netns", "del", name)
    return True, ""


class NetNamespace:
    """A throwaway network namespace whose loopback carries multicast (``ip netns``, root).

    Its ``lo`` is up, multicast-enabled and routes 224.0.0.0/4, so that multicast sent there
    stays there. Processes join it through :meth:`exec_prefix`; a thread of this process
    through :meth:`enter` (a network namespace is per thread: the sockets that thread opens
    afterwards are in the namespace, the rest of the process is unaffected).
    """

    def __init__(self) -> None:
        self.name = f"veilleur-test-{os.getpid()}-{next(_netns_ids)}"
        self.created = False

    def create(self) -> None:
        steps = [
            ("netns", "add", self.name),
            ("-n", self.name, "link", "set", "lo", "up"),
            ("-n", self.name, "link", "set", "lo", "multicast", "on"),
            ("-n", self.name, "route", "add", "224.0.0.0/4", "dev", "lo"),
        ]
        for step in steps:
            r = _ip(*step)
            if r.returncode != 0:
                self.delete()
                raise RuntimeError(f"ip {' '.join(step)} failed: {r.stderr.strip()}")
            self.created = True  # from the first step on: delete() must remove it

    def delete(self) -> None:
        """Remove the namespace's name (it goes once no process or thread is left in it)."""
        if self.created:
            _ip("netns", "del", self.name)
            self.created = False

    def exec_prefix(self) -> list[str]:
        """What to put before a command line to run it in the namespace."""
        return ["ip", "netns", "exec", self.name]

    def enter(self) -> None:
        """Move the calling thread into the namespace (for good: use a thread of its own)."""
        if threading.current_thread() is threading.main_thread():
            raise RuntimeError("enter() from a thread of its own, not the main thread")
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(NETNS_DIR / self.name, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns({self.name}): {os.strerror(err)}")
        finally:
            os.close(fd)

    def call(self, fn: Callable[..., T], *args: Any, timeout_s: float = 60.0, **kw: Any) -> T:
        """``fn(*args, **kw)`` run in a new thread inside the namespace; its result or error."""
        out: list[Any] = []

        def run() -> None:
            try:
                self.enter()
                out.append((True, fn(*args, **kw)))
            except BaseException as exc:  # re-raised in the caller
                out.append((False, exc))

        t = threading.Thread(target=run, name=f"in-{self.name}", daemon=True)
        t.start()
        t.join(timeout_s)
        if not out:
            raise TimeoutError(f"{fn!r} in {self.name} still running after {timeout_s:.0f} s")
        ok, value = out[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]


@contextlib.contextmanager
def net_namespace() -> Iterator[NetNamespace]:
    """A fresh :class:`NetNamespace` for the duration of the block."""
    ns = NetNamespace()
    try:
        ns.create()
        yield ns
    finally:
        ns.delete()


class RtspServer:
    """One server process for one clip; stop() and start() keep the port and the URL.

    ``multicast``: offer UDP multicast only; ``netns``: run the server in that namespace
    (multicast needs one, see :class:`NetNamespace`).
    """

    def __init__(
        self,
        clip: Path,
        port: int | None = None,
        mount: str = "/cam",
        *,
        multicast: bool = False,
        netns: NetNamespace | None = None,
    ) -> None:
        self.clip = Path(clip)
        self.port = port if port is not None else free_port()
        self.mount = mount
        self.multicast = multicast
        self.netns = netns
        self.url = f"rtsp://127.0.0.1:{self.port}{mount}"
        self.proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Start the server and wait for its READY line."""
        if self.running:
            return
        cmd = [SYSTEM_PYTHON, str(SERVER), "--port", str(self.port), "--file", str(self.clip)]
        cmd += ["--mount", self.mount]
        if self.multicast:
            cmd.append("--multicast")
        if self.netns is not None:
            cmd = self.netns.exec_prefix() + cmd  # `ip netns exec` execs: same process id
        # stderr to a file, not a pipe: GStreamer's warnings must never fill a pipe nobody reads
        self.close_log()
        self._stderr = tempfile.NamedTemporaryFile(  # noqa: SIM115 (lives as long as the server)
            "w+", prefix="rtsp-server-", suffix=".log"
        )
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True, bufsize=1
        )
        assert proc.stdout is not None
        self.proc = proc
        line = ""
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    line = proc.stdout.readline()
                    if line.startswith("READY ") or not line:  # READY, or the server died
                        break
        if line.strip() == f"READY {self.url}":
            return
        err = self.stderr()
        self.stop()
        raise RuntimeError(
            f"RTSP server for {self.clip} on port {self.port} not ready within {timeout_s:.0f} s "
            f"(exit status {proc.poll()}, last line {line.strip()!r}); stderr:\n{err[-3000:]}"
        )

    def stderr(self) -> str:
        """What the current (or last) server process wrote on stderr."""
        if self._stderr is None:
            return ""
        self._stderr.flush()
        return Path(self._stderr.name).read_text(errors="replace")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, as when a camera goes away; waits for the process to end."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def close_log(self) -> None:
        if self._stderr is not None:
            self._stderr.close()  # a NamedTemporaryFile: deleted on close
            self._stderr = None


@contextlib.contextmanager
def rtsp_server(
    clip: Path,
    port: int | None = None,
    mount: str = "/cam",
    *,
    multicast: bool = False,
    netns: NetNamespace | None = None,
) -> Iterator[RtspServer]:
    """Serve ``clip`` in a loop at ``rtsp://127.0.0.1:PORT/cam`` for the duration of the block."""
    srv = RtspServer(clip, port, mount, multicast=multicast, netns=netns)
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        srv.close_log()
