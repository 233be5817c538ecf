"""Shared test fixtures and the requirement-traceability marker.

Every test that covers a requirement of ``../shared/requirements.md`` carries
``@pytest.mark.req("EX-036")``; ``make test`` turns these marks into ``docs/conformite.md``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from veilleur.runtime.offline import air_gap

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"

# Air-gapped by construction: no telemetry, no update checks, whatever a test imports.
air_gap()


@pytest.fixture(autouse=True)
def _data_access_log(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`veilleur data …` journals every data access (EX-122); tests never write the repo's log."""
    log = tmp_path_factory.mktemp("acces") / "acces-donnees.db"
    monkeypatch.setenv("VEILLEUR_DATA_ACCESS_LOG", str(log))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED


# --- requirement traceability: record each test's req marks and outcome -------------------
_REQ_RESULTS: dict[str, dict[str, object]] = {}
REQ_RESULTS_PATH = REPO_ROOT / ".cache" / "req-results.json"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        reqs = [str(r) for m in item.iter_markers("req") for r in m.args]
        if reqs:
            _REQ_RESULTS[item.nodeid] = {"reqs": sorted(set(reqs)), "outcome": "not run"}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _REQ_RESULTS.get(report.nodeid)
    if entry is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        entry["outcome"] = report.outcome
    elif report.outcome == "failed":
        entry["outcome"] = "failed"


def _is_full_run(config: pytest.Config) -> bool:
    """Only a run of the whole suite (``make test``) may rewrite the traceability results."""
    return (
        config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not config.option.keyword
        and not config.option.markexpr
        and not config.option.collectonly
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _REQ_RESULTS or not _is_full_run(session.config):
        return
    import json

    REQ_RESULTS_PATH.parent.mkdir(exist_ok=True)
    REQ_RESULTS_PATH.write_text(json.dumps(_REQ_RESULTS, indent=1, sort_keys=True))
