"""`veilleur users …`: the first administrator is set by the operator; console actions are
audited; bad input fails with a clear message and exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from veilleur.runtime.auth.audit import AuditLog
from veilleur.runtime.auth.roles import Role
from veilleur.runtime.auth.store import AccountStore, LoginFailed

VEILLEUR = str(Path(sys.executable).parent / "veilleur")


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VEILLEUR, "users", *args], capture_output=True, text=True, input=stdin, timeout=60
    )


@pytest.mark.req("EX-119", "EX-024")
def test_first_admin_then_accounts_tokens_and_recovery(tmp_path: Path):
    db, audit = str(tmp_path / "comptes.db"), str(tmp_path / "audit.db")
    opts = ["--accounts", db, "--audit", audit]
    secret = tmp_path / "secret"
    secret.write_text("Phare-Nord-7-Garde!\n")
    r = run("create-admin", "--login", "chef", "--password-file", str(secret), *opts)
    assert r.returncode == 0, r.stderr
    again = run("create-admin", "--login", "autre", "--password-file", str(secret), *opts)
    assert again.returncode == 2 and "existe déjà" in again.stderr
    # typed on the terminal, twice
    r = run("create", "agent", "--role", "standard", *opts,
            stdin="Quai-Sud-42-Vigie!\nQuai-Sud-42-Vigie!\n")  # fmt: skip
    assert r.returncode == 0, r.stderr
    typo = run("create", "agent2", "--role", "standard", *opts, stdin="Quai-Sud-42-Vigie!\nautre\n")
    assert typo.returncode == 2 and "diffèrent" in typo.stderr
    weak = tmp_path / "weak"
    weak.write_text("azerty\n")
    r = run("create", "agent3", "--role", "standard", "--password-file", str(weak), *opts)
    assert r.returncode == 2 and "12 caractères" in r.stderr
    r = run("create", "agent4", "--role", "pape", "--password-file", str(secret), *opts)
    assert r.returncode == 2
    listed = run("list", "--accounts", db)
    assert "chef\tAdministrateur technique\tactif" in listed.stdout
    assert "agent\tUtilisateur standard\tactif" in listed.stdout
    token = run("token", "agent", "--name", "vms", *opts)
    assert token.returncode == 0 and token.stdout.startswith("vt_")
    store = AccountStore(db)
    assert store.resolve(token.stdout.strip()) is not None
    for _ in range(5):
        with pytest.raises(LoginFailed):  # the fifth one locks (AccountLocked is one too)
            store.authenticate("agent", "faux")
    assert store.get_user("agent").locked_until_utc is not None
    assert run("unlock", "agent", *opts).returncode == 0
    assert store.get_user("agent").locked_until_utc is None
    assert run("unlock", "personne", *opts).returncode == 2
    assert run("set-password", "agent", "--password-file", str(secret), *opts).returncode == 0
    assert store.authenticate("agent", "Phare-Nord-7-Garde!").principal.role == Role.STANDARD
    ops = [e["details"].get("operation") for e in reversed(AuditLog(audit).list(limit=50))]
    assert ops == ["create_admin", "create_user", "create_token", "unlock", "set_password"]
    actor = AuditLog(audit).list(limit=1)[0]["actor"]
    assert actor.startswith("console:")
    missing = run(
        "create", "x1", "--role", "standard", "--password-file", str(tmp_path / "nope"), *opts
    )
    assert missing.returncode == 2 and "illisible" in missing.stderr
