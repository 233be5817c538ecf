"""Operations for administrators: metrics, application logs, configuration backups,
retention, licences (EX-023, EX-024, EX-030, EX-031, EX-034, EX-043, EX-044)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from pydantic import BaseModel

from veilleur.runtime.api.deps import JournalDep, RuntimeDep
from veilleur.runtime.api.options import ServiceOptions
from veilleur.runtime.api.routers.journal import download
from veilleur.runtime.api.security import PrincipalDep, guard, security_of, set_audit_details
from veilleur.runtime.auth.roles import Permission
from veilleur.runtime.config import ConfigError, load_site_config
from veilleur.runtime.journal.export import ColType, write_records
from veilleur.runtime.journal.retention import RetentionPolicy, load_policy, purge
from veilleur.runtime.ops.applog import read_app_logs
from veilleur.runtime.ops.backup import (
    BackupError,
    create_backup,
    list_backups,
    restore_backup,
    verify_backup,
)
from veilleur.runtime.ops.metrics import render_metrics
from veilleur.runtime.pipeline import LiveRuntime

router = APIRouter(prefix="/api/v1", tags=["exploitation"])

BACKUP_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.tar\.gz$"


def options_of(request: Request) -> ServiceOptions:
    opts: ServiceOptions = request.app.state.options
    return opts


def _needs(value: Path | None, what: str) -> Path:
    if value is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"{what} : non configuré pour ce service (voir veilleur serve)",
        )
    return value


@router.get("/metrics", response_class=Response, **guard(Permission.METRICS_READ))
def metrics(request: Request, journal: JournalDep, runtime: RuntimeDep) -> Response:
    """Métriques au format Prometheus (ou OpenMetrics selon l'en-tête Accept)."""
    body, ctype = render_metrics(
        journal,
        runtime,
        accept=request.headers.get("accept"),
        data_dirs=options_of(request).data_dirs,
    )
    return Response(body, media_type=ctype)


LOG_COLUMNS: tuple[tuple[str, ColType], ...] = (
    ("ts", "str"),
    ("level", "str"),
    ("incident", "str"),
    ("logger", "str"),
    ("camera", "str"),
    ("component", "str"),
    ("rule", "str"),
    ("actor", "str"),
    ("message", "str"),
    ("exception", "str"),
)


@router.get("/logs", **guard(Permission.AUDIT_READ, audit="read"))
def logs(
    request: Request,
    level: Annotated[str, Query(max_length=16)] = "WARNING",
    since: datetime | None = None,
    until: datetime | None = None,
    camera: Annotated[str | None, Query(max_length=64)] = None,
    incident: Annotated[Literal["critique", "majeur", "mineur"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 500,
    format: Annotated[
        Literal["csv", "jsonl", "json", "parquet", "feather", "xlsx"] | None,
        Query(description="Fichier à télécharger dans ce format (par défaut : liste JSON)."),
    ] = None,
) -> Any:
    """Journaux applicatifs (incidents majeurs et critiques par défaut), les plus anciens
    d'abord, pour les administrateurs (EX-023, EX-024) ; exportables dans les formats du
    journal."""
    path = _needs(options_of(request).log_file, "journal applicatif")
    try:
        records = read_app_logs(
            path, level, since, limit, until=until, camera=camera, incident=incident
        )
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    if format is None:
        return records
    set_audit_details(request, export="logs", format=format, rows=len(records))
    request.state.audit = "export"
    return download(
        lambda out: write_records(out, records, LOG_COLUMNS, format),
        format,
        "journal-applicatif",
    )


# --- configuration backups ---------------------------------------------------------------


class BackupIn(BaseModel):
    note: str = ""


@router.get("/config/backups", **guard(Permission.BACKUP_MANAGE))
def backups(request: Request) -> list[dict[str, Any]]:
    """Sauvegardes de configuration, les plus récentes d'abord."""
    folder = _needs(options_of(request).backup_dir, "dossier des sauvegardes")
    if not folder.exists():
        return []  # no backup made yet
    try:
        infos = list_backups(folder)
    except BackupError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    out = []
    for info in infos:
        d = info.to_dict()
        d["name"] = Path(info.path).name
        out.append(d)
    return out


@router.post(
    "/config/backups",
    status_code=status.HTTP_201_CREATED,
    **guard(Permission.BACKUP_MANAGE, audit="admin"),
)
def backup_now(body: BackupIn, request: Request, principal: PrincipalDep) -> dict[str, Any]:
    """Sauvegarde manuelle de la configuration du site (EX-030)."""
    opts = options_of(request)
    folder = _needs(opts.backup_dir, "dossier des sauvegardes")
    config = _needs(opts.config_path, "fichier de configuration")
    try:
        info = create_backup(config, folder, note=body.note[:500], actor=principal.login)
    except BackupError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    set_audit_details(request, operation="backup", archive=Path(info.path).name)
    return {**info.to_dict(), "name": Path(info.path).name}


def _archive(request: Request, name: str) -> Path:
    folder = _needs(options_of(request).backup_dir, "dossier des sauvegardes")
    path = folder / name  # the name is a plain file name (pattern): no traversal
    if not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"sauvegarde inconnue : {name!r}")
    return path


@router.get("/config/backups/{name}/verify", **guard(Permission.BACKUP_MANAGE))
def verify_one(
    request: Request, name: Annotated[str, PathParam(pattern=BACKUP_NAME)]
) -> dict[str, Any]:
    """Vérifie les empreintes d'une sauvegarde."""
    return verify_backup(_archive(request, name)).to_dict()


@router.post("/config/backups/{name}/restore", **guard(Permission.BACKUP_MANAGE, audit="admin"))
def restore(
    request: Request,
    name: Annotated[str, PathParam(pattern=BACKUP_NAME)],
    runtime: RuntimeDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """Restaure une sauvegarde (EX-031) puis applique la configuration au moteur en marche,
    sans relancer les flux qu'elle ne change pas. Refusée, elle n'écrit rien."""
    opts = options_of(request)
    config = _needs(opts.config_path, "fichier de configuration")
    set_audit_details(request, operation="restore", archive=name)
    try:
        report = restore_backup(_archive(request, name), config)
    except BackupError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    out = report.to_dict()
    if runtime is not None:
        out["applied"] = apply_site_file(runtime, config, principal.login)
    return out


def apply_site_file(runtime: LiveRuntime, config: Path, actor: str) -> dict[str, Any]:
    """Load the site file and apply it to the running engine; what changed."""
    try:
        site = load_site_config(config)
    except ConfigError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    change = runtime.apply_config(site, actor)
    return {
        "config_version": runtime.engine.config_version,
        "added": change.added,
        "removed": change.removed,
        "changed": change.changed,
    }


# --- retention -------------------------------------------------------------------------


@router.get("/retention", response_model=RetentionPolicy, **guard(Permission.RETENTION_MANAGE))
def get_retention(request: Request) -> RetentionPolicy:
    """Durées de conservation en jours par type (null : conservé sans limite)."""
    path = _needs(options_of(request).retention_file, "fichier des durées de conservation")
    if not path.exists():
        return RetentionPolicy()
    try:
        return load_policy(path)
    except ConfigError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.put(
    "/retention",
    response_model=RetentionPolicy,
    **guard(Permission.RETENTION_MANAGE, audit="admin"),
)
def put_retention(body: RetentionPolicy, request: Request) -> RetentionPolicy:
    """Fixe les durées de conservation (EX-043, EX-044) ; la purge les applique."""
    path = _needs(options_of(request).retention_file, "fichier des durées de conservation")
    set_audit_details(request, operation="retention", **body.model_dump())
    tmp = path.with_suffix(path.suffix + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(yaml.safe_dump(body.model_dump(), sort_keys=False), encoding="utf-8")
    tmp.replace(path)
    return body


@router.post("/retention/purge", **guard(Permission.RETENTION_MANAGE, audit="admin"))
def purge_now(request: Request, journal: JournalDep, principal: PrincipalDep) -> dict[str, Any]:
    """Applique maintenant les durées de conservation au journal des alertes et à l'audit ;
    chaque purge est elle-même une entrée du journal concerné."""
    policy = get_retention(request)
    now = datetime.now(UTC)
    opts = options_of(request)
    audit_journal = security_of(request).audit.journal
    try:
        j = purge(journal, policy, now, principal.login, snapshot_dir=opts.snapshot_dir)
        a = purge(audit_journal, policy, now, principal.login)
    except ValueError as exc:  # a concurrent purge: try again
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    result = {"journal": j.counts, "audit": a.counts, "snapshot_errors": j.snapshot_errors}
    set_audit_details(request, operation="purge", **result)
    return result


# --- licences ----------------------------------------------------------------------------


class Licences(BaseModel):
    max_streams: int | None
    active_streams: int
    cameras_enabled: int


def active_streams(runtime: LiveRuntime | None) -> tuple[int, int]:
    """(streams analysed now, cameras enabled): a licence counts active streams only."""
    if runtime is None:
        return 0, 0
    state = runtime.engine.state()
    enabled = {k for k, c in state["cameras"].items() if c["enabled"]}
    active = sum(
        1
        for cid, w in runtime.workers.items()
        if cid in enabled and w.status.connected and not state["analysis_stopped"]
    )
    return active, len(enabled)


@router.get("/licences", response_model=Licences, **guard(Permission.SYSTEM_READ))
def licences(request: Request, runtime: RuntimeDep) -> Licences:
    """Licences flottantes : flux analysés en ce moment sur le nombre permis (EX-034)."""
    active, enabled = active_streams(runtime)
    return Licences(
        max_streams=options_of(request).licence_streams,
        active_streams=active,
        cameras_enabled=enabled,
    )
