"""FastAPI application factory of the runtime service."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Query
from pydantic import BaseModel

from veilleur.runtime import ENGINE_VERSION
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.pipeline import LiveRuntime

Level = Literal["vert", "jaune", "rouge"]


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


class AlertOut(BaseModel):
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
    zone: str | None
    config_version: str
    model_sha256: str
    engine_version: str
    severity: str = "medium"


class AlertPage(BaseModel):
    total: int
    items: list[AlertOut]


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    first_broken_seq: int | None
    reason: str | None


_ORDER: dict[Level, int] = {"vert": 0, "jaune": 1, "rouge": 2}


def _health(journal: Journal, runtime: LiveRuntime | None, started: float) -> Health:
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


def create_app(journal: Journal, runtime: LiveRuntime | None = None) -> FastAPI:
    """Build the service. ``runtime`` is started with the app and stopped with it."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            runtime.start()
        try:
            yield
        finally:
            if runtime is not None:
                runtime.stop()

    app = FastAPI(
        title="Veilleur — service d'exécution",
        version=ENGINE_VERSION,
        lifespan=lifespan,
        description="Détection des huit événements prédéterminés ; signalements uniquement.",
    )
    started = time.monotonic()

    @app.get("/api/v1/health", response_model=Health, tags=["supervision"])
    def health() -> Health:
        """État de chaque composant (vert / jaune / rouge), EX-025."""
        return _health(journal, runtime, started)

    @app.get("/api/v1/alerts", response_model=AlertPage, tags=["alertes"])
    def alerts(
        camera_id: str | None = None,
        event: str | None = None,
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        """Alertes journalisées, les plus récentes d'abord."""
        items = journal.list("alert", camera_id, event, limit, offset)
        return {"total": journal.count("alert"), "items": items}

    @app.get("/api/v1/journal/verify", response_model=VerifyOut, tags=["journal"])
    def verify() -> VerifyOut:
        """Vérifie la chaîne de hachage du journal et signale le premier maillon rompu."""
        r = journal.verify()
        return VerifyOut(
            ok=r.ok, entries=r.entries, first_broken_seq=r.first_broken_seq, reason=r.reason
        )

    return app
