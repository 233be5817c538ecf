"""The three roles of the specification (EX-018 … EX-022) and what each may do.

Permissions are the unit every API route is checked against. A role grants a set of
permissions; a user's profiles (through their groups) can only narrow it, and say which
cameras the user sees (least privilege: a user in no group sees no camera).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "administrateur"
    """*Administrateur technique*: everything; opens accounts of every role."""
    ADVANCED = "avance"
    """*Utilisateur avancé*: zones, lines, thresholds, rules; opens standard accounts."""
    STANDARD = "standard"
    """*Utilisateur standard*: watches streams and alerts, reviews alerts."""


ROLE_LABELS_FR: dict[Role, str] = {
    Role.ADMIN: "Administrateur technique",
    Role.ADVANCED: "Utilisateur avancé",
    Role.STANDARD: "Utilisateur standard",
}


class Permission(StrEnum):
    SYSTEM_READ = "system:read"  # health, version, own account
    STREAMS_VIEW = "streams:view"  # live view, snapshots
    ALERTS_READ = "alerts:read"
    ALERTS_REVIEW = "alerts:review"  # acknowledge, qualify, comment
    STATS_READ = "stats:read"
    JOURNAL_EXPORT = "journal:export"
    JOURNAL_VERIFY = "journal:verify"
    CONFIG_READ = "config:read"
    RULES_WRITE = "rules:write"  # zones, lines, thresholds, rules, schedules; rule switches
    ANALYSIS_CONTROL = "analysis:control"  # global stop / resume of the analysis
    CAMERAS_MANAGE = "cameras:manage"  # add, remove, enable, disable cameras
    USERS_MANAGE = "users:manage"  # accounts (advanced users: standard accounts only)
    GROUPS_MANAGE = "groups:manage"  # groups and profiles
    AUDIT_READ = "audit:read"  # audit log, application logs
    RETENTION_MANAGE = "retention:manage"
    BACKUP_MANAGE = "backup:manage"
    METRICS_READ = "metrics:read"  # Prometheus scrape


PERMISSION_LABELS_FR: dict[Permission, str] = {
    Permission.SYSTEM_READ: "voir l'état du système",
    Permission.STREAMS_VIEW: "voir les flux vidéo",
    Permission.ALERTS_READ: "consulter les alertes",
    Permission.ALERTS_REVIEW: "traiter les alertes (acquitter, qualifier, commenter)",
    Permission.STATS_READ: "consulter les statistiques",
    Permission.JOURNAL_EXPORT: "exporter le journal",
    Permission.JOURNAL_VERIFY: "vérifier l'intégrité du journal",
    Permission.CONFIG_READ: "consulter la configuration",
    Permission.RULES_WRITE: "modifier zones, lignes, seuils et règles",
    Permission.ANALYSIS_CONTROL: "arrêter ou reprendre l'analyse",
    Permission.CAMERAS_MANAGE: "ajouter, retirer, activer des caméras",
    Permission.USERS_MANAGE: "gérer les comptes",
    Permission.GROUPS_MANAGE: "gérer les groupes et profils",
    Permission.AUDIT_READ: "consulter l'audit et les journaux applicatifs",
    Permission.RETENTION_MANAGE: "régler les durées de conservation",
    Permission.BACKUP_MANAGE: "sauvegarder et restaurer la configuration",
    Permission.METRICS_READ: "lire les métriques de supervision",
}

_STANDARD = frozenset(
    {
        Permission.SYSTEM_READ,
        Permission.STREAMS_VIEW,
        Permission.ALERTS_READ,
        Permission.ALERTS_REVIEW,
        Permission.STATS_READ,
    }
)
_ADVANCED = _STANDARD | {
    Permission.JOURNAL_EXPORT,
    Permission.JOURNAL_VERIFY,
    Permission.CONFIG_READ,
    Permission.RULES_WRITE,
    Permission.ANALYSIS_CONTROL,
    Permission.USERS_MANAGE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.STANDARD: _STANDARD,
    Role.ADVANCED: frozenset(_ADVANCED),
    Role.ADMIN: frozenset(Permission),
}

CAMERA_SCOPED: frozenset[Permission] = frozenset(
    {
        Permission.STREAMS_VIEW,
        Permission.ALERTS_READ,
        Permission.ALERTS_REVIEW,
        Permission.STATS_READ,
        Permission.JOURNAL_EXPORT,
        Permission.RULES_WRITE,
    }
)
"""Permissions that apply only to the cameras of the user's profiles."""

_CREATABLE: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset({Role.ADMIN, Role.ADVANCED, Role.STANDARD}),
    Role.ADVANCED: frozenset({Role.STANDARD}),
    Role.STANDARD: frozenset(),
}


def can_manage(actor: Role, target: Role) -> bool:
    """Whether an account of role ``actor`` may open or change an account of role ``target``."""
    return target in _CREATABLE[actor]
