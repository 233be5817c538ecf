"""Runtime commands: ``replay``, ``serve``, ``journal verify``. Light: no training stack."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from veilleur.runtime.config import ConfigError, SiteConfig, load_site_config, resolve_path
from veilleur.runtime.detect.onnx import ModelError, OnnxDetector
from veilleur.runtime.engine import Engine, camera_source, replay
from veilleur.runtime.ingest.video import SourceError
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.notify.sinks import JsonLinesNotifier

app = typer.Typer(help="Veilleur runtime.", no_args_is_help=True, add_completion=False)
journal_app = typer.Typer(help="Alert journal.", no_args_is_help=True)
app.add_typer(journal_app, name="journal")

EXIT_CONFIG, EXIT_SOURCE, EXIT_MODEL = 2, 3, 4


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"erreur: {message}", err=True)
    return typer.Exit(code)


def load_detector(config: SiteConfig, config_path: Path, model: Path | None) -> OnnxDetector:
    """The detector named on the command line, or else by the site configuration."""
    mc = config.model
    if model is None and mc is None:
        raise ModelError(f"{config_path}: no 'model' section and no --model given")
    path = model if model is not None else resolve_path(config_path, mc.path)  # type: ignore[union-attr]
    return OnnxDetector(
        path,
        confidence=mc.confidence if mc else 0.35,
        nms_iou=mc.nms_iou if mc else 0.5,
        adapter=mc.adapter if mc else "auto",
        class_map=mc.class_map if mc else None,
        expected_sha256=mc.sha256 if mc and model is None else None,
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
) -> None:
    """Start the runtime service: sources → detector → tracker → rules → journal, and the API."""
    import uvicorn

    from veilleur.runtime.api.app import create_app
    from veilleur.runtime.pipeline import LiveRuntime

    try:
        site = load_site_config(config)
        detector = load_detector(site, config, model)
    except ConfigError as exc:
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
    engine = Engine(site, detector, detector.info.sha256, journal=jr)
    runtime = LiveRuntime(engine, config)
    uvicorn.run(create_app(jr, runtime), host=host, port=port, log_level="info")


@journal_app.command("verify")
def journal_verify(
    journal: Annotated[str, typer.Argument(help="Journal path or URL.")],
) -> None:
    """Verify the journal's hash chain; exit 1 and name the first broken entry if any."""
    r = Journal(journal).verify()
    typer.echo(json.dumps(r.__dict__, ensure_ascii=False))
    if not r.ok:
        raise typer.Exit(1)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
