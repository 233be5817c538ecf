"""Who may call what: authentication, the permission check of every route, and auditing.

Every route declares its permission with :func:`guard`, which adds the check as a dependency
and writes the permission into the OpenAPI document (``x-permission``), so a test can walk the
whole API and prove each route refuses the roles that lack it. Public routes say so
(``x-permission: public``). Callers authenticate with a session (``Authorization: Bearer`` or
the ``veilleur_session`` cookie set at login) or a machine token (``vt_…``, EX-015).

Auditing (EX-024): the guard marks the request with its audit action (``read`` for access to
alerts or video, ``write`` for changes, ``export``, ``admin``); :func:`audit_middleware` writes
the entry once the outcome is known. Refusals (401, 403) are always audited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response, status
from pydantic import BaseModel

from veilleur.runtime.auth.audit import AuditLog
from veilleur.runtime.auth.directory import LdapDirectory
from veilleur.runtime.auth.roles import Permission
from veilleur.runtime.auth.store import AccountStore, Principal

SESSION_COOKIE = "veilleur_session"
PUBLIC = "public"
ANONYMOUS = "anonyme"


@dataclass
class Security:
    """What the guards need, kept on ``app.state.security``."""

    accounts: AccountStore
    audit: AuditLog
    secure_cookies: bool = False
    directory: LdapDirectory | None = None
    """Optional central directory for logins (EX-117)."""


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE) or None


def security_of(request: Request) -> Security:
    sec: Security = request.app.state.security
    return sec


def _denied(request: Request, code: int, detail: str, actor: str) -> HTTPException:
    request.state.audit = None  # recorded here, not again by the middleware
    security_of(request).audit.record(
        "access_denied",
        actor=actor,
        outcome="refus",
        ip=client_ip(request),
        method=request.method,
        path=request.url.path,
        details={"status": code, "motif": detail},
    )
    headers = {"WWW-Authenticate": "Bearer"} if code == status.HTTP_401_UNAUTHORIZED else None
    return HTTPException(code, detail, headers=headers)


def authenticate(request: Request) -> Principal:
    """The caller's principal, or 401."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = _token(request)
    principal = security_of(request).accounts.resolve(token) if token else None
    if principal is None:
        detail = "authentification requise" if token is None else "session expirée ou invalide"
        raise _denied(request, status.HTTP_401_UNAUTHORIZED, detail, ANONYMOUS)
    request.state.principal = principal
    return principal


class _Guard:
    def __init__(self, permission: Permission, audit: str | None) -> None:
        self.permission = permission
        self.audit = audit

    def __call__(self, request: Request) -> Principal:
        principal = authenticate(request)
        if not principal.can(self.permission):
            raise _denied(
                request,
                status.HTTP_403_FORBIDDEN,
                f"droit insuffisant : « {self.permission.value} » requis",
                principal.login,
            )
        action = self.audit
        if action is None and request.method not in ("GET", "HEAD", "OPTIONS"):
            action = "write"
        request.state.audit = action
        return principal


class ErrorOut(BaseModel):
    """Every refusal of the API: a reason in French, or (a request that does not match its
    schema) the list of the fields refused."""

    detail: str | list[dict[str, Any]]


# 422 replaces FastAPI's own (whose ``detail`` is only a list): routes also refuse with a reason
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Requête invalide (motif ou champs refusés)", "model": ErrorOut},
}
_DENIALS: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "Non authentifié (session absente, expirée ou invalide)",
        "model": ErrorOut,
    },
    403: {"description": "Droit insuffisant pour ce rôle ou ce profil", "model": ErrorOut},
    **_INVALID,
}


def guard(permission: Permission, *, audit: str | None = None) -> dict[str, Any]:
    """Route decorator arguments: the permission check, its audit action, and the OpenAPI
    mark. Use as ``@router.get("/x", **guard(Permission.ALERTS_READ, audit="read"))``."""
    return {
        "dependencies": [Depends(_Guard(permission, audit))],
        "openapi_extra": {"x-permission": permission.value},
        "responses": dict(_DENIALS),
    }


def public() -> dict[str, Any]:
    """Route decorator arguments of a route anyone may call (login, liveness)."""
    return {"openapi_extra": {"x-permission": PUBLIC}, "responses": dict(_INVALID)}


def current(request: Request) -> Principal:
    """The principal the route's guard already checked (use with ``Depends``)."""
    return authenticate(request)


PrincipalDep = Annotated[Principal, Depends(current)]


def require_camera(principal: Principal, camera_id: str | None) -> None:
    """403 when the principal's profiles do not cover ``camera_id``."""
    if not principal.sees(camera_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"caméra hors de votre profil : {camera_id!r}"
        )


def set_audit_details(request: Request, **details: Any) -> None:
    """Add details (ids, counts, filters) to the audit entry of this request."""
    current_details: dict[str, Any] = getattr(request.state, "audit_details", {})
    current_details.update(details)
    request.state.audit_details = current_details


async def audit_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    action: str | None = getattr(request.state, "audit", None)
    principal: Principal | None = getattr(request.state, "principal", None)
    if action and principal is not None:
        security_of(request).audit.record(
            action,
            actor=principal.login,
            outcome="succes" if response.status_code < 400 else "echec",
            ip=client_ip(request),
            method=request.method,
            path=request.url.path,
            camera_id=getattr(request.state, "audit_camera", None),
            details={
                "status": response.status_code,
                "via": principal.via,
                **getattr(request.state, "audit_details", {}),
            },
        )
    return response
