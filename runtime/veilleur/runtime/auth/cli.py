"""``veilleur users …``: accounts from the console (install, recovery, machine tokens).

The first administrator is created here, by the operator, with a secret they choose
(``create-admin``): there is no default account or password anywhere. Console actions are
audited like API actions, with the actor ``console:<system user>``.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer

from veilleur.runtime.auth.audit import AuditLog
from veilleur.runtime.auth.passwords import PasswordPolicyError
from veilleur.runtime.auth.roles import ROLE_LABELS_FR, Role
from veilleur.runtime.auth.store import AccountStore, AuthError

users_app = typer.Typer(help="Accounts, roles and machine tokens.", no_args_is_help=True)

DEFAULT_ACCOUNTS = "var/comptes.db"
DEFAULT_AUDIT = "var/audit.db"
EXIT_USAGE = 2

AccountsOpt = Annotated[str, typer.Option(help="Accounts database path or URL.")]
AuditOpt = Annotated[str, typer.Option(help="Audit log path or URL.")]
PasswordFileOpt = Annotated[
    Path | None,
    typer.Option(help="File holding the password (first line); else asked on the terminal."),
]


def console_actor() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = str(os.getuid())
    return f"console:{name}"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"erreur: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


def read_password(path: Path | None) -> str:
    """The first line of ``path``, or a password typed twice on the terminal."""
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise _fail(f"{path}: illisible ({exc.strerror})") from None
        if not lines or not lines[0]:
            raise _fail(f"{path}: fichier vide")
        return lines[0]
    first = typer.prompt("Mot de passe", hide_input=True)
    if typer.prompt("Confirmation", hide_input=True) != first:
        raise _fail("les deux saisies diffèrent")
    return str(first)


def bootstrap_admin(accounts: AccountStore, audit: AuditLog, login: str, password: str) -> None:
    """Create the first administrator; refused once an administrator exists."""
    if accounts.count_users(Role.ADMIN) > 0:
        raise AuthError("un administrateur technique existe déjà : connectez-vous avec lui")
    accounts.create_user(login, Role.ADMIN, password, created_by=console_actor())
    audit.record(
        "admin",
        actor=console_actor(),
        details={"operation": "create_admin", "target": login},
    )


@users_app.command("create-admin")
def create_admin(
    login: Annotated[str, typer.Option(help="Login of the first administrator.")] = "admin",
    password_file: PasswordFileOpt = None,
    accounts: AccountsOpt = DEFAULT_ACCOUNTS,
    audit: AuditOpt = DEFAULT_AUDIT,
) -> None:
    """Create the first technical administrator (install time), with a secret you choose."""
    store = AccountStore(accounts)
    if store.count_users(Role.ADMIN) > 0:
        raise _fail("un administrateur technique existe déjà : connectez-vous avec lui")
    try:
        bootstrap_admin(store, AuditLog(audit), login, read_password(password_file))
    except (PasswordPolicyError, AuthError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"administrateur technique {login!r} créé")


@users_app.command("create")
def create(
    login: Annotated[str, typer.Argument(help="Login of the new account.")],
    role: Annotated[Role, typer.Option(help="Role of the account.")],
    group: Annotated[list[str] | None, typer.Option(help="Group (repeat for several).")] = None,
    password_file: PasswordFileOpt = None,
    accounts: AccountsOpt = DEFAULT_ACCOUNTS,
    audit: AuditOpt = DEFAULT_AUDIT,
) -> None:
    """Open an account."""
    store = AccountStore(accounts)
    try:
        store.create_user(
            login, role, read_password(password_file), created_by=console_actor(),
            groups_=group or (),
        )  # fmt: skip
    except (PasswordPolicyError, AuthError) as exc:
        raise _fail(str(exc)) from None
    AuditLog(audit).record(
        "admin",
        actor=console_actor(),
        details={"operation": "create_user", "target": login, "role": role.value},
    )
    typer.echo(f"compte {login!r} créé ({ROLE_LABELS_FR[role]})")


@users_app.command("list")
def list_cmd(accounts: AccountsOpt = DEFAULT_ACCOUNTS) -> None:
    """List accounts (no secret is ever shown)."""
    for u in AccountStore(accounts).list_users():
        state = "actif" if u.active else "désactivé"
        if u.locked_until_utc:
            state += f", verrouillé jusqu'à {u.locked_until_utc}"
        groups = ",".join(u.groups) or "-"
        typer.echo(f"{u.login}\t{ROLE_LABELS_FR[u.role]}\t{state}\tgroupes: {groups}")


@users_app.command("set-password")
def set_password(
    login: Annotated[str, typer.Argument(help="Account.")],
    password_file: PasswordFileOpt = None,
    accounts: AccountsOpt = DEFAULT_ACCOUNTS,
    audit: AuditOpt = DEFAULT_AUDIT,
) -> None:
    """Reset an account's password (recovery); its sessions are closed, its lock lifted."""
    try:
        AccountStore(accounts).set_password(login, read_password(password_file))
    except (PasswordPolicyError, AuthError) as exc:
        raise _fail(str(exc)) from None
    AuditLog(audit).record(
        "admin", actor=console_actor(), details={"operation": "set_password", "target": login}
    )
    typer.echo(f"mot de passe de {login!r} changé")


@users_app.command("unlock")
def unlock(
    login: Annotated[str, typer.Argument(help="Account.")],
    accounts: AccountsOpt = DEFAULT_ACCOUNTS,
    audit: AuditOpt = DEFAULT_AUDIT,
) -> None:
    """Lift the lock set after repeated failed logins."""
    try:
        AccountStore(accounts).update_user(login, unlock=True)
    except AuthError as exc:
        raise _fail(str(exc)) from None
    AuditLog(audit).record(
        "admin", actor=console_actor(), details={"operation": "unlock", "target": login}
    )
    typer.echo(f"compte {login!r} déverrouillé")


@users_app.command("token")
def token(
    login: Annotated[str, typer.Argument(help="Account the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for (e.g. the VMS).")],
    expires_days: Annotated[int | None, typer.Option(help="Days of validity.")] = None,
    accounts: AccountsOpt = DEFAULT_ACCOUNTS,
    audit: AuditOpt = DEFAULT_AUDIT,
) -> None:
    """Create a machine-access token (EX-015); printed once, stored hashed."""
    try:
        token_id, value = AccountStore(accounts).create_token(
            login, name, created_by=console_actor(), expires_days=expires_days
        )
    except AuthError as exc:
        raise _fail(str(exc)) from None
    AuditLog(audit).record(
        "admin",
        actor=console_actor(),
        details={"operation": "create_token", "target": login, "token_id": token_id},
    )
    typer.echo(value)
