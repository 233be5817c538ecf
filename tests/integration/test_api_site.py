"""Site configuration, cameras, backups, retention, logs, metrics and licences through the API."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml
from api_fixture import ApiWorld, build_world
from prometheus_client.parser import text_string_to_metric_families
from tests_helpers import sample_alert, write_clip

from veilleur.runtime.api.options import ServiceOptions
from veilleur.runtime.config import load_site_config
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.engine import Engine, replay
from veilleur.runtime.evidence.snapshots import SnapshotStore
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.ops.applog import setup_app_logging
from veilleur.runtime.pipeline import LiveRuntime

ZONE = {"id": "z", "kind": "polygon", "points": [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]}


class OnePerson:
    """One person in the right half of every frame (inside zone ``z``)."""

    def detect_batch(self, frames: list[Any]) -> list[Detections]:
        out = []
        for f in frames:
            h, w = f.shape[:2]
            box = [0.75 * w, 0.2 * h, 0.85 * w, 0.9 * h]
            out.append(Detections.from_arrays([box], [0.9], [0]))
        return out


def camera(cid: str, clip: str = "a.mp4") -> dict[str, Any]:
    return {
        "id": cid,
        "source": {"url": clip},
        "analysis_fps": 5,
        "view_monitor": {"enabled": False},
        "zones": [ZONE],
        "rules": [{"id": "intrus", "type": "franchissement", "zone": "z", "min_duration_s": 1.0}],
    }


@pytest.fixture
def site_world(tmp_path: Path) -> tuple[ApiWorld, LiveRuntime, Path]:
    write_clip(tmp_path / "a.mp4", seconds=4)
    config = tmp_path / "site.yaml"
    doc = {"version": 1, "site": {"name": "Essai"}, "cameras": [camera("cam-a"), camera("cam-b")]}
    config.write_text(yaml.safe_dump(doc))
    journal = Journal(tmp_path / "journal.db")
    journal.append("alert", sample_alert(0, camera="cam-a"))
    engine = Engine(load_site_config(config), OnePerson(), "0" * 64, journal=journal)
    runtime = LiveRuntime(engine, config)  # not started
    options = ServiceOptions(
        config_path=config,
        backup_dir=tmp_path / "sauvegardes",
        log_file=tmp_path / "logs" / "veilleur.log",
        retention_file=tmp_path / "conservation.yaml",
        licence_streams=4,
        data_dirs=(tmp_path,),
    )
    world = build_world(tmp_path, journal, runtime, cameras=("cam-a",), options=options)
    return world, runtime, config


def put(world: ApiWorld, path: str, login: str, body: Any) -> Any:
    return world.client.put(path, json=body, headers=world.headers(login))


@pytest.mark.req("EX-036", "EX-038", "EX-052", "EX-033")
def test_rules_change_through_the_api_is_validated_backed_up_and_applied(site_world):
    world, runtime, config = site_world
    got = world.get("/api/v1/config", "avance").json()
    assert [c["id"] for c in got["site"]["cameras"]] == ["cam-a"]  # the profile's cameras only
    full = world.get("/api/v1/config", "admin").json()
    assert full["config_version"] == runtime.engine.config_version
    doc = full["site"]
    doc["cameras"][0]["rules"][0]["min_duration_s"] = 3.0
    r = put(world, "/api/v1/config", "avance", doc)
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == ["cam-a"] and r.json()["added"] == []
    assert r.json()["backup"].endswith(".tar.gz")
    assert runtime.engine.config.camera("cam-a").rules[0].min_duration_s == 3.0  # type: ignore[union-attr]
    assert load_site_config(config).camera("cam-a").rules[0].min_duration_s == 3.0  # type: ignore[union-attr]
    control = world.journal.list("control")[0]
    assert control["action"] == "config_applied" and control["actor"] == "avance"
    audit = world.audit.list(limit=5)
    assert audit[0]["path"] == "/api/v1/config" and audit[0]["details"]["changed"] == ["cam-a"]

    # cam-b is outside the advanced user's profile
    doc["cameras"][1]["rules"][0]["min_duration_s"] = 9.0
    assert put(world, "/api/v1/config", "avance", doc).status_code == 403
    doc["cameras"][1]["rules"][0]["min_duration_s"] = 1.0
    # a camera more is the administrator's
    doc["cameras"].append(camera("cam-c"))
    assert put(world, "/api/v1/config", "avance", doc).status_code == 403
    # invalid: the message names the field; nothing changes
    before = config.read_text()
    bad = world.get("/api/v1/config", "admin").json()["site"]
    bad["cameras"][0]["zones"][0]["points"] = [[0, 0], [1, 1]]
    r = put(world, "/api/v1/config", "admin", bad)
    assert r.status_code == 422 and "cameras.0.zones.0" in r.json()["detail"]
    bad = world.get("/api/v1/config", "admin").json()["site"]
    bad["cameras"][0]["rules"][0]["seuil_inconnu"] = 1
    r = put(world, "/api/v1/config", "admin", bad)
    assert r.status_code == 422 and "seuil_inconnu : champ inconnu" in r.json()["detail"]
    assert config.read_text() == before


@pytest.mark.req("EX-033", "EX-035")
def test_cameras_are_added_and_removed_by_the_administrator(site_world):
    world, runtime, config = site_world
    r = world.post("/api/v1/cameras", "admin", json=camera("cam-c"))
    assert r.status_code == 201 and r.json()["added"] == ["cam-c"]
    assert "cam-c" in runtime.workers and "cam-c" in runtime.engine.cameras
    assert [c.id for c in load_site_config(config).cameras] == ["cam-a", "cam-b", "cam-c"]
    assert world.post("/api/v1/cameras", "admin", json=camera("cam-c")).status_code == 409
    assert world.post("/api/v1/cameras", "avance", json=camera("cam-d")).status_code == 403
    bad = world.post("/api/v1/cameras", "admin", json={"id": "cam-e"})
    assert (
        bad.status_code == 422
        and "cameras.3.source : champ obligatoire manquant" in bad.json()["detail"]
    )
    gone = world.client.delete("/api/v1/cameras/cam-b", headers=world.headers("admin"))
    assert gone.status_code == 200 and gone.json()["removed"] == ["cam-b"]
    assert "cam-b" not in runtime.engine.cameras
    assert (
        world.client.delete("/api/v1/cameras/cam-z", headers=world.headers("admin")).status_code
        == 404
    )
    licences = world.get("/api/v1/licences", "standard").json()
    assert licences == {"max_streams": 4, "active_streams": 0, "cameras_enabled": 2}
    for cid in ("cam-d", "cam-e"):
        assert world.post("/api/v1/cameras", "admin", json=camera(cid)).status_code == 201
    over = world.post("/api/v1/cameras", "admin", json=camera("cam-f"))
    assert over.status_code == 409 and "licence" in over.json()["detail"]
    off = world.post("/api/v1/cameras", "admin", json={**camera("cam-f"), "enabled": False})
    assert off.status_code == 201  # a disabled camera takes no licence
    on = world.client.put(
        "/api/v1/control/cameras/cam-f", json={"enabled": True}, headers=world.headers("admin")
    )
    assert on.status_code == 409


@pytest.mark.req("EX-037")
def test_a_configuration_is_tried_on_a_recorded_clip_without_trace(site_world):
    world, _, _ = site_world
    n_alerts = world.journal.count("alert")
    r = world.post("/api/v1/config/test", "avance", json={"camera_id": "cam-a", "clip": "a.mp4"})
    assert r.status_code == 200, r.text
    alerts = r.json()["alerts"]
    assert len(alerts) == 1 and alerts[0]["rule_id"] == "intrus"
    assert alerts[0]["start_s"] == pytest.approx(0.0, abs=0.3)
    # a stricter draft raises nothing on the same clip
    draft = world.get("/api/v1/config", "admin").json()["site"]
    draft["cameras"][0]["rules"][0]["min_duration_s"] = 60.0
    r = world.post(
        "/api/v1/config/test", "avance", json={"camera_id": "cam-a", "clip": "a.mp4", "site": draft}
    )
    assert r.json()["alerts"] == []
    assert world.journal.count("alert") == n_alerts  # a test journals nothing
    for clip in ("../a.mp4", "/etc/passwd", "sub/../../a.mp4"):
        r = world.post("/api/v1/config/test", "avance", json={"camera_id": "cam-a", "clip": clip})
        assert r.status_code == 422, clip
    missing = world.post(
        "/api/v1/config/test", "avance", json={"camera_id": "cam-a", "clip": "b.mp4"}
    )
    assert missing.status_code == 404
    other = world.post(
        "/api/v1/config/test", "avance", json={"camera_id": "cam-b", "clip": "a.mp4"}
    )
    assert other.status_code == 403


@pytest.mark.req("EX-030", "EX-031", "EX-043", "EX-044")
def test_backups_and_retention_through_the_api(site_world):
    world, runtime, _ = site_world
    assert world.get("/api/v1/config/backups", "admin").json() == []  # no folder yet
    made = world.post("/api/v1/config/backups", "admin", json={"note": "avant la finale"})
    assert made.status_code == 201
    name = made.json()["name"]
    listed = world.get("/api/v1/config/backups", "admin").json()
    assert listed[0]["name"] == name and listed[0]["note"] == "avant la finale"
    assert world.get(f"/api/v1/config/backups/{name}/verify", "admin").json()["ok"] is True
    assert world.get("/api/v1/config/backups", "avance").status_code == 403
    # change the config, then restore: the engine gets the restored version back
    original = runtime.engine.config_version
    world.post("/api/v1/cameras", "admin", json=camera("cam-c"))
    assert runtime.engine.config_version != original
    r = world.post(f"/api/v1/config/backups/{name}/restore", "admin")
    assert r.status_code == 200, r.text
    assert r.json()["applied"]["removed"] == ["cam-c"]
    assert runtime.engine.config_version == original
    for evil in ("..%2Fsite.yaml", "x.tar.gz%00", "nope.tar.gz"):
        assert world.post(f"/api/v1/config/backups/{evil}/restore", "admin").status_code in (
            404,
            422,
        )

    assert world.get("/api/v1/retention", "admin").json()["alert"] is None
    r = put(world, "/api/v1/retention", "admin", {"alert": 30, "audit": 365})
    assert r.status_code == 200
    assert world.get("/api/v1/retention", "admin").json()["alert"] == 30
    assert put(world, "/api/v1/retention", "admin", {"alert": 0}).status_code == 422
    assert put(world, "/api/v1/retention", "admin", {"alertes": 3}).status_code == 422
    assert put(world, "/api/v1/retention", "avance", {"alert": 3}).status_code == 403
    purged = world.post("/api/v1/retention/purge", "admin").json()
    assert purged["journal"]["alert"] == 0  # the sample alert is recent


@pytest.mark.req("EX-023", "EX-024", "EX-025", "EX-118")
def test_logs_metrics_and_health_components(site_world, tmp_path: Path):
    world, runtime, _ = site_world
    handler = setup_app_logging(tmp_path / "logs" / "veilleur.log", "INFO")
    try:
        logging.getLogger("veilleur.test").error(
            "caméra cam-a injoignable", extra={"camera": "cam-a"}
        )
        handler.flush()
        logs = world.get("/api/v1/logs", "admin", params={"level": "ERROR"}).json()
        assert any(r["message"] == "caméra cam-a injoignable" for r in logs)
        assert world.get("/api/v1/logs", "admin", params={"level": "BAVARD"}).status_code == 422
        csv = world.get("/api/v1/logs", "admin", params={"level": "ERROR", "format": "csv"})
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        lines = csv.text.strip().splitlines()
        assert lines[0].startswith("ts,level,incident") and "injoignable" in lines[-1]
        xlsx = world.get("/api/v1/logs", "admin", params={"level": "ERROR", "format": "xlsx"})
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
        exports = [e for e in world.audit.list(limit=20) if e["event"] == "export"]
        assert exports and exports[0]["details"]["export"] == "logs"
        assert world.get("/api/v1/logs", "avance").status_code == 403
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    m = world.get("/api/v1/metrics", "admin")
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(m.text)}
    assert (
        families["veilleur_build_info"].samples[0].labels["config_version"]
        == runtime.engine.config_version
    )
    assert world.get("/api/v1/metrics", "standard").status_code == 403
    health = world.get("/api/v1/health", "standard").json()
    assert any(c["name"].startswith("disque:") for c in health["components"])


@pytest.mark.req("EX-032", "EX-038")
def test_composite_rules_round_trip_with_et_ou_non(site_world):
    world, _, config = site_world
    doc = world.get("/api/v1/config", "admin").json()["site"]
    cam = doc["cameras"][0]
    cam["rules"].append({"id": "rapide", "type": "franchissement", "zone": "z"})
    cam["rules"].append(
        {"id": "combo", "type": "composite", "event": "franchissement", "window_s": 10,
         "when": {"and": ["intrus", {"not": "rapide"}]}}
    )  # fmt: skip
    r = put(world, "/api/v1/config", "avance", doc)
    assert r.status_code == 200, r.text
    text = config.read_text()
    assert "and:" in text and "not: rapide" in text and "all_of" not in text
    assert load_site_config(config).camera("cam-a").rules[-1].id == "combo"
    again = world.get("/api/v1/config", "admin").json()["site"]["cameras"][0]["rules"][-1]
    assert again["when"] == {"and": ["intrus", {"not": "rapide"}]}


@pytest.mark.req("EX-040", "EX-042", "EX-075", "EX-104", "EX-024")
def test_live_frame_overlay_and_alert_snapshot(tmp_path: Path):
    write_clip(tmp_path / "a.mp4", seconds=3)
    config = tmp_path / "site.yaml"
    doc = {"version": 1, "site": {"name": "Essai"}, "cameras": [camera("cam-a"), camera("cam-b")]}
    config.write_text(yaml.safe_dump(doc))
    journal = Journal(tmp_path / "journal.db")
    snaps = SnapshotStore(tmp_path / "cliches")
    engine = Engine(
        load_site_config(config), OnePerson(), "0" * 64, journal=journal, snapshots=snaps
    )
    runtime = LiveRuntime(engine, config)
    options = ServiceOptions(config_path=config, snapshot_dir=tmp_path / "cliches")
    world = build_world(tmp_path, journal, runtime, cameras=("cam-a",), options=options)
    assert world.get("/api/v1/live/cam-a/frame.jpg", "standard").status_code == 404  # nothing yet
    replay(engine, tmp_path / "a.mp4", "cam-a")
    r = world.get("/api/v1/live/cam-a/frame.jpg", "standard")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (120, 160, 3)
    ov = world.get("/api/v1/live/cam-a/overlay", "standard").json()
    assert (ov["width"], ov["height"]) == (160, 120)
    assert ov["detections"][0]["class_name"] == "person" and ov["detections"][0]["track_id"] == 1
    assert ov["detections"][0]["label_fr"] == "personne"
    assert ov["zones"][0]["id"] == "z" and ov["counts"] == {"z": 1}
    # cam-b is outside the standard user's profile; an unknown camera is 404
    assert world.get("/api/v1/live/cam-b/overlay", "standard").status_code == 403
    assert world.get("/api/v1/live/cam-z/overlay", "admin").status_code == 404
    for _ in range(5):
        world.get("/api/v1/live/cam-a/frame.jpg", "standard")
    views = [e for e in world.audit.list(limit=50) if e["details"].get("video") == "direct"]
    assert len(views) == 1 and views[0]["camera_id"] == "cam-a"  # once per 5 minutes

    alert = journal.list("alert")[0]
    r = world.get(f"/api/v1/alerts/{alert['id']}/snapshot.jpg", "standard")
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
    (tmp_path / "cliches" / alert["snapshot"]["path"]).write_bytes(r.content[:-20])
    altered = world.get(f"/api/v1/alerts/{alert['id']}/snapshot.jpg", "standard")
    assert altered.status_code == 409 and "modifié" in altered.json()["detail"]


@pytest.mark.req("EX-045", "EX-008")
def test_configuration_refusals_are_in_french(site_world):
    world, _, _ = site_world
    doc = world.get("/api/v1/config", "admin").json()["site"]
    doc["cameras"][0]["calibration"] = {
        "image_points": [[0.2, 0.5], [0.8, 0.5], [0.9, 0.9], [0.1, 0.9]],
        "ground_points_m": [[0, 0], [12, 0], [12, 6]],
    }
    r = put(world, "/api/v1/config", "admin", doc)
    assert r.status_code == 422
    assert r.json()["detail"] == (
        "configuration refusée (1 erreur(s)) : cameras.0.calibration.ground_points_m : "
        "4 élément(s) au moins (ici 3)"
    )
    del doc["cameras"][0]["calibration"]
    doc["cameras"][0]["rules"][0]["zone"] = "nulle-part"
    detail = put(world, "/api/v1/config", "admin", doc).json()["detail"]
    assert "la règle intrus désigne la zone nulle-part, que la caméra cam-a n'a pas" in detail
