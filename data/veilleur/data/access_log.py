"""The data access log (EX-122): who read raw data or wrote an export, when, with which command.

Every ``veilleur data …`` command that reads raw annotated data or writes a dataset appends
entries to an append-only, hash-chained log: the runtime's audit log
(:class:`~veilleur.runtime.auth.audit.AuditLog`, a
:class:`~veilleur.runtime.journal.repository.Journal` whose entries are of kind ``audit``), in
its own database. Verification, exports and retention therefore work on it unchanged
(``veilleur journal verify var/acces-donnees.db`` too).

An entry holds: ``actor`` (the OS user), ``utc``, ``event`` (``read`` for raw data or a dataset
read, ``export`` for a dataset written), ``outcome`` (``succes`` | ``echec``), ``path`` (the
command line) and ``details``: ``command``, ``paths`` (the files or folders concerned),
``dataset_version`` (when known), ``host``, ``pid``.

Where: ``--access-log`` of the command, else the environment variable
:data:`ENV_VAR`, else :data:`DEFAULT_PATH` (relative to the working directory). A SQLAlchemy URL
(PostgreSQL) works as for the journal.
"""

from __future__ import annotations

import getpass
import os
import shlex
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from veilleur.runtime.auth.audit import AUDIT_KIND, AuditLog, Outcome
from veilleur.runtime.journal.repository import Journal, VerifyResult

ENV_VAR = "VEILLEUR_DATA_ACCESS_LOG"
DEFAULT_PATH = "var/acces-donnees.db"
Action = Literal["read", "export"]


class AccessLogError(RuntimeError):
    """The access log cannot be opened or written: the command must not touch the data."""


def resolve_location(cli_value: str | Path | None) -> str:
    """The log's path or URL: ``--access-log``, else ``$VEILLEUR_DATA_ACCESS_LOG``, else the
    default."""
    if cli_value:
        return str(cli_value)
    return os.environ.get(ENV_VAR) or DEFAULT_PATH


def current_user() -> str:
    """The OS user running the command (the login name, else ``uid:<n>``)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (containers)
        return f"uid:{os.getuid()}"


def entry_details(
    command: str, paths: Sequence[str | Path], dataset_version: str | None, **extra: Any
) -> dict[str, Any]:
    """The ``details`` of an entry (pure)."""
    return {
        "command": command,
        "paths": [Path(p).as_posix() for p in paths],
        "dataset_version": dataset_version,
        **extra,
    }


@dataclass
class DataAccessLog:
    """Appends data access entries to the hash-chained log at ``location``."""

    location: str
    argv: tuple[str, ...] = ()
    _audit: AuditLog | None = None

    def _log(self) -> AuditLog:
        if self._audit is None:
            try:
                self._audit = AuditLog(self.location)
            except Exception as exc:  # any opening failure stops the command
                raise AccessLogError(
                    f"journal d'accès aux données inaccessible ({self.location}) : {exc}. "
                    f"Donner un chemin accessible en écriture par --access-log ou {ENV_VAR}"
                ) from exc
        return self._audit

    def record(
        self,
        action: Action,
        command: str,
        paths: Sequence[str | Path],
        *,
        dataset_version: str | None = None,
        outcome: Outcome = "succes",
        **extra: Any,
    ) -> dict[str, Any]:
        """Write one entry durably and return it.

        Raises:
            AccessLogError: the log cannot be opened or written.
        """
        details = entry_details(
            command,
            paths,
            dataset_version,
            host=socket.gethostname(),
            pid=os.getpid(),
            **extra,
        )
        try:
            return self._log().record(
                action,
                actor=current_user(),
                outcome=outcome,
                method="cli",
                path=shlex.join(["veilleur", "data", *self.argv])[:500],
                details=details,
            )
        except AccessLogError:
            raise
        except Exception as exc:  # an unlogged access is refused
            raise AccessLogError(
                f"écriture impossible dans le journal d'accès aux données {self.location} : {exc}"
            ) from exc


def open_existing(location: str) -> Journal:
    """The log's journal; a path that does not exist is an error (never created by a check).

    Raises:
        AccessLogError: no such file.
    """
    if "://" not in location and not Path(location).is_file():
        raise AccessLogError(
            f"{location} : journal d'accès aux données introuvable (chemin par --access-log ou "
            f"{ENV_VAR})"
        )
    return Journal(location)


def verify(location: str) -> VerifyResult:
    """Recompute the log's hash chain (:meth:`Journal.verify`)."""
    return open_existing(location).verify()


def entries(location: str, limit: int = 1000) -> list[dict[str, Any]]:
    """The latest ``limit`` entries, newest first."""
    return open_existing(location).list(AUDIT_KIND, None, None, limit, 0)


def export(location: str, out: Path, fmt: str | None = None) -> int:
    """Write every entry to ``out`` (csv, jsonl, json, parquet … by suffix, as the journal's
    exports); return the number of entries written."""
    from veilleur.runtime.journal.export import ExportFilter
    from veilleur.runtime.journal.export import export as export_journal

    result = export_journal(
        open_existing(location), out, ExportFilter(kinds=(AUDIT_KIND,)), fmt=fmt
    )
    return int(result.rows)
