"""The systemd units of deploy/ (EX-026, EX-027, EX-031, EX-136): valid for systemd, run as
an unprivileged user, restart for ever, hardened; and every `veilleur …` command they start
is accepted by the real CLI (the backup and purge ones are even run on real files)."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from veilleur.runtime.cli import app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("veilleur*.service")) + sorted(
    (DEPLOY / "systemd").glob("veilleur*.timer")
)
SERVICES = [u for u in UNITS if u.suffix == ".service"]
VEILLEUR = str(Path(sys.executable).parent / "veilleur")
INSTALLED = "/opt/veilleur/venv/bin/veilleur"

Unit = dict[str, dict[str, list[str]]]


def parse_unit(path: Path) -> Unit:
    """Sections → key → every value (systemd allows repeated keys, e.g. Environment=)."""
    out: Unit = {}
    section = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            out.setdefault(section, {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a key=value line: {raw!r}"
        out[section].setdefault(key.strip(), []).append(value.strip())
    return out


def one(unit: Unit, section: str, key: str) -> str:
    values = unit[section].get(key)
    assert values, f"{key}= missing in [{section}]"
    return values[-1]


def env_example() -> dict[str, str]:
    env = {}
    for line in (DEPLOY / "veilleur.env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            env[k.strip()] = v.strip()
    return env


def unit_env(unit: Unit) -> dict[str, str]:
    """Environment= defaults, overridden by the EnvironmentFile (as systemd does)."""
    env = {}
    for assignment in unit["Service"].get("Environment", []):
        for word in shlex.split(assignment):
            k, _, v = word.partition("=")
            env[k] = v
    return {**env, **env_example()}


def exec_argv(unit: Unit, env: dict[str, str]) -> list[str]:
    line = one(unit, "Service", "ExecStart")
    expanded = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], line)
    return shlex.split(expanded)


def click_command(argv: list[str]) -> tuple[Any, list[str], list[str]]:
    """The (click) command an argv reaches, its subcommand path and the remaining arguments.

    Typer bundles its own click: groups are told by their ``commands``, not by class.
    """
    cmd: Any = typer.main.get_command(app)
    path: list[str] = []
    rest = list(argv)
    while hasattr(cmd, "commands") and rest and rest[0] in cmd.commands:
        path.append(rest[0])
        cmd = cmd.commands[rest.pop(0)]
    return cmd, path, rest


@pytest.mark.req("EX-026", "EX-027", "EX-136")
@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    for unit in UNITS:  # the real executable, so that verify checks everything else
        text = unit.read_text(encoding="utf-8").replace(INSTALLED, VEILLEUR)
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    r = subprocess.run(
        ["systemd-analyze", "verify", *[str(tmp_path / u.name) for u in UNITS]],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    problems = [
        line
        for line in out.splitlines()
        if re.search(r"unknown|ignoring|failed|invalid|error|not executable", line, re.I)
    ]
    assert not problems, out


def test_units_parse_with_configparser() -> None:
    for unit in UNITS:
        cp = configparser.ConfigParser(strict=False, interpolation=None)
        cp.optionxform = str  # type: ignore[assignment,method-assign]
        cp.read(unit, encoding="utf-8")
        assert cp.has_section("Unit") and cp.get("Unit", "Description")


@pytest.mark.req("EX-136")
@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_services_run_unprivileged_and_hardened(path: Path) -> None:
    u = parse_unit(path)
    user = one(u, "Service", "User")
    assert user == "veilleur" and user not in ("root", "0")
    assert one(u, "Service", "Group") == "veilleur"
    hardening = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictSUIDSGID": "yes",
        "RestrictNamespaces": "yes",
        "LockPersonality": "yes",
        "SystemCallArchitectures": "native",
    }
    for key, expected in hardening.items():
        assert one(u, "Service", key) == expected, f"{path.name}: {key}"
    assert u["Service"]["CapabilityBoundingSet"] == [""], "no capability at all"
    assert u["Service"]["AmbientCapabilities"] == [""]
    assert one(u, "Service", "SystemCallFilter").startswith("@system-service")
    assert one(u, "Service", "ExecStart").startswith(INSTALLED + " ")
    writable = one(u, "Service", "ReadWritePaths").split()
    assert "/var/lib/veilleur" in writable and "/" not in writable
    assert one(u, "Service", "UMask") == "0027"


@pytest.mark.req("EX-026", "EX-027")
def test_main_service_restarts_for_ever_and_starts_at_boot() -> None:
    u = parse_unit(DEPLOY / "systemd" / "veilleur.service")
    assert one(u, "Service", "Restart") == "always"
    assert one(u, "Service", "RestartSec")
    assert one(u, "Unit", "StartLimitIntervalSec") == "0"
    assert one(u, "Install", "WantedBy") == "multi-user.target"
    assert one(u, "Service", "StateDirectory") == "veilleur"
    assert one(u, "Service", "EnvironmentFile") == "-/etc/veilleur/veilleur.env"
    # the clock's NTP state stays readable (EX-118): ProtectClock would deny adjtimex
    assert "ProtectClock" not in u["Service"]
    assert "adjtimex" in one(u, "Service", "SystemCallFilter")


@pytest.mark.req("EX-031", "EX-043")
@pytest.mark.parametrize("name", ["veilleur-backup", "veilleur-purge"])
def test_timers_start_their_service_daily_and_catch_up(name: str) -> None:
    t = parse_unit(DEPLOY / "systemd" / f"{name}.timer")
    assert one(t, "Timer", "Unit") == f"{name}.service"
    assert (DEPLOY / "systemd" / f"{name}.service").is_file()
    assert re.fullmatch(r"\*-\*-\* \d\d:\d\d:\d\d", one(t, "Timer", "OnCalendar"))
    assert one(t, "Timer", "Persistent") == "true"
    assert one(t, "Install", "WantedBy") == "timers.target"
    s = parse_unit(DEPLOY / "systemd" / f"{name}.service")
    assert one(s, "Service", "Type") == "oneshot"


@pytest.mark.req("EX-026", "EX-031", "EX-043")
@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_exec_start_is_accepted_by_the_real_cli(path: Path) -> None:
    u = parse_unit(path)
    argv = exec_argv(u, unit_env(u))
    assert argv[0] == INSTALLED
    cmd, sub, rest = click_command(argv[1:])
    assert sub and not hasattr(cmd, "commands"), f"{path.name}: no such command {argv[1:]}"
    known = {opt for p in cmd.params for opt in p.opts}
    used = [a for a in rest if a.startswith("-")]
    assert used and all(a in known for a in used), (path.name, used, sorted(known))
    r = subprocess.run([VEILLEUR, *sub, "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def write_site(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    doc = {
        "version": 1,
        "site": {"name": "t"},
        "cameras": [{"id": "c", "source": {"url": "a.mp4"}}],
    }
    (root / "site.yaml").write_text(yaml.safe_dump(doc))
    return root / "site.yaml"


@pytest.mark.req("EX-031", "EX-043", "EX-133")
def test_backup_and_purge_units_commands_run_on_real_files(tmp_path: Path) -> None:
    from tests_helpers import sample_alert

    from veilleur.runtime.auth.audit import AuditLog
    from veilleur.runtime.journal.repository import Journal

    env = {
        "VEILLEUR_CONFIG": str(write_site(tmp_path / "etc")),
        "VEILLEUR_BACKUP_DIR": str(tmp_path / "backups"),
        "VEILLEUR_BACKUP_KEEP": "2",
        "VEILLEUR_JOURNAL": str(tmp_path / "journal.db"),
        "VEILLEUR_RETENTION_POLICY": str(tmp_path / "etc" / "retention.yaml"),
        "VEILLEUR_SNAPSHOTS": str(tmp_path / "snapshots"),
        "VEILLEUR_AUDIT": str(tmp_path / "audit.db"),
    }
    (tmp_path / "etc" / "retention.yaml").write_text("alert: 30\naudit: 365\n")
    Journal(env["VEILLEUR_JOURNAL"]).append("alert", sample_alert(1))
    AuditLog(env["VEILLEUR_AUDIT"]).record("login", actor="agent")
    for name in ("veilleur-backup.service", "veilleur-purge.service"):
        argv = exec_argv(parse_unit(DEPLOY / "systemd" / name), env)
        for _ in range(3):
            r = subprocess.run([VEILLEUR, *argv[1:]], capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, (name, r.stdout, r.stderr)
            if name == "veilleur-purge.service":
                assert json.loads(r.stdout)["audit"]["audit"] == 0  # recent: kept
    assert len(list((tmp_path / "backups").glob("veilleur-config-*.tar.gz"))) == 2


@pytest.mark.req("EX-136")
def test_no_default_password_and_dedicated_user() -> None:
    for f in [*DEPLOY.rglob("*"), ROOT / "docs" / "deploiement.md"]:
        if not f.is_file():
            continue
        for line in f.read_text(encoding="utf-8").splitlines():
            m = re.search(r"(PASSWORD|PASSWD|SECRET)\w*\s*=\s*(\S+)", line, re.I)
            if m:  # only the *_FILE pointer to a file the operator writes is allowed
                assert m.group(0).split("=")[0].strip().upper().endswith("_FILE"), (f, line)
    users = [
        line.split()
        for line in (DEPLOY / "sysusers.d" / "veilleur.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert users[0][:2] == ["u", "veilleur"] and users[0][-1] == "/usr/sbin/nologin"
    for line in (DEPLOY / "tmpfiles.d" / "veilleur.conf").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            kind, path, mode, user, group, *_ = line.split()
            assert kind == "d" and user == "veilleur" and group == "veilleur", line
            assert int(mode, 8) & 0o007 == 0, f"{path} must be closed to other users"
