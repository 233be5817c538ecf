"""One login for local and directory accounts.

A local account with its own password is checked locally (argon2id). Any other login goes to
the directory when one is configured: on success its local shadow is created or updated
(role and groups from the directory) and a session opens; on failure the shadow's failure
count grows like a local account's, so lockout applies to directory accounts too.
"""

from __future__ import annotations

from veilleur.runtime.auth.directory import LdapDirectory
from veilleur.runtime.auth.store import (
    AccountStore,
    IssuedSession,
    LoginFailed,
    NotFound,
)


def log_in(
    accounts: AccountStore,
    directory: LdapDirectory | None,
    login: str,
    password: str,
    ip: str = "",
) -> IssuedSession:
    """A session for ``login``, or :class:`LoginFailed` / ``AccountLocked`` /
    ``DirectoryUnavailable``."""
    try:
        local = accounts.get_user(login)
    except NotFound:
        local = None
    if directory is None or (local is not None and local.has_password):
        return accounts.authenticate(login, password, ip)
    accounts.ensure_unlocked(login)
    try:
        user = directory.authenticate(login, password)
    except LoginFailed:
        if local is not None:
            accounts.register_attempt(local.id, False)  # raises, and may lock
        raise
    shadow = accounts.sync_directory_user(user.login, user.role, user.display_name, user.groups)
    accounts.register_attempt(shadow.id, True)  # refused if deactivated by an administrator
    return accounts.open_session(shadow.id, ip)
