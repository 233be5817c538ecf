"""The operator interface's files are served by the service, shipped in the package, kept out
of the API's OpenAPI document, and reference nothing outside the site (air gap)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from api_fixture import build_world
from fastapi.testclient import TestClient

from veilleur.runtime.ui.routes import STATIC_DIR


@pytest.fixture(scope="module")
def client() -> TestClient:
    world = build_world(Path(tempfile.mkdtemp()))
    return world.client


@pytest.mark.req("EX-045")
def test_root_redirects_and_pages_are_served_with_a_strict_policy(client: TestClient):
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/ui/"
    page = client.get("/ui/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    js = client.get("/ui/js/app.js")
    assert js.headers["content-type"].startswith("text/javascript")
    for evil in ("/ui/../routes.py", "/ui/%2e%2e/routes.py", "/ui/js/../../routes.py", "/ui/nope"):
        assert client.get(evil).status_code == 404


def test_the_interface_is_out_of_the_openapi_document(client: TestClient):
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith("/ui")]
    for path, ops in paths.items():
        for method, op in ops.items():
            assert "x-permission" in op, f"{method} {path}"


@pytest.mark.req("EX-045")
def test_every_asset_is_local_and_every_import_resolves():
    files = [p for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert {"index.html", "app.css", "app.js"} <= {p.name for p in files}
    for f in files:
        if f.suffix not in (".html", ".css", ".js"):
            continue
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"(?:src|href)=[\"']https?://", text), f
        assert not re.search(r"@import\s+url\(\s*[\"']?https?://", text), f
        assert "fetch('http" not in text and 'fetch("http' not in text, f
        for imp in re.findall(r"from '(\./[^']+)'", text):
            assert (f.parent / imp).is_file(), f"{f.name}: {imp}"
