"""Journal integrity, exports and statistics (EX-014 … EX-016), for people and machines."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from veilleur.runtime.api.deps import JournalDep
from veilleur.runtime.api.security import (
    PrincipalDep,
    guard,
    require_camera,
    set_audit_details,
)
from veilleur.runtime.auth.roles import Permission
from veilleur.runtime.journal.export import FORMATS, ExportError, ExportFilter, Format, export
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.journal.stats import alert_stats

router = APIRouter(prefix="/api/v1", tags=["journal"])

MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
    "feather": "application/vnd.apache.arrow.file",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXPORT_KINDS = ("alert", "review", "control", "purge")


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    first_broken_seq: int | None
    reason: str | None


def verify_out(journal: Journal) -> VerifyOut:
    r = journal.verify()
    return VerifyOut(
        ok=r.ok, entries=r.entries, first_broken_seq=r.first_broken_seq, reason=r.reason
    )


@router.get("/journal/verify", response_model=VerifyOut, **guard(Permission.JOURNAL_VERIFY))
def verify(journal: JournalDep) -> VerifyOut:
    """Vérifie la chaîne de hachage du journal et signale le premier maillon rompu."""
    return verify_out(journal)


def download(write: Callable[[Path], int], fmt: Format, stem: str) -> FileResponse:
    """Write a file with ``write`` (which returns its row count) into a temporary file
    (bounded memory whatever the period), stream it, and delete it once sent. An
    :class:`ExportError` is a 422."""
    fd, tmp = tempfile.mkstemp(prefix="veilleur-export-", suffix=f".{fmt}")
    os.close(fd)
    path = Path(tmp)
    try:
        rows = write(path)
    except ExportError as exc:
        path.unlink(missing_ok=True)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[fmt],
        filename=f"{stem}.{fmt}",
        headers={"X-Veilleur-Rows": str(rows)},
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


def file_export(
    journal: Journal,
    flt: ExportFilter,
    fmt: Format,
    french_headers: bool,
    tz: str,
    stem: str,
) -> FileResponse:
    """A journal export (entries that ``flt`` selects) as a download."""

    def write(path: Path) -> int:
        return export(journal, path, flt, fmt=fmt, french_headers=french_headers, tz=tz).rows

    return download(write, fmt, stem)


@router.get(
    "/journal/export",
    response_class=FileResponse,
    **guard(Permission.JOURNAL_EXPORT, audit="export"),
)
def export_journal(
    request: Request,
    journal: JournalDep,
    principal: PrincipalDep,
    format: Literal["csv", "jsonl", "json", "parquet", "feather", "xlsx"] = "csv",
    kind: Annotated[list[Literal["alert", "review", "control", "purge"]] | None, Query()] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    camera_id: Annotated[str | None, Query(max_length=64)] = None,
    event: Annotated[str | None, Query(max_length=32)] = None,
    qualification: Literal["true_positive", "false_positive", "unreviewed"] | None = None,
    french_headers: Annotated[
        bool | None,
        Query(description="En-têtes en français ; par défaut oui pour CSV et XLSX, non sinon."),
    ] = None,
    tz: Annotated[str, Query(max_length=64)] = "Europe/Paris",
) -> FileResponse:
    """Export du journal (alertes, revues, actions de contrôle, purges), filtré par période,
    caméra, événement et qualification ; limité aux caméras du profil de l'utilisateur."""
    assert format in FORMATS
    kinds = tuple(dict.fromkeys(kind or ["alert"]))
    if camera_id is not None:
        require_camera(principal, camera_id)
    try:
        flt = ExportFilter(
            since=since,
            until=until,
            camera_id=camera_id,
            event=event,
            kinds=kinds,
            qualification=qualification,
            cameras=principal.camera_filter(),
        )
    except ExportError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    set_audit_details(
        request,
        format=format,
        kinds=list(flt.kinds),
        since=str(since) if since else None,
        until=str(until) if until else None,
        camera_id=camera_id,
        event=event,
    )
    french = format in ("csv", "xlsx") if french_headers is None else french_headers
    return file_export(journal, flt, format, french, tz, "journal-veilleur")


@router.get("/stats", **guard(Permission.STATS_READ))
def stats(
    journal: JournalDep,
    principal: PrincipalDep,
    since: datetime | None = None,
    until: datetime | None = None,
    camera_id: Annotated[str | None, Query(max_length=64)] = None,
    event: Annotated[str | None, Query(max_length=32)] = None,
    tz: Annotated[str, Query(max_length=64)] = "Europe/Paris",
) -> dict[str, Any]:
    """Statistiques des alertes : par événement, caméra, heure et jour ; taux de vrais et faux
    positifs d'après les qualifications des opérateurs."""
    if camera_id is not None:
        require_camera(principal, camera_id)
    try:
        result = alert_stats(
            journal,
            since=since,
            until=until,
            camera_id=camera_id,
            event=event,
            cameras=principal.camera_filter(),
            tz=tz,
        )
    except (ExportError, KeyError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return result.to_dict()
