"""Tracking metrics (MOTA, MOTP, IDF1, ID switches, HOTA): exact on hand-computed fixtures, equal
to py-motmetrics (CLEAR MOT, identity) and to TrackEval 1.3.0 (HOTA and the rest).

TrackEval depends on the desktop ``opencv-python`` wheel, which would shadow the project's
headless OpenCV, so it is not a dev dependency: its numbers on the seeded fixtures below are
frozen in ``TRACKEVAL_GOLDEN`` (``test_golden_values_are_trackeval_s`` recomputes them when
TrackEval is importable, e.g. after ``pip install --no-deps --target /tmp/te trackeval==1.3.0``
and ``PYTHONPATH=/tmp/te``).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from veilleur.evaluation.tracking_metrics import (
    ALPHAS,
    FrameBoxes,
    TrackedFrame,
    TrackingMetrics,
    TrackingStats,
    box_iou,
    evaluate_tracking,
    metrics_from_stats,
    sequence_stats,
)

pytestmark = pytest.mark.req("EX-047")

TOL = 1e-6


def _frame(gt: list[tuple[float, ...]], pred: list[tuple[float, ...]]) -> TrackedFrame:
    return TrackedFrame(FrameBoxes.from_rows(gt), FrameBoxes.from_rows(pred))


def _metrics(frames: list[TrackedFrame], class_id: int | None = 0) -> TrackingMetrics:
    return metrics_from_stats(sequence_stats(frames, class_id))


# (track id, class id, x1, y1, x2, y2)
A = (0.0, 0.0, 40.0, 80.0)
B = (200.0, 0.0, 240.0, 80.0)


def _box(tid: int, where: tuple[float, ...], cls: int = 0) -> tuple[float, ...]:
    return (tid, cls, *where)


# -- hand-computed fixtures ---------------------------------------------------------------------


def test_perfect_tracking_scores_one() -> None:
    frames = [_frame([_box(1, A), _box(2, B)], [_box(7, A), _box(8, B)]) for _ in range(5)]
    m = _metrics(frames)
    for value in (m.mota, m.motp, m.idf1, m.idp, m.idr, m.hota, m.deta, m.assa, m.loca):
        assert value == pytest.approx(1.0, abs=TOL)
    assert (m.tp, m.fn, m.fp, m.id_switches) == (10, 0, 0, 0)
    assert (m.n_gt_tracks, m.n_pred_tracks, m.n_frames) == (2, 2, 5)


def test_id_swap_halfway() -> None:
    """Two objects, four frames; their tracker ids are exchanged after frame 2.

    CLEAR: two switches, ``MOTA = 1 − 2/8``. Identity: each object keeps its id for 2 of 4
    frames, ``IDF1 = 4 / (4 + ½·4 + ½·4) = 0.5``. HOTA: every detection is found (DetA = 1);
    each of the 4 (object, id) pairs matches 2 frames, Jaccard ``2 / (4 + 4 − 2) = 1/3``,
    so ``AssA = 1/3`` and ``HOTA = √(1/3)``.
    """
    frames = [_frame([_box(1, A), _box(2, B)], [_box(7, A), _box(8, B)]) for _ in range(2)]
    frames += [_frame([_box(1, A), _box(2, B)], [_box(8, A), _box(7, B)]) for _ in range(2)]
    m = _metrics(frames)
    assert m.id_switches == 2
    assert m.mota == pytest.approx(0.75, abs=TOL)
    assert m.idf1 == pytest.approx(0.5, abs=TOL)
    assert (m.idtp, m.idfp, m.idfn) == (4, 4, 4)
    assert m.deta == pytest.approx(1.0, abs=TOL)
    assert m.assa == pytest.approx(1 / 3, abs=TOL)
    assert m.hota == pytest.approx(math.sqrt(1 / 3), abs=TOL)
    assert m.motp == pytest.approx(1.0, abs=TOL)


def test_misses() -> None:
    """One object over 4 frames, found on frames 1 and 4 only (same id).

    ``MOTA = 1 − 2/4``; IDF1 = 2 / (2 + ½·2) = 2/3; DetA = 2/4; the pair's Jaccard is
    ``2 / (4 + 2 − 2) = 0.5`` so AssA = 0.5 and HOTA = 0.5.
    """
    frames = [
        _frame([_box(1, A)], [_box(5, A)]),
        _frame([_box(1, A)], []),
        _frame([_box(1, A)], []),
        _frame([_box(1, A)], [_box(5, A)]),
    ]
    m = _metrics(frames)
    assert (m.tp, m.fn, m.fp, m.id_switches) == (2, 2, 0, 0)
    assert m.mota == pytest.approx(0.5, abs=TOL)
    assert m.idf1 == pytest.approx(2 / 3, abs=TOL)
    assert m.deta == pytest.approx(0.5, abs=TOL)
    assert m.assa == pytest.approx(0.5, abs=TOL)
    assert m.hota == pytest.approx(0.5, abs=TOL)


def test_false_positives() -> None:
    """One object tracked perfectly over 4 frames, plus a spurious track on 2 of them.

    ``MOTA = 1 − 2/4``; IDF1 = 4 / (4 + ½·2) = 0.8; DetA = 4/6, AssA = 1, HOTA = √(2/3).
    """
    far = (500.0, 300.0, 540.0, 380.0)
    frames = [_frame([_box(1, A)], [_box(5, A), _box(9, far)]) for _ in range(2)]
    frames += [_frame([_box(1, A)], [_box(5, A)]) for _ in range(2)]
    m = _metrics(frames)
    assert (m.tp, m.fn, m.fp) == (4, 0, 2)
    assert m.mota == pytest.approx(0.5, abs=TOL)
    assert m.idf1 == pytest.approx(0.8, abs=TOL)
    assert m.deta == pytest.approx(2 / 3, abs=TOL)
    assert m.assa == pytest.approx(1.0, abs=TOL)
    assert m.hota == pytest.approx(math.sqrt(2 / 3), abs=TOL)


def test_localisation_error_counts_in_motp_and_hota_only() -> None:
    """IoU 0.625 on every frame: a CLEAR / identity match (≥ 0.5), but HOTA only finds it for
    the 12 thresholds α ≤ 0.60 of its 19, so ``HOTA = 12/19`` and ``MOTP = 0.625``."""
    gt, pred = (0.0, 0.0, 10.0, 10.0), (0.0, 0.0, 10.0, 6.25)
    assert box_iou(np.array([gt]), np.array([pred]))[0, 0] == pytest.approx(0.625)
    frames = [_frame([_box(1, gt)], [_box(3, pred)]) for _ in range(4)]
    m = _metrics(frames)
    assert m.mota == pytest.approx(1.0, abs=TOL) and m.idf1 == pytest.approx(1.0, abs=TOL)
    assert m.motp == pytest.approx(0.625, abs=TOL)
    # TrackEval's LocA is 1 at a threshold without any true positive, then averaged over α
    assert m.loca == pytest.approx((12 * 0.625 + 7 * 1.0) / 19, abs=TOL)
    assert int(np.sum(ALPHAS <= 0.625)) == 12
    assert m.hota == pytest.approx(12 / 19, abs=TOL)
    assert m.deta == pytest.approx(12 / 19, abs=TOL)


def test_previous_match_is_kept_over_a_better_overlap() -> None:
    """CLEAR MOT keeps last frame's pair while its IoU stays ≥ 0.5, even when another
    tracker box overlaps better: no switch."""
    near = (2.0, 0.0, 42.0, 80.0)  # IoU with A ≈ 0.90
    frames = [
        _frame([_box(1, A)], [_box(5, A)]),
        _frame([_box(1, A)], [_box(5, near), _box(6, A)]),
    ]
    m = _metrics(frames)
    assert (m.tp, m.fp, m.id_switches) == (2, 1, 0)


def test_classes_are_evaluated_apart() -> None:
    """A vehicle box on a person does not track the person."""
    frames = [_frame([_box(1, A, cls=0)], [_box(5, A, cls=1)]) for _ in range(3)]
    person, vehicle = _metrics(frames, 0), _metrics(frames, 1)
    assert (person.tp, person.fn, person.fp) == (0, 3, 0)
    assert person.mota == pytest.approx(0.0) and person.hota == pytest.approx(0.0)
    assert person.motp is None and person.idp is None
    assert (vehicle.fp, vehicle.n_gt) == (3, 0)
    assert vehicle.mota is None and vehicle.hota is None and vehicle.idf1 is None


def test_no_box_at_all_is_undefined_not_an_error() -> None:
    m = _metrics([_frame([], []) for _ in range(3)])
    assert (m.n_frames, m.tp, m.fp, m.fn) == (3, 0, 0, 0)
    assert m.mota is None and m.hota is None and m.idf1 is None and m.motp is None


def test_a_repeated_id_in_a_frame_is_rejected() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        sequence_stats([_frame([_box(1, A), _box(1, B)], [])], 0)


def test_statistics_add_up_across_sequences() -> None:
    swap = [_frame([_box(1, A), _box(2, B)], [_box(7, A), _box(8, B)]) for _ in range(2)]
    swap += [_frame([_box(1, A), _box(2, B)], [_box(8, A), _box(7, B)]) for _ in range(2)]
    miss = [_frame([_box(1, A)], [_box(5, A)]), _frame([_box(1, A)], [])]
    total = sequence_stats(swap, 0) + sequence_stats(miss, 0)
    m = metrics_from_stats(total)
    assert (m.tp, m.fn, m.id_switches) == (9, 1, 2)
    assert m.mota == pytest.approx(1 - 3 / 10, abs=TOL)
    assert m.idf1 == pytest.approx((4 + 1) / (5 + 0.5 * 4 + 0.5 * 5), abs=TOL)
    assert TrackingStats.zero()["tp"] == 0.0


# -- randomised fixtures and the oracles --------------------------------------------------------


def random_sequence(
    rng: np.random.Generator, *, n_frames: int = 30, n_obj: int = 5, crowded: bool = False
) -> list[TrackedFrame]:
    """Objects moving on straight lines; the tracker misses some boxes, adds spurious tracks,
    swaps ids, starts new ids and moves an id to another object.

    Not crowded: objects are far apart and spurious boxes lie in an empty region, so a ground
    truth box overlaps at most one tracker box (every CLEAR implementation then agrees).
    Crowded: objects overlap and tracker boxes are noisier (the matching rules matter).
    """
    spread = (120.0, 80.0) if crowded else (0.0, 0.0)
    jitter = 7.0 if crowded else 3.0
    start = {
        o: np.array([rng.uniform(0, spread[0]), rng.uniform(0, spread[1])])
        + (0.0 if crowded else np.array([300.0 * o, 0.0]))
        for o in range(n_obj)
    }
    vel = {o: rng.normal(0, 2.0, 2) for o in range(n_obj)}
    life = {o: sorted(int(x) for x in rng.integers(0, n_frames, 2)) for o in range(n_obj)}
    ids = {o: 100 + o for o in range(n_obj)}
    fresh = 500
    frames = []
    for f in range(n_frames):
        draw = rng.uniform(size=3)
        if draw[0] < 0.08:
            a, b = rng.choice(n_obj, 2, replace=False)
            ids[a], ids[b] = ids[b], ids[a]
        if draw[1] < 0.08:
            ids[int(rng.integers(n_obj))] = fresh
            fresh += 1
        if draw[2] < 0.05:
            a, b = rng.choice(n_obj, 2, replace=False)
            ids[a], ids[b], fresh = ids[b], fresh, fresh + 1
        gt, pred = [], []
        for o in range(n_obj):
            if not life[o][0] <= f <= life[o][1]:
                continue
            x, y = start[o] + vel[o] * f
            w, h = 40.0 + 4 * o, 80.0 + 3 * o
            gt.append((o, 0, x, y, x + w, y + h))
            if rng.uniform() > 0.15:
                d = rng.normal(0, jitter, 4)
                pred.append((ids[o], 0, x + d[0], y + d[1], x + w + d[2], y + h + d[3]))
        used = {int(p[0]) for p in pred}
        for _ in range(int(rng.poisson(0.4))):
            tid = int(rng.integers(900, 904))
            if tid in used:
                continue
            used.add(tid)
            x, y = rng.uniform(0, 100, 2) + (0.0 if crowded else 3000.0)
            pred.append((tid, 0, x, y, x + 45, y + 85))
        frames.append(_frame(gt, pred))
    return frames


def _motmetrics_summary(
    frames: list[TrackedFrame], monkeypatch: pytest.MonkeyPatch
) -> dict[str, float]:
    mm = pytest.importorskip("motmetrics")
    if not hasattr(np, "asfarray"):  # removed in NumPy 2; motmetrics 1.4 still calls it
        monkeypatch.setattr(
            np, "asfarray", lambda a, dtype=float: np.asarray(a, dtype=dtype), raising=False
        )
    acc = mm.MOTAccumulator(auto_id=True)
    for fr in frames:
        gt_xywh = np.c_[fr.gt.xyxy[:, :2], fr.gt.xyxy[:, 2:] - fr.gt.xyxy[:, :2]]
        pr_xywh = np.c_[fr.pred.xyxy[:, :2], fr.pred.xyxy[:, 2:] - fr.pred.xyxy[:, :2]]
        dist = mm.distances.iou_matrix(gt_xywh, pr_xywh, max_iou=0.5)
        acc.update(fr.gt.ids.tolist(), fr.pred.ids.tolist(), dist)
    names = ["mota", "motp", "idf1", "num_switches", "num_misses", "num_false_positives"]
    summary = mm.metrics.create().compute(acc, metrics=names, name="s")
    return {k: float(summary[k].iloc[0]) for k in names}


@pytest.mark.parametrize("seed", range(8))
def test_clear_mot_and_idf1_equal_motmetrics(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    frames = random_sequence(rng, n_obj=int(rng.integers(2, 7)))
    mine = _metrics(frames)
    ref = _motmetrics_summary(frames, monkeypatch)
    assert mine.fn == ref["num_misses"] and mine.fp == ref["num_false_positives"]
    assert mine.id_switches == ref["num_switches"]
    assert mine.mota == pytest.approx(ref["mota"], abs=TOL)
    assert mine.motp == pytest.approx(1.0 - ref["motp"], abs=TOL)  # motmetrics: 1 − IoU
    assert mine.idf1 == pytest.approx(ref["idf1"], abs=TOL)


def test_the_random_fixtures_switch_ids() -> None:
    switches = [
        _metrics(random_sequence(np.random.default_rng(s), n_obj=4)).id_switches for s in range(8)
    ]
    assert sum(n > 0 for n in switches) >= 4, switches


def _golden_fixture(seed: int) -> list[list[TrackedFrame]]:
    rng = np.random.default_rng(1000 + seed)
    return [
        random_sequence(rng, n_obj=int(rng.integers(2, 8)), crowded=seed % 2 == 0) for _ in range(3)
    ]


GOLDEN_FIELDS = (
    "hota",
    "deta",
    "assa",
    "loca",
    "detre",
    "detpr",
    "assre",
    "asspr",
    "mota",
    "motp",
    "idf1",
    "id_switches",
)

# TrackEval 1.3.0 (HOTA, CLEAR, Identity: eval_sequence per sequence then combine_sequences;
# float fields are the mean over the 19 alphas), on the three sequences of _golden_fixture(seed).
TRACKEVAL_GOLDEN: dict[int, dict[str, float]] = {
    0: {
        "hota": 0.49202657777308284,
        "deta": 0.5036606153861904,
        "assa": 0.48758534915501406,
        "loca": 0.761315695616077,
        "detre": 0.6356275303643724,
        "detpr": 0.5826585695006748,
        "assre": 0.5545827839019798,
        "asspr": 0.6840741900888434,
        "mota": 0.5384615384615384,
        "motp": 0.7139646844848755,
        "idf1": 0.6889632107023411,
        "id_switches": 9.0,
    },
    1: {
        "hota": 0.6110048396931756,
        "deta": 0.601408096133694,
        "assa": 0.6268001036860967,
        "loca": 0.8702829542705042,
        "detre": 0.7731829573934836,
        "detpr": 0.6765350877192983,
        "assre": 0.6877969244290381,
        "asspr": 0.8080988278541862,
        "mota": 0.5793650793650794,
        "motp": 0.8589360069769966,
        "idf1": 0.7111111111111111,
        "id_switches": 5.0,
    },
    2: {
        "hota": 0.47537595487907364,
        "deta": 0.4826279472407941,
        "assa": 0.47192596880746385,
        "loca": 0.7677064350734322,
        "detre": 0.6259160559626915,
        "detpr": 0.5651127819548872,
        "assre": 0.5214965202969752,
        "asspr": 0.6937695991115643,
        "mota": 0.5063291139240507,
        "motp": 0.7192991969944447,
        "idf1": 0.6486486486486487,
        "id_switches": 9.0,
    },
    3: {
        "hota": 0.4834712629521061,
        "deta": 0.55459785856755,
        "assa": 0.42317337912771447,
        "loca": 0.8634029140446161,
        "detre": 0.7176113360323887,
        "detpr": 0.6546629732225301,
        "assre": 0.456920477304516,
        "asspr": 0.7544531178148814,
        "mota": 0.4519230769230769,
        "motp": 0.8497886050346964,
        "idf1": 0.5412844036697247,
        "id_switches": 11.0,
    },
}


def _trackeval_values(sequences: list[list[TrackedFrame]]) -> dict[str, float]:
    from trackeval.datasets._base_dataset import _BaseDataset
    from trackeval.metrics import CLEAR, HOTA, Identity

    def data(frames: list[TrackedFrame]) -> dict[str, Any]:
        gmap: dict[int, int] = {}
        tmap: dict[int, int] = {}
        d: dict[str, Any] = {"gt_ids": [], "tracker_ids": [], "similarity_scores": []}
        for fr in frames:
            d["gt_ids"].append(
                np.array([gmap.setdefault(int(i), len(gmap)) for i in fr.gt.ids], dtype=int)
            )
            d["tracker_ids"].append(
                np.array([tmap.setdefault(int(i), len(tmap)) for i in fr.pred.ids], dtype=int)
            )
            d["similarity_scores"].append(
                _BaseDataset._calculate_box_ious(
                    fr.gt.xyxy.copy(), fr.pred.xyxy.copy(), box_format="x0y0x1y1"
                )
            )
        d.update(
            num_gt_ids=len(gmap),
            num_tracker_ids=len(tmap),
            num_timesteps=len(frames),
            num_gt_dets=sum(map(len, d["gt_ids"])),
            num_tracker_dets=sum(map(len, d["tracker_ids"])),
        )
        return d

    metrics = {"h": HOTA(), "c": CLEAR(), "i": Identity()}
    for m in metrics.values():
        m.print_config = lambda: None  # type: ignore[method-assign]
    per_seq = {k: {} for k in metrics}  # type: ignore[var-annotated]
    for s, frames in enumerate(sequences):
        d = data(frames)
        for k, m in metrics.items():
            per_seq[k][str(s)] = m.eval_sequence(d)
    h = metrics["h"].combine_sequences(per_seq["h"])
    c = metrics["c"].combine_sequences(per_seq["c"])
    i = metrics["i"].combine_sequences(per_seq["i"])
    out = {
        k: float(np.mean(h[name]))
        for k, name in (
            ("hota", "HOTA"),
            ("deta", "DetA"),
            ("assa", "AssA"),
            ("loca", "LocA"),
            ("detre", "DetRe"),
            ("detpr", "DetPr"),
            ("assre", "AssRe"),
            ("asspr", "AssPr"),
        )
    }
    out.update(
        mota=float(c["MOTA"]),
        motp=float(c["MOTP"]),
        idf1=float(i["IDF1"]),
        id_switches=float(c["IDSW"]),
    )
    return out


def _mine(sequences: list[list[TrackedFrame]]) -> TrackingMetrics:
    total = TrackingStats.zero()
    for frames in sequences:
        total = total + sequence_stats(frames, 0)
    return metrics_from_stats(total)


@pytest.mark.parametrize("seed", sorted(TRACKEVAL_GOLDEN))
def test_hota_and_clear_equal_trackeval_frozen(seed: int) -> None:
    mine = _mine(_golden_fixture(seed))
    for name in GOLDEN_FIELDS:
        assert getattr(mine, name) == pytest.approx(TRACKEVAL_GOLDEN[seed][name], abs=TOL), name


def test_golden_values_are_trackeval_s() -> None:
    pytest.importorskip("trackeval")
    for seed in range(6):
        sequences = _golden_fixture(seed)
        ref = _trackeval_values(sequences)
        mine = _mine(sequences)
        for name in GOLDEN_FIELDS:
            assert getattr(mine, name) == pytest.approx(ref[name], abs=1e-9), (seed, name)
        if seed in TRACKEVAL_GOLDEN:
            for name in GOLDEN_FIELDS:
                assert TRACKEVAL_GOLDEN[seed][name] == pytest.approx(ref[name], abs=1e-9), name


# -- per class, per clip, bootstrap -------------------------------------------------------------


def _clips(n: int = 6) -> dict[str, list[TrackedFrame]]:
    rng = np.random.default_rng(7)
    out = {}
    for c in range(n):
        frames = random_sequence(rng, n_obj=4)
        # a vehicle track in every other clip (class 1), tracked perfectly
        if c % 2 == 0:
            car = (0.0, 400.0, 120.0, 470.0)
            frames = [
                TrackedFrame(
                    FrameBoxes.from_rows([*_rows(f.gt), (77, 1, *car)]),
                    FrameBoxes.from_rows([*_rows(f.pred), (880, 1, *car)]),
                )
                for f in frames
            ]
        out[f"clip_{c:04d}"] = frames
    return out


def _rows(b: FrameBoxes) -> list[tuple[float, ...]]:
    return [
        (int(i), int(k), *map(float, xy)) for i, k, xy in zip(b.ids, b.classes, b.xyxy, strict=True)
    ]


def test_evaluate_tracking_per_class_per_clip_and_overall() -> None:
    clips = _clips()
    ev = evaluate_tracking(clips, {0: "person", 1: "vehicle"}, n_bootstrap=200, seed=3)
    assert [c.name for c in ev.per_class] == ["person", "vehicle"]
    person, vehicle = ev.per_class
    expected = _mine(list(clips.values()))
    assert person.metrics.mota == pytest.approx(expected.mota, abs=TOL)
    assert person.metrics.hota == pytest.approx(expected.hota, abs=TOL)
    assert vehicle.metrics.mota == pytest.approx(1.0) and vehicle.metrics.hota == pytest.approx(1.0)
    assert vehicle.metrics.n_frames == person.metrics.n_frames == 180
    # overall = the statistics of both classes summed (TrackEval's detection-averaged combination)
    total = TrackingStats.zero()
    for frames in clips.values():
        total = total + sequence_stats(frames, 0) + sequence_stats(frames, 1)
    both = metrics_from_stats(total)
    assert ev.overall.mota == pytest.approx(both.mota, abs=TOL)
    assert ev.overall.hota == pytest.approx(both.hota, abs=TOL)
    assert ev.overall.n_frames == 180
    assert [c.clip for c in ev.per_clip] == sorted(clips)
    assert sum(c.metrics.tp for c in ev.per_clip) == ev.overall.tp
    for m in (person.metrics, ev.overall):
        for name in ("mota", "motp", "idf1", "hota", "deta", "assa"):
            lo, hi = getattr(m, f"{name}_ci")
            assert lo <= getattr(m, name) + TOL and getattr(m, name) <= hi + TOL, name
            assert lo < hi, name
    again = evaluate_tracking(clips, {0: "person", 1: "vehicle"}, n_bootstrap=200, seed=3)
    assert again.overall.hota_ci == ev.overall.hota_ci
    data = ev.to_dict()
    assert data["per_class"][0]["name"] == "person" and len(data["hota_alphas"]) == 19
    assert data["overall"]["mota_ci"] is not None


def test_identical_clips_give_a_degenerate_interval() -> None:
    frames = random_sequence(np.random.default_rng(5), n_obj=3)
    ev = evaluate_tracking({"a": frames, "b": frames}, {0: "person"}, n_bootstrap=50)
    lo, hi = ev.overall.mota_ci  # type: ignore[misc]
    assert lo == pytest.approx(ev.overall.mota) and hi == pytest.approx(ev.overall.mota)


def test_no_bootstrap_no_interval() -> None:
    ev = evaluate_tracking(_clips(2), {0: "person", 1: "vehicle"}, n_bootstrap=0)
    assert ev.overall.mota_ci is None and ev.n_bootstrap == 0


# -- ground truth and tracks of the evaluate stage -------------------------------------------


def _coco(track_ids: bool = True) -> dict[str, Any]:
    anns = []
    for f in range(4):
        a = {
            "id": f + 1,
            "image_id": f + 1,
            "category_id": 1,
            "bbox": [10.0 + f, 20.0, 40.0, 80.0],
            "iscrowd": 0,
        }
        if track_ids:
            a["track_id"] = 3
        anns.append(a)
    anns.append(
        {
            "id": 9,
            "image_id": 1,
            "category_id": 1,
            "bbox": [0, 0, 5, 5],
            "iscrowd": 1,
            "track_id": 4,
        }
    )
    return {
        "images": [{"id": f + 1, "frame_index": 2 * f, "clip": "c1"} for f in range(4)],
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "vehicle"}],
        "annotations": anns,
    }


def _tracks(frames: list[int]) -> list[dict[str, Any]]:
    return [
        {
            "frame_index": f,
            "t": f / 10,
            "boxes": [[1, 0, 10.0 + f / 2, 20.0, 50.0 + f / 2, 100.0, 0.9]],
        }
        for f in frames
    ]


def test_tracking_sequences_pair_annotated_and_analysed_frames(tmp_path: Any) -> None:
    from veilleur.evaluation.context import tracking_sequences

    own = tmp_path / "c2.coco.json"
    doc = _coco()
    for im in doc["images"]:
        im["clip"] = "c2"
    own.write_text(json.dumps(doc), encoding="utf-8")
    clips = {
        "c1": {},  # ground truth from the test COCO file
        "c2": {"coco": str(own)},  # its own COCO file
        "c3": {},  # no track id
        "c4": {},  # two cameras
        "c5": {},  # not replayed
    }
    test = _coco()
    no_ids = _coco(track_ids=False)
    for im in no_ids["images"]:
        im["clip"], im["id"] = "c3", im["id"] + 100
    for a in no_ids["annotations"]:
        a["image_id"] += 100
    test["images"] += no_ids["images"]
    test["annotations"] += no_ids["annotations"]
    tracks = {
        "c1": {"cam": _tracks([0, 1, 2, 3, 4, 5, 6])},  # frames 1, 3, 5 are not annotated
        "c2": {"cam": _tracks([0, 2, 4, 6])},
        "c3": {"cam": _tracks([0, 2])},
        "c4": {"a": _tracks([0]), "b": _tracks([0])},
    }
    sequences, skipped = tracking_sequences(clips, test, tracks)
    assert sorted(sequences) == ["c1", "c2"]
    assert len(sequences["c1"]) == 4 and len(sequences["c2"]) == 4
    assert [len(f.gt.ids) for f in sequences["c1"]] == [1, 1, 1, 1]  # the crowd box is left out
    assert set(skipped) == {"c3", "c4", "c5"}
    assert "identifiant de piste" in skipped["c3"] and "caméras" in skipped["c4"]
    ev = evaluate_tracking(sequences, {0: "person"}, n_bootstrap=0)
    assert ev.overall.mota == pytest.approx(1.0) and ev.overall.id_switches == 0
