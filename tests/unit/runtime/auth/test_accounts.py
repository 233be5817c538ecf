"""Accounts: argon2id hashes, the password policy, lockout, sessions, profiles, tokens."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from veilleur.runtime.auth.passwords import PasswordPolicy, PasswordPolicyError
from veilleur.runtime.auth.roles import ROLE_PERMISSIONS, Permission, Role, can_manage
from veilleur.runtime.auth.store import (
    AccountLocked,
    AccountStore,
    Conflict,
    InvalidInput,
    LoginFailed,
    NotFound,
)

GOOD = "Phare-Nord-7-Garde!"


@pytest.fixture
def store(tmp_path: Path) -> AccountStore:
    return AccountStore(tmp_path / "comptes.db", max_failures=3, lockout_s=60)


@pytest.mark.req("EX-119")
@pytest.mark.parametrize(
    ("password", "login", "problem"),
    [
        ("Court-1!", "", "au moins 12 caractères"),
        ("toutenminuscules", "", None),  # a 16-character passphrase is accepted
        ("minusculesseule", "", "types de caractères"),
        ("Jean.Dupont-2026!", "jean.dupont", "identifiant"),
        ("aaaaaaaaaaaaaaaaaa", "", "un seul caractère"),
        ("motdepasse1234", "", "trop courant"),
        (GOOD, "admin", None),
    ],
)
def test_password_policy(password: str, login: str, problem: str | None):
    problems = PasswordPolicy().problems(password, login)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


@pytest.mark.req("EX-119", "EX-121")
def test_passwords_are_argon2id_hashes_never_plain(store: AccountStore, tmp_path: Path):
    store.create_user("alice", Role.STANDARD, GOOD, created_by="t")
    rows = sqlite3.connect(tmp_path / "comptes.db").execute("SELECT password_hash FROM users")
    (stored,) = rows.fetchone()
    assert stored.startswith("$argon2id$") and GOOD not in stored
    with pytest.raises(PasswordPolicyError, match="12 caractères"):
        store.create_user("bob", Role.STANDARD, "court", created_by="t")
    with pytest.raises(Conflict):
        store.create_user("alice", Role.STANDARD, GOOD, created_by="t")
    with pytest.raises(InvalidInput, match="identifiant invalide"):
        store.create_user("Alice Martin", Role.STANDARD, GOOD, created_by="t")


@pytest.mark.req("EX-120")
def test_lockout_after_repeated_failures_then_unlock(store: AccountStore):
    store.create_user("alice", Role.STANDARD, GOOD, created_by="t")
    for _ in range(2):
        with pytest.raises(LoginFailed) as e:
            store.authenticate("alice", "faux")
        assert not isinstance(e.value, AccountLocked)
    with pytest.raises(AccountLocked):
        store.authenticate("alice", "faux")
    with pytest.raises(AccountLocked):
        store.authenticate("alice", GOOD)  # the right password does not open a locked account
    assert store.get_user("alice").locked_until_utc is not None
    store.update_user("alice", unlock=True)
    assert store.authenticate("alice", GOOD).principal.login == "alice"
    # a success resets the count
    with pytest.raises(LoginFailed):
        store.authenticate("alice", "faux")
    assert store.authenticate("alice", GOOD).token


def test_sessions_expire_and_are_revoked(store: AccountStore):
    store.create_user("alice", Role.STANDARD, GOOD, created_by="t")
    s = store.authenticate("alice", GOOD)
    assert store.resolve(s.token) is not None
    assert store.resolve(s.token + "x") is None
    store.revoke_session(s.token)
    assert store.resolve(s.token) is None
    s2 = store.authenticate("alice", GOOD)
    store.update_user("alice", active=False)
    assert store.resolve(s2.token) is None
    with pytest.raises(LoginFailed, match="désactivé"):
        store.authenticate("alice", GOOD)
    store.update_user("alice", active=True)
    s3 = store.authenticate("alice", GOOD)
    store.session_max_s = 0
    store.set_password("alice", "Quai-Sud-42-Vigie!")  # closes every session
    assert store.resolve(s3.token) is None


@pytest.mark.req("EX-019", "EX-020")
def test_profiles_narrow_roles_and_cameras(store: AccountStore):
    store.create_group("nord")
    store.create_group("sud")
    store.create_user("alice", Role.STANDARD, GOOD, created_by="t", groups_=["nord"])
    store.create_user("bob", Role.ADVANCED, GOOD, created_by="t")
    # least privilege: no profile, nothing but system:read and no camera
    bob = store.principal_for(store.get_user("bob").id)
    assert bob.permissions == {Permission.SYSTEM_READ} and bob.cameras == frozenset()
    store.put_profile("veille-nord", cameras=["cam-1", "cam-2"],
                      permissions=list(Permission), groups_=["nord"])  # fmt: skip
    alice = store.principal_for(store.get_user("alice").id)
    # a profile cannot grant more than the role
    assert alice.permissions == ROLE_PERMISSIONS[Role.STANDARD]
    assert alice.cameras == {"cam-1", "cam-2"} and alice.sees("cam-1") and not alice.sees("cam-9")
    store.put_profile(
        "lecture-sud", cameras=["cam-9"], permissions=["alerts:read"], groups_=["sud"]
    )
    store.update_user("alice", groups_=["nord", "sud"])
    alice = store.principal_for(store.get_user("alice").id)
    assert alice.cameras == {"cam-1", "cam-2", "cam-9"}
    with pytest.raises(InvalidInput, match="permission inconnue"):
        store.put_profile("x1", cameras=["*"], permissions=["tout"])
    with pytest.raises(NotFound, match="groupe inconnu"):
        store.put_profile("x2", cameras=["*"], permissions=[], groups_=["ouest"])
    store.create_user("root", Role.ADMIN, GOOD, created_by="t")
    root = store.principal_for(store.get_user("root").id)
    assert root.cameras is None and root.permissions == frozenset(Permission)


def test_last_admin_is_kept_and_roles_manage_downwards(store: AccountStore):
    store.create_user("root", Role.ADMIN, GOOD, created_by="t")
    with pytest.raises(Conflict, match="dernier administrateur"):
        store.update_user("root", role=Role.STANDARD)
    with pytest.raises(Conflict, match="dernier administrateur"):
        store.delete_user("root")
    assert can_manage(Role.ADMIN, Role.ADMIN) and can_manage(Role.ADVANCED, Role.STANDARD)
    assert not can_manage(Role.ADVANCED, Role.ADVANCED) and not can_manage(
        Role.STANDARD, Role.STANDARD
    )


@pytest.mark.req("EX-015")
def test_machine_tokens_are_hashed_expire_and_revoke(store: AccountStore, tmp_path: Path):
    store.create_user("vms", Role.STANDARD, None, created_by="t")  # no password: token only
    with pytest.raises(LoginFailed):
        store.authenticate("vms", "")
    tid, token = store.create_token("vms", "hyperviseur", created_by="t")
    rows = sqlite3.connect(tmp_path / "comptes.db").execute("SELECT token_sha256 FROM api_tokens")
    assert token not in rows.fetchone()[0]
    p = store.resolve(token)
    assert p is not None and p.via == "token" and p.token_id == tid
    store.revoke_token(tid)
    assert store.resolve(token) is None
    with pytest.raises(NotFound):
        store.revoke_token(999)


def test_concurrent_requests_of_one_session_never_fail(store: AccountStore):
    """Every request resolves its session (and may write its last activity): eight threads at
    once on one SQLite database must all succeed (found by the browser tests)."""
    import threading

    store.create_user("alice", Role.STANDARD, GOOD, created_by="t")
    token = store.authenticate("alice", GOOD).token
    store.TOUCH_EVERY_S = 0  # type: ignore[misc]  # write on every resolve: the worst case
    errors: list[BaseException] = []
    seen: list[bool] = []

    def hammer() -> None:
        try:
            for _ in range(25):
                seen.append(store.resolve(token) is not None)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(seen) == 200 and all(seen)
