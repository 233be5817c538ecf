"""Runtime commands: ``replay``, ``serve``, ``journal verify|review|purge``, ``manifest ...``.

Light: no training stack.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from veilleur.runtime.auth.cli import DEFAULT_ACCOUNTS, DEFAULT_AUDIT, users_app
from veilleur.runtime.config import ConfigError, SiteConfig, load_site_config, resolve_path
from veilleur.runtime.detect.manifest import (
    MANIFEST_FILENAME,
    ManifestReport,
    check_model,
    manifest_entry,
    verify_manifest,
    write_manifest,
)
from veilleur.runtime.detect.onnx import DeployConfigError, ModelError, OnnxDetector
from veilleur.runtime.engine import Engine, camera_source, replay
from veilleur.runtime.ingest.video import SourceError
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.notify.sinks import JsonLinesNotifier

app = typer.Typer(help="Veilleur runtime.", no_args_is_help=True, add_completion=False)
journal_app = typer.Typer(help="Alert journal.", no_args_is_help=True)
app.add_typer(journal_app, name="journal")
manifest_app = typer.Typer(
    help="Deploy manifest of the model files (EX-131).", no_args_is_help=True
)
app.add_typer(manifest_app, name="manifest")
app.add_typer(users_app, name="users")

EXIT_CONFIG, EXIT_SOURCE, EXIT_MODEL = 2, 3, 4


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"erreur: {message}", err=True)
    return typer.Exit(code)


def load_detector(config: SiteConfig, config_path: Path, model: Path | None) -> OnnxDetector:
    """The detector named on the command line, or else by the site configuration.

    When the configured model comes with ``model.manifest``, the model (and class map file)
    must match the deploy manifest first (:class:`DeployConfigError` otherwise).
    """
    mc = config.model
    if model is None and mc is None:
        raise ModelError(f"{config_path}: no 'model' section and no --model given")
    path = model if model is not None else resolve_path(config_path, mc.path)  # type: ignore[union-attr]
    class_map_file = (
        resolve_path(config_path, mc.class_map_file) if mc and mc.class_map_file else None
    )
    if mc is not None and mc.manifest is not None and model is None:
        check_model(
            resolve_path(config_path, mc.manifest),
            path,
            adapter=mc.adapter,
            class_map_file=class_map_file,
        )
    return OnnxDetector(
        path,
        confidence=mc.confidence if mc else 0.35,
        nms_iou=mc.nms_iou if mc else 0.5,
        adapter=mc.adapter if mc else "auto",
        class_map=mc.class_map if mc else None,
        class_map_file=class_map_file,
        expected_sha256=mc.sha256 if mc and model is None else None,
        providers=list(mc.providers) if mc and mc.providers else None,
        intra_op_threads=mc.intra_op_threads if mc else None,
        spinning=mc.spinning if mc else False,
    )


@app.command("replay")
def replay_cmd(
    clip: Annotated[Path, typer.Argument(help="Recorded video file.")],
    config: Annotated[Path, typer.Option("--config", "-c", help="Site configuration YAML.")],
    camera: Annotated[str | None, typer.Option(help="Camera id (default: the first).")] = None,
    model: Annotated[Path | None, typer.Option(help="ONNX detector (overrides config).")] = None,
    journal: Annotated[
        str | None, typer.Option(help="Journal path or URL to append the alerts to.")
    ] = None,
) -> None:
    """Run a recorded clip through the engine; print each alert as one JSON line (EX-037)."""
    try:
        site = load_site_config(config)
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    camera_id = camera or site.cameras[0].id
    try:
        site.camera(camera_id)
    except KeyError as exc:
        raise _fail(f"{config}: {exc.args[0]}", EXIT_CONFIG) from None
    try:
        detector = load_detector(site, config, model)
    except DeployConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    except ModelError as exc:
        raise _fail(str(exc), EXIT_MODEL) from None
    engine = Engine(
        site,
        detector,
        detector.info.sha256,
        journal=Journal(journal) if journal else None,
        notifiers=[JsonLinesNotifier(sys.stdout)],
    )
    try:
        replay(engine, clip, camera_id)
    except SourceError as exc:
        raise _fail(str(exc), EXIT_SOURCE) from None


@app.command("serve")
def serve_cmd(
    config: Annotated[Path, typer.Option("--config", "-c", help="Site configuration YAML.")],
    journal: Annotated[str, typer.Option(help="Journal path or URL.")] = "var/journal.db",
    model: Annotated[Path | None, typer.Option(help="ONNX detector (overrides config).")] = None,
    host: Annotated[str, typer.Option(help="Listen address (local only by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Listen port.")] = 8080,
    accounts: Annotated[str, typer.Option(help="Accounts database path or URL.")] = (
        DEFAULT_ACCOUNTS
    ),
    audit: Annotated[str, typer.Option(help="Audit log path or URL.")] = DEFAULT_AUDIT,
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark the session cookie Secure (behind HTTPS).")
    ] = False,
    log_file: Annotated[
        Path | None, typer.Option(help="Application log (JSON lines, rotated).")
    ] = Path("var/logs/veilleur.log"),
    backup_dir: Annotated[
        Path | None, typer.Option(help="Folder of configuration backups.")
    ] = Path("var/sauvegardes"),
    backup_every_h: Annotated[
        float, typer.Option(help="Hours between scheduled config backups (0: none).")
    ] = 24.0,
    backup_keep: Annotated[int, typer.Option(help="Scheduled backups kept.")] = 30,
    retention: Annotated[
        Path | None, typer.Option(help="Retention policy YAML (set from the API).")
    ] = Path("var/conservation.yaml"),
    snapshots: Annotated[
        Path | None,
        typer.Option(help="Folder of alert snapshots (EX-017; retention applies)."),
    ] = Path("var/cliches"),
    no_snapshots: Annotated[
        bool, typer.Option("--no-snapshots", help="Journal alerts without snapshots.")
    ] = False,
    licence_streams: Annotated[
        int | None, typer.Option(help="Streams analysed at once that the licence allows.")
    ] = None,
    directory: Annotated[
        Path | None, typer.Option(help="LDAP directory configuration YAML (optional login).")
    ] = None,
) -> None:
    """Start the runtime service: sources → detector → tracker → rules → journal, and the API.

    Refuses to start without an administrator account: create it first with ``veilleur users
    create-admin``, or name a file holding its password in ``VEILLEUR_ADMIN_PASSWORD_FILE``
    (login ``VEILLEUR_ADMIN_LOGIN``, default ``admin``), read once at the first start.
    """
    import os

    import uvicorn

    from veilleur.runtime.api.app import create_app
    from veilleur.runtime.api.options import ServiceOptions
    from veilleur.runtime.api.security import Security
    from veilleur.runtime.auth.audit import AuditLog
    from veilleur.runtime.auth.cli import bootstrap_admin
    from veilleur.runtime.auth.passwords import PasswordPolicyError
    from veilleur.runtime.auth.roles import Role
    from veilleur.runtime.auth.store import AccountStore, AuthError
    from veilleur.runtime.evidence.snapshots import SnapshotStore
    from veilleur.runtime.ops.applog import setup_app_logging
    from veilleur.runtime.ops.backup import BackupScheduler
    from veilleur.runtime.pipeline import LiveRuntime

    store = AccountStore(accounts)
    audit_log = AuditLog(audit)
    if store.count_users(Role.ADMIN) == 0:
        secret_file = os.environ.get("VEILLEUR_ADMIN_PASSWORD_FILE")
        if not secret_file:
            raise _fail(
                f"{accounts}: aucun compte administrateur ; créez-le avec `veilleur users "
                "create-admin` ou indiquez VEILLEUR_ADMIN_PASSWORD_FILE",
                EXIT_CONFIG,
            )
        try:
            secret = Path(secret_file).read_text(encoding="utf-8").splitlines()[0]
            login = os.environ.get("VEILLEUR_ADMIN_LOGIN", "admin")
            bootstrap_admin(store, audit_log, login, secret)
        except (OSError, IndexError) as exc:
            raise _fail(f"VEILLEUR_ADMIN_PASSWORD_FILE={secret_file}: illisible ou vide ({exc})",
                        EXIT_CONFIG) from None  # fmt: skip
        except (PasswordPolicyError, AuthError) as exc:
            raise _fail(str(exc), EXIT_CONFIG) from None

    try:
        site = load_site_config(config)
        detector = load_detector(site, config, model)
    except (ConfigError, DeployConfigError) as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    except ModelError as exc:
        raise _fail(str(exc), EXIT_MODEL) from None
    for cam in site.cameras:
        src = camera_source(config, cam)
        if not cam.source.is_stream and not Path(src).is_file():
            raise _fail(
                f"{config}: cameras.{cam.id}.source.url: file not found: {src}", EXIT_SOURCE
            )
    jr = Journal(journal)
    if no_snapshots:
        snapshots = None
    store_snaps = SnapshotStore(snapshots) if snapshots is not None else None
    engine = Engine(site, detector, detector.info.sha256, journal=jr, snapshots=store_snaps)
    runtime = LiveRuntime(engine, config)
    ldap = None
    if directory is not None:
        from veilleur.runtime.auth.directory import LdapDirectory, load_directory_config

        try:
            ldap = LdapDirectory(load_directory_config(directory))
        except ConfigError as exc:
            raise _fail(str(exc), EXIT_CONFIG) from None
    security = Security(store, audit_log, secure_cookies=secure_cookies, directory=ldap)
    if log_file is not None:
        setup_app_logging(log_file, "INFO")  # the root logger: uvicorn and ours
    scheduler = None
    if backup_dir is not None and backup_every_h > 0:
        scheduler = BackupScheduler(
            config, backup_dir, backup_every_h * 3600, backup_keep, note="sauvegarde planifiée"
        )
        scheduler.start()
    journal_dir = Path(journal).parent if "://" not in journal else None
    folders = [d for d in (journal_dir, snapshots, backup_dir) if d is not None]
    options = ServiceOptions(
        config_path=config,
        backup_dir=backup_dir,
        log_file=log_file,
        retention_file=retention,
        snapshot_dir=snapshots,
        licence_streams=licence_streams,
        data_dirs=tuple(dict.fromkeys(folders)),
        watch_clock=True,
    )
    try:
        uvicorn.run(
            create_app(jr, runtime, security=security, options=options),
            host=host,
            port=port,
            log_level="info",
        )
    finally:
        if scheduler is not None:
            scheduler.stop()


@app.command("bench")
def bench_cmd(
    model: Annotated[Path, typer.Option(help="ONNX detector to measure.")],
    adapter: Annotated[
        str, typer.Option(help="Detector output layout, as model.adapter in a site file.")
    ] = "auto",
    clip: Annotated[
        list[Path] | None, typer.Option("--clip", help="Video file (repeat for several).")
    ] = None,
    synthetic: Annotated[
        int, typer.Option(help="Generate this many synthetic clips (data package) to play.")
    ] = 0,
    streams: Annotated[
        str, typer.Option(help="Stream counts to measure, comma-separated.")
    ] = "1,2,4,8",
    seconds: Annotated[float, typer.Option(help="Seconds of video per stream.")] = 10.0,
    analysis_fps: Annotated[float, typer.Option(help="Frames analysed per second.")] = 6.25,
    batch: Annotated[
        int, typer.Option(help="Most frames per detector call (0 = all streams at once).")
    ] = 0,
    baseline: Annotated[
        bool, typer.Option(help="Also run the naive baseline (needs supervision).")
    ] = True,
    repeats: Annotated[
        int, typer.Option(help="Tries per stream count and mode; the fastest is reported.")
    ] = 3,
    sweep: Annotated[
        bool, typer.Option(help="Also run the thread / batch / pre- and post-processing sweep.")
    ] = False,
    work_dir: Annotated[
        Path | None, typer.Option(help="Keep generated clips and journals here.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the result as JSON here.")] = None,
    switch_interval_ms: Annotated[
        float | None,
        typer.Option(help="GIL switch interval of the engine's threads, ms (default: 5)."),
    ] = None,
) -> None:
    """Measure streams × fps, per-stage time and alert latency against a naive baseline."""
    import tempfile

    from veilleur.runtime.bench import (
        SYNTHETIC_ORIGIN,
        BenchError,
        BenchSettings,
        format_report,
        run_bench,
    )

    try:
        counts = tuple(int(v) for v in streams.split(",") if v.strip())
    except ValueError:
        raise _fail(f"--streams: expected integers like 1,2,4,8, got {streams!r}", 2) from None
    clips = list(clip or [])
    for c in clips:
        if not c.is_file():
            raise _fail(f"{c}: video file not found", EXIT_SOURCE)
    try:
        with tempfile.TemporaryDirectory(prefix="veilleur-bench-") as tmp:
            if synthetic > 0:
                from veilleur.runtime.bench import synthetic_clips

                clips += synthetic_clips((work_dir or Path(tmp)) / "clips", synthetic)
            settings = BenchSettings(
                model=model,
                clips=tuple(clips),
                streams=counts,
                seconds=seconds,
                analysis_fps=analysis_fps,
                batch=batch,
                adapter=adapter,
                baseline=baseline,
                sweep=sweep,
                work_dir=work_dir,
                repeats=repeats,
                switch_interval_ms=switch_interval_ms,
                clips_origin=(
                    f"{synthetic} synthetic clip(s): {SYNTHETIC_ORIGIN}"
                    + (f", plus {len(clip)} given" if clip else "")
                    if synthetic > 0
                    else "given"
                ),
            )
            result = run_bench(settings)
    except ModelError as exc:
        raise _fail(str(exc), EXIT_MODEL) from None
    except SourceError as exc:
        raise _fail(str(exc), EXIT_SOURCE) from None
    except ConfigError as exc:  # e.g. an analysis rate the site schema refuses
        raise _fail(str(exc), EXIT_CONFIG) from None
    except BenchError as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(format_report(result))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        typer.echo(f"\nresult written to {out}")


@journal_app.command("verify")
def journal_verify(
    journal: Annotated[str, typer.Argument(help="Journal path or URL.")],
) -> None:
    """Verify the journal's hash chain; exit 1 and name the first broken entry if any."""
    r = Journal(journal).verify()
    typer.echo(json.dumps(r.__dict__, ensure_ascii=False))
    if not r.ok:
        raise typer.Exit(1)


def _existing_journal(journal: str) -> Journal:
    """Open a journal that must already exist (a path that is not there is an error)."""
    if "://" not in journal and not Path(journal).is_file():
        raise _fail(f"{journal}: journal introuvable", EXIT_CONFIG)
    return Journal(journal)


@journal_app.command("review")
def journal_review(
    alert_id: Annotated[str, typer.Argument(help="Id of the alert to review.")],
    actor: Annotated[str, typer.Option(help="Who reviews (operator name).")],
    journal: Annotated[str, typer.Option(help="Journal path or URL.")] = "var/journal.db",
    ack: Annotated[bool, typer.Option("--ack", help="Acknowledge the alert.")] = False,
    qualify: Annotated[
        str | None, typer.Option("--qualify", help="vrai_positif or faux_positif.")
    ] = None,
    comment: Annotated[
        str | None, typer.Option("--comment", help="Free comment (2000 characters at most).")
    ] = None,
) -> None:
    """Review an alert (EX-039): journal each action, print the alert's review state as JSON."""
    from veilleur.runtime.journal.reviews import ReviewError, record_reviews, review_state

    jr = _existing_journal(journal)
    try:
        record_reviews(jr, alert_id, actor, ack=ack, qualification=qualify, comment=comment)
    except ReviewError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    state = review_state(jr, alert_id)
    typer.echo(json.dumps(state.to_dict(), ensure_ascii=False))


@journal_app.command("purge")
def journal_purge(
    policy: Annotated[Path, typer.Option(help="Retention policy YAML (days per kind).")],
    actor: Annotated[str, typer.Option(help="Who runs the purge (administrator).")],
    journal: Annotated[str, typer.Option(help="Journal path or URL.")] = "var/journal.db",
    snapshots: Annotated[
        Path | None, typer.Option(help="Folder of snapshot images to purge too.")
    ] = None,
    audit: Annotated[
        str | None, typer.Option(help="Audit log (path or URL) to purge too (its own period).")
    ] = None,
) -> None:
    """Delete what the retention policy says has expired (EX-043, EX-044); print the counts
    as JSON (the audit log's under ``audit``)."""
    from datetime import UTC, datetime

    from veilleur.runtime.journal.retention import load_policy, purge

    try:
        pol = load_policy(policy)
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    if not actor.strip():
        raise _fail("--actor: l'auteur de la purge est obligatoire", EXIT_CONFIG)
    jr = _existing_journal(journal)
    aj = _existing_journal(audit) if audit else None
    now = datetime.now(UTC)
    try:
        report = purge(jr, pol, now, actor.strip(), snapshot_dir=snapshots)
        audit_report = purge(aj, pol, now, actor.strip()) if aj is not None else None
    except ValueError as exc:  # a concurrent purge changed the oldest entries
        raise _fail(str(exc), 1) from None
    entry = report.entry
    typer.echo(
        json.dumps(
            {
                "audit": None if audit_report is None else audit_report.counts,
                "deleted": report.deleted,
                "counts": report.counts,
                "cutoffs": report.cutoffs,
                "purge_entry": (
                    None
                    if entry is None
                    else {"seq": entry["seq"], "id": entry["id"], "anchor": entry["anchor"]}
                ),
                "snapshot_errors": report.snapshot_errors,
            },
            ensure_ascii=False,
        )
    )


@journal_app.command("export")
def journal_export(
    out: Annotated[Path, typer.Argument(help="File to write (.csv .jsonl .json .parquet ...).")],
    journal: Annotated[str, typer.Option(help="Journal path or URL.")] = "var/journal.db",
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv, jsonl, json, parquet, feather or xlsx."),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Entry kind (repeat; default alert; 'all' for every kind)."),
    ] = None,
    since: Annotated[str | None, typer.Option(help="From (ISO 8601, inclusive; UTC if naive).")] = (
        None
    ),
    until: Annotated[str | None, typer.Option(help="To (ISO 8601, exclusive).")] = None,
    camera: Annotated[str | None, typer.Option(help="Camera id.")] = None,
    event: Annotated[str | None, typer.Option(help="Event type.")] = None,
    qualification: Annotated[
        str | None,
        typer.Option(help="Alerts only: true_positive, false_positive or unreviewed."),
    ] = None,
    french: Annotated[bool, typer.Option("--french", help="French column headers.")] = False,
    tz: Annotated[str, typer.Option(help="Time zone of the local_time column.")] = ("Europe/Paris"),
) -> None:
    """Export journal entries, streamed in bounded memory (EX-014, EX-015)."""
    from veilleur.runtime.journal.export import ExportError, ExportFilter, export

    kinds = tuple(kind or ["alert"])
    try:
        flt = ExportFilter(
            since=since,
            until=until,
            camera_id=camera,
            event=event,
            kinds=() if "all" in kinds else kinds,
            qualification=qualification,
        )
        r = export(_existing_journal(journal), out, flt, fmt=fmt, french_headers=french, tz=tz)
    except ExportError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    typer.echo(
        json.dumps(
            {"path": str(r.path), "format": r.format, "rows": r.rows, "bytes": r.bytes},
            ensure_ascii=False,
        )
    )


@journal_app.command("stats")
def journal_stats(
    journal: Annotated[str, typer.Option(help="Journal path or URL.")] = "var/journal.db",
    since: Annotated[str | None, typer.Option(help="From (ISO 8601, inclusive).")] = None,
    until: Annotated[str | None, typer.Option(help="To (ISO 8601, exclusive).")] = None,
    camera: Annotated[str | None, typer.Option(help="Camera id.")] = None,
    event: Annotated[str | None, typer.Option(help="Event type.")] = None,
    tz: Annotated[str, typer.Option(help="Site time zone for hours and days.")] = ("Europe/Paris"),
) -> None:
    """Alert counts per event, camera, local hour and day; TP/FP rates (JSON)."""
    from veilleur.runtime.journal.export import ExportError
    from veilleur.runtime.journal.stats import alert_stats

    try:
        s = alert_stats(
            _existing_journal(journal),
            since=since,
            until=until,
            camera_id=camera,
            event=event,
            tz=tz,
        )
    except ExportError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    typer.echo(json.dumps(s.to_dict(), ensure_ascii=False))


bundle_app = typer.Typer(
    help="End-of-deployment export: every journal kind in open formats, encrypted (EX-016).",
    invoke_without_command=True,
)
app.add_typer(bundle_app, name="export-bundle")


def _bundle_passphrase(path: Path | None, creating: bool) -> str:
    from veilleur.runtime.journal.bundle import BundleError, read_passphrase

    if path is None:
        raise _fail("--passphrase-file est obligatoire", EXIT_CONFIG)
    try:
        return read_passphrase(path, creating=creating)
    except BundleError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None


@bundle_app.callback()
def export_bundle(
    ctx: typer.Context,
    journal: Annotated[str | None, typer.Option(help="Journal path or URL.")] = None,
    to: Annotated[
        Path | None, typer.Option("--to", help="Folder to write the bundle to (the drive).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Site configuration to include.")
    ] = None,
    audit: Annotated[str | None, typer.Option(help="Audit log path or URL to include.")] = None,
    logs: Annotated[
        Path | None, typer.Option(help="Application log file to include (with its rotations).")
    ] = None,
    snapshots: Annotated[
        Path | None, typer.Option(help="Folder of alert snapshots to include.")
    ] = None,
    passphrase_file: Annotated[
        Path | None,
        typer.Option(help="File whose first line is the passphrase (12 characters at least)."),
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option(help="Where clear files are staged (default: system temp, not the drive)."),
    ] = None,
) -> None:
    """Write the encrypted bundle: `export-bundle --journal J --to DIR --passphrase-file F`."""
    if ctx.invoked_subcommand is not None:
        return
    from veilleur.runtime.journal.bundle import BundleError, build_bundle

    if journal is None or to is None:
        raise _fail("--journal et --to sont obligatoires", EXIT_CONFIG)
    phrase = _bundle_passphrase(passphrase_file, creating=True)
    tz = "Europe/Paris"
    if config is not None:
        try:
            tz = load_site_config(config).site.timezone
        except ConfigError as exc:
            raise _fail(str(exc), EXIT_CONFIG) from None
    try:
        r = build_bundle(
            _existing_journal(journal),
            to,
            phrase,
            config=config,
            audit=_existing_journal(audit) if audit else None,
            app_logs=logs,
            snapshots=snapshots,
            tz=tz,
            work_dir=work_dir,
        )
    except (BundleError, OSError) as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    typer.echo(
        json.dumps(
            {
                "bundle": str(r.path),
                "files": r.files,
                "bytes": r.bundle_bytes,
                "entries": r.entries,
                "journal_chain_ok": r.chain_ok,
                "seconds": round(r.seconds, 3),
            },
            ensure_ascii=False,
        )
    )


@bundle_app.command("verify")
def export_bundle_verify(
    file: Annotated[Path, typer.Argument(help="Encrypted bundle.")],
    passphrase_file: Annotated[Path | None, typer.Option(help="Passphrase file.")] = None,
) -> None:
    """Decrypt in a streaming pass and check every SHA-256 of the manifest; exit 1 if not."""
    from veilleur.runtime.journal.bundle import BundleError, verify_bundle

    phrase = _bundle_passphrase(passphrase_file, creating=False)
    try:
        report = verify_bundle(file, phrase)
    except BundleError as exc:
        raise _fail(str(exc), 1) from None
    typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    if not report.ok:
        raise typer.Exit(1)


@bundle_app.command("decrypt")
def export_bundle_decrypt(
    file: Annotated[Path, typer.Argument(help="Encrypted bundle.")],
    to: Annotated[Path, typer.Option("--to", help="Folder to extract into.")],
    passphrase_file: Annotated[Path | None, typer.Option(help="Passphrase file.")] = None,
) -> None:
    """Decrypt and extract the bundle, checking every SHA-256; exit 1 on any problem."""
    from veilleur.runtime.journal.bundle import BundleError, decrypt_bundle

    phrase = _bundle_passphrase(passphrase_file, creating=False)
    try:
        report = decrypt_bundle(file, to, phrase)
    except BundleError as exc:
        raise _fail(str(exc), 1) from None
    typer.echo(json.dumps({"to": str(to), **report.to_dict()}, ensure_ascii=False))
    if not report.ok:
        raise typer.Exit(1)


def _default_manifest(config_path: Path, site: SiteConfig) -> Path:
    """``model.manifest`` of the site config, else ``deploy-manifest.json`` next to it."""
    if site.model is not None and site.model.manifest is not None:
        return resolve_path(config_path, site.model.manifest)
    return config_path.parent / MANIFEST_FILENAME


@manifest_app.command("write")
def manifest_write(
    config: Annotated[Path, typer.Option("--config", "-c", help="Site configuration YAML.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Manifest to write (default: model.manifest, else next to the config)."),
    ] = None,
) -> None:
    """Pin the site's model (and class map file) by size and SHA-256 in a deploy manifest.

    The model is loaded first, so a file that does not load, or does not match the config's
    sha256 or its export sidecar, is never pinned.
    """
    try:
        site = load_site_config(config)
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    mc = site.model
    if mc is None:
        raise _fail(f"{config}: no 'model' section to write a manifest for", EXIT_CONFIG)
    path = resolve_path(config, mc.path)
    class_map_file = resolve_path(config, mc.class_map_file) if mc.class_map_file else None
    try:
        detector = OnnxDetector(
            path,
            adapter=mc.adapter,
            class_map=mc.class_map,
            class_map_file=class_map_file,
            expected_sha256=mc.sha256,
        )
    except DeployConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    except ModelError as exc:
        raise _fail(str(exc), EXIT_MODEL) from None
    target = out if out is not None else _default_manifest(config, site)
    entry = manifest_entry(
        target, path, detector.info.adapter, class_map_file, sha256=detector.info.sha256
    )
    manifest = write_manifest(target, [entry])
    typer.echo(json.dumps({"manifest": str(target), **manifest.model_dump()}, ensure_ascii=False))


@manifest_app.command("verify")
def manifest_verify(
    manifest: Annotated[
        Path | None,
        typer.Argument(
            help="Deploy manifest (default: from --config, else ./deploy-manifest.json)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Also check this site's model against the manifest."),
    ] = None,
) -> None:
    """Check every file the manifest pins; exit 2 and name each mismatch if any."""
    site = None
    if config is not None:
        try:
            site = load_site_config(config)
        except ConfigError as exc:
            raise _fail(str(exc), EXIT_CONFIG) from None
    if manifest is None:
        manifest = (
            _default_manifest(config, site)
            if config is not None and site is not None
            else Path(MANIFEST_FILENAME)
        )
    try:
        report = verify_manifest(manifest)
    except DeployConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    if config is not None and site is not None and site.model is not None:
        mc = site.model
        try:
            check_model(
                manifest,
                resolve_path(config, mc.path),
                adapter=mc.adapter,
                class_map_file=(
                    resolve_path(config, mc.class_map_file) if mc.class_map_file else None
                ),
            )
        except DeployConfigError as exc:
            report = ManifestReport(
                report.manifest, False, report.models, [*report.problems, str(exc)], report.warnings
            )
    typer.echo(json.dumps(report.__dict__, ensure_ascii=False))
    if not report.ok:
        raise typer.Exit(EXIT_CONFIG)


config_app = typer.Typer(
    help="Site configuration backups: create, list, verify, restore (EX-030, EX-031, EX-133).",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")


@config_app.command("backup")
def config_backup(
    config: Annotated[Path, typer.Option("--config", "-c", help="Site configuration YAML.")],
    to: Annotated[Path, typer.Option("--to", help="Folder of the backups.")],
    keep: Annotated[
        int | None, typer.Option(help="Then keep only the N newest backups of the folder.")
    ] = None,
    note: Annotated[str, typer.Option(help="Free note stored in the manifest.")] = "",
    actor: Annotated[str | None, typer.Option(help="Who makes the backup.")] = None,
    include: Annotated[
        list[Path] | None,
        typer.Option("--include", help="Another configuration file to save (repeat)."),
    ] = None,
) -> None:
    """Back the site configuration and the files it references up into one .tar.gz (JSON)."""
    from veilleur.runtime.ops.backup import BackupError, create_backup, prune_backups

    if keep is not None and keep < 1:
        raise _fail("--keep : il faut conserver au moins une sauvegarde", EXIT_CONFIG)
    try:
        info = create_backup(config, to, note=note, actor=actor, extra_files=include or [])
        pruned = prune_backups(to, keep) if keep is not None else []
    except BackupError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    typer.echo(
        json.dumps(
            {
                "backup": info.path,
                "created_utc": info.created_utc,
                "config_version": info.config_version,
                "files": [m.name for m in info.members],
                "pruned": [str(p) for p in pruned],
            },
            ensure_ascii=False,
        )
    )


@config_app.command("backups")
def config_backups(
    folder: Annotated[Path, typer.Argument(help="Folder of the backups.")],
) -> None:
    """List the backups of a folder, newest first (JSON); unreadable ones carry an error."""
    from veilleur.runtime.ops.backup import BackupError, list_backups

    try:
        infos = list_backups(folder)
    except BackupError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    typer.echo(json.dumps([i.to_dict() for i in infos], ensure_ascii=False))


@config_app.command("verify-backup")
def config_verify_backup(
    archive: Annotated[Path, typer.Argument(help="Backup archive (.tar.gz).")],
) -> None:
    """Check a backup without restoring it: sums, members, site file; exit 2 if not sound."""
    from veilleur.runtime.ops.backup import verify_backup

    report = verify_backup(archive)
    typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    if not report.ok:
        raise _fail("sauvegarde invalide : " + " ; ".join(report.problems), EXIT_CONFIG)


@config_app.command("restore")
def config_restore(
    archive: Annotated[Path, typer.Argument(help="Backup archive (.tar.gz).")],
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Site configuration YAML to replace.")
    ],
) -> None:
    """Restore a backup over the site configuration; the replaced files are kept (JSON)."""
    from veilleur.runtime.ops.backup import BackupError, restore_backup

    try:
        report = restore_backup(archive, config)
    except BackupError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))


@app.command("logs")
def logs_cmd(
    file: Annotated[Path, typer.Option("--file", "-f", help="Application log file (JSON lines).")],
    level: Annotated[
        str, typer.Option(help="Lowest level: debug, info, warning, error, critical.")
    ] = "warning",
    since: Annotated[str | None, typer.Option(help="From (ISO 8601; UTC if naive).")] = None,
    until: Annotated[str | None, typer.Option(help="To (ISO 8601, exclusive).")] = None,
    camera: Annotated[str | None, typer.Option(help="Only this camera.")] = None,
    incident: Annotated[
        str | None, typer.Option(help="Only this incident class: critique, majeur, mineur.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many records (the newest).")] = 1000,
) -> None:
    """Print application log records (rotated files too), oldest first, one JSON per line."""
    from veilleur.runtime.ops.applog import read_app_logs

    if not file.is_file():
        raise _fail(f"{file}: fichier de journal applicatif introuvable", EXIT_CONFIG)
    try:
        records = read_app_logs(
            file, level, since, limit, until=until, camera=camera, incident=incident
        )
    except ValueError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    for rec in records:
        typer.echo(json.dumps(rec, ensure_ascii=False))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
