"""Accounts, groups, profiles, sessions and machine tokens, in SQLite or PostgreSQL.

Passwords are argon2id hashes; session and machine tokens are random and only their SHA-256
is stored, so a copy of the database opens no session. Lockout: after ``max_failures``
consecutive failed logins an account is locked for ``lockout_s``. There is no default account
and no default password: the first administrator is created by the operator at install
(``veilleur users create-admin``).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row

from veilleur.runtime.auth.passwords import (
    PasswordPolicy,
    PasswordPolicyError,
    hash_password,
    needs_rehash,
    verify_password,
)
from veilleur.runtime.auth.roles import (
    ROLE_PERMISSIONS,
    Permission,
    Role,
)
from veilleur.runtime.journal.repository import engine_for

SCHEMA_VERSION = 1

metadata = MetaData()
meta = Table(
    "auth_meta",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("value", String(64), nullable=False),
)
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("display_name", String(128), nullable=False, default=""),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(256)),  # NULL: no local password (directory account)
    Column("active", Boolean, nullable=False, default=True),
    Column("created_utc", String(32), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("password_changed_utc", String(32)),
    Column("failed_count", Integer, nullable=False, default=0),
    Column("locked_until_utc", String(32)),
    Column("last_login_utc", String(32)),
)
groups = Table(
    "groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
)
group_members = Table(
    "group_members",
    metadata,
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    UniqueConstraint("group_id", "user_id"),
)
profiles = Table(
    "profiles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("cameras", Text, nullable=False),  # JSON list of camera ids, or ["*"]
    Column("permissions", Text, nullable=False),  # JSON list of permissions
)
profile_groups = Table(
    "profile_groups",
    metadata,
    Column("profile_id", Integer, ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False),
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
    UniqueConstraint("profile_id", "group_id"),
)
sessions = Table(
    "sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_utc", String(32), nullable=False),
    Column("last_seen_utc", String(32), nullable=False),
    Column("expires_utc", String(32), nullable=False),
    Column("ip", String(64), nullable=False, default=""),
    Column("revoked", Boolean, nullable=False, default=False),
)
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_utc", String(32), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("expires_utc", String(32)),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("last_used_utc", String(32)),
)

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
TOKEN_PREFIX = "vt_"
ALL_CAMERAS = "*"


class AuthError(Exception):
    """Base of the account errors; messages are French (shown to operators)."""


class LoginFailed(AuthError):
    pass


class AccountLocked(LoginFailed):
    pass


class NotFound(AuthError, LookupError):
    pass


class Conflict(AuthError):
    pass


class InvalidInput(AuthError, ValueError):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds")


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class User:
    id: int
    login: str
    display_name: str
    role: Role
    active: bool
    created_utc: str
    created_by: str
    locked_until_utc: str | None
    last_login_utc: str | None
    has_password: bool
    groups: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "login": self.login,
            "display_name": self.display_name,
            "role": self.role.value,
            "active": self.active,
            "created_utc": self.created_utc,
            "created_by": self.created_by,
            "locked_until_utc": self.locked_until_utc,
            "last_login_utc": self.last_login_utc,
            "groups": list(self.groups),
        }


@dataclass(frozen=True)
class Principal:
    """Who is calling, with what they may do and on which cameras (``None``: all)."""

    user_id: int
    login: str
    role: Role
    permissions: frozenset[Permission]
    cameras: frozenset[str] | None
    via: str = "session"  # session | token
    token_id: int | None = None

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def sees(self, camera_id: str | None) -> bool:
        return self.cameras is None or camera_id is None or camera_id in self.cameras

    def camera_filter(self) -> tuple[str, ...] | None:
        """Cameras to restrict queries to (``None``: no restriction)."""
        return None if self.cameras is None else tuple(sorted(self.cameras))


@dataclass(frozen=True)
class Profile:
    id: int
    name: str
    cameras: tuple[str, ...]
    permissions: tuple[Permission, ...]
    groups: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "cameras": list(self.cameras),
            "permissions": [p.value for p in self.permissions],
            "groups": list(self.groups),
        }


@dataclass(frozen=True)
class IssuedSession:
    token: str
    expires_utc: str
    principal: Principal


class AccountStore:
    """All account state. Thread-safe; several service processes may share one database."""

    def __init__(
        self,
        url_or_path: str | Path,
        *,
        policy: PasswordPolicy | None = None,
        max_failures: int = 5,
        lockout_s: int = 15 * 60,
        session_idle_s: int = 30 * 60,
        session_max_s: int = 12 * 3600,
    ) -> None:
        self.engine = engine_for(url_or_path)
        self.policy = policy or PasswordPolicy()
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.session_idle_s = session_idle_s
        self.session_max_s = session_max_s
        self._lock = threading.Lock()
        metadata.create_all(self.engine)
        with self._tx() as conn:
            v = conn.execute(select(meta.c.value).where(meta.c.key == "schema")).scalar()
            if v is None:
                conn.execute(insert(meta).values(key="schema", value=str(SCHEMA_VERSION)))
            elif int(v) > SCHEMA_VERSION:
                raise AuthError(
                    f"base des comptes en version {v}, plus récente que ce logiciel "
                    f"({SCHEMA_VERSION}) : mettez Veilleur à jour"
                )

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A write transaction. On SQLite it takes the write lock at once (``BEGIN
        IMMEDIATE``): a read upgraded to a write mid-transaction fails at once in WAL mode
        when another connection writes, instead of waiting its turn."""
        with (
            self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn,
            conn.begin(),
        ):
            yield conn

    # --- users -------------------------------------------------------------------------

    def count_users(self, role: Role | None = None) -> int:
        q = select(func.count()).select_from(users)
        if role is not None:
            q = q.where(users.c.role == role.value)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def _user(self, conn: Connection, row: Row[Any]) -> User:
        names = conn.execute(
            select(groups.c.name)
            .join(group_members, group_members.c.group_id == groups.c.id)
            .where(group_members.c.user_id == row.id)
            .order_by(groups.c.name)
        ).scalars()
        return User(
            id=row.id,
            login=row.login,
            display_name=row.display_name,
            role=Role(row.role),
            active=bool(row.active),
            created_utc=row.created_utc,
            created_by=row.created_by,
            locked_until_utc=row.locked_until_utc,
            last_login_utc=row.last_login_utc,
            has_password=row.password_hash is not None,
            groups=tuple(names),
        )

    def get_user(self, login: str) -> User:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.login == login)).first()
            if row is None:
                raise NotFound(f"compte inconnu : {login!r}")
            return self._user(conn, row)

    def get_user_by_id(self, user_id: int) -> User:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
            if row is None:
                raise NotFound(f"compte inconnu : n° {user_id}")
            return self._user(conn, row)

    def list_users(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.login)).all()
            return [self._user(conn, r) for r in rows]

    def check_password(self, password: str, login: str) -> None:
        problems = self.policy.problems(password, login)
        if problems:
            raise PasswordPolicyError(problems)

    def create_user(
        self,
        login: str,
        role: Role,
        password: str | None,
        *,
        created_by: str,
        display_name: str = "",
        groups_: Iterable[str] = (),
    ) -> User:
        """Open an account. ``password=None`` makes a directory-only account (OIDC/LDAP)."""
        if not LOGIN_RE.match(login):
            raise InvalidInput(
                f"identifiant invalide : {login!r} (2 à 64 caractères : minuscules, chiffres, "
                "point, tiret, souligné ; commence par une lettre ou un chiffre)"
            )
        if password is not None:
            self.check_password(password, login)
        now = _iso(_now())
        with self._lock, self._tx() as conn:
            if conn.execute(select(users.c.id).where(users.c.login == login)).first():
                raise Conflict(f"le compte {login!r} existe déjà")
            uid = conn.execute(
                insert(users).values(
                    login=login,
                    display_name=display_name,
                    role=role.value,
                    password_hash=hash_password(password) if password is not None else None,
                    active=True,
                    created_utc=now,
                    created_by=created_by,
                    password_changed_utc=now if password is not None else None,
                    failed_count=0,
                )
            ).inserted_primary_key
            assert uid is not None
            self._set_groups(conn, int(uid[0]), groups_)
        return self.get_user(login)

    def _set_groups(self, conn: Connection, user_id: int, names: Iterable[str]) -> None:
        conn.execute(delete(group_members).where(group_members.c.user_id == user_id))
        for name in sorted(set(names)):
            gid = conn.execute(select(groups.c.id).where(groups.c.name == name)).scalar()
            if gid is None:
                raise NotFound(f"groupe inconnu : {name!r}")
            conn.execute(insert(group_members).values(group_id=gid, user_id=user_id))

    def update_user(
        self,
        login: str,
        *,
        role: Role | None = None,
        active: bool | None = None,
        display_name: str | None = None,
        groups_: Iterable[str] | None = None,
        unlock: bool = False,
    ) -> User:
        values: dict[str, Any] = {}
        if role is not None:
            values["role"] = role.value
        if active is not None:
            values["active"] = active
        if display_name is not None:
            values["display_name"] = display_name
        if unlock:
            values.update(failed_count=0, locked_until_utc=None)
        with self._lock, self._tx() as conn:
            row = conn.execute(select(users).where(users.c.login == login)).first()
            if row is None:
                raise NotFound(f"compte inconnu : {login!r}")
            demotes_admin = row.role == Role.ADMIN.value and (
                (role is not None and role != Role.ADMIN) or active is False
            )
            if demotes_admin and self._active_admins(conn) <= 1:
                raise Conflict("impossible : c'est le dernier administrateur technique actif")
            if values:
                conn.execute(update(users).where(users.c.id == row.id).values(**values))
            if groups_ is not None:
                self._set_groups(conn, row.id, groups_)
            if active is False or role is not None:
                conn.execute(
                    update(sessions).where(sessions.c.user_id == row.id).values(revoked=True)
                )
        return self.get_user(login)

    def _active_admins(self, conn: Connection) -> int:
        q = select(func.count()).where(users.c.role == Role.ADMIN.value, users.c.active.is_(True))
        return int(conn.execute(q).scalar_one())

    def delete_user(self, login: str) -> None:
        with self._lock, self._tx() as conn:
            row = conn.execute(select(users).where(users.c.login == login)).first()
            if row is None:
                raise NotFound(f"compte inconnu : {login!r}")
            if row.role == Role.ADMIN.value and self._active_admins(conn) <= 1:
                raise Conflict("impossible : c'est le dernier administrateur technique actif")
            for t in (sessions, api_tokens, group_members):
                conn.execute(delete(t).where(t.c.user_id == row.id))
            conn.execute(delete(users).where(users.c.id == row.id))

    def set_password(self, login: str, new_password: str) -> None:
        self.check_password(new_password, login)
        with self._lock, self._tx() as conn:
            r = conn.execute(
                update(users)
                .where(users.c.login == login)
                .values(
                    password_hash=hash_password(new_password),
                    password_changed_utc=_iso(_now()),
                    failed_count=0,
                    locked_until_utc=None,
                )
            )
            if r.rowcount == 0:
                raise NotFound(f"compte inconnu : {login!r}")
            uid = conn.execute(select(users.c.id).where(users.c.login == login)).scalar_one()
            conn.execute(update(sessions).where(sessions.c.user_id == uid).values(revoked=True))

    # --- authentication ----------------------------------------------------------------

    def authenticate(self, login: str, password: str, ip: str = "") -> IssuedSession:
        """Check a password and open a session. Raises :class:`LoginFailed` (generic message:
        it does not say whether the account exists) or :class:`AccountLocked`."""
        return self.open_session(self.check_credentials(login, password), ip)

    def check_credentials(self, login: str, password: str) -> int:
        """The account id when ``password`` is right; counts failures and locks the account
        after :attr:`max_failures` in a row. Raises as :meth:`authenticate`."""
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.login == login)).first()
        ok = verify_password(row.password_hash if row is not None else None, password)
        if row is None:
            raise LoginFailed("identifiant ou mot de passe incorrect")
        rehash = ok and row.password_hash is not None and needs_rehash(row.password_hash)
        return self.register_attempt(
            int(row.id), ok, new_hash=hash_password(password) if rehash else None
        )

    def ensure_unlocked(self, login: str) -> None:
        """:class:`AccountLocked` when ``login`` exists and is locked (before asking a
        directory, so a locked account costs the directory nothing)."""
        with self.engine.connect() as conn:
            until = conn.execute(
                select(users.c.locked_until_utc).where(users.c.login == login)
            ).scalar()
        if until and until > _iso(_now()):
            raise AccountLocked(
                f"compte verrouillé après {self.max_failures} échecs, jusqu'à {until} (UTC) ; "
                "un administrateur peut le déverrouiller"
            )

    def register_attempt(self, user_id: int, ok: bool, new_hash: str | None = None) -> int:
        """Record one login attempt of an account, checked here or by a directory: a failure
        counts towards the lock; a success resets the count. Returns the id, or raises."""
        now = _now()
        refusal: LoginFailed | None = None
        with self._lock, self._tx() as conn:  # commits the count even on a refusal
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
            if row is None:
                raise LoginFailed("identifiant ou mot de passe incorrect")
            if row.locked_until_utc and row.locked_until_utc > _iso(now):
                refusal = AccountLocked(
                    f"compte verrouillé après {self.max_failures} échecs, jusqu'à "
                    f"{row.locked_until_utc} (UTC) ; un administrateur peut le déverrouiller"
                )
            elif not ok or not row.active:
                failed = int(row.failed_count) + (1 if row.active else 0)
                values: dict[str, Any] = {"failed_count": failed}
                refusal = LoginFailed(
                    "identifiant ou mot de passe incorrect"
                    if row.active
                    else "compte désactivé : voyez un administrateur"
                )
                if failed >= self.max_failures:
                    until = _iso(now + timedelta(seconds=self.lockout_s))
                    values.update(failed_count=0, locked_until_utc=until)
                    refusal = AccountLocked(
                        f"compte verrouillé après {self.max_failures} échecs, jusqu'à {until} "
                        "(UTC) ; un administrateur peut le déverrouiller"
                    )
                conn.execute(update(users).where(users.c.id == row.id).values(**values))
            else:
                values = {"failed_count": 0, "locked_until_utc": None, "last_login_utc": _iso(now)}
                if new_hash is not None:
                    values["password_hash"] = new_hash
                conn.execute(update(users).where(users.c.id == row.id).values(**values))
        if refusal is not None:
            raise refusal
        return int(row.id)

    def sync_directory_user(
        self, login: str, role: Role, display_name: str, groups_: Iterable[str]
    ) -> User:
        """Create or update the local shadow of a directory account (no local password): its
        role and groups follow the directory at each login; its sessions, lock and audit are
        local like any account's."""
        known = {g["name"] for g in self.list_groups()}
        wanted = sorted(set(groups_) & known)
        try:
            user = self.get_user(login)
        except NotFound:
            return self.create_user(
                login, role, None, created_by="annuaire", display_name=display_name,
                groups_=wanted,
            )  # fmt: skip
        if user.has_password:
            raise Conflict(f"le compte local {login!r} a son propre mot de passe")
        if user.role == role and set(user.groups) == set(wanted):
            return user
        with self._lock, self._tx() as conn:
            conn.execute(
                update(users)
                .where(users.c.id == user.id)
                .values(role=role.value, display_name=display_name)
            )
            self._set_groups(conn, user.id, wanted)
        return self.get_user(login)

    def open_session(self, user_id: int, ip: str = "") -> IssuedSession:
        """A new session for an authenticated user (password checked here, or by a directory)."""
        token = secrets.token_urlsafe(32)
        now = _now()
        expires = now + timedelta(seconds=self.session_max_s)
        with self._tx() as conn:
            conn.execute(
                insert(sessions).values(
                    token_sha256=_sha(token),
                    user_id=user_id,
                    created_utc=_iso(now),
                    last_seen_utc=_iso(now),
                    expires_utc=_iso(expires),
                    ip=ip[:64],
                    revoked=False,
                )
            )
        principal = self.principal_for(user_id, via="session")
        return IssuedSession(token, _iso(expires), principal)

    TOUCH_EVERY_S = 15
    """A session's last activity is written at most this often (one write per request would
    serialise every request of every operator on the accounts database)."""

    def resolve(self, token: str) -> Principal | None:
        """The principal of a session or machine token, or None when invalid or expired."""
        now = _now()
        digest = _sha(token)
        touch_before = _iso(now - timedelta(seconds=self.TOUCH_EVERY_S))
        if token.startswith(TOKEN_PREFIX):
            with self.engine.connect() as conn:
                row = conn.execute(
                    select(api_tokens).where(api_tokens.c.token_sha256 == digest)
                ).first()
            if row is None or row.revoked:
                return None
            if row.expires_utc and row.expires_utc <= _iso(now):
                return None
            if not row.last_used_utc or row.last_used_utc < touch_before:
                with self._tx() as conn:
                    conn.execute(
                        update(api_tokens)
                        .where(api_tokens.c.id == row.id)
                        .values(last_used_utc=_iso(now))
                    )
            user_id, via, token_id = int(row.user_id), "token", int(row.id)
        else:
            with self.engine.connect() as conn:
                srow = conn.execute(
                    select(sessions).where(sessions.c.token_sha256 == digest)
                ).first()
            if srow is None or srow.revoked or srow.expires_utc <= _iso(now):
                return None
            idle_limit = _iso(now - timedelta(seconds=self.session_idle_s))
            if srow.last_seen_utc < idle_limit:
                with self._tx() as conn:
                    conn.execute(
                        update(sessions)
                        .where(sessions.c.token_sha256 == digest)
                        .values(revoked=True)
                    )
                return None
            if srow.last_seen_utc < touch_before:
                with self._tx() as conn:
                    conn.execute(
                        update(sessions)
                        .where(sessions.c.token_sha256 == digest)
                        .values(last_seen_utc=_iso(now))
                    )
            user_id, via, token_id = int(srow.user_id), "session", None
        try:
            p = self.principal_for(user_id, via=via, token_id=token_id)
        except NotFound:
            return None
        user = self.get_user_by_id(user_id)
        if not user.active:
            return None
        return p

    def revoke_session(self, token: str) -> None:
        with self._tx() as conn:
            conn.execute(
                update(sessions).where(sessions.c.token_sha256 == _sha(token)).values(revoked=True)
            )

    # --- machine tokens (EX-015) --------------------------------------------------------

    def create_token(
        self, login: str, name: str, *, created_by: str, expires_days: int | None = None
    ) -> tuple[int, str]:
        """A machine token acting as account ``login``; returned once, stored hashed."""
        user = self.get_user(login)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = _now()
        expires = _iso(now + timedelta(days=expires_days)) if expires_days else None
        with self._tx() as conn:
            pk = conn.execute(
                insert(api_tokens).values(
                    name=name[:64],
                    user_id=user.id,
                    token_sha256=_sha(token),
                    created_utc=_iso(now),
                    created_by=created_by,
                    expires_utc=expires,
                    revoked=False,
                )
            ).inserted_primary_key
        assert pk is not None
        return int(pk[0]), token

    def list_tokens(self) -> list[dict[str, Any]]:
        q = (
            select(
                api_tokens.c.id,
                api_tokens.c.name,
                users.c.login,
                api_tokens.c.created_utc,
                api_tokens.c.created_by,
                api_tokens.c.expires_utc,
                api_tokens.c.revoked,
                api_tokens.c.last_used_utc,
            )
            .join(users, users.c.id == api_tokens.c.user_id)
            .order_by(api_tokens.c.id)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def revoke_token(self, token_id: int) -> None:
        with self._tx() as conn:
            r = conn.execute(
                update(api_tokens).where(api_tokens.c.id == token_id).values(revoked=True)
            )
            if r.rowcount == 0:
                raise NotFound(f"jeton inconnu : n° {token_id}")

    # --- groups and profiles ------------------------------------------------------------

    def create_group(self, name: str, description: str = "") -> None:
        if not LOGIN_RE.match(name):
            raise InvalidInput(f"nom de groupe invalide : {name!r}")
        with self._lock, self._tx() as conn:
            if conn.execute(select(groups.c.id).where(groups.c.name == name)).first():
                raise Conflict(f"le groupe {name!r} existe déjà")
            conn.execute(insert(groups).values(name=name, description=description))

    def list_groups(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            out = []
            for g in conn.execute(select(groups).order_by(groups.c.name)).all():
                members = conn.execute(
                    select(users.c.login)
                    .join(group_members, group_members.c.user_id == users.c.id)
                    .where(group_members.c.group_id == g.id)
                    .order_by(users.c.login)
                ).scalars()
                out.append({"name": g.name, "description": g.description, "members": list(members)})
            return out

    def delete_group(self, name: str) -> None:
        with self._lock, self._tx() as conn:
            gid = conn.execute(select(groups.c.id).where(groups.c.name == name)).scalar()
            if gid is None:
                raise NotFound(f"groupe inconnu : {name!r}")
            conn.execute(delete(group_members).where(group_members.c.group_id == gid))
            conn.execute(delete(profile_groups).where(profile_groups.c.group_id == gid))
            conn.execute(delete(groups).where(groups.c.id == gid))

    def put_profile(
        self,
        name: str,
        *,
        cameras: Iterable[str],
        permissions: Iterable[Permission | str],
        groups_: Iterable[str] = (),
    ) -> Profile:
        """Create or replace a profile: which cameras and permissions its groups get."""
        if not LOGIN_RE.match(name):
            raise InvalidInput(f"nom de profil invalide : {name!r}")
        cams = sorted(set(cameras))
        if not cams:
            raise InvalidInput("un profil doit nommer au moins une caméra (ou « * » pour toutes)")
        perms: list[Permission] = []
        for p in permissions:
            try:
                perms.append(Permission(p))
            except ValueError:
                known = ", ".join(x.value for x in Permission)
                raise InvalidInput(f"permission inconnue : {p!r} (connues : {known})") from None
        with self._lock, self._tx() as conn:
            pid = conn.execute(select(profiles.c.id).where(profiles.c.name == name)).scalar()
            values = {
                "name": name,
                "cameras": json.dumps(cams),
                "permissions": json.dumps(sorted({p.value for p in perms})),
            }
            if pid is None:
                ins = conn.execute(insert(profiles).values(**values)).inserted_primary_key
                assert ins is not None
                pid = int(ins[0])
            else:
                conn.execute(update(profiles).where(profiles.c.id == pid).values(**values))
            conn.execute(delete(profile_groups).where(profile_groups.c.profile_id == pid))
            for g in sorted(set(groups_)):
                gid = conn.execute(select(groups.c.id).where(groups.c.name == g)).scalar()
                if gid is None:
                    raise NotFound(f"groupe inconnu : {g!r}")
                conn.execute(insert(profile_groups).values(profile_id=pid, group_id=gid))
        return next(p for p in self.list_profiles() if p.name == name)

    def list_profiles(self) -> list[Profile]:
        with self.engine.connect() as conn:
            out = []
            for r in conn.execute(select(profiles).order_by(profiles.c.name)).all():
                names = conn.execute(
                    select(groups.c.name)
                    .join(profile_groups, profile_groups.c.group_id == groups.c.id)
                    .where(profile_groups.c.profile_id == r.id)
                    .order_by(groups.c.name)
                ).scalars()
                out.append(
                    Profile(
                        id=r.id,
                        name=r.name,
                        cameras=tuple(json.loads(r.cameras)),
                        permissions=tuple(Permission(p) for p in json.loads(r.permissions)),
                        groups=tuple(names),
                    )
                )
            return out

    def delete_profile(self, name: str) -> None:
        with self._lock, self._tx() as conn:
            pid = conn.execute(select(profiles.c.id).where(profiles.c.name == name)).scalar()
            if pid is None:
                raise NotFound(f"profil inconnu : {name!r}")
            conn.execute(delete(profile_groups).where(profile_groups.c.profile_id == pid))
            conn.execute(delete(profiles).where(profiles.c.id == pid))

    def principal_for(
        self, user_id: int, *, via: str = "session", token_id: int | None = None
    ) -> Principal:
        """Effective rights: the role's permissions narrowed by the user's profiles.

        An administrator has every permission on every camera. Anyone else gets, from the
        profiles of their groups, the union of their cameras and the union of their
        permissions intersected with the role's; with no profile, only ``system:read``.
        """
        user = self.get_user_by_id(user_id)
        role_perms = ROLE_PERMISSIONS[user.role]
        if user.role == Role.ADMIN:
            return Principal(user.id, user.login, user.role, role_perms, None, via, token_id)
        mine = [p for p in self.list_profiles() if set(p.groups) & set(user.groups)]
        granted: set[Permission] = {Permission.SYSTEM_READ}
        cams: set[str] = set()
        for p in mine:
            granted |= set(p.permissions)
            cams |= set(p.cameras)
        perms = frozenset(granted & role_perms)
        cameras = None if ALL_CAMERAS in cams else frozenset(cams)
        return Principal(user.id, user.login, user.role, perms, cameras, via, token_id)
