"""Alert ↔ ground-truth matching, as a table of edge cases (tolerance 2 s before, 3 s after)."""

from __future__ import annotations

import pytest

from veilleur.evaluation.event_gt import GroundTruthEvent
from veilleur.evaluation.event_matching import PredictedAlert, Tolerance, match_events

pytestmark = pytest.mark.req("EX-014", "EX-065")


def gt(
    start: float, end: float, event: str = "franchissement", clip: str = "c1"
) -> GroundTruthEvent:
    return GroundTruthEvent(clip=clip, event=event, start_s=start, end_s=end)


def al(t: float, event: str = "franchissement", clip: str = "c1") -> PredictedAlert:
    return PredictedAlert(clip=clip, event=event, alert_s=t)


# (ground truth, alerts, expected (TP, FP, FN, duplicates))
CASES = {
    "nothing": ([], [], (0, 0, 0, 0)),
    "no ground truth, one alert": ([], [al(5.0)], (0, 1, 0, 0)),
    "no alert": ([gt(10, 20)], [], (0, 0, 1, 0)),
    "alert inside the event": ([gt(10, 20)], [al(12.0)], (1, 0, 0, 0)),
    "just inside, before": ([gt(10, 20)], [al(8.0)], (1, 0, 0, 0)),
    "just outside, before": ([gt(10, 20)], [al(7.99)], (0, 1, 1, 0)),
    "just inside, after": ([gt(10, 20)], [al(23.0)], (1, 0, 0, 0)),
    "just outside, after": ([gt(10, 20)], [al(23.01)], (0, 1, 1, 0)),
    "two alerts, one event": ([gt(10, 20)], [al(11.0), al(15.0)], (1, 0, 0, 1)),
    "three alerts, one event": ([gt(10, 20)], [al(11.0), al(15.0), al(22.0)], (1, 0, 0, 2)),
    "wrong type": ([gt(10, 20)], [al(12.0, event="feu")], (0, 1, 1, 0)),
    "wrong clip": ([gt(10, 20)], [al(12.0, clip="c2")], (0, 1, 1, 0)),
    "two clips, one hit each": (
        [gt(10, 20, clip="c1"), gt(10, 20, clip="c2")],
        [al(12.0, clip="c1"), al(30.0, clip="c2")],
        (1, 1, 1, 0),
    ),
    "two events, two alerts": ([gt(10, 20), gt(40, 45)], [al(11.0), al(41.0)], (2, 0, 0, 0)),
    "overlapping windows go to the window that closes first": (
        # Alert 5.5 could match either; giving it to B (closes at 9) lets 9.5 match A.
        [gt(0, 10), gt(5, 6)],
        [al(5.5), al(9.5)],
        (2, 0, 0, 0),
    ),
    "alert between two events far apart": ([gt(0, 1), gt(100, 110)], [al(50.0)], (0, 1, 2, 0)),
}


@pytest.mark.parametrize(("truth", "alerts", "expected"), CASES.values(), ids=CASES.keys())
def test_counts(
    truth: list[GroundTruthEvent],
    alerts: list[PredictedAlert],
    expected: tuple[int, int, int, int],
) -> None:
    result = match_events(truth, alerts)
    got = (
        len(result.matches),
        len(result.false_positives),
        len(result.false_negatives),
        len(result.duplicates),
    )
    assert got == expected


def test_first_alert_is_the_match_and_delay_is_from_start() -> None:
    result = match_events([gt(10, 20)], [al(15.0), al(11.0)])
    assert [m.alert.alert_s for m in result.matches] == [11.0]
    assert result.matches[0].delay_s == pytest.approx(1.0)
    assert [d.alert.alert_s for d in result.duplicates] == [15.0]


def test_early_alert_has_negative_delay() -> None:
    result = match_events([gt(10, 20)], [al(9.0)])
    assert result.matches[0].delay_s == pytest.approx(-1.0)


@pytest.mark.parametrize(
    ("tolerance", "t", "is_tp"),
    [
        (Tolerance(before_s=0.0, after_s=0.0), 9.9, False),
        (Tolerance(before_s=0.0, after_s=0.0), 20.0, True),
        (Tolerance(before_s=5.0, after_s=0.0), 5.0, True),
        (Tolerance(before_s=5.0, after_s=10.0), 30.0, True),
    ],
)
def test_custom_tolerance(tolerance: Tolerance, t: float, is_tp: bool) -> None:
    result = match_events([gt(10, 20)], [al(t)], tolerance)
    assert (len(result.matches) == 1) is is_tp


@pytest.mark.parametrize(
    ("record", "expected_time", "expected_event"),
    [
        ({"event": "feu", "alert_s": 12.5, "start_s": 11.0, "id": "a1"}, 12.5, "feu"),
        ({"type": "arme", "start_s": 3.0}, 3.0, "arme"),
    ],
)
def test_alert_from_journal_record(
    record: dict[str, object], expected_time: float, expected_event: str
) -> None:
    alert = PredictedAlert.from_record(record, clip="c9")
    assert (alert.clip, alert.event, alert.alert_s) == ("c9", expected_event, expected_time)


def test_alert_record_without_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="alert_s"):
        PredictedAlert.from_record({"event": "feu"}, clip="c1")
