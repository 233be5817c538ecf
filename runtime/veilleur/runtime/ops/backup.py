"""Configuration backup and restore, manual and scheduled (EX-030, EX-031, EX-133).

A backup is one ``.tar.gz`` holding the site YAML, the configuration files it references
(class map file, deploy manifest, and any extra file given, such as a retention policy) and a
``manifest.json`` with the SHA-256 and size of every member, the configuration's version
(the digest journaled with every alert) and hash, the engine version and the UTC time.
Video files and the model are not copied: the model's SHA-256 is recorded instead, so a
restore can tell whether the model in place is the one the configuration was used with.

Layout of the archive::

    manifest.json
    config/site.yaml                 the site file (under its own name)
    config/maps/classes.yaml         referenced files, by their path relative to the site file
    external/1-retention.yaml        files outside the site folder (recorded, never restored)

Restoring verifies every sum, refuses members that are links, absolute paths or climb out
(``../``), validates the site YAML with :func:`parse_site_config` (migrating an older schema)
*before* anything is written, keeps each replaced file as a timestamped copy, then writes the
files atomically, the site file last.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import tarfile
import tempfile
import threading
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from veilleur.runtime import ENGINE_VERSION
from veilleur.runtime.config import (
    CONFIG_VERSION,
    ConfigError,
    SiteConfig,
    load_site_config,
    parse_site_config,
    resolve_path,
)

log = logging.getLogger(__name__)

FORMAT = "veilleur-config-backup/1"
MANIFEST_NAME = "manifest.json"
BACKUP_PREFIX = "veilleur-config-"
BACKUP_SUFFIX = ".tar.gz"
MAX_MEMBER_BYTES = 64 * 1024 * 1024
"""Largest file a backup may hold: configuration files are small; a bigger one is refused."""
MAX_TOTAL_BYTES = 256 * 1024 * 1024

_NAME_LOCK = threading.Lock()


class BackupError(Exception):
    """A backup that cannot be made, read or restored; the message (French) says why."""


@dataclass(frozen=True)
class BackupMember:
    """One file of a backup."""

    name: str
    """Path inside the archive (``config/…`` or ``external/…``)."""
    sha256: str
    size: int
    role: str
    """``site``, ``class_map``, ``deploy_manifest`` or ``extra``."""
    ref: str
    """The path as the configuration wrote it (relative to the site file), or the absolute
    original path of an external file."""


@dataclass(frozen=True)
class BackupInfo:
    """What the manifest of a backup says (``error`` set when the archive cannot be read)."""

    path: str
    size_bytes: int
    created_utc: str | None = None
    note: str = ""
    actor: str | None = None
    site_name: str | None = None
    config_file: str | None = None
    config_version: str | None = None
    config_hash: str | None = None
    config_schema_version: int | None = None
    engine_version: str | None = None
    model: dict[str, Any] | None = None
    members: list[BackupMember] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VerifyReport:
    """Result of :func:`verify_backup`: ``ok`` only when every check passed."""

    archive: str
    ok: bool
    problems: list[str]
    info: BackupInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "archive": self.archive,
            "ok": self.ok,
            "problems": self.problems,
            "info": None if self.info is None else self.info.to_dict(),
        }


@dataclass(frozen=True)
class RestoreReport:
    """What :func:`restore_backup` did."""

    archive: str
    config_path: str
    config_version: str
    restored: list[str]
    previous_copies: list[str]
    skipped: list[str]
    """External files recorded in the backup but not written (outside the site folder)."""
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- helpers -----------------------------------------------------------------------------------


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _stamp(t: datetime) -> str:
    """``20261128T184348.123Z``: sorts by time, safe in file names."""
    t = t.astimezone(UTC)
    return t.strftime("%Y%m%dT%H%M%S") + f".{t.microsecond // 1000:03d}Z"


def _inside(rel: str) -> bool:
    """Whether a path written in the config stays inside the site folder."""
    p = PurePosixPath(rel.replace("\\", "/"))
    return not p.is_absolute() and ".." not in p.parts and not re.match(r"^[A-Za-z]:", rel)


def _referenced(config_path: Path, site: SiteConfig) -> list[tuple[str, str]]:
    """(path as written, role) of the configuration files the site file references."""
    refs: list[tuple[str, str]] = []
    mc = site.model
    if mc is not None:
        if mc.class_map_file is not None:
            refs.append((str(mc.class_map_file), "class_map"))
        if mc.manifest is not None:
            refs.append((str(mc.manifest), "deploy_manifest"))
    return refs


def _model_record(config_path: Path, site: SiteConfig) -> dict[str, Any] | None:
    mc = site.model
    if mc is None:
        return None
    path = resolve_path(config_path, mc.path)
    actual = sha256_file(path) if path.is_file() else None
    return {
        "path": str(mc.path),
        "sha256": actual,
        "expected_sha256": mc.sha256,
        "present": actual is not None,
    }


def _atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable (power cut without a UPS, EX-027)
        dfd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# -- create ------------------------------------------------------------------------------------


def create_backup(
    config_path: Path | str,
    dest_dir: Path | str,
    *,
    note: str = "",
    actor: str | None = None,
    extra_files: Sequence[Path | str] = (),
    now: datetime | None = None,
) -> BackupInfo:
    """Back the site configuration up into ``dest_dir``; returns what was written.

    Raises:
        BackupError: the configuration is invalid, a referenced file is missing, or the
            archive cannot be written.
    """
    config_path = Path(config_path)
    try:
        site = load_site_config(config_path)
    except ConfigError as exc:
        raise BackupError(f"configuration invalide, sauvegarde refusée : {exc}") from None
    try:
        site_bytes = config_path.read_bytes()
    except OSError as exc:
        raise BackupError(f"{config_path} : lecture impossible ({exc.strerror})") from None

    files: list[tuple[BackupMember, bytes]] = []
    site_name = f"config/{config_path.name}"
    files.append(
        (
            BackupMember(site_name, _sha256(site_bytes), len(site_bytes), "site", config_path.name),
            site_bytes,
        )
    )
    refs = _referenced(config_path, site) + [(str(p), "extra") for p in extra_files]
    seen = {site_name}
    n_external = 0
    for ref, role in refs:
        source = resolve_path(config_path, ref) if role != "extra" else Path(ref)
        if role == "extra":
            try:
                rel = source.resolve().relative_to(config_path.parent.resolve()).as_posix()
            except ValueError:
                rel = None
        else:
            rel = PurePosixPath(ref.replace("\\", "/")).as_posix() if _inside(ref) else None
        if rel is not None:
            name = f"config/{rel}"
            recorded = rel
        else:
            n_external += 1
            name = f"external/{n_external}-{source.name}"
            recorded = str(source.resolve())
        if name in seen:
            continue
        try:
            data = source.read_bytes()
        except FileNotFoundError:
            raise BackupError(
                f"fichier référencé par la configuration introuvable : {source} ({role})"
            ) from None
        except OSError as exc:
            raise BackupError(f"{source} : lecture impossible ({exc.strerror})") from None
        if len(data) > MAX_MEMBER_BYTES:
            raise BackupError(
                f"{source} : fichier trop gros pour une sauvegarde de configuration "
                f"({len(data)} octets)"
            )
        seen.add(name)
        files.append((BackupMember(name, _sha256(data), len(data), role, recorded), data))

    created = now or _utc_now()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_utc": created.astimezone(UTC).isoformat(timespec="milliseconds"),
        "note": note,
        "actor": actor,
        "site_name": site.site.name,
        "config_file": site_name,
        "config_version": site.digest(),
        "config_hash": _sha256(site_bytes),
        "config_schema_version": CONFIG_VERSION,
        "engine_version": ENGINE_VERSION,
        "model": _model_record(config_path, site),
        "members": [asdict(m) for m, _ in files],
    }
    manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")

    dest = Path(dest_dir)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"{dest} : dossier de sauvegarde inutilisable ({exc.strerror})") from None
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        mtime = created.timestamp()
        for member, data in [*files, (None, manifest_bytes)]:
            ti = tarfile.TarInfo(member.name if member is not None else MANIFEST_NAME)
            ti.size = len(data)
            ti.mtime = int(mtime)
            ti.mode = 0o640
            tar.addfile(ti, io.BytesIO(data))
    with _NAME_LOCK:
        target = dest / f"{BACKUP_PREFIX}{_stamp(created)}{BACKUP_SUFFIX}"
        i = 1
        while target.exists():
            target = dest / f"{BACKUP_PREFIX}{_stamp(created)}-{i}{BACKUP_SUFFIX}"
            i += 1
        try:
            _atomic_write(target, buf.getvalue())
        except OSError as exc:
            raise BackupError(f"{target} : écriture impossible ({exc.strerror})") from None
    log.info("configuration backup written: %s", target)
    return _info(target, manifest, target.stat().st_size)


# -- read and verify ---------------------------------------------------------------------------


def _check_member_name(name: str) -> str | None:
    """Why a member name is unsafe, or None."""
    if not name or "\\" in name or "\x00" in name:
        return f"nom de fichier invalide dans l'archive : {name!r}"
    p = PurePosixPath(name)
    if p.is_absolute() or re.match(r"^[A-Za-z]:", name):
        return f"chemin absolu refusé dans l'archive : {name!r}"
    if ".." in p.parts:
        return f"chemin remontant hors du dossier (../) refusé dans l'archive : {name!r}"
    return None


def _read_archive(archive: Path) -> dict[str, bytes]:
    """Every regular file of the archive, by name, after the safety checks.

    Raises:
        BackupError: unreadable or corrupt archive, unsafe member (link, device, absolute path,
            ``../``), duplicate, oversized.
    """
    if not archive.is_file():
        raise BackupError(f"{archive} : sauvegarde introuvable")
    out: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for ti in tar:
                why = _check_member_name(ti.name)
                if why is not None:
                    raise BackupError(f"{archive} : {why}")
                if ti.isdir():
                    continue
                if ti.issym() or ti.islnk():
                    raise BackupError(
                        f"{archive} : lien refusé dans l'archive : {ti.name!r} → {ti.linkname!r}"
                    )
                if not ti.isfile():
                    raise BackupError(
                        f"{archive} : élément qui n'est pas un fichier ordinaire : {ti.name!r}"
                    )
                name = PurePosixPath(ti.name).as_posix()
                if name in out:
                    raise BackupError(f"{archive} : fichier en double dans l'archive : {name!r}")
                if ti.size > MAX_MEMBER_BYTES or total + ti.size > MAX_TOTAL_BYTES:
                    raise BackupError(f"{archive} : fichier trop gros dans l'archive : {name!r}")
                f = tar.extractfile(ti)
                if f is None:
                    raise BackupError(f"{archive} : fichier illisible dans l'archive : {name!r}")
                data = f.read()
                total += len(data)
                out[name] = data
    except BackupError:
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BackupError(f"{archive} : archive illisible ou corrompue ({exc})") from None
    return out


def _parse_manifest(archive: Path, files: dict[str, bytes]) -> dict[str, Any]:
    raw = files.get(MANIFEST_NAME)
    if raw is None:
        raise BackupError(f"{archive} : {MANIFEST_NAME} absent : ce n'est pas une sauvegarde")
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"{archive} : {MANIFEST_NAME} illisible ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(
            f"{archive} : format de sauvegarde inconnu "
            f"({manifest.get('format') if isinstance(manifest, dict) else None!r}, "
            f"attendu {FORMAT!r})"
        )
    members = manifest.get("members")
    if not isinstance(members, list) or not all(
        isinstance(m, dict)
        and all(isinstance(m.get(k), str) for k in ("name", "sha256", "role", "ref"))
        and isinstance(m.get("size"), int)
        for m in members
    ):
        raise BackupError(f"{archive} : {MANIFEST_NAME} sans liste de fichiers valide")
    return manifest


def _members(manifest: dict[str, Any]) -> list[BackupMember]:
    out = []
    for m in manifest.get("members", []):
        out.append(
            BackupMember(
                name=str(m.get("name", "")),
                sha256=str(m.get("sha256", "")),
                size=int(m.get("size", -1)),
                role=str(m.get("role", "")),
                ref=str(m.get("ref", "")),
            )
        )
    return out


def _info(path: Path, manifest: dict[str, Any], size: int) -> BackupInfo:
    schema = manifest.get("config_schema_version")
    model = manifest.get("model")
    return BackupInfo(
        path=str(path),
        size_bytes=size,
        created_utc=manifest.get("created_utc"),
        note=str(manifest.get("note") or ""),
        actor=manifest.get("actor"),
        site_name=manifest.get("site_name"),
        config_file=manifest.get("config_file"),
        config_version=manifest.get("config_version"),
        config_hash=manifest.get("config_hash"),
        config_schema_version=schema if isinstance(schema, int) else None,
        engine_version=manifest.get("engine_version"),
        model=model if isinstance(model, dict) else None,
        members=_members(manifest),
    )


def _check_contents(
    archive: Path, files: dict[str, bytes], manifest: dict[str, Any]
) -> tuple[list[str], SiteConfig | None]:
    """Problems with the sums, the member list and the site file; the parsed site if valid."""
    problems: list[str] = []
    members = _members(manifest)
    listed = set()
    for m in members:
        why = _check_member_name(m.name)
        if why is not None:
            problems.append(why)
            continue
        listed.add(m.name)
        data = files.get(m.name)
        if data is None:
            problems.append(f"fichier manquant dans l'archive : {m.name}")
            continue
        if len(data) != m.size or _sha256(data) != m.sha256:
            problems.append(
                f"empreinte SHA-256 incorrecte pour {m.name} : l'archive a été modifiée ou abîmée"
            )
        if m.name.startswith("config/") and (
            not _inside(m.ref) or m.name != f"config/{PurePosixPath(m.ref).as_posix()}"
        ):
            problems.append(f"chemin de restauration refusé pour {m.name} : {m.ref!r}")
    for name in sorted(set(files) - listed - {MANIFEST_NAME}):
        problems.append(f"fichier non déclaré dans le manifeste : {name}")
    site_file = manifest.get("config_file")
    sites = [m for m in members if m.role == "site"]
    if not isinstance(site_file, str) or len(sites) != 1 or sites[0].name != site_file:
        problems.append("le manifeste ne désigne pas un fichier de configuration du site")
        return problems, None
    data = files.get(site_file)
    if data is None:
        return problems, None
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
        site = parse_site_config(doc, f"{archive.name}:{site_file}")
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(f"{site_file} : YAML illisible ({exc})")
        return problems, None
    except ConfigError as exc:
        problems.append(f"configuration invalide dans la sauvegarde : {exc}")
        return problems, None
    if _sha256(data) != manifest.get("config_hash"):
        problems.append(f"empreinte de la configuration (config_hash) incorrecte : {site_file}")
    return problems, site


def verify_backup(archive: Path | str) -> VerifyReport:
    """Check an archive without writing anything: safe members, every SHA-256 of its
    manifest, no undeclared file, and a site file that validates (after migration)."""
    archive = Path(archive)
    try:
        files = _read_archive(archive)
        manifest = _parse_manifest(archive, files)
    except BackupError as exc:
        return VerifyReport(str(archive), False, [str(exc)])
    info = _info(archive, manifest, archive.stat().st_size)
    problems, _site = _check_contents(archive, files, manifest)
    return VerifyReport(str(archive), not problems, problems, info)


def list_backups(dest_dir: Path | str) -> list[BackupInfo]:
    """The backups of a folder, newest first; an unreadable one is listed with ``error``."""
    d = Path(dest_dir)
    if not d.is_dir():
        raise BackupError(f"{d} : dossier de sauvegardes introuvable")
    out: list[BackupInfo] = []
    for p in sorted(_backup_files(d), reverse=True):
        size = p.stat().st_size
        try:
            files = _read_archive(p)
            out.append(_info(p, _parse_manifest(p, files), size))
        except BackupError as exc:
            out.append(BackupInfo(path=str(p), size_bytes=size, error=str(exc)))
    return out


def _backup_files(d: Path) -> list[Path]:
    return [
        p
        for p in d.iterdir()
        if p.name.startswith(BACKUP_PREFIX) and p.name.endswith(BACKUP_SUFFIX) and p.is_file()
    ]


def prune_backups(dest_dir: Path | str, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest backups of a folder; returns the deleted ones."""
    if keep < 1:
        raise BackupError("il faut conserver au moins une sauvegarde (keep ≥ 1)")
    d = Path(dest_dir)
    if not d.is_dir():
        return []
    old = sorted(_backup_files(d), reverse=True)[keep:]
    removed = []
    for p in old:
        try:
            p.unlink()
            removed.append(p)
        except FileNotFoundError:
            continue
    return removed


# -- restore -----------------------------------------------------------------------------------


def restore_backup(
    archive: Path | str,
    config_path: Path | str,
    *,
    now: datetime | None = None,
) -> RestoreReport:
    """Restore a backup over the site configuration at ``config_path``.

    The archive is read once into memory, and every check (safety of members, sums, validity
    of the site file) passes before anything is written. Each file replaced is first kept
    as ``<name>.<UTC time>.avant-restauration``; then the referenced files are written, the site
    file last, each atomically. Files recorded from outside the site folder are not written
    (listed in ``skipped``).

    Raises:
        BackupError: naming every problem found; nothing has been written then.
    """
    archive = Path(archive)
    config_path = Path(config_path)
    files = _read_archive(archive)
    manifest = _parse_manifest(archive, files)
    problems, site = _check_contents(archive, files, manifest)
    if problems or site is None:
        raise BackupError(
            f"{archive} : restauration refusée, rien n'a été modifié :\n  - "
            + "\n  - ".join(problems or ["configuration absente"])
        )
    members = _members(manifest)
    base = config_path.parent
    plan: list[tuple[Path, bytes]] = []
    skipped: list[str] = []
    for m in members:
        if m.role == "site":
            continue
        if not m.name.startswith("config/"):
            skipped.append(m.ref)
            continue
        target = base / PurePosixPath(m.ref)
        try:
            target.resolve().relative_to(base.resolve())
        except ValueError:
            raise BackupError(
                f"{archive} : restauration refusée, {m.name} sortirait du dossier {base}"
            ) from None
        plan.append((target, files[m.name]))
    plan.append((config_path, files[str(manifest["config_file"])]))

    stamp = _stamp(now or _utc_now())
    copies: list[str] = []
    try:
        for target, data in plan:
            if target.is_file():
                if target.read_bytes() == data:
                    continue
                copy = target.with_name(f"{target.name}.{stamp}.avant-restauration")
                _atomic_write(copy, target.read_bytes())
                copies.append(str(copy))
        written = []
        for target, data in plan:
            if target.is_file() and target.read_bytes() == data:
                written.append(str(target))
                continue
            _atomic_write(target, data)
            written.append(str(target))
    except OSError as exc:
        raise BackupError(
            f"restauration interrompue : écriture impossible ({exc}) ; copies de l'état "
            f"précédent : {', '.join(copies) or 'aucune'}"
        ) from None

    warnings: list[str] = []
    model = manifest.get("model")
    if site.model is not None and isinstance(model, dict) and model.get("sha256"):
        path = resolve_path(config_path, site.model.path)
        if not path.is_file():
            warnings.append(f"modèle absent : {path}")
        elif sha256_file(path) != model["sha256"]:
            warnings.append(
                f"le modèle en place ({path}) diffère de celui enregistré dans la sauvegarde "
                f"(SHA-256 {str(model['sha256'])[:12]}…)"
            )
    if skipped:
        warnings.append(
            "fichiers hors du dossier de configuration non restaurés : " + ", ".join(skipped)
        )
    log.warning(
        "configuration restored from %s into %s (config version %s)",
        archive,
        config_path,
        site.digest(),
        extra={"incident": "mineur"},
    )
    return RestoreReport(
        archive=str(archive),
        config_path=str(config_path),
        config_version=site.digest(),
        restored=written,
        previous_copies=copies,
        skipped=skipped,
        warnings=warnings,
    )


# -- scheduling --------------------------------------------------------------------------------


class BackupScheduler:
    """Backs the configuration up every ``interval_s`` seconds, keeping the ``keep`` newest
    (EX-031). A failed backup is logged (``majeur``) and retried at the next interval."""

    def __init__(
        self,
        config_path: Path | str,
        dest_dir: Path | str,
        interval_s: float,
        keep: int,
        *,
        note: str = "sauvegarde planifiée",
        run_at_start: bool = True,
        extra_files: Sequence[Path | str] = (),
    ) -> None:
        if interval_s <= 0:
            raise BackupError("l'intervalle des sauvegardes doit être positif")
        if keep < 1:
            raise BackupError("il faut conserver au moins une sauvegarde (keep ≥ 1)")
        self.config_path = Path(config_path)
        self.dest_dir = Path(dest_dir)
        self.interval_s = interval_s
        self.keep = keep
        self.note = note
        self.run_at_start = run_at_start
        self.extra_files = list(extra_files)
        self.last_backup: BackupInfo | None = None
        self.last_error: str | None = None
        self.last_run_utc: str | None = None
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_once(self) -> BackupInfo | None:
        """One backup and the rotation; never raises (the error is kept in ``last_error``)."""
        self.runs += 1
        self.last_run_utc = _utc_now().isoformat(timespec="milliseconds")
        try:
            info = create_backup(
                self.config_path, self.dest_dir, note=self.note, extra_files=self.extra_files
            )
            prune_backups(self.dest_dir, self.keep)
        except (BackupError, OSError) as exc:
            self.last_error = str(exc)
            log.error(
                "scheduled configuration backup failed: %s", exc, extra={"incident": "majeur"}
            )
            return None
        self.last_backup, self.last_error = info, None
        return info

    def _loop(self) -> None:
        if self.run_at_start:
            self.run_once()
        while not self._stop.wait(self.interval_s):
            self.run_once()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="config-backup", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def state(self) -> dict[str, Any]:
        """For health and the administrator: last run, last backup, last error."""
        return {
            "running": self.running,
            "interval_s": self.interval_s,
            "keep": self.keep,
            "dest_dir": str(self.dest_dir),
            "runs": self.runs,
            "last_run_utc": self.last_run_utc,
            "last_backup": None if self.last_backup is None else self.last_backup.path,
            "last_error": self.last_error,
        }


__all__ = [
    "BackupError",
    "BackupInfo",
    "BackupMember",
    "BackupScheduler",
    "RestoreReport",
    "VerifyReport",
    "create_backup",
    "list_backups",
    "prune_backups",
    "restore_backup",
    "verify_backup",
]
