"""An API world for tests: a journal, accounts of the three roles, the audit log, a client.

Sessions are opened directly in the account store (no argon2 per request); a test that is
about logging in uses ``POST /api/v1/auth/login`` itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from veilleur.runtime.api.app import create_app
from veilleur.runtime.api.options import ServiceOptions
from veilleur.runtime.api.security import Security
from veilleur.runtime.auth.audit import AuditLog
from veilleur.runtime.auth.directory import LdapDirectory
from veilleur.runtime.auth.roles import Permission, Role
from veilleur.runtime.auth.store import AccountStore
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.pipeline import LiveRuntime

PASSWORDS = {
    "admin": "Phare-Nord-7-Garde!",
    "avance": "Quai-Sud-42-Vigie!",
    "standard": "Pont-Est-19-Ronde!",
}
ROLES = {"admin": Role.ADMIN, "avance": Role.ADVANCED, "standard": Role.STANDARD}


@dataclass
class ApiWorld:
    client: TestClient
    journal: Journal
    accounts: AccountStore
    audit: AuditLog
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, login: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[login]}"}

    def get(self, path: str, login: str, **kw: object) -> httpx.Response:
        return self.client.get(path, headers=self.headers(login), **kw)  # type: ignore[arg-type]

    def post(self, path: str, login: str, **kw: object) -> httpx.Response:
        return self.client.post(path, headers=self.headers(login), **kw)  # type: ignore[arg-type]

    def session_for(self, login: str) -> str:
        user = self.accounts.get_user(login)
        token = self.accounts.open_session(user.id).token
        self.tokens[login] = token
        return token


def build_world(
    tmp_path: Path,
    journal: Journal | None = None,
    runtime: LiveRuntime | None = None,
    *,
    cameras: tuple[str, ...] = ("*",),
    options: ServiceOptions | None = None,
    directory: LdapDirectory | None = None,
) -> ApiWorld:
    """Admin, advanced and standard accounts; the two last in group ``operateurs`` whose
    profile ``exploitation`` covers ``cameras`` with every permission their roles allow."""
    journal = journal or Journal(tmp_path / "journal.db")
    accounts = AccountStore(tmp_path / "comptes.db")
    audit = AuditLog(tmp_path / "audit.db")
    accounts.create_group("operateurs")
    accounts.put_profile(
        "exploitation", cameras=cameras, permissions=list(Permission), groups_=["operateurs"]
    )
    for login, role in ROLES.items():
        groups = () if role == Role.ADMIN else ("operateurs",)
        accounts.create_user(login, role, PASSWORDS[login], created_by="test", groups_=groups)
    app = create_app(
        journal, runtime, security=Security(accounts, audit, directory=directory), options=options
    )
    world = ApiWorld(TestClient(app), journal, accounts, audit)
    for login in ROLES:
        world.session_for(login)
    return world


ADMIN_PASSWORD = PASSWORDS["admin"]


def serve_auth(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """Arguments and environment for ``veilleur serve`` with a first admin from a file."""
    secret = tmp_path / "admin-secret"
    secret.write_text(ADMIN_PASSWORD + "\n")
    args = [
        "--accounts", str(tmp_path / "comptes.db"), "--audit", str(tmp_path / "audit.db"),
        "--log-file", str(tmp_path / "logs" / "veilleur.log"),
        "--backup-dir", str(tmp_path / "sauvegardes"),
        "--retention", str(tmp_path / "conservation.yaml"),
        "--snapshots", str(tmp_path / "cliches"),
    ]  # fmt: skip
    env = {**os.environ, "VEILLEUR_ADMIN_PASSWORD_FILE": str(secret)}
    return args, env


def login_headers(base: str, timeout_s: float = 60.0) -> dict[str, str]:
    """Log in as the bootstrap admin once the service answers; bearer headers."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            r = httpx.post(
                f"{base}/api/v1/auth/login",
                json={"login": "admin", "password": ADMIN_PASSWORD},
                timeout=5,
            )
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['token']}"}
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
