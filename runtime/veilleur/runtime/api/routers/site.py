"""The site configuration through the API: read it, change zones, lines, thresholds and rules,
add or remove cameras (EX-033, EX-036 … EX-038), and test a configuration on a recorded clip
before applying it (EX-037).

A change is validated whole (the same schema and messages as the YAML file), the previous
file is backed up when a backup folder is set, the new file is written atomically, then applied
to the running engine: streams of cameras it does not touch keep running. Who may change what:
rules and zones need ``rules:write`` on every camera they touch; adding or removing a camera,
or changing its source, needs ``cameras:manage``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Body, HTTPException, Request, status
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from veilleur.runtime.api.deps import LiveRuntimeDep, RuntimeDep
from veilleur.runtime.api.errors import french_message
from veilleur.runtime.api.routers.ops import options_of
from veilleur.runtime.api.security import PrincipalDep, guard, set_audit_details
from veilleur.runtime.auth.roles import Permission
from veilleur.runtime.auth.store import Principal
from veilleur.runtime.config import ConfigError, SiteConfig, load_site_config, parse_site_config
from veilleur.runtime.engine import Engine, replay
from veilleur.runtime.ingest.video import SourceError
from veilleur.runtime.ops.backup import BackupError, create_backup
from veilleur.runtime.pipeline import LiveRuntime

router = APIRouter(prefix="/api/v1", tags=["configuration"])
_write_lock = threading.Lock()
CAMERA_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class ConfigOut(BaseModel):
    config_version: str
    site: dict[str, Any]


class ConfigChangeOut(BaseModel):
    config_version: str
    added: list[str]
    removed: list[str]
    changed: list[str]
    backup: str | None = None


class TestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    camera_id: str = Field(..., pattern=CAMERA_ID)
    clip: str = Field(
        ...,
        max_length=255,
        description="Fichier vidéo enregistré, relatif au dossier de la configuration du site.",
    )
    site: dict[str, Any] | None = Field(
        None, description="Configuration à essayer (par défaut : celle en service)."
    )


class TestOut(BaseModel):
    camera_id: str
    clip: str
    config_version: str
    alerts: list[dict[str, Any]]


def _current(request: Request, runtime: LiveRuntime | None) -> SiteConfig:
    if runtime is not None:
        return runtime.engine.config
    path = options_of(request).config_path
    if path is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "aucune configuration de site en service")
    try:
        return load_site_config(path)
    except ConfigError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


def _parse(doc: Any) -> SiteConfig:
    try:
        return parse_site_config(doc, "configuration envoyée")
    except ConfigError as exc:
        if not exc.errors:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', ())) or 'configuration'} : {french_message(e)}"
            for e in exc.errors[:20]
        ]
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"configuration refusée ({len(exc.errors)} erreur(s)) : " + " ; ".join(parts),
        ) from None


def _authorise(principal: Principal, old: SiteConfig, new: SiteConfig) -> dict[str, list[str]]:
    """What the change does per camera; 403 when the principal may not do part of it."""
    before = {c.id: c for c in old.cameras}
    after = {c.id: c for c in new.cameras}
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    changed = sorted(k for k in after.keys() & before.keys() if after[k] != before[k])
    moved = [k for k in changed if after[k].source != before[k].source]
    if (added or removed or moved or old.model != new.model) and not principal.can(
        Permission.CAMERAS_MANAGE
    ):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "ajouter, retirer une caméra, changer sa source ou le modèle demande le droit "
            "« cameras:manage » (administrateur technique)",
        )
    if old.site != new.site and not principal.can(Permission.CAMERAS_MANAGE):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "les informations du site sont réservées")
    for cid in added + removed + changed:
        if not principal.sees(cid):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"caméra hors de votre profil : {cid!r}")
    return {"added": added, "removed": removed, "changed": changed}


def _write_and_apply(
    request: Request, runtime: LiveRuntime | None, new: SiteConfig, actor: str
) -> ConfigChangeOut:
    opts = options_of(request)
    path = opts.config_path
    if path is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "aucun fichier de configuration en service")
    backup_name = None
    if opts.backup_dir is not None and path.exists():
        try:
            info = create_backup(path, opts.backup_dir, note="avant modification", actor=actor)
            backup_name = Path(info.path).name
        except BackupError as exc:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"sauvegarde préalable impossible, rien n'est modifié : {exc}",
            ) from None
    doc = new.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    tmp.replace(path)
    if runtime is not None:
        change = runtime.apply_config(new, actor)
        return ConfigChangeOut(
            config_version=runtime.engine.config_version,
            added=change.added,
            removed=change.removed,
            changed=change.changed,
            backup=backup_name,
        )
    return ConfigChangeOut(
        config_version=new.digest(), added=[], removed=[], changed=[], backup=backup_name
    )


def check_licence(request: Request, enabled: int) -> None:
    """409 when more cameras would be analysed at once than the licence allows (EX-034)."""
    limit = options_of(request).licence_streams
    if limit is not None and enabled > limit:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"licence : {enabled} caméras actives demandées pour {limit} flux permis ; "
            "désactivez une caméra d'abord",
        )


def _change(
    request: Request, runtime: LiveRuntime | None, principal: Principal, new: SiteConfig
) -> ConfigChangeOut:
    with _write_lock:
        old = _current(request, runtime)
        diff = _authorise(principal, old, new)
        check_licence(request, sum(c.enabled for c in new.cameras))
        set_audit_details(request, previous_config_version=old.digest(), **diff)
        out = _write_and_apply(request, runtime, new, principal.login)
        set_audit_details(request, new_config_version=out.config_version)
        return out


@router.get("/config", response_model=ConfigOut, **guard(Permission.CONFIG_READ))
def get_config(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> ConfigOut:
    """La configuration du site en service, limitée aux caméras du profil."""
    site = _current(request, runtime)
    doc = site.model_dump(mode="json", by_alias=True)
    doc["cameras"] = [c for c in doc["cameras"] if principal.sees(c["id"])]
    return ConfigOut(config_version=site.digest(), site=doc)


@router.put("/config", response_model=ConfigChangeOut, **guard(Permission.RULES_WRITE))
def put_config(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    site: Annotated[dict[str, Any], Body(description="La configuration complète du site.")],
) -> ConfigChangeOut:
    """Remplace la configuration du site (validée entière, sauvegardée, appliquée sans
    relancer les flux inchangés)."""
    return _change(request, runtime, principal, _parse(site))


@router.post(
    "/cameras",
    response_model=ConfigChangeOut,
    status_code=status.HTTP_201_CREATED,
    **guard(Permission.CAMERAS_MANAGE),
)
def add_camera(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    camera: Annotated[dict[str, Any], Body(description="La caméra (id, source, zones, règles).")],
) -> ConfigChangeOut:
    """Ajoute une caméra ou un fichier vidéo (EX-033, EX-035)."""
    current = _current(request, runtime)
    doc = current.model_dump(mode="json", by_alias=True)
    if any(c["id"] == camera.get("id") for c in doc["cameras"]):
        raise HTTPException(status.HTTP_409_CONFLICT, f"la caméra {camera.get('id')!r} existe déjà")
    doc["cameras"].append(camera)
    request.state.audit_camera = str(camera.get("id"))[:64]
    return _change(request, runtime, principal, _parse(doc))


@router.delete(
    "/cameras/{camera_id}", response_model=ConfigChangeOut, **guard(Permission.CAMERAS_MANAGE)
)
def remove_camera(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    camera_id: Annotated[str, PathParam(pattern=CAMERA_ID)],
) -> ConfigChangeOut:
    """Retire une caméra (son analyse s'arrête ; son journal reste)."""
    doc = _current(request, runtime).model_dump(mode="json", by_alias=True)
    kept = [c for c in doc["cameras"] if c["id"] != camera_id]
    if len(kept) == len(doc["cameras"]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"caméra inconnue : {camera_id!r}")
    if not kept:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "un site garde au moins une caméra ; désactivez-la plutôt"
        )
    doc["cameras"] = kept
    request.state.audit_camera = camera_id
    return _change(request, runtime, principal, _parse(doc))


def _clip_path(request: Request, clip: str) -> Path:
    """The clip, inside the configuration's folder only (no traversal, no absolute path)."""
    base = options_of(request).config_path
    if base is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "aucun dossier de configuration en service")
    root = base.resolve().parent
    candidate = (root / clip).resolve()
    if Path(clip).is_absolute() or not candidate.is_relative_to(root):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "le clip doit être un fichier du dossier de la configuration (chemin relatif)",
        )
    if not candidate.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"clip introuvable : {clip!r}")
    return candidate


@router.post("/config/test", response_model=TestOut, **guard(Permission.RULES_WRITE))
def test_config(
    body: TestIn, request: Request, runtime: LiveRuntimeDep, principal: PrincipalDep
) -> TestOut:
    """Essaie une configuration sur un clip enregistré et dit ce qu'elle aurait signalé
    (EX-037). Rien n'est journalisé ni appliqué."""
    if not principal.sees(body.camera_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"caméra hors de votre profil : {body.camera_id!r}"
        )
    site = _parse(body.site) if body.site is not None else runtime.engine.config
    try:
        site.camera(body.camera_id)
    except KeyError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"caméra inconnue : {body.camera_id!r}"
        ) from None
    clip = _clip_path(request, body.clip)
    set_audit_details(request, camera_id=body.camera_id, clip=body.clip)
    # the deployed detector, a fresh engine without journal: the test leaves no trace there
    engine = Engine(site, runtime.engine.detector, runtime.engine.model_sha256)
    try:
        alerts = replay(engine, clip, body.camera_id)
    except SourceError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return TestOut(
        camera_id=body.camera_id,
        clip=body.clip,
        config_version=site.digest(),
        alerts=[a.to_dict() for a in alerts],
    )
