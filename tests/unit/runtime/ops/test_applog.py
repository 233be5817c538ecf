"""Structured application logs (EX-023, EX-024): real records through the real handler,
rotated, and read back filtered for administrators."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from veilleur.runtime.ops.applog import (
    incident_of,
    log_files,
    parse_level,
    read_app_logs,
    setup_app_logging,
)


@pytest.fixture
def app_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("veilleur.test.applog")
    logger.propagate = False
    yield logger
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    logger.setLevel(logging.NOTSET)


@pytest.mark.req("EX-023", "EX-024")
def test_records_are_json_lines_read_back_by_level(
    tmp_path: Path, app_logger: logging.Logger
) -> None:
    path = tmp_path / "logs" / "veilleur.log"
    h = setup_app_logging(path, "info", logger=app_logger)
    assert setup_app_logging(path, "info", logger=app_logger) is h  # no duplicate handler
    app_logger.debug("not written")
    app_logger.info("service démarré")
    app_logger.warning("flux lent", extra={"camera": "cam-01"})
    app_logger.error("caméra perdue : %s", "timeout", extra={"camera": "cam-02"})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        app_logger.critical("journal inaccessible", exc_info=True)
    app_logger.warning("biais détecté", extra={"incident": "majeur"})
    h.flush()

    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    first = json.loads(lines[0])
    assert set(first) == {"ts", "level", "logger", "message"}
    assert first["message"] == "service démarré" and first["logger"] == "veilleur.test.applog"
    ts = datetime.fromisoformat(first["ts"].replace("Z", "+00:00"))
    assert ts.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - ts) < timedelta(minutes=1)

    warn = read_app_logs(path, "warning")
    assert [r["message"] for r in warn] == [
        "flux lent", "caméra perdue : timeout", "journal inaccessible", "biais détecté",
    ]  # fmt: skip
    assert [r.get("incident") for r in warn] == ["mineur", "majeur", "critique", "majeur"]
    assert warn[0]["camera"] == "cam-01" and warn[1]["camera"] == "cam-02"
    assert "RuntimeError: boom" in warn[2]["exception"]
    assert len(read_app_logs(path, "info")) == 5
    assert [r["message"] for r in read_app_logs(path, "ERROR")] == [
        "caméra perdue : timeout", "journal inaccessible",
    ]  # fmt: skip
    assert [r["message"] for r in read_app_logs(path, "info", camera="cam-02")] == [
        "caméra perdue : timeout"
    ]
    assert len(read_app_logs(path, "info", incident="majeur")) == 2
    assert [r["message"] for r in read_app_logs(path, "info", limit=2)] == [
        "journal inaccessible", "biais détecté",
    ]  # fmt: skip


@pytest.mark.req("EX-024")
def test_since_until_and_rotated_files(tmp_path: Path, app_logger: logging.Logger) -> None:
    path = tmp_path / "veilleur.log"
    setup_app_logging(path, "warning", max_bytes=400, backup_count=50, logger=app_logger)
    for i in range(20):
        app_logger.warning("message %02d", i)
    time.sleep(0.05)
    middle = datetime.now(UTC)
    time.sleep(0.05)
    for i in range(20, 30):
        app_logger.warning("message %02d", i)
    files = log_files(path)
    assert len(files) > 3 and files[-1] == path
    assert files[0].name.startswith("veilleur.log.")  # oldest rotated first
    everything = read_app_logs(path, "warning", limit=1000)
    assert [r["message"] for r in everything] == [f"message {i:02d}" for i in range(30)]
    recent = read_app_logs(path, "warning", since=middle)
    assert [r["message"] for r in recent] == [f"message {i:02d}" for i in range(20, 30)]
    naive = middle.replace(tzinfo=None).isoformat()  # naive = UTC
    assert read_app_logs(path, "warning", since=naive) == recent
    older = read_app_logs(path, "warning", until=middle.isoformat())
    assert len(older) == 20


def test_bad_lines_and_arguments(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text(
        '{"ts": "2026-07-14T08:00:00.000Z", "level": "ERROR", "logger": "x", "message": "a"}\n'
        "not json (cut by a crash\n"
        "\n"
        '{"ts": "2026-07-14T09:00:00.000Z", "level": "CRITICAL", "logger": "x", "message": "b"}\n'
    )
    assert [r["message"] for r in read_app_logs(path, "error")] == ["a", "b"]
    assert read_app_logs(tmp_path / "absent.log") == []
    with pytest.raises(ValueError, match="niveau de journal inconnu"):
        read_app_logs(path, "bavard")
    with pytest.raises(ValueError, match="date invalide"):
        read_app_logs(path, since="hier")
    with pytest.raises(ValueError, match="classe d'incident inconnue"):
        read_app_logs(path, incident="grave")
    with pytest.raises(ValueError, match="limite"):
        read_app_logs(path, limit=0)
    assert parse_level("Avertissement") == logging.WARNING and parse_level(10) == 10
    assert incident_of(logging.INFO) is None
