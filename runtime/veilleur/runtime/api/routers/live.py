"""Live view (EX-040, EX-042, EX-075): the latest analysed frame of a camera and what the
engine saw on it (boxes, track ids, classes, zones, counts per zone).

Watching video is audited (EX-024) once per user and camera every five minutes, with the
number of frames served since the last entry: a live tile polls several times a second, and
one audit entry per frame would bury the rest of the log.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi import Path as PathParam
from pydantic import BaseModel

from veilleur.runtime.api.deps import LiveRuntimeDep
from veilleur.runtime.api.security import (
    PrincipalDep,
    client_ip,
    guard,
    require_camera,
    security_of,
)
from veilleur.runtime.auth.roles import Permission
from veilleur.runtime.auth.store import Principal
from veilleur.runtime.core.geometry import points_in_polygon
from veilleur.runtime.core.taxonomy import CLASS_LABELS_FR, CLASSES
from veilleur.runtime.engine import CameraAnalysis
from veilleur.runtime.evidence.render import encode_jpeg
from veilleur.runtime.pipeline import LiveRuntime

router = APIRouter(prefix="/api/v1/live", tags=["direct"])
CAMERA_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
AUDIT_EVERY_S = 300.0
_audited: dict[tuple[str, str], tuple[float, int]] = {}
_audit_lock = threading.Lock()


class LiveDetection(BaseModel):
    box: list[float]
    class_name: str
    label_fr: str
    track_id: int | None
    confidence: float


class LiveZone(BaseModel):
    id: str
    kind: str
    points: list[list[float]]


class Overlay(BaseModel):
    camera_id: str
    t: float
    frame_index: int
    analysed_utc: float | None
    width: int
    height: int
    detections: list[LiveDetection]
    zones: list[LiveZone]
    counts: dict[str, int]
    """People whose feet are in each polygon zone."""


def _camera(runtime: LiveRuntime, principal: Principal, camera_id: str) -> CameraAnalysis:
    require_camera(principal, camera_id)
    cam = runtime.engine.cameras.get(camera_id)
    if cam is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"caméra inconnue : {camera_id!r}")
    if cam.last_frame is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"aucune image analysée pour l'instant sur {camera_id!r}"
        )
    return cam


def _audit_view(request: Request, principal: Principal, camera_id: str) -> None:
    key = (principal.login, camera_id)
    now = time.monotonic()
    with _audit_lock:
        since, served = _audited.get(key, (-AUDIT_EVERY_S, 0))
        if now - since < AUDIT_EVERY_S:
            _audited[key] = (since, served + 1)
            return
        _audited[key] = (now, 0)
    security_of(request).audit.record(
        "read",
        actor=principal.login,
        ip=client_ip(request),
        method=request.method,
        path=request.url.path,
        camera_id=camera_id,
        details={"video": "direct", "images_depuis_derniere_entree": served, "via": principal.via},
    )


@router.get(
    "/{camera_id}/frame.jpg",
    response_class=Response,
    **guard(Permission.STREAMS_VIEW),
)
def frame(
    request: Request,
    runtime: LiveRuntimeDep,
    principal: PrincipalDep,
    camera_id: Annotated[str, PathParam(pattern=CAMERA_ID)],
) -> Response:
    """La dernière image analysée de la caméra (JPEG)."""
    cam = _camera(runtime, principal, camera_id)
    assert cam.last_frame is not None
    _audit_view(request, principal, camera_id)
    return Response(
        encode_jpeg(cam.last_frame.image, 80),
        media_type="image/jpeg",
        headers={"Cache-Control": "no-store", "X-Veilleur-Frame": str(cam.last_frame.index)},
    )


def overlay_of(camera_id: str, cam: CameraAnalysis) -> Overlay:
    f = cam.last_frame
    assert f is not None
    d = cam.last_detections
    dets = []
    for xyxy, cid, tid, conf in zip(d.xyxy, d.class_id, d.tracker_id, d.confidence, strict=True):
        name = CLASSES[int(cid)] if 0 <= int(cid) < len(CLASSES) else str(int(cid))
        dets.append(
            LiveDetection(
                box=[round(float(v), 1) for v in xyxy],
                class_name=name,
                label_fr=CLASS_LABELS_FR.get(name, name),
                track_id=int(tid) if int(tid) >= 0 else None,
                confidence=round(float(conf), 3),
            )
        )
    people = d[d.class_id == CLASSES.index("person")] if len(d) else d
    feet = people.foot_points() / np.array([f.width, f.height]) if len(people) else None
    zones, counts = [], {}
    for z in cam.camera.zones:
        pts = [[float(p[0]), float(p[1])] for p in z.points]
        zones.append(LiveZone(id=z.id, kind=z.kind, points=pts))
        if z.kind == "polygon":
            n = 0 if feet is None else np.count_nonzero(points_in_polygon(feet, np.array(pts)))
            counts[z.id] = int(n)
    return Overlay(
        camera_id=camera_id,
        t=round(f.t, 3),
        frame_index=f.index,
        analysed_utc=cam.last_analysed_utc,
        width=f.width,
        height=f.height,
        detections=dets,
        zones=zones,
        counts=counts,
    )


@router.get("/{camera_id}/overlay", response_model=Overlay, **guard(Permission.STREAMS_VIEW))
def overlay(
    request: Request,
    runtime: LiveRuntimeDep,
    principal: PrincipalDep,
    camera_id: Annotated[str, PathParam(pattern=CAMERA_ID)],
) -> Overlay:
    """Ce que le moteur a vu sur la dernière image : boîtes, pistes, zones, comptages."""
    return overlay_of(camera_id, _camera(runtime, principal, camera_id))
