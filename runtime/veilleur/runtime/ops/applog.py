"""Structured application logs (EX-023, EX-024): JSON lines in a rotating file.

Each record is one JSON object on one line::

    {"ts": "2026-11-28T18:43:48.123Z", "level": "ERROR", "logger": "veilleur.runtime.pipeline",
     "message": "camera cam-01: …", "camera": "cam-01", "incident": "majeur"}

``incident`` follows the lexicon of the specification: ``critique`` (alerts inoperative),
``majeur`` (detection quality affected), ``mineur``. It is taken from ``extra={"incident": …}``
when the caller knows, else derived from the level (CRITICAL → critique, ERROR → majeur,
WARNING → mineur). ``camera`` comes from ``extra={"camera": "cam-01"}``.

:func:`setup_app_logging` attaches the handler; :func:`read_app_logs` reads the current file
and its rotated predecessors back for administrators, filtered by level, time, camera.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_BACKUP_COUNT = 10

INCIDENTS = ("critique", "majeur", "mineur")

_LEVEL_ALIASES = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "information": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "avertissement": logging.WARNING,
    "error": logging.ERROR,
    "erreur": logging.ERROR,
    "critical": logging.CRITICAL,
    "critique": logging.CRITICAL,
}

_EXTRA_FIELDS = ("camera", "component", "rule", "actor")
"""``extra`` keys copied into the JSON record when given (besides ``incident``)."""


def parse_level(level: str | int) -> int:
    """A logging level from its English or French name (case-insensitive) or its number.

    Raises:
        ValueError: with a French message listing the accepted names.
    """
    if isinstance(level, int):
        return level
    value = _LEVEL_ALIASES.get(level.strip().lower())
    if value is None:
        raise ValueError(
            f"niveau de journal inconnu : {level!r} "
            "(attendu : debug, info, warning, error ou critical)"
        )
    return value


def incident_of(levelno: int) -> str | None:
    """The lexicon's incident class for a level: critique, majeur, mineur, or None."""
    if levelno >= logging.CRITICAL:
        return "critique"
    if levelno >= logging.ERROR:
        return "majeur"
    if levelno >= logging.WARNING:
        return "mineur"
    return None


def _utc_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonLineFormatter(logging.Formatter):
    """Formats a record as one JSON line (UTC timestamp, level, logger, message, extras)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": _utc_iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _EXTRA_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = str(value)
        incident = getattr(record, "incident", None)
        if incident is None:
            incident = incident_of(record.levelno)
        if incident is not None:
            out["incident"] = str(incident)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)


def setup_app_logging(
    path: Path | str,
    level: str | int = "INFO",
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    backup_count: int = DEFAULT_BACKUP_COUNT,
    logger: logging.Logger | None = None,
) -> logging.handlers.RotatingFileHandler:
    """Write the records of ``logger`` (default: the root logger) at ``level`` and above as
    JSON lines to ``path``, rotated at ``max_bytes`` keeping ``backup_count`` old files.

    Calling it again with the same path returns the handler already attached (no duplicate
    lines). The logger's own level is lowered to ``level`` if it was higher.
    """
    target = logger if logger is not None else logging.getLogger()
    lvl = parse_level(level)
    p = Path(path).absolute()
    for h in target.handlers:
        if (
            isinstance(h, logging.handlers.RotatingFileHandler)
            and Path(h.baseFilename) == p
            and isinstance(h.formatter, JsonLineFormatter)
        ):
            h.setLevel(lvl)
            return h
    p.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        p, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
    )
    handler.setFormatter(JsonLineFormatter())
    handler.setLevel(lvl)
    target.addHandler(handler)
    if target.level == logging.NOTSET or target.level > lvl:
        target.setLevel(lvl)
    return handler


def log_files(path: Path | str) -> list[Path]:
    """The log file and its rotated copies, oldest first (``app.log.3``, ``.2``, ``.1``,
    ``app.log``)."""
    p = Path(path)
    rotated: list[tuple[int, Path]] = []
    if p.parent.is_dir():
        pattern = re.compile(re.escape(p.name) + r"\.(\d+)$")
        for f in p.parent.iterdir():
            m = pattern.match(f.name)
            if m and f.is_file():
                rotated.append((int(m.group(1)), f))
    files = [f for _n, f in sorted(rotated, reverse=True)]
    if p.is_file():
        files.append(p)
    return files


def _as_utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"date invalide : {value!r} (attendu : ISO 8601, par ex. 2026-07-14T08:00:00Z)"
            ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _mtime(f: Path) -> float:
    try:
        return f.stat().st_mtime
    except OSError:  # rotated away meanwhile: let the reader find out
        return float("inf")


def _records(files: list[Path]) -> Iterator[dict[str, Any]]:
    for f in files:
        try:
            with f.open(encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut by a crash, or not ours
                    if isinstance(rec, dict) and "ts" in rec and "level" in rec:
                        yield rec
        except FileNotFoundError:  # rotated away while reading
            continue


def read_app_logs(
    path: Path | str,
    min_level: str | int = "WARNING",
    since: datetime | str | None = None,
    limit: int = 1000,
    *,
    until: datetime | str | None = None,
    camera: str | None = None,
    incident: str | None = None,
) -> list[dict[str, Any]]:
    """Records of the log file and its rotated copies, oldest first, at ``min_level`` and
    above, from ``since`` (inclusive) to ``until`` (exclusive), for one camera or incident
    class if given; at most ``limit``, the newest ones.

    Raises:
        ValueError: unknown level or incident class, invalid date, limit below 1 (French).
    """
    if limit < 1:
        raise ValueError("la limite doit être au moins 1")
    lvl = parse_level(min_level)
    if incident is not None and incident not in INCIDENTS:
        raise ValueError(
            f"classe d'incident inconnue : {incident!r} (attendu : critique, majeur, mineur)"
        )
    t0 = _as_utc(since) if since is not None else None
    t1 = _as_utc(until) if until is not None else None
    files = log_files(path)
    if t0 is not None:  # a file last written before `since` holds nothing newer
        files = [f for f in files if _mtime(f) >= t0.timestamp()]
    out: deque[dict[str, Any]] = deque(maxlen=limit)
    for rec in _records(files):
        try:
            rec_lvl = parse_level(str(rec["level"]))
        except ValueError:
            rec_lvl = logging.getLevelName(str(rec["level"]))
            if not isinstance(rec_lvl, int):
                continue
        if rec_lvl < lvl:
            continue
        if camera is not None and rec.get("camera") != camera:
            continue
        if incident is not None and rec.get("incident") != incident:
            continue
        if t0 is not None or t1 is not None:
            try:
                ts = _as_utc(str(rec["ts"]))
            except ValueError:
                continue
            if (t0 is not None and ts < t0) or (t1 is not None and ts >= t1):
                continue
        out.append(rec)
    return list(out)


__all__ = [
    "INCIDENTS",
    "JsonLineFormatter",
    "incident_of",
    "log_files",
    "parse_level",
    "read_app_logs",
    "setup_app_logging",
]
