"""Attacks on the API, each refused with a clear 4xx and without effect (EX-128): forged,
tampered, expired and orphaned credentials; path traversal and injection in every path
parameter and in the export parameters; malformed, mislabelled, deeply nested and oversized
bodies. Every test checks that nothing was written: journal entries, accounts, tokens."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_fixture import ApiWorld, build_world
from sqlalchemy import update
from tests_helpers import sample_alert

from veilleur.runtime.auth.store import api_tokens
from veilleur.runtime.journal.repository import Journal

METHODS = ("get", "post", "put", "patch", "delete")
KINDS = ("alert", "review", "control", "purge")


@pytest.fixture
def world(tmp_path: Path) -> ApiWorld:
    j = Journal(tmp_path / "j.db")
    for i in range(3):
        j.append("alert", sample_alert(i, camera="cam-a" if i < 2 else "cam-b"))
    return build_world(tmp_path, j)


def state(world: ApiWorld) -> dict[str, Any]:
    """What an attack must not change: journal entries, accounts, groups, profiles, tokens."""
    acc = world.accounts
    return {
        "journal": {k: world.journal.count(k) for k in KINDS},
        "chain": world.journal.verify().ok,
        "users": [u.to_dict() for u in acc.list_users()],
        "groups": acc.list_groups(),
        "profiles": [p.to_dict() for p in acc.list_profiles()],
        "tokens": [{k: v for k, v in t.items() if k != "last_used_utc"} for t in acc.list_tokens()],
    }


def alert_id(world: ApiWorld) -> str:
    return str(world.journal.list("alert")[0]["id"])


def assert_refused(r: Any, *codes: int) -> None:
    assert r.status_code in codes, f"{r.status_code}: {r.text[:300]}"
    detail = r.json()["detail"]
    assert detail, "a refusal says why"


# --- credentials ------------------------------------------------------------------------


def tampered(token: str) -> Iterator[str]:
    """The token with one character changed: first, middle, last."""
    for i in (0, len(token) // 2, len(token) - 1):
        c = "A" if token[i] != "A" else "B"
        yield token[:i] + c + token[i + 1 :]


@pytest.mark.req("EX-128", "EX-015")
def test_a_token_tampered_with_by_one_character_is_refused(world: ApiWorld):
    session = world.tokens["admin"]
    _, machine = world.accounts.create_token("admin", "vms", created_by="test")
    before = state(world)
    for token in (*tampered(session), *tampered(machine)):
        h = {"Authorization": f"Bearer {token}"}
        assert_refused(world.client.get("/api/v1/alerts", headers=h), 401)
        made = world.client.post(
            "/api/v1/users",
            json={"login": "intrus", "role": "administrateur", "password": "Tour-Ouest-88-Guet!"},
            headers=h,
        )
        assert_refused(made, 401)
        assert made.headers["www-authenticate"] == "Bearer"
        world.client.cookies.set("veilleur_session", token)
        assert_refused(world.client.get("/api/v1/auth/me"), 401)
        world.client.cookies.clear()
    assert state(world) == before
    # the genuine ones still work: only the tampered copies were refused
    assert world.get("/api/v1/auth/me", "admin").status_code == 200
    assert (
        world.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {machine}"}).json()[
            "via"
        ]
        == "token"
    )


@pytest.mark.req("EX-128", "EX-015")
def test_an_expired_machine_token_is_refused(world: ApiWorld):
    token_id, token = world.accounts.create_token(
        "standard", "hyperviseur", created_by="admin", expires_days=30
    )
    h = {"Authorization": f"Bearer {token}"}
    assert world.client.get("/api/v1/alerts", headers=h).status_code == 200
    with world.accounts.engine.begin() as conn:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id)
            .values(expires_utc="2020-01-01T00:00:00.000+00:00")
        )
    before = state(world)
    assert_refused(world.client.get("/api/v1/alerts", headers=h), 401)
    review = world.client.post(
        f"/api/v1/alerts/{alert_id(world)}/reviews", json={"acknowledge": True}, headers=h
    )
    assert_refused(review, 401)
    assert state(world) == before
    denied = [e for e in world.audit.list(limit=10) if e["event"] == "access_denied"]
    assert len(denied) == 2 and denied[0]["details"]["status"] == 401


@pytest.mark.req("EX-128", "EX-018")
def test_the_session_of_a_deactivated_user_is_refused(world: ApiWorld):
    assert world.get("/api/v1/alerts", "standard").status_code == 200
    off = world.client.patch(
        "/api/v1/users/standard", json={"active": False}, headers=world.headers("admin")
    )
    assert off.status_code == 200 and off.json()["active"] is False
    before = state(world)
    assert_refused(world.get("/api/v1/alerts", "standard"), 401)
    review = world.post(
        f"/api/v1/alerts/{alert_id(world)}/reviews", "standard", json={"acknowledge": True}
    )
    assert_refused(review, 401)
    assert_refused(world.post("/api/v1/auth/logout", "standard"), 401)
    assert state(world) == before


@pytest.mark.req("EX-128")
@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Bearer    ", "bearer \t", "Bearer " + "x" * 16_000,
     "Bearer vt_" + "a" * 16_000, "Basic YWRtaW46YWRtaW4=", "Bearer vt_", "Bearer ' OR '1'='1"],
    ids=["nu", "vide", "espaces", "tabulation", "enorme", "jeton-machine-enorme", "basic",
         "prefixe-seul", "injection"],
)  # fmt: skip
def test_empty_huge_or_foreign_bearer_tokens_are_refused(world: ApiWorld, authorization: str):
    before = state(world)
    h = {"Authorization": authorization}
    assert_refused(world.client.get("/api/v1/alerts", headers=h), 401)
    assert_refused(world.client.post("/api/v1/control/stop", json={}, headers=h), 401)
    assert state(world) == before


# --- path traversal and injection in path parameters ------------------------------------

TRAVERSALS = [
    "..%2F..%2Fetc%2Fpasswd",  # decoded by the server: ../../etc/passwd
    "..%252F..%252Fetc%252Fpasswd",  # decoded once: ..%2F..%2Fetc%2Fpasswd
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "../../etc/passwd",  # not encoded (the client or the router resolves the dots)
    "..%5C..%5Cwindows%5Cwin.ini",
    "..",
    "%2e%2e",
    "%00",
    "etc%2Fpasswd%00.json",
    "'%20OR%20'1'%3D'1",
    "1;%20DROP%20TABLE%20journal_entries;--",
]
# bodies that pass validation, so the path parameter reaches the handler
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/v1/alerts/{alert_id}/reviews"): {"acknowledge": True},
    ("put", "/api/v1/control/cameras/{camera_id}"): {"enabled": False},
    ("put", "/api/v1/control/cameras/{camera_id}/rules/{rule_id}"): {"enabled": False},
    ("patch", "/api/v1/users/{login}"): {"active": False},
    ("post", "/api/v1/users/{login}/password"): {"new_password": "Tour-Ouest-88-Guet!"},
    ("put", "/api/v1/profiles/{name}"): {"cameras": ["*"], "permissions": ["alerts:read"]},
}


def templated_operations(world: ApiWorld) -> list[tuple[str, str]]:
    spec = world.client.get("/openapi.json").json()
    return [
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if method in METHODS and "{" in path
    ]


@pytest.mark.req("EX-128")
def test_path_traversal_and_injection_in_every_path_parameter_are_refused(world: ApiWorld):
    ops = templated_operations(world)
    assert len(ops) >= 10
    before = state(world)
    seen: set[tuple[str, str]] = set()
    for method, path in ops:
        for payload in TRAVERSALS:
            url = re.sub(r"\{[^}]+\}", payload, path)
            kw: dict[str, Any] = {"headers": world.headers("admin")}
            if method in ("post", "put", "patch"):
                kw["json"] = BODIES.get((method, path), {})
            r = world.client.request(method.upper(), url, **kw)
            where = f"{method.upper()} {url}"
            assert 400 <= r.status_code < 500, f"{where}: {r.status_code} {r.text[:300]}"
            assert "root:" not in r.text and "[fonts]" not in r.text, where
            seen.add((method, path))
    assert seen == set(ops)
    assert state(world) == before
    # the walk was refused: every alert is still there and unreviewed
    assert world.get("/api/v1/alerts", "admin").json()["total"] == 3


# --- export parameters -------------------------------------------------------------------

BAD_TZ = [
    "../../etc/passwd",
    "/etc/passwd",
    "Europe/../../../etc/shadow",
    "..\\..\\windows",
    "zone.tab",
    "tzdata.zi",
    "Europe",
    "UTC\x00",
    "Europe/Paris'; DROP TABLE journal_entries; --",
    "",
]
BAD_FORMATS = ["../../etc/passwd", "csv/../../x", "csv;rm -rf /", "CSV", "exe", "csv\x00", ""]


@pytest.mark.req("EX-128", "EX-014")
def test_traversal_and_injection_in_export_parameters_are_refused(world: ApiWorld):
    before = state(world)
    for tz in BAD_TZ:
        for url in ("/api/v1/journal/export", "/api/v1/audit/export", "/api/v1/stats"):
            r = world.get(url, "admin", params={"tz": tz})
            assert_refused(r, 422)
            assert "root:" not in r.text
            if tz:
                assert "fuseau horaire inconnu" in r.json()["detail"], (url, tz, r.text)
    for fmt in BAD_FORMATS:
        for url in ("/api/v1/journal/export", "/api/v1/audit/export"):
            assert_refused(world.get(url, "admin", params={"format": fmt}), 422)
    for kind in ("../alert", "alert' OR 1=1 --", "audit"):
        r = world.get("/api/v1/journal/export", "admin", params={"kind": kind})
        assert_refused(r, 422)  # the audit log is not in the journal export
    for since in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "'; --", "2026-13-45"):
        for url in ("/api/v1/journal/export", "/api/v1/audit/export", "/api/v1/stats",
                    "/api/v1/alerts"):  # fmt: skip
            assert_refused(world.get(url, "admin", params={"since": since}), 422)
    assert state(world) == before
    ok = world.get("/api/v1/journal/export", "admin", params={"tz": "UTC", "format": "jsonl"})
    assert ok.status_code == 200 and len(ok.text.strip().splitlines()) == 3


# --- bodies ------------------------------------------------------------------------------


def review_url(world: ApiWorld) -> str:
    return f"/api/v1/alerts/{alert_id(world)}/reviews"


@pytest.mark.req("EX-128")
@pytest.mark.parametrize(
    ("content_type", "body", "code"),
    [
        ("text/plain", b'{"acknowledge": true}', 422),
        ("application/x-www-form-urlencoded", b"acknowledge=true", 422),
        ("application/xml", b"<acknowledge>true</acknowledge>", 422),
        ("application/json", b'{"acknowledge": tru', 422),
        ("application/json", b'{"acknowledge": true', 422),
        ("application/json", b"\xff\xfe{}", 422),
        ("application/json", b'{"comment": "\\ud800"}', 422),  # lone surrogate: not storable
        ("application/json", b'{"comment": "\\udfff\\ud800"}', 422),
        ("application/json", b"[" * 100_000 + b"]" * 100_000, 400),  # nesting: not parsed
        ("application/json", b'{"comment":' * 50_000 + b"1" + b"}" * 50_000, 400),
        ("application/json", b"[" * 100_000 + b'"\\ud800"' + b"]" * 100_000, 400),
    ],
    ids=["texte", "formulaire", "xml", "json-invalide", "json-tronque", "octets-invalides",
         "substitut-isole", "substituts-inverses", "imbrication-tableaux", "imbrication-objets",
         "imbrication-substitut"],
)  # fmt: skip
def test_malformed_bodies_are_refused(
    world: ApiWorld, content_type: str, body: bytes, code: int
) -> None:
    before = state(world)
    r = world.client.post(
        review_url(world),
        content=body,
        headers={**world.headers("standard"), "Content-Type": content_type},
    )
    assert_refused(r, code)
    login = world.client.post(
        "/api/v1/auth/login", content=body, headers={"Content-Type": content_type}
    )
    assert_refused(login, code)
    assert state(world) == before


def test_a_paired_surrogate_is_text_and_accepted(world: ApiWorld):
    r = world.client.post(
        review_url(world),
        content=b'{"comment": "cam\\u00e9ra \\ud83d\\udea8"}',
        headers={**world.headers("standard"), "Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["state"]["comments"][0]["comment"] == "caméra 🚨"


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


@pytest.mark.req("EX-111", "EX-128")
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/xml"])
def test_a_chunked_body_over_1_mib_without_length_is_refused_with_413(
    world: ApiWorld, content_type: str
):
    before = state(world)
    for url, headers in (
        (review_url(world), world.headers("standard")),
        ("/api/v1/auth/login", {}),
        ("/api/v1/users", world.headers("admin")),
    ):
        r = world.client.post(
            url,
            content=chunks((1 << 20) + 1),  # a generator: sent chunked, no Content-Length
            headers={**headers, "Content-Type": content_type},
        )
        assert r.request.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in r.request.headers
        assert_refused(r, 413)
        assert "trop volumineux" in r.json()["detail"]
    # just under the limit, the body is read (and refused for what it is, not for its size)
    r = world.client.post(
        review_url(world),
        content=chunks(1 << 20),
        headers={**world.headers("standard"), "Content-Type": "application/json"},
    )
    assert_refused(r, 422)
    assert state(world) == before


@pytest.mark.req("EX-111", "EX-128")
def test_a_lying_content_length_is_refused(world: ApiWorld):
    before = state(world)
    for length in ("99999999999", "-1", "abc", "1e9"):
        r = world.client.post(
            review_url(world),
            content=b'{"acknowledge": true}',
            headers={
                **world.headers("standard"),
                "Content-Type": "application/json",
                "Content-Length": length,
            },
        )
        assert_refused(r, 413)
    assert state(world) == before
