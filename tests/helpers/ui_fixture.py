"""The operator interface's test world: the real service under uvicorn in a thread.

A journal pre-filled with alerts, accounts of the three roles and a live runtime that is not
started (no stream needed: the global stop and the switches act on its engine); a few frames
are analysed per camera so that the live view has pictures, boxes and counts.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
import yaml
from api_fixture import PASSWORDS, ROLES
from fastapi import FastAPI
from playwright.sync_api import Page
from tests_helpers import sample_alert, write_clip

from veilleur.runtime.api.app import create_app
from veilleur.runtime.api.options import ServiceOptions
from veilleur.runtime.api.security import Security
from veilleur.runtime.auth.audit import AuditLog
from veilleur.runtime.auth.roles import Permission
from veilleur.runtime.auth.store import AccountStore
from veilleur.runtime.config import parse_site_config
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.events import EventType
from veilleur.runtime.engine import Engine
from veilleur.runtime.evidence.snapshots import SnapshotStore
from veilleur.runtime.ingest.video import Frame
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.pipeline import LiveRuntime

CHROMIUM = Path("/usr/lib/chromium/chromium")

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "reports" / "ui"

SITE: dict[str, Any] = {
    "version": 1,
    "site": {"name": "Esplanade des Fêtes"},
    "cameras": [
        {
            "id": "cam-a",
            "name": "Entrée nord",
            "source": {"url": "cam-a.mp4"},
            "zones": [
                {
                    "id": "scene",
                    "kind": "polygon",
                    "points": [[0.55, 0.1], [0.95, 0.1], [0.95, 0.9], [0.55, 0.9]],
                },
                {"id": "barriere", "kind": "line", "points": [[0.1, 0.8], [0.45, 0.6]]},
            ],
            "rules": [
                {"id": "intrus", "type": "franchissement", "zone": "scene"},
                {
                    "id": "passage",
                    "type": "franchissement",
                    "zone": "barriere",
                    "direction": "left_to_right",
                },
                {
                    "id": "foule",
                    "type": "densite",
                    "zone": "scene",
                    "max_count": 30,
                    "schedule": [{"days": ["sat", "sun"], "start": "18:00", "end": "02:00"}],
                },
                {
                    "id": "combinee",
                    "type": "composite",
                    "event": "densite",
                    "when": {"and": ["foule", {"not": "intrus"}]},
                },
            ],
        },
        {"id": "cam-b", "name": "Parvis", "source": {"url": "cam-b.mp4"}},
    ],
}

# Common English words of interfaces: none may show on an operator screen (EX-045).
ENGLISH = [
    "login",
    "logout",
    "log in",
    "sign in",
    "password",
    "username",
    "dashboard",
    "settings",
    "submit",
    "cancel",
    "save",
    "delete",
    "loading",
    "error",
    "search",
    "alert",
    "alerts",
    "rules",
    "users",
    "user",
    "true",
    "false",
    "null",
    "undefined",
    "NaN",
    "enabled",
    "disabled",
    "stop",
    "resume",
    "acknowledge",
    "acknowledged",
    "warning",
    "status",
    "live",
    "home",
    "back",
    "next",
    "previous",
    "close",
    "edit",
    "add",
    "remove",
    "upload",
    "download",
    "yes",
    "none",
    "unknown",
    "green",
    "yellow",
    "red",
    "polygon",
    "line",
    "left_to_right",
    "person",
    "vehicle",
    "camera",
    "cameras",
    "export",
    "filter",
    "refresh",
    "retention",
    "backup",
    "backups",
    "logs",
    "licence",
    "license",
    "profile",
    "profiles",
    "groups",
    "tokens",
    "create",
    "update",
    "new",
    "comment",
    "comments",
    "review",
    "event",
    "events",
    "stream",
    "streams",
    "running",
    "stopped",
    "medium",
    "high",
    "low",
    "object Object",
]
ENGLISH_RE = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ENGLISH)) + r")(?![\w-])", re.I)
# identifiers that are data, not interface text (camera ids, logins, file names)
DATA_WORDS = {"cam-a", "cam-b"}


def english_words(text: str) -> list[str]:
    return sorted({m.group(1) for m in ENGLISH_RE.finditer(text)} - DATA_WORDS)


class OnePerson:
    """One person in the right half of any frame (so in the zones of the test site)."""

    def detect_batch(self, frames: list[Any]) -> list[Detections]:
        out = []
        for f in frames:
            h, w = f.shape[:2]
            out.append(
                Detections.from_arrays([[0.62 * w, 0.28 * h, 0.69 * w, 0.61 * h]], [0.9], [0])
            )
        return out


def scene_frame(index: int, width: int = 960, height: int = 540) -> Frame:
    """A gradient picture with a dark "person" where :class:`OnePerson` finds one."""
    import cv2

    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([(x * 255 // width), (y * 255 // height), np.full_like(x, 90)], -1)
    img = img.astype(np.uint8)
    cv2.rectangle(img, (600, 150), (660, 330), (40, 40, 200), -1)
    return Frame(index=index, t=index * 0.2, image=img)


@dataclass
class UiWorld:
    base: str
    journal: Journal
    engine: Engine
    accounts: AccountStore
    audit: AuditLog
    folder: Path
    """The site configuration's folder (clips to test a configuration on live there)."""
    evidence: dict[str, str] = field(default_factory=dict)
    """With ``evidence=True``: alert ids by case, ``intact`` (a snapshot) and ``altere`` (its
    snapshot file changed since the alert)."""

    def session_cookie(self, login: str) -> dict[str, Any]:
        token = self.accounts.open_session(self.accounts.get_user(login).id).token
        return {"name": "veilleur_session", "value": token, "url": self.base}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def site_with(cameras: int) -> dict[str, Any]:
    """The test site, with ``cameras`` cameras (the two of :data:`SITE`, then zone-less
    ``cam-c``, ``cam-d``…)."""
    site = {**SITE, "cameras": list(SITE["cameras"])}
    for i in range(2, cameras):
        cid = f"cam-{chr(ord('a') + i)}"
        site["cameras"].append(
            {"id": cid, "name": f"Secteur {i + 1}", "source": {"url": "cam-a.mp4"}}
        )
    return site


def warm_up(engine: Engine, camera_ids: list[str], frames: int = 3) -> None:
    """A few analysed frames per camera (pictures and boxes for the live view)."""
    for i in range(frames):
        f = scene_frame(i)
        dets = OnePerson().detect_batch([f.image])[0]
        engine.process_detections([(cid, f, dets) for cid in camera_ids])


def build_ui_app(
    tmp_path: Path, *, cameras: int = 2, evidence: bool = False
) -> tuple[FastAPI, UiWorld]:
    """The service and its world. ``cameras``: how many cameras the site has (2 by default,
    up to 9 for the live mosaic); ``evidence``: two more alerts raised by the engine itself,
    with snapshots (one of them altered afterwards), and a recorded clip ``essai.mp4`` in the
    configuration's folder (testing a configuration, EX-037)."""
    journal = Journal(tmp_path / "journal.db")
    events = [EventType.FRANCHISSEMENT, EventType.DENSITE, EventType.OBJET_ABANDONNE]
    for i in range(6):
        journal.append("alert", sample_alert(i, "cam-a" if i % 2 == 0 else "cam-b", events[i % 3]))
    site = site_with(cameras)
    config_path = tmp_path / "site.yaml"
    config_path.write_text(yaml.safe_dump(site, allow_unicode=True))
    for cid in ("cam-a", "cam-b"):
        (tmp_path / f"{cid}.mp4").write_bytes(b"")
    snapshots = SnapshotStore(tmp_path / "cliches")
    config = parse_site_config(site)
    engine = Engine(config, OnePerson(), "0" * 64, journal=journal, snapshots=snapshots)
    runtime = LiveRuntime(engine, config_path)  # not started: no stream needed
    accounts = AccountStore(tmp_path / "comptes.db", max_failures=3)
    audit = AuditLog(tmp_path / "audit.db")
    accounts.create_group("operateurs")
    accounts.put_profile(
        "exploitation", cameras=["*"], permissions=list(Permission), groups_=["operateurs"]
    )
    for login, role in ROLES.items():
        groups = () if login == "admin" else ("operateurs",)
        accounts.create_user(login, role, PASSWORDS[login], created_by="test", groups_=groups)
    options = ServiceOptions(
        config_path=config_path,
        backup_dir=tmp_path / "sauvegardes",
        log_file=tmp_path / "logs" / "veilleur.log",
        retention_file=tmp_path / "conservation.yaml",
        snapshot_dir=snapshots.root,
        licence_streams=max(4, cameras),
        data_dirs=(tmp_path,),
    )
    app = create_app(journal, runtime, security=Security(accounts, audit), options=options)
    world = UiWorld("", journal, engine, accounts, audit, tmp_path)
    ids = [c.id for c in config.cameras]
    if not evidence:
        # the warm-up's own alerts are not journaled: the tests count the six above
        engine.journal = None
        warm_up(engine, ids)
        engine.journal = journal
        return app, world
    # alerts raised by the engine (rule "intrus" of cam-a), journaled with their snapshots:
    # the live engine's, and a second engine's whose snapshot is then altered on disk
    warm_up(engine, ids)
    other = Engine(config, OnePerson(), "0" * 64, journal=journal, snapshots=snapshots)
    warm_up(other, ["cam-a"])
    raised = [a for a in journal.list("alert") if isinstance(a.get("snapshot"), dict)]
    assert len(raised) == 2, raised
    intact, altered = sorted(raised, key=lambda a: str(a["utc"]))
    with open(snapshots.root / altered["snapshot"]["path"], "ab") as f:
        f.write(b"retouche")
    world.evidence = {"intact": intact["id"], "altere": altered["id"]}
    write_clip(tmp_path / "essai.mp4", seconds=2.0, fps=10)
    return app, world


@contextmanager
def serve(tmp_path: Path, **world: Any) -> Iterator[UiWorld]:
    """Run the service on 127.0.0.1 (a free port) for the duration of the block; ``world``:
    see :func:`build_ui_app`."""
    app, ui = build_ui_app(tmp_path, **world)
    port = _free_port()
    # lifespan off: the runtime is never started (no camera to read)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("le service de test n'a pas démarré")
        time.sleep(0.05)
    ui.base = f"http://127.0.0.1:{port}"
    try:
        yield ui
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def feeding(engine: Engine, camera_ids: list[str], fps: float = 10.0) -> Iterator[None]:
    """New frames for ``camera_ids`` at ``fps`` while the block runs, as the live runtime would
    bring them (the picture is the scene's, the detections :class:`OnePerson`'s)."""
    base = scene_frame(0)
    dets = OnePerson().detect_batch([base.image])[0]
    stop = threading.Event()
    journal = engine.journal
    engine.journal = None  # the alerts of this feed are not journaled

    def run() -> None:
        i = 100
        while not stop.wait(1.0 / fps):
            f = Frame(index=i, t=i / fps, image=base.image)
            engine.process_detections([(cid, f, dets) for cid in camera_ids])
            i += 1

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        engine.journal = journal


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--lang=fr-FR",
]


def log_in(page: Page, ui: UiWorld, login: str, screen: str = "tableau-de-bord") -> None:
    """Open a session without the form (argon2 once per test is enough elsewhere)."""
    page.context.add_cookies([ui.session_cookie(login)])  # type: ignore[list-item]
    page.goto(f"{ui.base}/ui/#/{screen}")
    page.locator("#entete").wait_for(state="visible")


def shoot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def screen_text(page: Page) -> str:
    """The page's visible text, less raw data marked ``translate="no"`` (URL paths, log lines,
    metric names, tokens): what the interface itself says."""
    text = page.locator("body").inner_text()
    for raw in page.locator('[translate="no"]').all_inner_texts():
        text = text.replace(raw, " ")
    return text


def assert_french(page: Page) -> None:
    text = screen_text(page)
    found = english_words(text)
    assert not found, f"mots anglais à l'écran : {found}"
