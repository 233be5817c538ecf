"""A throwaway OpenLDAP server (Debian's slapd) with a small directory, for the login tests.

``slapadd`` loads the entries into a fresh MDB database in a temporary folder, then ``slapd``
listens on 127.0.0.1 on a free port, in the foreground, until the fixture ends. Users:
``marie`` (group veilleur-operateurs), ``paul`` (veilleur-chefs), ``jean`` (in no Veilleur
group); passwords as in :data:`LDAP_USERS`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

BASE = "dc=veilleur,dc=test"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PW = "Annuaire-Admin-42!"
LDAP_USERS = {
    "marie": ("Marie Curie", "Radium-Polonium-1898!", ["veilleur-operateurs"]),
    "paul": ("Paul Langevin", "Effet-Langevin-1905!", ["veilleur-chefs"]),
    "jean": ("Jean Perrin", "Atomes-Reels-1913!", []),
}
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


@dataclass(frozen=True)
class LdapServer:
    url: str
    base: str
    admin_dn: str
    admin_password: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ldif() -> str:
    out = [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\n"
        "o: Veilleur\ndc: veilleur\n",
        f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n",
    ]
    for uid, (name, pw, _groups) in LDAP_USERS.items():
        sn = name.split()[-1]
        out.append(
            f"dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
            f"cn: {name}\nsn: {sn}\nuserPassword: {pw}\n"
        )
    groups = sorted({g for _n, _p, gs in LDAP_USERS.values() for g in gs})
    for g in groups:
        members = [u for u, (_n, _p, gs) in LDAP_USERS.items() if g in gs]
        lines = "".join(f"member: uid={u},ou=people,{BASE}\n" for u in members)
        out.append(f"dn: cn={g},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: {g}\n{lines}")
    return "\n".join(out)


@pytest.fixture(scope="session")
def ldap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    slapd = shutil.which("slapd", path="/usr/sbin:/usr/bin")
    if slapd is None or shutil.which("slapadd", path="/usr/sbin:/usr/bin") is None:
        pytest.fail("slapd is missing: run scripts/install-debian-deps.sh (make test does)")
    root = tmp_path_factory.mktemp("ldap")
    (root / "db").mkdir()
    conf = root / "slapd.conf"
    conf.write_text(
        "".join(f"include /etc/ldap/schema/{s}.schema\n" for s in SCHEMAS)
        + f"modulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile {root}/slapd.pid\n"
        + f'database mdb\nmaxsize 10485760\nsuffix "{BASE}"\nrootdn "{ADMIN_DN}"\n'
        + f"rootpw {ADMIN_PW}\ndirectory {root}/db\n"
    )
    (root / "data.ldif").write_text(_ldif())
    subprocess.run(
        ["slapadd", "-f", str(conf), "-l", str(root / "data.ldif")],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    port = _free_port()
    url = f"ldap://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [slapd, "-f", str(conf), "-h", f"{url}/", "-d", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read() if proc.stdout else ""
                    pytest.fail(f"slapd did not start: {out[-2000:]}")
                time.sleep(0.1)
        yield LdapServer(url, BASE, ADMIN_DN, ADMIN_PW)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
