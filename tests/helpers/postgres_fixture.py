"""A throwaway PostgreSQL server for the tests, from the Debian binaries.

``scripts/install-debian-deps.sh`` (run by ``make test``, so by CI) installs ``postgresql``;
this module makes a new cluster in a temporary folder (``initdb``, trust authentication, a
unix socket in that folder, no TCP), starts it with ``pg_ctl``, and removes it at the end of
the session. As root, ``initdb`` and ``postgres`` refuse to run: they then run as the
``postgres`` user the package created, which owns the folder. Tests that use it are skipped
only where the binaries are missing; set ``VEILLEUR_TEST_POSTGRES_URL`` to use a server of your
own instead (each test still gets a database of its own there).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
PORT = 5432  # only names the socket file: the server listens on no TCP port


@dataclass(frozen=True)
class PostgresServer:
    url: str  # SQLAlchemy URL of the server's ``postgres`` database
    datadir: Path | None
    bindir: Path | None

    def database_url(self, name: str) -> str:
        base, _, query = self.url.partition("?")
        base = base.rsplit("/", 1)[0]
        return f"{base}/{name}" + (f"?{query}" if query else "")


def find_bindir() -> Path | None:
    """The newest Debian PostgreSQL ``bin`` folder holding initdb and pg_ctl, if any."""
    found = [
        Path(d)
        for d in glob.glob(PG_BIN_GLOB)
        if (Path(d) / "initdb").is_file() and (Path(d) / "pg_ctl").is_file()
    ]
    return max(found, key=lambda p: int(p.parent.name)) if found else None


def _as_owner(cmd: list[str]) -> list[str]:
    """Run as the ``postgres`` user when we are root (the server refuses root)."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _run(cmd: list[str]) -> None:
    # cwd "/": the postgres user may not be allowed into the checkout's folder
    r = subprocess.run(_as_owner(cmd), capture_output=True, text=True, timeout=120, cwd="/")
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")


def start_cluster(bindir: Path, extra_conf: str = "") -> tuple[Path, str]:
    """initdb + pg_ctl start in a new temporary folder; returns (folder, SQLAlchemy URL)."""
    root = Path(tempfile.mkdtemp(prefix="veilleur-pg-"))  # under /tmp: short socket path,
    data = root / "data"  # and reachable by the postgres user (pytest's tmp dirs are 0700 root)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    try:
        _run(
            [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
             "-E", "UTF8", "--locale=C", "--no-sync"]
        )  # fmt: skip
        conf = (
            "listen_addresses = ''\n"
            f"unix_socket_directories = '{root}'\n"
            f"port = {PORT}\n"
            "max_connections = 50\n"
            "shared_buffers = 32MB\n"
            "fsync = on\nsynchronous_commit = on\n"  # the durability the product relies on
            + extra_conf
        )
        with (data / "postgresql.conf").open("a") as f:
            f.write("\n# veilleur tests\n" + conf)
        start_server(bindir, root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root, f"postgresql+psycopg://postgres@/postgres?host={root}&port={PORT}"


def start_server(bindir: Path, root: Path) -> None:
    """``pg_ctl start`` the cluster in ``root`` (again, after a crash: it then recovers)."""
    log = root / "server.log"
    try:
        _run([str(bindir / "pg_ctl"), "-D", str(root / "data"), "-l", str(log), "-w", "start"])
    except RuntimeError as e:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(f"{e}\nserver.log:\n{tail}") from None


def stop_cluster(bindir: Path, root: Path) -> None:
    """Stop the server (if it still runs) and remove its folder."""
    try:
        status = subprocess.run(
            _as_owner([str(bindir / "pg_ctl"), "-D", str(root / "data"), "status"]),
            capture_output=True,
            timeout=60,
            cwd="/",
        )
        if status.returncode == 0:  # 3: not running (a test killed it)
            _run([str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole test session (skipped only without the binaries)."""
    own = os.environ.get("VEILLEUR_TEST_POSTGRES_URL")
    if own:
        yield PostgresServer(own, None, None)
        return
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(
            f"PostgreSQL binaries not found ({PG_BIN_GLOB}/initdb): "
            "run scripts/install-debian-deps.sh (make test does)"
        )
    root, url = start_cluster(bindir)
    try:
        yield PostgresServer(url, root / "data", bindir)
    finally:
        stop_cluster(bindir, root)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A SQLAlchemy URL to a new, empty database, dropped after the test."""
    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        yield postgres_server.database_url(name)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
