"""Alerts and their review by operators (EX-039): list, read, acknowledge, qualify, comment."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from veilleur.runtime.api.deps import JournalDep
from veilleur.runtime.api.security import PrincipalDep, guard, require_camera, set_audit_details
from veilleur.runtime.auth.roles import Permission
from veilleur.runtime.auth.store import Principal
from veilleur.runtime.evidence.snapshots import SnapshotError, SnapshotStore
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.journal.reviews import (
    MAX_COMMENT_CHARS,
    MAX_PAGE,
    AlreadyAcknowledgedError,
    ReviewError,
    UnknownAlertError,
    get_alert,
    list_reviewed_alerts,
    record_reviews,
    review_state,
)

router = APIRouter(prefix="/api/v1/alerts", tags=["alertes"])


class ReviewStateOut(BaseModel):
    alert_id: str
    acknowledged: bool
    acknowledged_by: str | None
    acknowledged_at: str | None
    qualification: str | None
    qualified_by: str | None
    qualified_at: str | None
    comments: list[dict[str, str]]
    reviews: int


class AlertOut(BaseModel):
    """One journaled alert; extra fields of newer engines are kept as they are."""

    model_config = ConfigDict(extra="allow")

    id: str
    seq: int
    hash: str
    utc: str
    camera_id: str
    event: str
    label_fr: str
    rule_id: str
    start_s: float
    alert_s: float
    frame_index: int
    confidence: float
    track_ids: list[int]
    boxes: list[list[float]]
    classes: list[str | None] = []
    zone: str | None
    config_version: str
    model_sha256: str
    engine_version: str
    severity: str = "medium"
    review: ReviewStateOut | None = None


class AlertPage(BaseModel):
    total: int
    items: list[AlertOut]


class ReviewIn(BaseModel):
    """What the operator does with the alert; several actions at once are written in order
    (acknowledge, qualify, comment), all validated before any is written."""

    model_config = ConfigDict(extra="forbid")

    acknowledge: bool = False
    qualification: Literal["vrai_positif", "faux_positif"] | None = None
    comment: str | None = Field(None, max_length=MAX_COMMENT_CHARS)


class ReviewOut(BaseModel):
    written: int
    state: ReviewStateOut


def _checked_alert(journal: Journal, alert_id: str, principal: Principal) -> dict[str, Any]:
    try:
        alert = get_alert(journal, alert_id)
    except UnknownAlertError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    require_camera(principal, alert.get("camera_id"))
    return alert


@router.get("", response_model=AlertPage, **guard(Permission.ALERTS_READ, audit="read"))
def list_alerts(
    request: Request,
    journal: JournalDep,
    principal: PrincipalDep,
    camera_id: Annotated[str | None, Query(max_length=64)] = None,
    event: Annotated[str | None, Query(max_length=32)] = None,
    qualification: Literal["vrai_positif", "faux_positif", "non_qualifiee"] | None = None,
    acknowledged: bool | None = None,
    since: Annotated[datetime | None, Query(description="Début inclus (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Fin exclue (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, Any]:
    """Alertes journalisées, les plus récentes d'abord, avec leur état de traitement ;
    limitées aux caméras du profil de l'utilisateur."""
    if camera_id is not None:
        require_camera(principal, camera_id)
    try:
        page = list_reviewed_alerts(
            journal,
            qualification=qualification,
            acknowledged=acknowledged,
            since=since,
            until=until,
            camera_id=camera_id,
            event=event,
            cameras=principal.camera_filter(),
            limit=limit,
            offset=offset,
        )
    except ReviewError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    set_audit_details(request, returned=len(page.items), camera_id=camera_id, event=event)
    return {"total": page.total, "items": page.items}


@router.get("/{alert_id}", response_model=AlertOut, **guard(Permission.ALERTS_READ, audit="read"))
def get_one(
    alert_id: str,
    request: Request,
    journal: JournalDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """Une alerte, avec son état de traitement et ses commentaires."""
    alert = _checked_alert(journal, alert_id, principal)
    request.state.audit_camera = alert.get("camera_id")
    set_audit_details(request, alert_id=alert_id)
    return {**alert, "review": review_state(journal, alert_id).to_dict()}


@router.post(
    "/{alert_id}/reviews",
    response_model=ReviewOut,
    status_code=status.HTTP_201_CREATED,
    **guard(Permission.ALERTS_REVIEW),
)
def review(
    alert_id: str,
    body: ReviewIn,
    request: Request,
    journal: JournalDep,
    principal: PrincipalDep,
) -> ReviewOut:
    """Acquitter, qualifier (vrai / faux positif) et/ou commenter une alerte. Chaque action est
    une entrée du journal ; l'alerte elle-même n'est jamais modifiée."""
    alert = _checked_alert(journal, alert_id, principal)
    request.state.audit_camera = alert.get("camera_id")
    set_audit_details(
        request, alert_id=alert_id, acknowledge=body.acknowledge, qualification=body.qualification
    )
    try:
        written = record_reviews(
            journal,
            alert_id,
            principal.login,
            ack=body.acknowledge,
            qualification=body.qualification,
            comment=body.comment,
        )
    except ReviewError as exc:
        code = (
            status.HTTP_409_CONFLICT
            if isinstance(exc, AlreadyAcknowledgedError)
            else status.HTTP_422_UNPROCESSABLE_CONTENT
        )
        raise HTTPException(code, str(exc)) from None
    state = review_state(journal, alert_id).to_dict()
    return ReviewOut(written=len(written), state=ReviewStateOut(**state))


@router.get(
    "/{alert_id}/snapshot.jpg",
    response_class=Response,
    **guard(Permission.ALERTS_READ, audit="read"),
)
def snapshot(
    alert_id: str, request: Request, journal: JournalDep, principal: PrincipalDep
) -> Response:
    """Le cliché de l'alerte (EX-104) : l'image du signalement avec ses boîtes et sa zone.
    Refusé s'il a été modifié depuis l'alerte (son empreinte est au journal)."""
    alert = _checked_alert(journal, alert_id, principal)
    request.state.audit_camera = alert.get("camera_id")
    set_audit_details(request, alert_id=alert_id, snapshot=True)
    ref = alert.get("snapshot")
    folder = request.app.state.options.snapshot_dir
    if not isinstance(ref, dict) or folder is None:
        why = alert.get("snapshot_error") or "pas de cliché pour cette alerte"
        raise HTTPException(status.HTTP_404_NOT_FOUND, why)
    try:
        data = SnapshotStore(folder).open(str(ref.get("path")), ref.get("sha256"))
    except FileNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except SnapshotError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
