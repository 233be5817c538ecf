"""``veilleur eval-events``: the eight analytics measured on generated clips with ground truth.

One clip per scenario (each of the eight events staged once, franchissement twice — zone and
line) plus five negative clips (``normal`` and hard negatives: street furniture, puddles and
reflections, flashing lights and luminous signs, people sitting or lying to rest, bags with
their owner next to them), replayed through the engine on ground-truth boxes degraded like a
detector (5 % of boxes missed, 3 % corner jitter). Every clip also carries background hard
negatives. Tolerance: an alert counts from 2 s before the event's start to 3 s after its end.

Thresholds: each event's recall must be 1 (each is staged plainly: a miss is a defect of the
analytic, not bad luck), its precision ≥ 0.5 (at most one false alarm per staged event), and
no alert at all on the negative clips. Detector quality is measured separately (evaluate).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from veilleur.cli import app

EVENTS = [
    "franchissement", "densite", "sens_circulation", "mouvement_foule",
    "objet_abandonne", "arme", "personne_au_sol", "feu",
]  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("eval-events")
    result = CliRunner().invoke(
        app,
        ["eval-events", "--generate", "1", "--negatives", "3", "--duration-s", "12",
         "--seed", "100", "--clips-dir", str(out / "clips"), "--out", str(out / "r.json")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "événement" in result.output and "FA/h (nég.)" in result.output
    return json.loads((out / "r.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.req("EX-002", "EX-003", "EX-065")
@pytest.mark.parametrize("event", EVENTS)
def test_each_event_is_found_on_its_staged_clip(report: dict, event: str) -> None:  # type: ignore[type-arg]
    row = report["per_event"][event]
    assert row["n_gt"] >= 1
    assert row["recall"] == 1.0, row
    assert row["precision"] >= 0.5, row


@pytest.mark.slow
def test_no_false_alarm_on_negative_clips(report: dict) -> None:  # type: ignore[type-arg]
    neg = report["negatives"]
    assert neg["clips"] == 5  # normal + hard_negative, plus three more hard negatives
    assert neg["alerts"] == dict.fromkeys(EVENTS, 0)
    assert report["clips"] == 14
    assert report["tolerance_s"] == {"before": 2.0, "after": 3.0}
