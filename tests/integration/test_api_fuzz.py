"""Schema-driven fuzzing of the whole API (EX-128): schemathesis generates requests from the
OpenAPI document the service serves, valid ones and invalid ones, for every operation; none may
end in a server error (5xx), and every answer must match the documented response schema.

Three passes, each against its own world (journal with three alerts, accounts, audit log, and
no analysis engine, so control routes answer 409):

* the administrator's session, so that every handler runs, not only the guard;
* a standard user's session (most routes refuse with 403: the refusal path itself is fuzzed);
* no session at all (401 everywhere but the two public routes).

Sessions: a fuzzed ``POST /auth/logout`` or ``POST /auth/password`` closes the caller's
session, so a session is opened afresh (directly in the account store) before **every** case;
later cases then still reach the handlers. Account-changing routes (delete, deactivate, reset
a password) can only hit the session accounts if the fuzzer guesses their exact login, and
changing or deleting oneself is refused by the API; a fresh session per case would surface
such a loss as an error (``NotFound`` or a 401 everywhere), and the accounts are checked after
the pass. Sessions are opened in the store, never through ``/auth/login``, so a fuzzed login
that locks an account does not lock the fuzzer out.

Bounded and deterministic: Hypothesis is derandomized and without example database;
``VEILLEUR_FUZZ_EXAMPLES`` raises the number of examples per operation and mode for a deeper
run (``VEILLEUR_FUZZ_EXAMPLES=200 pytest tests/integration/test_api_fuzz.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from api_fixture import ROLES, ApiWorld, build_world
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
from tests_helpers import sample_alert

from veilleur.runtime.journal.repository import Journal

EXAMPLES = int(os.environ.get("VEILLEUR_FUZZ_EXAMPLES", "10"))
# (login, examples per operation and mode): the refused roles stop at the guard, fewer suffice
PASSES = {"admin": EXAMPLES, "standard": max(3, EXAMPLES // 2), None: max(3, EXAMPLES // 2)}


def fuzz_world(tmp_path: Path) -> ApiWorld:
    j = Journal(tmp_path / "j.db")
    for i in range(3):
        j.append("alert", sample_alert(i, camera="cam-a" if i < 2 else "cam-b"))
    return build_world(tmp_path, j)


def fuzz(world: ApiWorld, login: str | None, max_examples: int) -> tuple[int, list[str]]:
    """Fuzz every operation of the served OpenAPI document; (cases run, failures)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    failures: list[str] = []
    cases = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in GenerationMode:

            @settings(
                max_examples=max_examples,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=[
                    HealthCheck.too_slow,
                    HealthCheck.filter_too_much,
                    HealthCheck.data_too_large,
                ],
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Case) -> None:
                nonlocal cases
                cases += 1
                headers = {}
                if login is not None:
                    world.session_for(login)  # fresh: a fuzzed logout closes the last one
                    headers = world.headers(login)
                case.call_and_validate(
                    headers=headers, checks=[not_a_server_error, response_schema_conformance]
                )

            try:
                run()
            except Unsatisfiable:
                continue  # nothing to make invalid (no parameter, no body): positive mode covers it
            except Exception as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    return cases, failures


@pytest.mark.req("EX-128")
@pytest.mark.slow
@pytest.mark.parametrize("login", list(PASSES), ids=["admin", "standard", "sans-session"])
def test_fuzzing_the_served_openapi_finds_no_server_error(tmp_path: Path, login: str | None):
    world = fuzz_world(tmp_path)
    operations = len(world.client.get("/openapi.json").json()["paths"])
    cases, failures = fuzz(world, login, PASSES[login])
    assert failures == [], "\n\n".join(failures)
    assert cases >= operations * 2  # every operation was called, not skipped
    # the session accounts survived the pass, and nothing broke the journal chains
    assert {u.login for u in world.accounts.list_users()} >= set(ROLES)
    assert all(world.accounts.get_user(name).active for name in ROLES)
    assert world.journal.count("alert") == 3 and world.journal.verify().ok
    assert world.audit.journal.verify().ok
