"""FastAPI application factory of the runtime service.

Every route lives in a router under ``api/routers`` and declares its permission
(``api/security.py``); every request that reads alerts or video, changes anything, exports or
administers is audited. Bodies over 1 MiB are refused (413).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from veilleur.runtime import ENGINE_VERSION
from veilleur.runtime.api import errors
from veilleur.runtime.api.limits import DEFAULT_MAX_BODY, BodySizeLimit
from veilleur.runtime.api.options import ServiceOptions
from veilleur.runtime.api.routers import (
    admin,
    alerts,
    audit,
    auth,
    control,
    journal,
    live,
    ops,
    site,
    system,
)
from veilleur.runtime.api.security import Security, audit_middleware
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.pipeline import LiveRuntime
from veilleur.runtime.ui.routes import router as ui_router

ROUTERS = (system, auth, alerts, live, journal, control, site, ops, audit, admin)


def create_app(
    journal: Journal,
    runtime: LiveRuntime | None = None,
    *,
    security: Security,
    options: ServiceOptions | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
) -> FastAPI:
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
        description=(
            "Détection des huit événements prédéterminés ; signalements uniquement. "
            "Authentification : `POST /api/v1/auth/login` puis `Authorization: Bearer <jeton>` "
            "(ou le cookie de session) ; accès machine par jeton `vt_…` (EX-015)."
        ),
    )
    app.state.journal = journal
    app.state.runtime = runtime
    app.state.security = security
    app.state.options = options or ServiceOptions()
    app.state.started = time.monotonic()
    for module in ROUTERS:
        app.include_router(module.router)
    app.include_router(ui_router)  # the operator interface, /ui/ (outside the OpenAPI)
    errors.install(app)
    app.middleware("http")(audit_middleware)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    return app
