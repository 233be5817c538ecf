"""Run-time control: the global stop of the analysis (EX-046), camera and rule switches
(EX-021). Each action is journaled (kind ``control``) by the engine and audited here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from veilleur.runtime.api.deps import LiveRuntimeDep, RuntimeDep
from veilleur.runtime.api.routers.site import check_licence
from veilleur.runtime.api.security import (
    PrincipalDep,
    guard,
    require_camera,
    set_audit_details,
)
from veilleur.runtime.auth.roles import Permission
from veilleur.runtime.auth.store import Principal
from veilleur.runtime.pipeline import LiveRuntime

router = APIRouter(prefix="/api/v1/control", tags=["contrôle"])


class StopIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=500)


class SwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool


class ControlState(BaseModel):
    analysis_stopped: bool
    config_version: str | None
    cameras: dict[str, dict[str, Any]]


def _state(runtime: LiveRuntime | None, principal: Principal) -> ControlState:
    if runtime is None:
        return ControlState(analysis_stopped=True, config_version=None, cameras={})
    st = runtime.engine.state()
    cams = {k: v for k, v in st["cameras"].items() if principal.sees(k)}
    return ControlState(
        analysis_stopped=st["analysis_stopped"], config_version=st["config_version"], cameras=cams
    )


@router.get("/state", response_model=ControlState, **guard(Permission.SYSTEM_READ))
def state(runtime: RuntimeDep, principal: PrincipalDep) -> ControlState:
    """État de l'analyse : arrêt global, caméras actives, règles dégradées."""
    return _state(runtime, principal)


@router.post("/stop", response_model=ControlState, **guard(Permission.ANALYSIS_CONTROL))
def stop(
    body: StopIn,
    request: Request,
    runtime: LiveRuntimeDep,
    principal: PrincipalDep,
) -> ControlState:
    """Arrêt global de l'analyse : plus aucune image n'est analysée, sur aucune caméra,
    jusqu'à la reprise. Les flux restent ouverts."""
    set_audit_details(request, control="analysis_stopped", reason=body.reason)
    runtime.engine.stop_analysis(principal.login, body.reason)
    return _state(runtime, principal)


@router.post("/resume", response_model=ControlState, **guard(Permission.ANALYSIS_CONTROL))
def resume(
    request: Request,
    runtime: LiveRuntimeDep,
    principal: PrincipalDep,
) -> ControlState:
    """Reprise de l'analyse après un arrêt global."""
    set_audit_details(request, control="analysis_resumed")
    runtime.engine.resume_analysis(principal.login)
    return _state(runtime, principal)


@router.put("/cameras/{camera_id}", response_model=ControlState, **guard(Permission.CAMERAS_MANAGE))
def switch_camera(
    camera_id: str,
    body: SwitchIn,
    request: Request,
    runtime: LiveRuntimeDep,
    principal: PrincipalDep,
) -> ControlState:
    """Active ou désactive l'analyse d'une caméra."""
    require_camera(principal, camera_id)
    request.state.audit_camera = camera_id
    set_audit_details(request, control="camera", enabled=body.enabled)
    if body.enabled:
        enabled = {k for k, c in runtime.engine.state()["cameras"].items() if c["enabled"]}
        check_licence(request, len(enabled | {camera_id}))
    try:
        runtime.engine.set_camera_enabled(camera_id, body.enabled, principal.login)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"caméra inconnue : {camera_id!r}") from None
    return _state(runtime, principal)


@router.put(
    "/cameras/{camera_id}/rules/{rule_id}",
    response_model=ControlState,
    **guard(Permission.RULES_WRITE),
)
def switch_rule(
    camera_id: str,
    rule_id: str,
    body: SwitchIn,
    request: Request,
    runtime: LiveRuntimeDep,
    principal: PrincipalDep,
) -> ControlState:
    """Active ou désactive une règle sur une caméra, en un clic (EX-021)."""
    require_camera(principal, camera_id)
    request.state.audit_camera = camera_id
    set_audit_details(request, control="rule", rule_id=rule_id, enabled=body.enabled)
    try:
        runtime.engine.set_rule_enabled(camera_id, rule_id, body.enabled, principal.login)
    except KeyError:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"règle ou caméra inconnue : {rule_id!r} sur {camera_id!r}",
        ) from None
    return _state(runtime, principal)
