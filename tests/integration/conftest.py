"""Fixtures of the integration tests: a throwaway PostgreSQL server (tests/helpers), and a
journal URL parametrised over both storage backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from ldap_fixture import ldap_server  # noqa: F401  (fixture)
from postgres_fixture import postgres_server, postgres_url  # noqa: F401  (fixtures)

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh journal lives: a SQLite file (WAL), or an empty PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "journal.db")
    return str(request.getfixturevalue("postgres_url"))
