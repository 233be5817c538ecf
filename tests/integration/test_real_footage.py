"""The engine on real footage with a real detector, against hand-checked ground truth.

Video: ``../shared/video/one-by-one-person-detection.mp4`` (Intel sample, CC-BY-4.0): six
people, one after the other, walk in from the bottom edge, stand by a table, and leave through
the right edge. The ground truth and how it was made are in
``tests/fixtures/real/one-by-one-person-detection.gt.json``; the site file places a zone around
the table and a vertical exit line at x = 0.8 (``tests/fixtures/real/salle.site.yaml``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

VEILLEUR = str(Path(sys.executable).parent / "veilleur")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real"


@pytest.mark.slow
@pytest.mark.req("EX-036", "EX-047")
def test_real_clip_visits_and_exits_match_hand_ground_truth(shared_dir: Path):
    gt = json.loads((FIXTURES / "one-by-one-person-detection.gt.json").read_text())
    r = subprocess.run(
        [VEILLEUR, "replay", str(shared_dir / "video" / "one-by-one-person-detection.mp4"),
         "--config", str(FIXTURES / "salle.site.yaml")],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    alerts = [json.loads(line) for line in r.stdout.splitlines()]
    by_rule: dict[str, list[dict]] = {}
    for a in alerts:
        by_rule.setdefault(a["rule_id"], []).append(a)

    visits = gt["visits"]
    presence = sorted(by_rule.get("presence-table", []), key=lambda a: a["start_s"])
    exits = sorted(by_rule.get("sortie-droite", []), key=lambda a: a["alert_s"])
    assert len(presence) == len(visits) == 6
    assert len(exits) == 6
    assert by_rule.get("sortie-gauche", []) == []  # nobody crosses the other way
    for v, p, x in zip(visits, presence, exits, strict=True):
        assert abs(p["start_s"] - v["enter_s"]) <= 1.5, (v, p["start_s"])
        assert abs(x["alert_s"] - v["leave_right_s"]) <= 1.5, (v, x["alert_s"])
    # each visit is one track: the exit is the same person who stood at the table
    assert [p["track_ids"] for p in presence] == [x["track_ids"] for x in exits]
