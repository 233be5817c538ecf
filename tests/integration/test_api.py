"""The runtime service's API: health, alerts and their review, exports, statistics, control,
behind authentication, with every access audited."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from api_fixture import ApiWorld, build_world
from tests_helpers import sample_alert

from veilleur.runtime.config import parse_site_config
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.engine import Engine
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.pipeline import LiveRuntime


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    j = Journal(tmp_path / "j.db")
    for i in range(3):
        j.append("alert", sample_alert(i, camera="cam-a" if i < 2 else "cam-b"))
    return j


@pytest.fixture
def world(tmp_path: Path, journal: Journal) -> ApiWorld:
    return build_world(tmp_path, journal)


def alert_ids(journal: Journal) -> list[str]:
    return [a["id"] for a in journal.list("alert")]


@pytest.mark.req("EX-015", "EX-025")
def test_health_alerts_openapi(world: ApiWorld):
    h = world.get("/api/v1/health", "standard")
    assert h.status_code == 200
    body = h.json()
    assert body["status"] == "vert"
    assert body["components"][0] == {"name": "journal", "level": "vert", "reason": "accessible"}

    r = world.get("/api/v1/alerts", "standard", params={"camera_id": "cam-a"})
    assert r.status_code == 200
    assert r.json()["total"] == 2
    assert [a["frame_index"] for a in r.json()["items"]] == [10, 0]
    assert r.json()["items"][0]["label_fr"] == "Franchissement"
    assert r.json()["items"][0]["review"]["acknowledged"] is False

    assert world.get("/api/v1/alerts", "standard", params={"limit": 0}).status_code == 422
    assert world.get("/api/v1/journal/verify", "avance").json()["ok"] is True
    assert world.client.get("/api/v1/livez").json() == {"status": "ok"}

    spec = world.client.get("/openapi.json").json()
    assert {"/api/v1/health", "/api/v1/alerts", "/api/v1/journal/verify"} <= set(spec["paths"])


@pytest.mark.req("EX-039", "EX-014")
def test_review_through_the_api_is_journaled_and_never_overwrites(world: ApiWorld):
    aid = alert_ids(world.journal)[0]
    before = world.journal.list("alert")[0]
    r = world.post(
        f"/api/v1/alerts/{aid}/reviews",
        "standard",
        json={"acknowledge": True, "qualification": "faux_positif", "comment": "reflet"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["written"] == 3
    state = r.json()["state"]
    assert state["acknowledged_by"] == "standard"
    assert state["qualification"] == "faux_positif"
    assert state["comments"][0]["comment"] == "reflet"
    # a second acknowledgement is refused; a later qualification replaces the first
    again = world.post(f"/api/v1/alerts/{aid}/reviews", "avance", json={"acknowledge": True})
    assert again.status_code == 409 and "déjà acquittée" in again.json()["detail"]
    r2 = world.post(
        f"/api/v1/alerts/{aid}/reviews", "avance", json={"qualification": "vrai_positif"}
    )
    assert r2.json()["state"]["qualification"] == "vrai_positif"
    assert world.journal.count("review") == 4
    assert world.journal.list("alert")[0] == before  # the alert itself is untouched
    assert world.journal.verify().ok

    one = world.get(f"/api/v1/alerts/{aid}", "standard").json()
    assert one["review"]["qualified_by"] == "avance"
    listed = world.get("/api/v1/alerts", "standard", params={"qualification": "vrai_positif"})
    assert [a["id"] for a in listed.json()["items"]] == [aid]

    assert world.post("/api/v1/alerts/nope/reviews", "standard", json={}).status_code == 404
    empty = world.post(f"/api/v1/alerts/{aid}/reviews", "standard", json={})
    assert empty.status_code == 422 and "aucune action" in empty.json()["detail"]
    bad = world.post(
        f"/api/v1/alerts/{aid}/reviews", "standard", json={"qualification": "peut-être"}
    )
    assert bad.status_code == 422
    unknown_field = world.post(f"/api/v1/alerts/{aid}/reviews", "standard", json={"x": 1})
    assert unknown_field.status_code == 422
    assert world.journal.count("review") == 4  # nothing written by the refused ones


@pytest.mark.req("EX-019", "EX-020")
def test_profiles_limit_what_a_user_sees_to_their_cameras(tmp_path: Path, journal: Journal):
    world = build_world(tmp_path, journal, cameras=("cam-a",))
    page = world.get("/api/v1/alerts", "standard").json()
    assert page["total"] == 2 and {a["camera_id"] for a in page["items"]} == {"cam-a"}
    assert world.get("/api/v1/alerts", "admin").json()["total"] == 3
    cam_b = next(a["id"] for a in journal.list("alert") if a["camera_id"] == "cam-b")
    assert world.get(f"/api/v1/alerts/{cam_b}", "standard").status_code == 403
    denied = world.post(f"/api/v1/alerts/{cam_b}/reviews", "standard", json={"acknowledge": True})
    assert denied.status_code == 403
    assert world.get("/api/v1/alerts", "standard", params={"camera_id": "cam-b"}).status_code == 403
    stats = world.get("/api/v1/stats", "standard").json()
    assert stats["total"] == 2 and set(stats["by_camera"]) == {"cam-a"}
    csv = world.get("/api/v1/journal/export", "avance", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["x-veilleur-rows"] == "2"
    me = world.get("/api/v1/auth/me", "standard").json()
    assert me["cameras"] == ["cam-a"] and me["role_label"] == "Utilisateur standard"


@pytest.mark.req("EX-014", "EX-015", "EX-016")
def test_exports_and_stats_through_the_api(world: ApiWorld):
    csv = world.get("/api/v1/journal/export", "avance", params={"format": "csv"})
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert "journal-veilleur.csv" in csv.headers["content-disposition"]
    lines = csv.text.strip().splitlines()
    assert len(lines) == 4  # header + 3 alerts
    pq_resp = world.get(
        "/api/v1/journal/export", "avance", params={"format": "parquet", "camera_id": "cam-b"}
    )
    table = pq.read_table(io.BytesIO(pq_resp.content))
    assert table.num_rows == 1 and table.column("camera_id").to_pylist() == ["cam-b"]
    bad = world.get(
        "/api/v1/journal/export",
        "avance",
        params={"since": "2030-01-01T00:00:00Z", "until": "2029-01-01T00:00:00Z"},
    )
    assert bad.status_code == 422 and "période vide" in bad.json()["detail"]
    assert (
        world.get("/api/v1/journal/export", "avance", params={"format": "exe"}).status_code == 422
    )
    # standard users do not export (role), advanced users do
    assert world.get("/api/v1/journal/export", "standard").status_code == 403
    stats = world.get("/api/v1/stats", "standard").json()
    assert stats["total"] == 3 and stats["by_camera"] == {"cam-a": 2, "cam-b": 1}
    assert world.get("/api/v1/stats", "standard", params={"tz": "Mars/Olympus"}).status_code == 422


@pytest.mark.req("EX-024", "EX-127")
def test_every_access_is_audited_who_what_when_where(world: ApiWorld):
    world.client.post("/api/v1/auth/login", json={"login": "standard", "password": "faux"})
    ok = world.client.post(
        "/api/v1/auth/login", json={"login": "standard", "password": "Pont-Est-19-Ronde!"}
    )
    assert ok.status_code == 200
    assert ok.cookies.get("veilleur_session") == ok.json()["token"]
    world.client.cookies.clear()
    world.get("/api/v1/alerts", "standard")
    world.get("/api/v1/journal/export", "avance")
    world.get("/api/v1/users", "standard")  # refused: audited as such
    world.client.get("/api/v1/alerts")  # no session: audited as anonymous
    entries = list(reversed(world.audit.list(limit=1000)))
    actions = [(e["event"], e["actor"], e["outcome"]) for e in entries]
    assert actions == [
        ("login_failed", "standard", "refus"),
        ("login", "standard", "succes"),
        ("read", "standard", "succes"),
        ("export", "avance", "succes"),
        ("access_denied", "standard", "refus"),
        ("access_denied", "anonyme", "refus"),
    ]
    read = entries[2]
    assert read["path"] == "/api/v1/alerts" and read["method"] == "GET"
    assert read["ip"] == "testclient" and read["utc"].endswith("+00:00")
    assert read["details"]["returned"] == 3
    assert entries[4]["details"]["status"] == 403
    # the audit log is its own chain, separate from the alert journal
    assert world.audit.journal.verify().ok
    assert world.journal.count("audit") == 0
    page = world.get("/api/v1/audit", "admin").json()
    assert page["total"] == 6  # the listing itself is audited after it answers
    assert world.get("/api/v1/audit", "avance").status_code == 403
    exported = world.get("/api/v1/audit/export", "admin", params={"format": "jsonl"})
    assert (
        exported.status_code == 200 and len(exported.text.strip().splitlines()) == 8
    )  # + list, + refusal


class OnePerson:
    def detect_batch(self, frames: list[Any]) -> list[Detections]:
        return [Detections.from_arrays([[150, 20, 170, 90]], [0.9], [0]) for _ in frames]


@pytest.mark.req("EX-046", "EX-021")
def test_global_stop_and_switches_through_the_api(tmp_path: Path, journal: Journal):
    zone = {"id": "z", "kind": "polygon", "points": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]}
    site = parse_site_config(
        {
            "version": 1,
            "site": {"name": "t"},
            "cameras": [
                {
                    "id": "cam-a",
                    "source": {"url": "cam-a.mp4"},
                    "zones": [zone],
                    "rules": [{"id": "intrus", "type": "franchissement", "zone": "z"}],
                }
            ],
        }
    )
    engine = Engine(site, OnePerson(), "0" * 64, journal=journal)
    runtime = LiveRuntime(engine, tmp_path / "site.yaml")  # not started: no stream needed
    world = build_world(tmp_path, journal, runtime)
    assert world.get("/api/v1/control/state", "standard").json()["analysis_stopped"] is False
    assert world.post("/api/v1/control/stop", "standard", json={}).status_code == 403
    r = world.post("/api/v1/control/stop", "avance", json={"reason": "exercice"})
    assert r.status_code == 200 and r.json()["analysis_stopped"] is True
    assert engine.analysis_stopped
    control = journal.list("control")[0]
    assert (control["action"], control["actor"], control["reason"]) == (
        "analysis_stopped",
        "avance",
        "exercice",
    )
    health = world.get("/api/v1/health", "standard").json()
    assert any(c["name"] == "analyse" and c["level"] == "jaune" for c in health["components"])
    assert world.post("/api/v1/control/resume", "avance").json()["analysis_stopped"] is False

    put = world.client.put(
        "/api/v1/control/cameras/cam-a/rules/intrus",
        json={"enabled": False},
        headers=world.headers("avance"),
    )
    assert put.status_code == 200
    assert journal.list("control")[0]["action"] == "rule_disabled"
    missing = world.client.put(
        "/api/v1/control/cameras/cam-a/rules/nope",
        json={"enabled": False},
        headers=world.headers("avance"),
    )
    assert missing.status_code == 404
    cam = world.client.put(
        "/api/v1/control/cameras/cam-a", json={"enabled": False}, headers=world.headers("avance")
    )
    assert cam.status_code == 403  # cameras are the administrator's
    cam = world.client.put(
        "/api/v1/control/cameras/cam-a", json={"enabled": False}, headers=world.headers("admin")
    )
    assert cam.status_code == 200 and cam.json()["cameras"]["cam-a"]["enabled"] is False
    audited = [e for e in world.audit.list(limit=100) if e["path"].startswith("/api/v1/control")]
    assert {e["actor"] for e in audited if e["outcome"] == "succes"} == {"avance", "admin"}


def test_journal_only_service_refuses_control_with_409(world: ApiWorld):
    r = world.post("/api/v1/control/stop", "admin", json={})
    assert r.status_code == 409 and "aucun moteur" in r.json()["detail"]


@pytest.mark.req("EX-111")
def test_oversized_bodies_are_refused_before_being_read(world: ApiWorld):
    aid = alert_ids(world.journal)[0]
    big = {"comment": "x" * (2 << 20)}
    r = world.post(f"/api/v1/alerts/{aid}/reviews", "standard", json=big)
    assert r.status_code == 413 and "trop volumineux" in r.json()["detail"]
    assert world.journal.count("review") == 0


@pytest.mark.req("EX-045")
def test_validation_errors_are_in_french_and_name_the_field(world: ApiWorld):
    aid = alert_ids(world.journal)[0]
    r = world.post(f"/api/v1/alerts/{aid}/reviews", "standard", json={"comment": "x" * 2001})
    assert r.status_code == 422
    assert (
        r.json()["detail"]
        == "requête invalide : body.comment : texte trop long (2000 caractères au plus)"
    )
    r = world.post(f"/api/v1/alerts/{aid}/reviews", "standard", json={"acquitter": True})
    assert "body.acquitter : champ inconnu" in r.json()["detail"]
    r = world.get("/api/v1/alerts", "standard", params={"limit": "beaucoup"})
    assert r.json()["detail"] == "requête invalide : query.limit : nombre entier attendu"
    r = world.client.post(
        "/api/v1/auth/login", content=b'{"login": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and "JSON illisible" in r.json()["detail"]
    assert world.get("/api/v1/nulle-part", "standard").json()["detail"] == "ressource introuvable"


@pytest.mark.req("EX-025")
def test_detector_health_says_model_providers_and_failures():
    from types import SimpleNamespace

    from veilleur.runtime.api.routers.system import detector_health

    session = SimpleNamespace(get_providers=lambda: ["CPUExecutionProvider"])
    engine = SimpleNamespace(model_sha256="ab" * 32, detector=SimpleNamespace(session=session))
    running = SimpleNamespace(running=True)
    rt = SimpleNamespace(engine=engine, failed_batches=0, pipeline=running, workers={})
    ok = detector_health(rt)  # type: ignore[arg-type]
    assert (ok.level, ok.reason) == ("vert", "modèle abababababab…, exécution CPU")
    rt.failed_batches = 3
    assert detector_health(rt).level == "jaune"  # type: ignore[arg-type]
    assert "3 lot(s) en échec" in detector_health(rt).reason  # type: ignore[arg-type]
    rt.pipeline = SimpleNamespace(running=False)
    rt.workers = {"cam": SimpleNamespace(finished=False)}
    assert detector_health(rt).level == "rouge"  # type: ignore[arg-type]
