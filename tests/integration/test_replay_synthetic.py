"""`veilleur replay` on generated clips: alerts match the ground truth in time.

The detector is the real public YOLOX-Nano (COCO, mapped to the taxonomy), so this test needs no
training: it checks the runtime's chain — decoding, detection, tracking, zone and line rules,
journal — against the generator's ground truth. Daylight, clear weather and a low mast are
chosen because YOLOX finds most synthetic people there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests_helpers import easy_clip

from veilleur.runtime.journal.repository import Journal

VEILLEUR = str(Path(sys.executable).parent / "veilleur")


def replay(
    tmp_path: Path, scenario: str, seed: int, model: Path
) -> tuple[list[dict], list[dict], Path]:
    rec = easy_clip(tmp_path, scenario, seed)
    events = json.loads((tmp_path / rec.events).read_text())["events"]
    journal = tmp_path / "journal.db"
    r = subprocess.run(
        [VEILLEUR, "replay", str(tmp_path / rec.video), "--config", str(tmp_path / rec.site),
         "--model", str(model), "--journal", str(journal)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return events, [json.loads(line) for line in r.stdout.splitlines()], journal


@pytest.fixture(scope="module")
def yolox(shared_dir: Path) -> Path:
    return shared_dir / "models" / "yolox_nano.onnx"


@pytest.mark.slow
@pytest.mark.req("EX-002", "EX-014", "EX-036", "EX-037")
def test_intrusion_alert_matches_ground_truth(tmp_path: Path, yolox: Path):
    events, alerts, journal = replay(tmp_path, "intrusion", 1, yolox)
    assert [(e["type"], e["zone"]) for e in events] == [("franchissement", "zone-interdite")]
    gt = events[0]
    zone_alerts = [a for a in alerts if a["rule_id"] == "intrusion-zone"]
    assert len(zone_alerts) == 1
    a = zone_alerts[0]
    assert a["event"] == "franchissement" and a["label_fr"] == "Franchissement"
    # the person is seen entering within half a second of the truth, and the rule waits its
    # min_duration_s (0.4 s) before alerting, well inside the ground-truth presence
    assert abs(a["start_s"] - gt["start_s"]) <= 0.5
    assert a["start_s"] + 0.4 <= a["alert_s"] <= gt["end_s"]
    # journaled (written before printed) with its provenance, chain intact
    j = Journal(journal)
    stored = j.list("alert")
    assert [s["id"] for s in stored] == [x["id"] for x in reversed(alerts)]
    assert (
        stored[-1]["model_sha256"]
        == "e8af074932d4ed7e232278e3055cefcdea3edf178874a3694ae292649fb464dd"
    )
    assert j.verify().ok


@pytest.mark.slow
@pytest.mark.req("EX-036")
def test_line_crossing_alert_matches_ground_truth(tmp_path: Path, yolox: Path):
    events, alerts, _ = replay(tmp_path, "line_crossing", 1, yolox)
    assert [(e["type"], e["zone"]) for e in events] == [("franchissement", "ligne-quai")]
    line_alerts = [a for a in alerts if a["rule_id"] == "franchissement-ligne"]
    assert len(line_alerts) == 1
    assert events[0]["start_s"] - 1.0 <= line_alerts[0]["alert_s"] <= events[0]["end_s"]


@pytest.mark.slow
def test_normal_activity_raises_no_franchissement(tmp_path: Path, yolox: Path):
    events, alerts, _ = replay(tmp_path, "normal", 1, yolox)
    assert events == []
    assert [a for a in alerts if a["event"] == "franchissement"] == []
