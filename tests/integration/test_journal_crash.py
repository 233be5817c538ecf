"""A crash (kill -9) during a burst of alerts loses no alert that was acknowledged as written,
and the chain still verifies after restart (EX-014, the journal's durability promise), on
SQLite (WAL, synchronous=FULL) and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from postgres_fixture import find_bindir, start_cluster, start_server, stop_cluster
from tests_helpers import sample_alert

from veilleur.runtime.journal.repository import Journal

# Appends alerts as fast as it can; prints each id once append() has returned (the point at
# which the runtime would notify the alert).
_BURST = r"""
import sys, uuid
from veilleur.runtime.journal.repository import Journal
j = Journal(sys.argv[1])
print("READY", flush=True)
i = 0
while True:
    aid = str(uuid.uuid4())
    j.append("alert", {"id": aid, "utc": "2026-11-28T12:00:00+00:00", "camera_id": "cam-1",
                       "event": "intrusion", "confidence": 0.9, "i": i})
    sys.stdout.write(aid + "\n")
    sys.stdout.flush()
    i += 1
"""


def _read_acknowledged(proc: subprocess.Popen[str], count: int) -> list[str]:
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "READY", proc.stderr.read() if proc.stderr else ""
    acknowledged: list[str] = []
    deadline = time.monotonic() + 120
    while len(acknowledged) < count and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged.append(line.strip())
    assert len(acknowledged) == count, proc.stderr.read() if proc.stderr else ""
    return acknowledged


def _check_after_restart(journal_url: str, acknowledged: list[str]) -> None:
    j = Journal(journal_url)
    stored = {e["id"] for e in j.list("alert", limit=100_000)}
    missing = [a for a in acknowledged if a not in stored]
    assert not missing, f"{len(missing)} acknowledged alerts lost"
    assert len(stored) - len(acknowledged) in (0, 1)  # at most the one in flight got in
    r = j.verify()
    assert r.ok, r
    assert r.entries == len(stored)
    j.append("alert", sample_alert(0))
    r = j.verify()
    assert r.ok and r.entries == len(stored) + 1
    j.engine.dispose()


@pytest.mark.req("EX-014")
@pytest.mark.parametrize("kill_after", [30, 137])
def test_kill_9_mid_burst_loses_no_acknowledged_alert(journal_url: str, kill_after: int):
    Journal(journal_url).engine.dispose()  # schema in place before the burst starts
    proc = subprocess.Popen(
        [sys.executable, "-c", _BURST, journal_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        acknowledged = _read_acknowledged(proc, kill_after)
        os.kill(proc.pid, signal.SIGKILL)  # mid-burst: it is appending the next one now
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    # ids it printed before dying were acknowledged too; a half-written last line was not
    acknowledged += [ln for ln in rest.split("\n")[:-1] if ln]

    _check_after_restart(journal_url, acknowledged)  # the restart


def _postgres_pids(datadir: Path) -> list[int]:
    """The postmaster (first line of postmaster.pid) and all its children."""
    master = int((datadir / "postmaster.pid").read_text().split()[0])
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            kids.append(int(stat.parent.name))
    return [master, *kids]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.req("EX-014")
def test_postgres_server_killed_mid_burst_loses_no_acknowledged_alert():
    """The database server itself dies (kill -9 of every PostgreSQL process) during a burst:
    after crash recovery, every alert whose commit was acknowledged is there, chain intact."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries not found: run scripts/install-debian-deps.sh")
    root, url = start_cluster(bindir)  # a cluster of its own: this test kills it
    try:
        Journal(url).engine.dispose()
        proc = subprocess.Popen(
            [sys.executable, "-c", _BURST, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            acknowledged = _read_acknowledged(proc, 60)
            killed = _postgres_pids(root / "data")
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
            rest, _ = proc.communicate(timeout=60)  # the writer fails on its next append
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode != 0, "the writer should have lost its server"
        acknowledged += [ln for ln in rest.split("\n")[:-1] if ln]
        deadline = time.monotonic() + 30  # until the old server's processes are all gone
        while any(_running(p) for p in killed) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_running(p) for p in killed)
        # its lock files stay behind, naming a dead (maybe unreaped: a container's init may not
        # reap) process; as after a power cut, the next start must not take it for a live one
        for lock in [root / "data" / "postmaster.pid", *root.glob(".s.PGSQL.*")]:
            lock.unlink(missing_ok=True)
        start_server(bindir, root)  # crash recovery replays the WAL
        log = (root / "server.log").read_text(errors="replace")
        assert "automatic recovery in progress" in log  # it did crash, and recovered
        _check_after_restart(url, acknowledged)
    finally:
        stop_cluster(bindir, root)
