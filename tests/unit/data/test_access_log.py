"""The data access log (EX-122): entries written by ``veilleur data``, chain verified, tampering
detected, an unwritable log refuses the command."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from ingest_fixture import TAXONOMY, write_coco_source
from typer.testing import CliRunner

from veilleur.data import access_log
from veilleur.data.access_log import DEFAULT_PATH, ENV_VAR, current_user, resolve_location
from veilleur.data.stages import data as stage
from veilleur.runtime.cli import app


def _ingest(src: Path, out: Path, log: Path | None = None) -> int:
    args = ["ingest", str(src), "--format", "coco", "--taxonomy", str(TAXONOMY), "--out", str(out)]
    return stage.main(args + (["--access-log", str(log)] if log else []))


@pytest.mark.req("EX-122")
def test_location_from_option_then_env_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_location(None) == DEFAULT_PATH == "var/acces-donnees.db"
    monkeypatch.setenv(ENV_VAR, "/srv/acces.db")
    assert resolve_location(None) == "/srv/acces.db"
    assert resolve_location("x.db") == "x.db"


@pytest.mark.req("EX-122")
def test_ingest_logs_read_and_export_and_chain_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "acces.db"
    monkeypatch.setenv(ENV_VAR, str(log))
    src = write_coco_source(tmp_path / "src")
    assert _ingest(src, tmp_path / "out") == 0
    version = json.loads(capsys.readouterr().out)["dataset_version"]
    assert _ingest(tmp_path / "missing", tmp_path / "out2") == 2  # no sidecar: logged as failed
    capsys.readouterr()

    entries = list(reversed(access_log.entries(str(log))))
    assert [(e["event"], e["outcome"]) for e in entries] == [
        ("read", "succes"), ("export", "succes"), ("export", "echec"),
    ]  # fmt: skip
    read, export, failed = entries
    assert read["actor"] == export["actor"] == current_user()
    assert read["details"]["paths"] == [src.as_posix()]
    assert (
        read["details"]["sources"] == ["parvis-coco"] and read["details"]["dataset_version"] is None
    )
    assert export["details"]["paths"] == [(tmp_path / "out").as_posix()]
    assert export["details"]["dataset_version"] == version and len(version) == 64
    assert export["path"].startswith("veilleur data ingest ") and "--format coco" in export["path"]
    assert "source sidecar" in failed["details"]["error"]
    assert read["utc"] <= export["utc"] <= failed["utc"]

    assert stage.main(["access-log", "verify"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] is True and verdict["entries"] == 3
    # The runtime's own journal command verifies the same file.
    r = CliRunner().invoke(app, ["journal", "verify", str(log)])
    assert r.exit_code == 0 and '"entries": 3' in r.output

    out = tmp_path / "acces.jsonl"
    assert stage.main(["access-log", "export", "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3 and {line["kind"] for line in lines} == {"audit"}
    assert json.loads(lines[1]["payload"])["details"]["dataset_version"] == version


@pytest.mark.req("EX-122")
def test_tampering_is_detected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "acces.db"
    monkeypatch.setenv(ENV_VAR, str(log))
    assert _ingest(write_coco_source(tmp_path / "src"), tmp_path / "out") == 0
    with sqlite3.connect(log) as db:  # someone hides who exported the dataset
        (payload,) = db.execute("SELECT payload FROM journal_entries WHERE seq = 2").fetchone()
        db.execute(
            "UPDATE journal_entries SET payload = ? WHERE seq = 2",
            (payload.replace(current_user(), "quelqu'un"),),
        )
    capsys.readouterr()
    assert stage.main(["access-log", "verify"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] is False and verdict["first_broken_seq"] == 2
    assert "edited" in verdict["reason"]
    with sqlite3.connect(log) as db:  # or removes who read the raw data
        db.execute("UPDATE journal_entries SET payload = ? WHERE seq = 2", (payload,))
        db.execute("DELETE FROM journal_entries WHERE seq = 1")
    result = access_log.verify(str(log))
    assert not result.ok and result.first_broken_seq == 2 and "removed" in (result.reason or "")


@pytest.mark.req("EX-122")
def test_unwritable_log_refuses_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    out = tmp_path / "out"
    assert _ingest(write_coco_source(tmp_path / "src"), out, blocker / "acces.db") == 2
    captured = capsys.readouterr()
    assert "journal d'accès aux données inaccessible" in captured.err
    assert "--access-log" in json.loads(captured.out)["problems"][0]
    assert not out.exists()  # nothing read, nothing written


@pytest.mark.req("EX-122")
def test_verify_or_export_of_a_missing_log_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "absent.db"
    assert stage.main(["access-log", "verify", "--access-log", str(missing)]) == 2
    assert "introuvable" in capsys.readouterr().err
    assert not missing.exists()  # a check never creates the log
    assert stage.main(["access-log", "export", "--access-log", str(missing)]) == 2
    assert "--out FILE is required" in capsys.readouterr().err
