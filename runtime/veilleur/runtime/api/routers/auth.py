"""Log in and out, who am I, change my password (EX-018 … EX-022, EX-119 … EX-121)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from veilleur.runtime.api.security import (
    SESSION_COOKIE,
    PrincipalDep,
    client_ip,
    guard,
    public,
    security_of,
)
from veilleur.runtime.auth.directory import DirectoryUnavailable
from veilleur.runtime.auth.login import log_in
from veilleur.runtime.auth.passwords import PasswordPolicyError
from veilleur.runtime.auth.roles import PERMISSION_LABELS_FR, ROLE_LABELS_FR, Permission
from veilleur.runtime.auth.store import AccountLocked, LoginFailed, Principal

router = APIRouter(prefix="/api/v1/auth", tags=["authentification"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: str = Field(..., min_length=1, max_length=64)
    password: str = Field(..., min_length=1, max_length=1024)


class Me(BaseModel):
    login: str
    role: str
    role_label: str
    permissions: list[str]
    permission_labels: list[str]
    cameras: list[str] | None = Field(description="Caméras du profil ; null : toutes.")
    via: str


class LoginOut(BaseModel):
    token: str
    expires_utc: str
    user: Me


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(..., min_length=1, max_length=1024)
    new_password: str = Field(..., min_length=1, max_length=1024)


def me_of(p: Principal) -> Me:
    perms = sorted(p.permissions)
    return Me(
        login=p.login,
        role=p.role.value,
        role_label=ROLE_LABELS_FR[p.role],
        permissions=[x.value for x in perms],
        permission_labels=[PERMISSION_LABELS_FR[x] for x in perms],
        cameras=None if p.cameras is None else sorted(p.cameras),
        via=p.via,
    )


@router.post("/login", response_model=LoginOut, **public())
def login(body: LoginIn, request: Request, response: Response) -> LoginOut:
    """Ouvre une session. Le jeton est rendu et posé en cookie (HttpOnly, SameSite=Strict).
    Après plusieurs échecs consécutifs, le compte est verrouillé pour un temps."""
    sec = security_of(request)
    ip = client_ip(request)
    try:
        issued = log_in(sec.accounts, sec.directory, body.login, body.password, ip)
    except DirectoryUnavailable as exc:
        sec.audit.record(
            "login_failed", actor=body.login, outcome="echec", ip=ip, path=request.url.path,
            details={"motif": str(exc)},
        )  # fmt: skip
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    except AccountLocked as exc:
        sec.audit.record(
            "login_locked", actor=body.login, outcome="refus", ip=ip, path=request.url.path
        )
        raise HTTPException(status.HTTP_423_LOCKED, str(exc)) from None
    except LoginFailed as exc:
        sec.audit.record(
            "login_failed", actor=body.login, outcome="refus", ip=ip, path=request.url.path
        )
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from None
    sec.audit.record("login", actor=issued.principal.login, ip=ip, path=request.url.path)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        httponly=True,
        samesite="strict",
        secure=sec.secure_cookies,
        max_age=sec.accounts.session_max_s,
        path="/",
    )
    return LoginOut(
        token=issued.token, expires_utc=issued.expires_utc, user=me_of(issued.principal)
    )


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    **guard(Permission.SYSTEM_READ, audit="logout"),
)
def logout(request: Request, response: Response) -> Response:
    """Ferme la session en cours."""
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
    token = token or request.cookies.get(SESSION_COOKIE)
    if token:
        security_of(request).accounts.revoke_session(token)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.status_code = status.HTTP_204_NO_CONTENT
    return response


@router.get("/me", response_model=Me, **guard(Permission.SYSTEM_READ))
def me(principal: PrincipalDep) -> Me:
    """Le compte connecté : rôle, droits, caméras du profil."""
    return me_of(principal)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    **guard(Permission.SYSTEM_READ, audit="admin"),
)
def change_password(body: PasswordIn, request: Request, principal: PrincipalDep) -> Response:
    """Change son propre mot de passe (politique ANSSI) ; toutes ses sessions sont fermées."""
    accounts = security_of(request).accounts
    try:
        accounts.check_credentials(principal.login, body.current_password)
    except LoginFailed as exc:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"mot de passe actuel refusé : {exc}"
        ) from None
    try:
        accounts.set_password(principal.login, body.new_password)
    except PasswordPolicyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
