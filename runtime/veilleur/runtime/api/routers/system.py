"""Supervision routes: liveness, component health (EX-025)."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from veilleur.runtime import ENGINE_VERSION
from veilleur.runtime.api.deps import JournalDep, RuntimeDep
from veilleur.runtime.api.options import ServiceOptions
from veilleur.runtime.api.security import guard, public
from veilleur.runtime.auth.roles import Permission
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.ops import Level
from veilleur.runtime.ops.clock import ClockStatus, clock_status
from veilleur.runtime.ops.disk import disk_status
from veilleur.runtime.pipeline import LiveRuntime

router = APIRouter(prefix="/api/v1", tags=["supervision"])


class ComponentHealth(BaseModel):
    name: str
    level: Level
    reason: str


class Health(BaseModel):
    status: Level
    engine_version: str
    config_version: str | None
    model_sha256: str | None
    analysis_running: bool
    uptime_s: float
    components: list[ComponentHealth]


_ORDER: dict[Level, int] = {"vert": 0, "jaune": 1, "rouge": 2}


_CLOCK_TTL_S = 30.0
_clock_cache: list[tuple[float, ClockStatus]] = []


def _clock() -> ClockStatus:
    """The clock state, read at most every 30 s (``timedatectl`` may take a moment)."""
    now = time.monotonic()
    if not _clock_cache or now - _clock_cache[0][0] > _CLOCK_TTL_S:
        _clock_cache[:] = [(now, clock_status())]
    return _clock_cache[0][1]


def detector_health(runtime: LiveRuntime) -> ComponentHealth:
    """The detector: its model and execution providers; yellow after failed batches, red when
    the pipeline should run and does not."""
    engine = runtime.engine
    session = getattr(engine.detector, "session", None)
    providers = session.get_providers() if session is not None else []
    where = ", ".join(p.removesuffix("ExecutionProvider") for p in providers) or "?"
    reason = f"modèle {engine.model_sha256[:12]}…, exécution {where}"
    failed = runtime.failed_batches
    sources_left = any(not w.finished for w in runtime.workers.values())
    if runtime.pipeline is not None and not runtime.pipeline.running and sources_left:
        return ComponentHealth(
            name="detecteur",
            level="rouge",
            reason="détection et analyse arrêtées : voir le journal",
        )
    if failed:
        reason += f" ; {failed} lot(s) en échec depuis le démarrage (voir le journal applicatif)"
        return ComponentHealth(name="detecteur", level="jaune", reason=reason)
    return ComponentHealth(name="detecteur", level="vert", reason=reason)


def component_health(
    journal: Journal,
    runtime: LiveRuntime | None,
    started: float,
    options: ServiceOptions | None = None,
) -> Health:
    comps: list[ComponentHealth] = []
    try:
        journal.count()
        comps.append(ComponentHealth(name="journal", level="vert", reason="accessible"))
    except Exception as exc:  # any database failure turns the journal red
        comps.append(ComponentHealth(name="journal", level="rouge", reason=str(exc)))
    if runtime is not None:
        for cid, w in runtime.workers.items():
            if w.status.connected:
                reason = "flux reçu"
                if w.status.outages:
                    reason += f" ; {w.status.outages} coupure(s) depuis le démarrage"
                if w.status.decode_errors:
                    reason += f" ; {w.status.decode_errors} paquet(s) illisible(s) ignoré(s)"
                comps.append(ComponentHealth(name=f"camera:{cid}", level="vert", reason=reason))
            elif w.finished and w.status.last_error is None:
                comps.append(
                    ComponentHealth(name=f"camera:{cid}", level="jaune", reason="fichier terminé")
                )
            else:
                reason = w.status.last_error or "flux non connecté"
                comps.append(ComponentHealth(name=f"camera:{cid}", level="rouge", reason=reason))
        comps.append(detector_health(runtime))
        state = runtime.engine.state()
        if state["analysis_stopped"]:
            comps.append(
                ComponentHealth(
                    name="analyse", level="jaune", reason="Analyse arrêtée (arrêt global)"
                )
            )
        for cid, cam in state["cameras"].items():
            if not cam["enabled"]:
                comps.append(
                    ComponentHealth(
                        name=f"analyse:{cid}", level="jaune", reason="caméra désactivée"
                    )
                )
            if not cam["view_ok"]:
                reason = cam["view_reason"] or "vue modifiée"
                comps.append(
                    ComponentHealth(
                        name=f"vue:{cid}",
                        level="jaune",
                        reason=f"{reason} ; règles de zone suspendues",
                    )
                )
            for rule_id, why in cam["degraded_rules"].items():
                comps.append(
                    ComponentHealth(name=f"regle:{cid}:{rule_id}", level="jaune", reason=why)
                )
    if options is not None:
        if options.watch_clock:
            clock = _clock()
            comps.append(ComponentHealth(name="horloge", level=clock.level, reason=clock.reason))
        for folder in options.data_dirs:
            disk = disk_status(folder)
            comps.append(
                ComponentHealth(name=f"disque:{folder}", level=disk.level, reason=disk.reason)
            )
    worst: Level = max((c.level for c in comps), key=_ORDER.__getitem__, default="vert")
    engine = runtime.engine if runtime is not None else None
    return Health(
        status=worst,
        engine_version=ENGINE_VERSION,
        config_version=engine.config_version if engine else None,
        model_sha256=engine.model_sha256 if engine else None,
        analysis_running=runtime.running if runtime is not None else False,
        uptime_s=round(time.monotonic() - started, 1),
        components=comps,
    )


class Liveness(BaseModel):
    status: Literal["ok"]


@router.get("/livez", response_model=Liveness, **public())
def livez() -> Liveness:
    """Le processus répond (sonde de vie pour systemd ou un répartiteur) ; ne dit rien d'autre."""
    return Liveness(status="ok")


@router.get("/health", response_model=Health, **guard(Permission.SYSTEM_READ))
def health(
    request: Request,
    journal: JournalDep,
    runtime: RuntimeDep,
) -> Health:
    """État de chaque composant (vert / jaune / rouge) avec sa raison, EX-025."""
    return component_health(journal, runtime, request.app.state.started, request.app.state.options)
