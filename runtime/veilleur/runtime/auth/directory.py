"""Login through a central LDAP directory (EX-117), behind the same role model.

The directory checks the password (a simple bind as the user); its groups give the user's role
(the highest of the roles whose directory groups they belong to) and, through ``groups``, the
Veilleur groups that carry camera profiles. The account then lives locally as a *shadow*
without a password: sessions, lockout after repeated failures, and the audit log work as for
local accounts, and an administrator can deactivate it. A directory user in none of the role
groups cannot log in (least privilege).

The configuration is a YAML file (``veilleur serve --directory annuaire.yaml``)::

    url: ldaps://annuaire.example.fr        # or ldap:// with start_tls: true
    ca_file: /etc/veilleur/annuaire-ca.pem
    user_dn_template: "uid={login},ou=people,dc=example,dc=fr"
    group_search_base: "ou=groups,dc=example,dc=fr"
    roles:
      administrateur: [veilleur-admins]
      avance: [veilleur-chefs]
      standard: [veilleur-operateurs]
    groups:                                # directory group → Veilleur group (profiles)
      veilleur-operateurs: operateurs

Logins are restricted to the account-name pattern before anything reaches the directory, and
every value put in a DN or a filter is escaped (no LDAP injection).
"""

from __future__ import annotations

import math
import ssl
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from veilleur.runtime.auth.roles import Role
from veilleur.runtime.auth.store import LOGIN_RE, AuthError, LoginFailed
from veilleur.runtime.config import ConfigError, format_errors, read_yaml

_RANK = {Role.STANDARD: 0, Role.ADVANCED: 1, Role.ADMIN: 2}


class DirectoryUnavailable(AuthError):
    """The directory cannot be reached or refuses the service's own bind (503)."""


class NoVeilleurRole(LoginFailed):
    """Right password, but the directory gives the user no Veilleur role."""


class DirectoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^ldaps?://[^/\s]+/?$", description="ldap://host:port or ldaps://")
    start_tls: bool = False
    ca_file: Path | None = Field(None, description="CA certificate(s) to check the server.")
    user_dn_template: str = Field(description="DN of a user, with {login}.")
    group_search_base: str
    group_filter: str = Field(
        "(&(objectClass=groupOfNames)(member={user_dn}))", description="With {user_dn}."
    )
    group_name_attribute: str = "cn"
    display_name_attribute: str = "cn"
    roles: dict[Role, list[str]] = Field(description="Directory groups giving each role.")
    groups: dict[str, str] = Field(
        default_factory=dict, description="Directory group → Veilleur group."
    )
    timeout_s: float = Field(5.0, gt=0, le=60)


def load_directory_config(path: Path | str) -> DirectoryConfig:
    path = Path(path)
    doc = read_yaml(path, "the directory configuration")
    try:
        cfg = DirectoryConfig.model_validate(doc or {})
    except ValidationError as err:
        raise ConfigError(format_errors(str(path), err, "directory configuration")) from None
    if "{login}" not in cfg.user_dn_template:
        raise ConfigError(f"{path}: user_dn_template must contain {{login}}")
    return cfg


@dataclass(frozen=True)
class DirectoryUser:
    login: str
    display_name: str
    role: Role
    groups: tuple[str, ...]
    directory_groups: tuple[str, ...]


class LdapDirectory:
    def __init__(self, config: DirectoryConfig) -> None:
        self.config = config

    def _server(self) -> object:
        import ldap3

        tls = None
        if self.config.url.startswith("ldaps://") or self.config.start_tls:
            tls = ldap3.Tls(
                validate=ssl.CERT_REQUIRED,
                ca_certs_file=str(self.config.ca_file) if self.config.ca_file else None,
            )
        return ldap3.Server(
            self.config.url, tls=tls, connect_timeout=math.ceil(self.config.timeout_s)
        )

    def authenticate(self, login: str, password: str) -> DirectoryUser:
        """Bind as the user, then read their groups. Raises :class:`LoginFailed` (wrong
        password, unknown user), :class:`NoVeilleurRole` or :class:`DirectoryUnavailable`."""
        import ldap3
        from ldap3.core.exceptions import LDAPException, LDAPSocketOpenError
        from ldap3.utils.conv import escape_filter_chars
        from ldap3.utils.dn import escape_rdn

        if not LOGIN_RE.match(login) or not password:
            raise LoginFailed("identifiant ou mot de passe incorrect")
        cfg = self.config
        user_dn = cfg.user_dn_template.format(login=escape_rdn(login))
        try:
            conn = ldap3.Connection(
                self._server(), user=user_dn, password=password,
                receive_timeout=math.ceil(cfg.timeout_s), raise_exceptions=False,
            )  # fmt: skip
            if cfg.start_tls and not cfg.url.startswith("ldaps://"):
                conn.open()
                conn.start_tls()
            if not conn.bind():
                raise LoginFailed("identifiant ou mot de passe incorrect")
            try:
                name = login
                conn.search(user_dn, "(objectClass=*)", ldap3.BASE,
                            attributes=[cfg.display_name_attribute])  # fmt: skip
                if conn.entries:
                    value = conn.entries[0][cfg.display_name_attribute].value
                    name = str(value) if value else login
                conn.search(
                    cfg.group_search_base,
                    cfg.group_filter.format(user_dn=escape_filter_chars(user_dn)),
                    attributes=[cfg.group_name_attribute],
                )
                found = tuple(sorted(str(e[cfg.group_name_attribute].value) for e in conn.entries))
            finally:
                conn.unbind()
        except LDAPSocketOpenError as exc:
            raise DirectoryUnavailable(f"annuaire injoignable ({cfg.url}) : {exc}") from None
        except LDAPException as exc:
            raise DirectoryUnavailable(f"annuaire en erreur ({cfg.url}) : {exc}") from None
        roles = [r for r, names in cfg.roles.items() if set(names) & set(found)]
        if not roles:
            raise NoVeilleurRole(
                "votre compte de l'annuaire n'appartient à aucun groupe donnant accès à Veilleur"
            )
        role = max(roles, key=_RANK.__getitem__)
        mapped = tuple(sorted({cfg.groups[g] for g in found if g in cfg.groups}))
        return DirectoryUser(login, name, role, mapped, found)
