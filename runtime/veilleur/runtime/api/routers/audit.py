"""The audit log, for administrators: list, verify, export (EX-024, EX-127)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import FileResponse
from pydantic import BaseModel

from veilleur.runtime.api.routers.journal import VerifyOut, file_export, verify_out
from veilleur.runtime.api.security import guard, security_of, set_audit_details
from veilleur.runtime.auth.audit import AUDIT_KIND
from veilleur.runtime.auth.roles import Permission
from veilleur.runtime.journal.export import ExportError, ExportFilter

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditPage(BaseModel):
    total: int
    items: list[dict[str, Any]]


@router.get("", response_model=AuditPage, **guard(Permission.AUDIT_READ, audit="read"))
def list_audit(
    request: Request,
    action: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> AuditPage:
    """Journal d'audit : connexions, échecs, accès aux alertes et aux vidéos, modifications,
    exports et actions d'administration ; qui, quand, quoi, d'où."""
    log = security_of(request).audit
    return AuditPage(total=log.count(), items=log.list(action=action, limit=limit, offset=offset))


@router.get("/verify", response_model=VerifyOut, **guard(Permission.AUDIT_READ))
def verify_audit(request: Request) -> VerifyOut:
    """Vérifie la chaîne de hachage du journal d'audit."""
    return verify_out(security_of(request).audit.journal)


@router.get("/export", response_class=FileResponse, **guard(Permission.AUDIT_READ, audit="export"))
def export_audit(
    request: Request,
    format: Literal["csv", "jsonl", "json", "parquet", "feather", "xlsx"] = "csv",
    since: datetime | None = None,
    until: datetime | None = None,
    action: Annotated[str | None, Query(max_length=32)] = None,
    tz: Annotated[str, Query(max_length=64)] = "Europe/Paris",
) -> FileResponse:
    """Export du journal d'audit, filtré par période et action."""
    try:
        flt = ExportFilter(since=since, until=until, event=action, kinds=(AUDIT_KIND,))
    except ExportError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    set_audit_details(request, format=format, audit_export=True)
    french = format in ("csv", "xlsx")
    return file_export(
        security_of(request).audit.journal, flt, format, french, tz, "audit-veilleur"
    )
