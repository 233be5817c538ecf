from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests_helpers import sample_alert

from veilleur.runtime.api.app import create_app
from veilleur.runtime.journal.repository import Journal


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    j = Journal(tmp_path / "j.db")
    for i in range(3):
        j.append("alert", sample_alert(i, camera="cam-a" if i < 2 else "cam-b"))
    return j


@pytest.mark.req("EX-015", "EX-025")
def test_health_alerts_openapi(journal: Journal):
    client = TestClient(create_app(journal))
    h = client.get("/api/v1/health")
    assert h.status_code == 200
    body = h.json()
    assert body["status"] == "vert"
    assert body["components"][0] == {"name": "journal", "level": "vert", "reason": "accessible"}

    r = client.get("/api/v1/alerts", params={"camera_id": "cam-a"})
    assert r.status_code == 200
    assert r.json()["total"] == 3
    assert [a["frame_index"] for a in r.json()["items"]] == [10, 0]
    assert r.json()["items"][0]["label_fr"] == "Franchissement"

    assert client.get("/api/v1/alerts", params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/journal/verify").json()["ok"] is True

    spec = client.get("/openapi.json").json()
    assert {"/api/v1/health", "/api/v1/alerts", "/api/v1/journal/verify"} <= set(spec["paths"])
