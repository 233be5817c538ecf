"""A real RTSP server for tests: ``tests/rtsp/rtsp_server.py`` run with the system Python.

    with rtsp_server(clip) as srv:      # clip: an H.264 MP4, served in a loop
        read_stream(srv.url, "tcp", ...)
        srv.stop()                      # the camera goes away (SIGTERM)
        srv.start()                     # and comes back, same port and URL

Needs the Debian packages of ``scripts/install-debian-deps.sh``; :func:`rtsp_available` says
whether they are there (tests skip with its reason otherwise).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).resolve().parents[1] / "rtsp" / "rtsp_server.py"
READY_TIMEOUT_S = 20.0


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


class RtspServer:
    """One server process for one clip; stop() and start() keep the port and the URL."""

    def __init__(self, clip: Path, port: int | None = None, mount: str = "/cam") -> None:
        self.clip = Path(clip)
        self.port = port if port is not None else free_port()
        self.mount = mount
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
def rtsp_server(clip: Path, port: int | None = None, mount: str = "/cam") -> Iterator[RtspServer]:
    """Serve ``clip`` in a loop at ``rtsp://127.0.0.1:PORT/cam`` for the duration of the block."""
    srv = RtspServer(clip, port, mount)
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        srv.close_log()
