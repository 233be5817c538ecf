"""Login through a real LDAP directory (Debian's slapd, started by the test), behind the same
roles, profiles, lockout and audit as local accounts (EX-117)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from api_fixture import build_world
from ldap_fixture import LDAP_USERS, LdapServer

from veilleur.runtime.auth.directory import (
    DirectoryConfig,
    LdapDirectory,
    load_directory_config,
)
from veilleur.runtime.auth.roles import Role
from veilleur.runtime.config import ConfigError


def directory_for(server: LdapServer) -> LdapDirectory:
    return LdapDirectory(
        DirectoryConfig(
            url=server.url,
            user_dn_template=f"uid={{login}},ou=people,{server.base}",
            group_search_base=f"ou=groups,{server.base}",
            roles={Role.STANDARD: ["veilleur-operateurs"], Role.ADVANCED: ["veilleur-chefs"]},
            groups={"veilleur-operateurs": "operateurs", "veilleur-chefs": "operateurs"},
        )
    )


def login(world, who: str, password: str):
    world.client.cookies.clear()
    return world.client.post("/api/v1/auth/login", json={"login": who, "password": password})


@pytest.mark.req("EX-117", "EX-018")
def test_directory_users_log_in_with_their_directory_role_and_groups(
    tmp_path: Path, ldap_server: LdapServer
):
    world = build_world(tmp_path, directory=directory_for(ldap_server), cameras=("cam-a",))
    r = login(world, "marie", LDAP_USERS["marie"][1])
    assert r.status_code == 200, r.text
    me = r.json()["user"]
    assert me["role"] == "standard" and me["cameras"] == ["cam-a"]
    shadow = world.accounts.get_user("marie")
    assert shadow.display_name == "Marie Curie" and not shadow.has_password
    assert shadow.groups == ("operateurs",) and shadow.created_by == "annuaire"
    r = login(world, "paul", LDAP_USERS["paul"][1])
    assert r.json()["user"]["role"] == "avance"
    # right password, no Veilleur group: refused (least privilege)
    r = login(world, "jean", LDAP_USERS["jean"][1])
    assert r.status_code == 401 and "aucun groupe" in r.json()["detail"]
    # local accounts keep working beside the directory
    assert login(world, "admin", "Phare-Nord-7-Garde!").status_code == 200
    events = [(e["event"], e["actor"]) for e in reversed(world.audit.list(limit=20))]
    assert ("login", "marie") in events and ("login_failed", "jean") in events


@pytest.mark.req("EX-117", "EX-120", "EX-128")
def test_directory_logins_lock_out_and_refuse_injection(tmp_path: Path, ldap_server: LdapServer):
    world = build_world(tmp_path, directory=directory_for(ldap_server))
    assert login(world, "marie", LDAP_USERS["marie"][1]).status_code == 200
    for _ in range(4):
        assert login(world, "marie", "faux").status_code == 401
    assert login(world, "marie", "faux").status_code == 423
    assert login(world, "marie", LDAP_USERS["marie"][1]).status_code == 423  # locked locally
    for evil in ("*", "marie)(uid=*", "marie,ou=people", "admin*"):
        r = login(world, evil, LDAP_USERS["marie"][1])
        assert r.status_code in (401, 422)
    # an administrator deactivates a directory account: the directory's yes is not enough
    world.accounts.update_user("marie", unlock=True, active=False)
    r = login(world, "marie", LDAP_USERS["marie"][1])
    assert r.status_code == 401 and "désactivé" in r.json()["detail"]


@pytest.mark.req("EX-117")
def test_unreachable_directory_is_503_and_bad_config_is_named(tmp_path: Path):
    dead = LdapDirectory(
        DirectoryConfig(
            url="ldap://127.0.0.1:9",
            user_dn_template="uid={login},dc=x",
            group_search_base="dc=x",
            roles={Role.STANDARD: ["g"]},
            timeout_s=1,
        )
    )
    world = build_world(tmp_path, directory=dead)
    r = login(world, "marie", "Radium-Polonium-1898!")
    assert r.status_code == 503 and "annuaire injoignable" in r.json()["detail"]
    cfg = tmp_path / "annuaire.yaml"
    cfg.write_text(yaml.safe_dump({"url": "http://x", "user_dn_template": "cn=x",
                                   "group_search_base": "dc=x", "roles": {}}))  # fmt: skip
    with pytest.raises(ConfigError, match="url"):
        load_directory_config(cfg)
