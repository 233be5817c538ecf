"""Accounts, groups, profiles and machine tokens (EX-018 … EX-022, EX-015).

An *Administrateur technique* manages every account; an *Utilisateur avancé* opens and
manages standard accounts only. Nobody changes their own role or deactivates themselves, and
the last active administrator cannot be removed or demoted.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from veilleur.runtime.api.security import PrincipalDep, guard, security_of, set_audit_details
from veilleur.runtime.auth.passwords import PasswordPolicyError
from veilleur.runtime.auth.roles import Permission, Role, can_manage
from veilleur.runtime.auth.store import (
    AuthError,
    Conflict,
    InvalidInput,
    NotFound,
    Principal,
    User,
)

router = APIRouter(prefix="/api/v1", tags=["administration"])

Name = Field(..., min_length=2, max_length=64)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: str = Name
    role: Role
    password: str = Field(..., min_length=1, max_length=1024)
    display_name: str = Field("", max_length=128)
    groups: list[str] = Field(default_factory=list, max_length=64)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    active: bool | None = None
    display_name: str | None = Field(None, max_length=128)
    groups: list[str] | None = Field(None, max_length=64)
    unlock: bool = False


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_password: str = Field(..., min_length=1, max_length=1024)


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Name
    description: str = Field("", max_length=512)


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cameras: list[str] = Field(..., min_length=1, max_length=1024)
    permissions: list[Permission] = Field(..., max_length=64)
    groups: list[str] = Field(default_factory=list, max_length=256)


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: str = Name
    name: str = Field(..., min_length=1, max_length=64)
    expires_days: int | None = Field(None, ge=1, le=3650)


class TokenOut(BaseModel):
    id: int
    token: str = Field(description="Affiché une seule fois : il n'est conservé que haché.")


def _http(exc: AuthError) -> HTTPException:
    if isinstance(exc, NotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, Conflict):
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


def _manageable(principal: Principal, role: Role) -> None:
    if not can_manage(principal.role, role):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"votre rôle ne permet pas de gérer un compte « {role.value} »",
        )


def _target(request: Request, principal: Principal, login: str) -> User:
    try:
        user = security_of(request).accounts.get_user(login)
    except NotFound as exc:
        raise _http(exc) from None
    _manageable(principal, user.role)
    return user


@router.get("/users", **guard(Permission.USERS_MANAGE, audit="admin"))
def list_users(request: Request) -> list[dict[str, Any]]:
    """Comptes (sans aucun secret)."""
    return [u.to_dict() for u in security_of(request).accounts.list_users()]


@router.post(
    "/users", status_code=status.HTTP_201_CREATED, **guard(Permission.USERS_MANAGE, audit="admin")
)
def create_user(body: UserIn, request: Request, principal: PrincipalDep) -> dict[str, Any]:
    """Ouvre un compte (l'administrateur : tout rôle ; l'utilisateur avancé : standard)."""
    _manageable(principal, body.role)
    set_audit_details(request, target=body.login, role=body.role.value, groups=body.groups)
    try:
        user = security_of(request).accounts.create_user(
            body.login,
            body.role,
            body.password,
            created_by=principal.login,
            display_name=body.display_name,
            groups_=body.groups,
        )
    except PasswordPolicyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except NotFound as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except AuthError as exc:
        raise _http(exc) from None
    return user.to_dict()


@router.patch("/users/{login}", **guard(Permission.USERS_MANAGE, audit="admin"))
def update_user(
    login: str, body: UserPatch, request: Request, principal: PrincipalDep
) -> dict[str, Any]:
    """Change le rôle, l'état (actif / désactivé), les groupes ; déverrouille un compte."""
    _target(request, principal, login)
    if login == principal.login and (body.role is not None or body.active is not None):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "on ne change pas son propre rôle ni son propre état"
        )
    if body.role is not None:
        _manageable(principal, body.role)
    set_audit_details(request, target=login, **body.model_dump(exclude_none=True))
    try:
        user = security_of(request).accounts.update_user(
            login,
            role=body.role,
            active=body.active,
            display_name=body.display_name,
            groups_=body.groups,
            unlock=body.unlock,
        )
    except NotFound as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except AuthError as exc:
        raise _http(exc) from None
    return user.to_dict()


@router.delete(
    "/users/{login}",
    status_code=status.HTTP_204_NO_CONTENT,
    **guard(Permission.USERS_MANAGE, audit="admin"),
)
def delete_user(login: str, request: Request, principal: PrincipalDep) -> Response:
    """Supprime un compte (ses sessions et jetons avec lui)."""
    _target(request, principal, login)
    if login == principal.login:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "on ne supprime pas son propre compte")
    set_audit_details(request, target=login)
    try:
        security_of(request).accounts.delete_user(login)
    except AuthError as exc:
        raise _http(exc) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/users/{login}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    **guard(Permission.USERS_MANAGE, audit="admin"),
)
def reset_password(
    login: str, body: PasswordReset, request: Request, principal: PrincipalDep
) -> Response:
    """Réinitialise le mot de passe d'un compte ; ses sessions sont fermées."""
    _target(request, principal, login)
    set_audit_details(request, target=login)
    try:
        security_of(request).accounts.set_password(login, body.new_password)
    except PasswordPolicyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except AuthError as exc:
        raise _http(exc) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/groups", **guard(Permission.USERS_MANAGE))
def list_groups(request: Request) -> list[dict[str, Any]]:
    """Groupes d'utilisateurs et leurs membres."""
    return security_of(request).accounts.list_groups()


@router.post(
    "/groups", status_code=status.HTTP_201_CREATED, **guard(Permission.GROUPS_MANAGE, audit="admin")
)
def create_group(body: GroupIn, request: Request) -> dict[str, str]:
    """Crée un groupe."""
    set_audit_details(request, group=body.name)
    try:
        security_of(request).accounts.create_group(body.name, body.description)
    except AuthError as exc:
        raise _http(exc) from None
    return {"name": body.name}


@router.delete(
    "/groups/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    **guard(Permission.GROUPS_MANAGE, audit="admin"),
)
def delete_group(name: str, request: Request) -> Response:
    """Supprime un groupe (ses membres perdent les profils qu'il portait)."""
    set_audit_details(request, group=name)
    try:
        security_of(request).accounts.delete_group(name)
    except AuthError as exc:
        raise _http(exc) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/profiles", **guard(Permission.GROUPS_MANAGE))
def list_profiles(request: Request) -> list[dict[str, Any]]:
    """Profils : caméras et droits qu'ils donnent aux groupes qui les portent."""
    return [p.to_dict() for p in security_of(request).accounts.list_profiles()]


@router.put("/profiles/{name}", **guard(Permission.GROUPS_MANAGE, audit="admin"))
def put_profile(name: str, body: ProfileIn, request: Request) -> dict[str, Any]:
    """Crée ou remplace un profil (caméras, droits, groupes)."""
    set_audit_details(request, profile=name, **body.model_dump(mode="json"))
    try:
        p = security_of(request).accounts.put_profile(
            name, cameras=body.cameras, permissions=body.permissions, groups_=body.groups
        )
    except NotFound as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except (AuthError, InvalidInput) as exc:
        raise _http(exc) from None
    return p.to_dict()


@router.delete(
    "/profiles/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    **guard(Permission.GROUPS_MANAGE, audit="admin"),
)
def delete_profile(name: str, request: Request) -> Response:
    """Supprime un profil."""
    set_audit_details(request, profile=name)
    try:
        security_of(request).accounts.delete_profile(name)
    except AuthError as exc:
        raise _http(exc) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/tokens", **guard(Permission.USERS_MANAGE, audit="admin"))
def list_tokens(request: Request) -> list[dict[str, Any]]:
    """Jetons d'accès machine (jamais leur valeur)."""
    return security_of(request).accounts.list_tokens()


@router.post(
    "/tokens",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    **guard(Permission.USERS_MANAGE, audit="admin"),
)
def create_token(body: TokenIn, request: Request, principal: PrincipalDep) -> TokenOut:
    """Crée un jeton d'accès machine agissant comme le compte ``login`` (EX-015), par exemple un
    compte de service standard pour un hyperviseur ou une VMS. La valeur n'est rendue qu'ici."""
    _target(request, principal, body.login)
    set_audit_details(request, target=body.login, token_name=body.name)
    try:
        token_id, token = security_of(request).accounts.create_token(
            body.login, body.name, created_by=principal.login, expires_days=body.expires_days
        )
    except AuthError as exc:
        raise _http(exc) from None
    return TokenOut(id=token_id, token=token)


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    **guard(Permission.USERS_MANAGE, audit="admin"),
)
def revoke_token(
    request: Request,
    principal: PrincipalDep,
    token_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
) -> Response:
    """Révoque un jeton d'accès machine."""
    owner = next(
        (t["login"] for t in security_of(request).accounts.list_tokens() if t["id"] == token_id),
        None,
    )
    if owner is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"jeton inconnu : n° {token_id}")
    _target(request, principal, owner)
    set_audit_details(request, token_id=token_id, target=owner)
    try:
        security_of(request).accounts.revoke_token(token_id)
    except AuthError as exc:
        raise _http(exc) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
