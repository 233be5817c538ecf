"""Event metrics per type and overall, bootstrap CIs and per-slice aggregation."""

from __future__ import annotations

import pytest

from veilleur.evaluation.event_gt import ClipInfo, GroundTruthEvent
from veilleur.evaluation.event_matching import PredictedAlert
from veilleur.evaluation.event_metrics import OVERALL, evaluate_events
from veilleur.evaluation.slices import camera_height_bucket, evaluate_slices, metadata_slicer


def clip(name: str, duration_s: float = 1800.0, **metadata: object) -> ClipInfo:
    return ClipInfo(clip=name, duration_s=duration_s, metadata=metadata)


def gt(clip_id: str, event: str, start: float, end: float) -> GroundTruthEvent:
    return GroundTruthEvent(clip=clip_id, event=event, start_s=start, end_s=end)


def al(clip_id: str, event: str, t: float) -> PredictedAlert:
    return PredictedAlert(clip=clip_id, event=event, alert_s=t)


CLIPS = {
    "c1": clip("c1", lighting="day", weather="clear", camera_height_m=3.0, negative=False),
    "c2": clip("c2", lighting="night", weather="rain", camera_height_m=6.0, negative=False),
    "c3": clip("c3", lighting="night", weather="clear", camera_height_m=10.0, negative=True),
}
GT = [
    gt("c1", "franchissement", 10, 20),
    gt("c1", "franchissement", 100, 110),
    gt("c2", "franchissement", 50, 60),
    gt("c2", "feu", 200, 260),
]
ALERTS = [
    al("c1", "franchissement", 11.0),  # TP, delay 1
    al("c1", "franchissement", 15.0),  # duplicate
    al("c1", "franchissement", 104.0),  # TP, delay 4
    al("c2", "franchissement", 500.0),  # FP
    al("c2", "feu", 202.0),  # TP, delay 2
    al("c3", "feu", 30.0),  # FP on a negative clip
]


@pytest.mark.req("EX-014", "EX-065")
def test_counts_rates_and_delays_per_type_and_overall() -> None:
    ev = evaluate_events(GT, ALERTS, CLIPS, n_bootstrap=200, seed=1)
    fr = ev.per_event["franchissement"]
    assert (fr.n_gt, fr.tp, fr.fp, fr.fn, fr.duplicates) == (3, 2, 1, 1, 1)
    assert fr.precision == pytest.approx(2 / 3)
    assert fr.recall == pytest.approx(2 / 3)
    assert fr.f1 == pytest.approx(2 / 3)
    assert fr.false_alarms_per_hour == pytest.approx(1 / 1.5)  # 3 clips x 30 min
    assert (fr.delay_mean_s, fr.delay_median_s, fr.delay_max_s) == pytest.approx((2.5, 2.5, 4.0))

    feu = ev.per_event["feu"]
    assert (feu.tp, feu.fp, feu.fn) == (1, 1, 0)
    assert feu.precision == pytest.approx(0.5)
    assert feu.recall == pytest.approx(1.0)
    assert feu.f1 == pytest.approx(2 / 3)

    o = ev.overall
    assert o.event == OVERALL
    assert (o.n_gt, o.tp, o.fp, o.fn, o.duplicates) == (4, 3, 2, 1, 1)
    assert o.precision == pytest.approx(3 / 5)
    assert o.recall == pytest.approx(3 / 4)
    assert o.delay_max_s == pytest.approx(4.0)
    assert ev.duration_s == pytest.approx(5400.0)
    assert ev.n_clips == 3


CASES = {
    # name: (gt, alerts, expected precision, recall, f1, false alarms per hour)
    "no ground truth, no alert": ([], [], None, None, None, 0.0),
    "no ground truth, one alert": ([], [al("c1", "feu", 5)], 0.0, None, None, 2.0),
    "ground truth, no alert": ([gt("c1", "feu", 5, 9)], [], None, 0.0, None, 0.0),
    "all wrong": ([gt("c1", "feu", 5, 9)], [al("c1", "feu", 50)], 0.0, 0.0, 0.0, 2.0),
    "perfect": ([gt("c1", "feu", 5, 9)], [al("c1", "feu", 6)], 1.0, 1.0, 1.0, 0.0),
}


@pytest.mark.req("EX-014")
@pytest.mark.parametrize(
    ("truth", "alerts", "p", "r", "f1", "fah"), CASES.values(), ids=CASES.keys()
)
def test_undefined_ratios_are_none_not_errors(
    truth: list[GroundTruthEvent],
    alerts: list[PredictedAlert],
    p: float | None,
    r: float | None,
    f1: float | None,
    fah: float,
) -> None:
    ev = evaluate_events(truth, alerts, {"c1": clip("c1")}, event_types=["feu"], n_bootstrap=50)
    m = ev.per_event["feu"]
    assert m.precision == (None if p is None else pytest.approx(p))
    assert m.recall == (None if r is None else pytest.approx(r))
    assert m.f1 == (None if f1 is None else pytest.approx(f1))
    assert m.false_alarms_per_hour == pytest.approx(fah)
    if p is None:
        assert m.precision_ci is None
    if r is None:
        assert m.recall_ci is None


@pytest.mark.req("EX-014")
def test_zero_duration_gives_undefined_false_alarm_rate() -> None:
    ev = evaluate_events([], [al("c1", "feu", 0.0)], {"c1": clip("c1", 0.0)}, n_bootstrap=0)
    assert ev.per_event["feu"].false_alarms_per_hour is None


@pytest.mark.req("EX-014")
def test_event_types_fix_the_rows_and_filter_other_types() -> None:
    ev = evaluate_events(GT, ALERTS, CLIPS, event_types=["franchissement", "densite"])
    assert list(ev.per_event) == ["franchissement", "densite"]
    assert ev.per_event["densite"].tp == 0
    assert ev.per_event["densite"].precision is None
    assert ev.overall.n_gt == 3  # the "feu" event is not evaluated


@pytest.mark.req("EX-014")
def test_unknown_clip_is_an_error() -> None:
    with pytest.raises(ValueError, match="c9"):
        evaluate_events([gt("c9", "feu", 1, 2)], [], CLIPS)


@pytest.mark.req("EX-014", "EX-065")
def test_bootstrap_ci_is_seeded_and_brackets_the_estimate() -> None:
    clips = {f"c{i}": clip(f"c{i}", 600.0) for i in range(12)}
    truth = [gt(f"c{i}", "franchissement", 10, 20) for i in range(12)]
    alerts = [al(f"c{i}", "franchissement", 12.0) for i in range(9)]  # 9 hits, 3 misses
    alerts += [al(f"c{i}", "franchissement", 300.0) for i in range(0, 12, 4)]  # 3 FPs
    first = evaluate_events(truth, alerts, clips, n_bootstrap=1000, seed=7)
    second = evaluate_events(truth, alerts, clips, n_bootstrap=1000, seed=7)
    other = evaluate_events(truth, alerts, clips, n_bootstrap=1000, seed=8)
    m = first.per_event["franchissement"]
    assert m.recall == pytest.approx(0.75)
    assert m.precision == pytest.approx(0.75)
    same, diff = second.per_event["franchissement"], other.per_event["franchissement"]
    assert (m.precision_ci, m.recall_ci, m.f1_ci) == (same.precision_ci, same.recall_ci, same.f1_ci)
    assert (m.precision_ci, m.recall_ci, m.f1_ci) != (diff.precision_ci, diff.recall_ci, diff.f1_ci)
    assert m.recall_ci is not None and m.precision_ci is not None and m.f1_ci is not None
    for low, high in (m.recall_ci, m.precision_ci):
        assert 0.0 <= low <= 0.75 <= high <= 1.0
        assert high - low > 0.1  # 12 clips: a wide interval
    assert first.overall.recall_ci == m.recall_ci  # a single type: overall = that type


@pytest.mark.req("EX-014")
def test_single_clip_gives_a_degenerate_interval() -> None:
    ev = evaluate_events(GT[:1], ALERTS[:1], {"c1": CLIPS["c1"]}, n_bootstrap=100)
    assert ev.overall.recall_ci == (1.0, 1.0)


@pytest.mark.req("EX-087", "EX-065")
def test_slices_split_clips_by_condition() -> None:
    slices = evaluate_slices(GT, ALERTS, CLIPS, n_bootstrap=100, seed=0)
    by_key = {(s.key, s.value): s for s in slices}
    day = by_key[("lighting", "day")]
    night = by_key[("lighting", "night")]
    assert (day.n_clips, night.n_clips) == (1, 2)
    assert (day.evaluation.overall.tp, day.evaluation.overall.fp) == (2, 0)
    assert (night.evaluation.overall.tp, night.evaluation.overall.fp) == (1, 2)
    assert night.evaluation.overall.fn == 1
    assert night.evaluation.duration_s == pytest.approx(3600.0)
    assert night.evaluation.overall.false_alarms_per_hour == pytest.approx(2.0)
    assert [s.value for s in slices if s.key == "camera_height"] == ["4–8 m", "< 4 m", "≥ 8 m"]
    assert by_key[("negative", "true")].evaluation.overall.fp == 1
    assert {k for k, _ in by_key} == {"lighting", "weather", "camera_height", "negative"}


@pytest.mark.req("EX-087")
def test_custom_slicers_and_missing_metadata() -> None:
    slices = evaluate_slices(GT, ALERTS, CLIPS, {"density": metadata_slicer("density")})
    assert slices == []  # no clip carries "density"


@pytest.mark.parametrize(
    ("height", "bucket"),
    [(None, None), (1.5, "< 4 m"), (4.0, "4–8 m"), (7.9, "4–8 m"), (8, "≥ 8 m")],
)
def test_camera_height_bucket(height: float | None, bucket: str | None) -> None:
    meta = {} if height is None else {"camera_height_m": height}
    assert camera_height_bucket(ClipInfo(clip="c", duration_s=1.0, metadata=meta)) == bucket
