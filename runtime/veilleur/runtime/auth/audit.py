"""The audit log: who did what, when, from where (EX-024, EX-127, EX-128).

Separate from the alert journal (its own database) but built the same way: an append-only,
hash-chained :class:`~veilleur.runtime.journal.repository.Journal` whose entries are of kind
``audit``, so verification, exports, statistics and retention work on it unchanged. The
``event`` column holds the action, the ``camera_id`` column the camera concerned, if any.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from veilleur.runtime.journal.repository import Journal

AUDIT_KIND = "audit"
Outcome = Literal["succes", "refus", "echec"]

ACTIONS_FR: dict[str, str] = {
    "login": "connexion",
    "login_failed": "échec de connexion",
    "login_locked": "compte verrouillé",
    "logout": "déconnexion",
    "access_denied": "accès refusé",
    "read": "consultation",
    "write": "modification",
    "export": "export",
    "admin": "administration",
}


class AuditLog:
    """Append-only audit entries in their own hash-chained journal."""

    def __init__(self, url_or_path: str | Path | Journal) -> None:
        self.journal = url_or_path if isinstance(url_or_path, Journal) else Journal(url_or_path)

    def record(
        self,
        action: str,
        *,
        actor: str,
        outcome: Outcome = "succes",
        ip: str = "",
        method: str = "",
        path: str = "",
        camera_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write one entry durably (before the caller answers) and return it."""
        entry: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "utc": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "event": action[:32],
            "action_fr": ACTIONS_FR.get(action, action),
            "actor": actor,
            "outcome": outcome,
            "ip": ip,
            "method": method,
            "path": path,
            "camera_id": camera_id,
            "details": details or {},
        }
        return self.journal.append(AUDIT_KIND, entry)

    def list(
        self, *, action: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        return self.journal.list(AUDIT_KIND, None, action, limit, offset)

    def count(self) -> int:
        return self.journal.count(AUDIT_KIND)
