"""Rules engine: schedules, run-time switches, ``alert: false`` and composite ET / OU / NON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pytest

from veilleur.runtime.analytics.rules import RuleSet, evaluate, in_schedule
from veilleur.runtime.config import ConfigError, parse_site_config
from veilleur.runtime.core.detections import Detections

ZONES = [
    {"id": "a", "kind": "polygon", "points": [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]},
    {"id": "b", "kind": "polygon", "points": [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]},
]


def camera(rules: list[dict[str, Any]]) -> Any:
    doc = {
        "version": 1,
        "site": {"name": "t"},
        "cameras": [{"id": "c", "source": {"url": "x.mp4"}, "zones": ZONES, "rules": rules}],
    }
    return parse_site_config(doc).cameras[0]


def people(*feet: tuple[float, float, int]) -> Detections:
    """Tracked people (normalised boxes 0.04 wide, 0.2 tall) standing at the foot points."""
    if not feet:
        return Detections.empty()
    xyxy = [[x - 0.02, y - 0.2, x + 0.02, y] for x, y, _ in feet]
    return Detections(
        np.asarray(xyxy, dtype=np.float32),
        np.full(len(feet), 0.9, dtype=np.float32),
        np.zeros(len(feet), dtype=np.int64),
        np.asarray([tid for _, _, tid in feet], dtype=np.int64),
    )


IN_A = (0.25, 0.5, 1)
IN_B = (0.75, 0.5, 2)


def run(
    rs: RuleSet, frames: list[Detections], now: datetime | None = None
) -> list[tuple[float, str]]:
    hits = []
    for i, d in enumerate(frames):
        hits += [(i * 0.5, h.rule_id) for h in rs.update(d, i * 0.5, now=now)]
    return hits


def intrusion(rid: str, zone: str, **kw: Any) -> dict[str, Any]:
    return {"id": rid, "type": "franchissement", "zone": zone, "cooldown_s": 100, **kw}


@pytest.mark.req("EX-032", "EX-038")
def test_composite_and_fires_when_both_hit_within_the_window() -> None:
    rs = RuleSet(camera([
        intrusion("in-a", "a", alert=False),
        intrusion("in-b", "b", alert=False),
        {"id": "both", "type": "composite", "event": "franchissement", "window_s": 2.0,
         "when": {"and": ["in-a", "in-b"]}},
    ]))  # fmt: skip
    # person 1 enters a at t=0; person 2 enters b at t=1.5: within 2 s → one composite alert
    hits = run(rs, [people(IN_A), people(IN_A), people(IN_A), people(IN_A, IN_B)])
    assert hits == [(1.5, "both")]


def test_composite_and_does_not_fire_when_hits_are_further_apart_than_the_window() -> None:
    rs = RuleSet(camera([
        intrusion("in-a", "a", alert=False),
        intrusion("in-b", "b", alert=False),
        {"id": "both", "type": "composite", "event": "franchissement", "window_s": 1.0,
         "when": {"and": ["in-a", "in-b"]}},
    ]))  # fmt: skip
    frames = [people(IN_A)] + [people(IN_A)] * 4 + [people(IN_A, IN_B)]
    assert run(rs, frames) == []


def test_composite_or_and_not() -> None:
    rs = RuleSet(camera([
        intrusion("in-a", "a", alert=False),
        intrusion("in-b", "b", alert=False),
        {"id": "a-alone", "type": "composite", "event": "franchissement", "window_s": 5.0,
         "when": {"and": ["in-a", {"not": "in-b"}]}},
        {"id": "any", "type": "composite", "event": "franchissement", "window_s": 5.0,
         "when": {"or": ["in-a", "in-b"]}},
    ]))  # fmt: skip
    hits = run(rs, [people(IN_B), people(IN_A, IN_B)])
    # b first: OR fires at once; a then enters while b is active: a-alone stays false
    assert hits == [(0.0, "any")]


def test_alert_false_rules_raise_nothing_alone_and_enabled_switch() -> None:
    rs = RuleSet(camera([intrusion("quiet", "a", alert=False), intrusion("loud", "b")]))
    assert run(rs, [people(IN_A, IN_B)]) == [(0.0, "loud")]
    rs2 = RuleSet(camera([intrusion("loud", "b")]))
    rs2.set_enabled("loud", False)
    assert run(rs2, [people(IN_B)]) == []
    with pytest.raises(KeyError, match="no rule 'nope'"):
        rs2.set_enabled("nope", True)


@pytest.mark.req("EX-041")
def test_schedule_gates_alerts_by_local_time() -> None:
    sched = [{"days": ["mon", "tue"], "start": "22:00", "end": "06:00"}]
    rs = RuleSet(camera([intrusion("night", "b", schedule=sched)]))
    monday_noon = datetime(2026, 11, 23, 12, 0)
    tuesday_3am = datetime(2026, 11, 24, 3, 0)  # Monday 22:00 runs over midnight
    assert run(rs, [people(IN_B)], now=monday_noon) == []
    rs = RuleSet(camera([intrusion("night", "b", schedule=sched)]))
    assert run(rs, [people(IN_B)], now=tuesday_3am) == [(0.0, "night")]
    rule = camera([intrusion("night", "b", schedule=sched)]).rules[0]
    wednesday_5am = datetime(2026, 11, 25, 5, 0)  # Tuesday 22:00 → Wednesday 06:00
    thursday_5am = datetime(2026, 11, 26, 5, 0)
    assert in_schedule(rule, wednesday_5am) and not in_schedule(rule, thursday_5am)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            [
                intrusion(
                    "r",
                    "a",
                    schedule=[
                        {"days": ["mon"], "start": "08:00", "end": "12:00"},
                        {"days": ["mon"], "start": "11:00", "end": "14:00"},
                    ],
                )
            ],
            "rule 'r': schedule windows overlap (mon 08:00–12:00 and mon 11:00–14:00)",
        ),
        ([intrusion("r", "a", schedule=[{"start": "25:00"}])], "schedule.0.start"),
        ([intrusion("r", "a", schedule=[{"start": "08:00", "end": "08:00"}])], "is empty"),
        (
            [
                intrusion("r", "a"),
                {"id": "c", "type": "composite", "event": "feu", "when": {"and": ["r", "ghost"]}},
            ],
            "refers to rule 'ghost'",
        ),
        (
            [
                intrusion("r", "a"),
                {"id": "c", "type": "composite", "event": "feu", "when": {"not": "r"}},
            ],
            "only has negated conditions",
        ),
        (
            [
                intrusion("r", "a"),
                {"id": "c", "type": "composite", "event": "explosion", "when": "r"},
            ],
            "rules.1.composite.event",
        ),
        ([{"id": "d", "type": "densite", "zone": "a"}], "set max_count or max_density_m2"),
        ([{"id": "w", "type": "arme", "zone": "a", "k": 6, "n": 5}], "k (6) must not exceed n"),
        ([{"id": "x", "type": "teleportation", "zone": "a"}], "Input tag 'teleportation'"),
    ],
)
def test_bad_rules_are_refused_with_the_field_named(
    rules: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        camera(rules)
    assert "cameras.0" in str(err.value)
    assert message in str(err.value)


def test_evaluate_nested_conditions() -> None:
    cam = camera([
        intrusion("x", "a"), intrusion("y", "b"),
        {"id": "c", "type": "composite", "event": "densite",
         "when": {"or": [{"and": ["x", "y"]}, {"not": "y"}, "x"]}},
    ])  # fmt: skip
    cond = cam.rules[2].when
    assert evaluate(cond, lambda r: r == "y") is False
    assert evaluate(cond, lambda r: False) is True
    assert evaluate(cond, lambda r: True) is True


@pytest.mark.req("EX-008")
def test_calibration_errors_are_named() -> None:
    doc_cam = {
        "id": "c", "source": {"url": "x.mp4"}, "zones": ZONES,
        "calibration": {"image_points": [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3], [0.4, 0.4]],
                        "ground_points_m": [[0, 0], [1, 1], [2, 2], [3, 3]]},
    }  # fmt: skip
    with pytest.raises(ConfigError, match=r"cameras\.0\.calibration.*collinear"):
        parse_site_config({"version": 1, "site": {"name": "t"}, "cameras": [doc_cam]})
    doc_cam["calibration"] = {"image_points": [[0.1, 0.1]] * 3, "ground_points_m": [[0, 0]] * 3}
    with pytest.raises(ConfigError, match=r"calibration\.image_points"):
        parse_site_config({"version": 1, "site": {"name": "t"}, "cameras": [doc_cam]})


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([[2, 3]], "at least 2 points"),
        ([[2, 3], [2, 5]], "strictly increasing"),
        ([[2, 5], [4, 3]], "must not decrease"),
    ],
)
def test_bad_count_correction(points: list[list[float]], message: str) -> None:
    rule = {"id": "d", "type": "densite", "zone": "a", "max_count": 5, "count_correction": points}
    with pytest.raises(ConfigError, match=message):
        camera([rule])
