"""Shared test fixtures and the requirement-traceability marker.

Every test that covers a requirement of ``../shared/requirements.md`` carries
``@pytest.mark.req("EX-036")``; ``make test`` turns these marks into ``docs/conformite.md``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"

# Air-gapped by construction: no telemetry, no update checks, whatever a test imports.
for _key, _value in {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "NO_ALBUMENTATIONS_UPDATE": "1",
    "FIFTYONE_DO_NOT_TRACK": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
}.items():
    os.environ.setdefault(_key, _value)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED
