"""Shared state of the service (on ``app.state``) as FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.pipeline import LiveRuntime


def journal_of(request: Request) -> Journal:
    j: Journal = request.app.state.journal
    return j


def runtime_of(request: Request) -> LiveRuntime | None:
    r: LiveRuntime | None = request.app.state.runtime
    return r


def live_runtime(request: Request) -> LiveRuntime:
    """The running engine, or 409 when the service runs without one (journal-only mode)."""
    r = runtime_of(request)
    if r is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "aucun moteur d'analyse dans ce service (mode journal seul)"
        )
    return r


JournalDep = Annotated[Journal, Depends(journal_of)]
RuntimeDep = Annotated[LiveRuntime | None, Depends(runtime_of)]
LiveRuntimeDep = Annotated[LiveRuntime, Depends(live_runtime)]
