"""`veilleur serve`: the live pipeline (reader thread → batched inference → rules → journal)
behind the real HTTP service, on a generated clip used as a camera source."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_fixture import login_headers, serve_auth
from rtsp_fixture import free_port
from tests_helpers import easy_clip

VEILLEUR = str(Path(sys.executable).parent / "veilleur")


@pytest.mark.slow
@pytest.mark.req("EX-015", "EX-025", "EX-035", "EX-111")
def test_serve_analyses_a_file_source_and_answers(tmp_path: Path, shared_dir: Path):
    rec = easy_clip(tmp_path, "intrusion")
    port = free_port()
    auth_args, env = serve_auth(tmp_path)
    proc = subprocess.Popen(
        [VEILLEUR, "serve", "--config", str(tmp_path / rec.site),
         "--model", str(shared_dir / "models" / "yolox_nano.onnx"),
         "--journal", str(tmp_path / "journal.db"), "--port", str(port), *auth_args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        h = login_headers(base)
        assert httpx.get(f"{base}/api/v1/alerts", timeout=5).status_code == 401
        deadline = time.monotonic() + 120
        alerts: dict = {"total": 0}
        while time.monotonic() < deadline:
            try:
                alerts = httpx.get(f"{base}/api/v1/alerts", headers=h, timeout=2).json()
            except httpx.TransportError:
                alerts = {"total": 0}
            if alerts["total"] >= 1:
                break
            time.sleep(0.5)
        assert alerts["total"] >= 1, "no alert from the live pipeline within 120 s"
        assert alerts["items"][-1]["rule_id"] == "intrusion-zone"
        first = alerts["items"][-1]
        snap = httpx.get(f"{base}/api/v1/alerts/{first['id']}/snapshot.jpg", headers=h, timeout=5)
        assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8"
        live = httpx.get(f"{base}/api/v1/live/cam-01/overlay", headers=h, timeout=5).json()
        assert live["camera_id"] == "cam-01" and live["width"] > 0
        health = httpx.get(f"{base}/api/v1/health", headers=h, timeout=5).json()
        names = {c["name"] for c in health["components"]}
        assert {"journal", "camera:cam-01"} <= names
        assert health["model_sha256"].startswith("e8af0749")
        assert httpx.get(f"{base}/openapi.json", timeout=5).status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it (exit status -15)
    assert proc.returncode in (0, -15), out[-3000:]
    assert "Application shutdown complete" in out, out[-3000:]
    assert "Traceback" not in out, out[-3000:]


@pytest.mark.req("EX-119")
def test_serve_refuses_to_start_without_an_administrator(tmp_path: Path, shared_dir: Path):
    rec = easy_clip(tmp_path, "intrusion")
    r = subprocess.run(
        [VEILLEUR, "serve", "--config", str(tmp_path / rec.site),
         "--model", str(shared_dir / "models" / "yolox_nano.onnx"),
         "--accounts", str(tmp_path / "comptes.db"), "--audit", str(tmp_path / "audit.db")],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if k != "VEILLEUR_ADMIN_PASSWORD_FILE"},
    )  # fmt: skip
    assert r.returncode == 2
    assert "aucun compte administrateur" in r.stderr and "create-admin" in r.stderr
    weak = tmp_path / "weak"
    weak.write_text("admin\n")
    r = subprocess.run(
        [VEILLEUR, "serve", "--config", str(tmp_path / rec.site),
         "--accounts", str(tmp_path / "comptes.db"), "--audit", str(tmp_path / "audit.db")],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "VEILLEUR_ADMIN_PASSWORD_FILE": str(weak)},
    )  # fmt: skip
    assert r.returncode == 2 and "mot de passe refusé" in r.stderr
