"""Bias findings over slices: worst slice, disparity ratio, gates and their French verdicts;
false alarms per hour and detection delay intervals; per-camera breakdown."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from veilleur.evaluation.bias import analyse_bias
from veilleur.evaluation.event_gt import ClipInfo, GroundTruthEvent
from veilleur.evaluation.event_matching import PredictedAlert
from veilleur.evaluation.event_metrics import evaluate_events
from veilleur.evaluation.params import EvaluateParams, GateParams
from veilleur.evaluation.report import (
    SLICE_KEY_LABELS_FR,
    SLICE_VALUE_LABELS_FR,
    render_report,
)
from veilleur.evaluation.report_context import ReportContext
from veilleur.evaluation.slices import PER_CAMERA, evaluate_slices
from veilleur.evaluation.stages.report import gate_exit_code

EVENT = "franchissement"


def _dataset(
    day_hits: int, night_hits: int, n: int = 10
) -> tuple[list[GroundTruthEvent], list[PredictedAlert], dict[str, ClipInfo]]:
    """n day clips and n night clips, one event each; ``*_hits`` of them are detected."""
    clips: dict[str, ClipInfo] = {}
    truth: list[GroundTruthEvent] = []
    alerts: list[PredictedAlert] = []
    for light, hits in (("day", day_hits), ("night", night_hits)):
        for i in range(n):
            cid = f"{light}_{i:02d}"
            clips[cid] = ClipInfo(clip=cid, duration_s=600.0, metadata={"lighting": light})
            truth.append(GroundTruthEvent(clip=cid, event=EVENT, start_s=100.0, end_s=110.0))
            if i < hits:
                alerts.append(PredictedAlert(clip=cid, event=EVENT, alert_s=101.0 + i % 3))
    return truth, alerts, clips


def _bias(day_hits: int, night_hits: int, params: GateParams) -> object:
    truth, alerts, clips = _dataset(day_hits, night_hits)
    slices = evaluate_slices(truth, alerts, clips, event_types=[EVENT], n_bootstrap=200)
    return analyse_bias(
        slices, params, key_labels=SLICE_KEY_LABELS_FR, value_labels=SLICE_VALUE_LABELS_FR
    )


@pytest.mark.req("EX-087", "EX-065")
def test_worst_slice_and_disparity_ratio() -> None:
    bias = _bias(9, 3, GateParams(recall_floor=0.2, min_disparity_ratio=0.2))
    recall = next(f for f in bias.findings if f.key == "lighting" and f.metric == "recall")
    assert recall.worst is not None and recall.best is not None
    assert (recall.worst.value, recall.worst.estimate) == ("night", pytest.approx(0.3))
    assert (recall.best.value, recall.best.estimate) == ("day", pytest.approx(0.9))
    assert recall.disparity_ratio == pytest.approx(1 / 3)
    assert recall.worst.interval is not None and recall.worst.interval[0] < 0.3
    assert bias.passed


@pytest.mark.req("EX-087")
def test_slice_below_floor_and_disparity_beyond_bound_fail_in_french() -> None:
    bias = _bias(9, 3, GateParams(recall_floor=0.5, min_disparity_ratio=0.8))
    assert not bias.passed
    messages = [v.message_fr for v in bias.failures]
    assert "Tranche « Éclairage = nuit » : rappel 0,30 inférieur au plancher 0,50." in messages
    assert any(
        m.startswith("Critère « Éclairage » : rapport de disparité du rappel (pire tranche "
                     "« nuit » / meilleure « jour ») 0,33 inférieur à la borne 0,80")
        for m in messages
    )  # fmt: skip
    assert "échoue" in bias.summary_fr()


@pytest.mark.req("EX-087")
def test_small_slices_are_shown_but_not_gated() -> None:
    bias = _bias(9, 0, GateParams(recall_floor=0.5, min_events=11))
    assert bias.verdicts == () and bias.passed
    assert "aucune conclusion" in bias.summary_fr()


@pytest.mark.req("EX-087", "EX-088")
def test_failed_gate_fails_the_stage_and_the_report_says_so(
    sample_context: ReportContext, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strict = GateParams(recall_floor=0.99, precision_floor=0.99, min_events=1)
    bias = analyse_bias(sample_context.slices, strict, key_labels=SLICE_KEY_LABELS_FR)
    ctx = dataclasses.replace(sample_context, bias=bias)
    html = render_report(ctx, tmp_path, pdf=False).read_text(encoding="utf-8")
    assert "CONTRÔLES DE BIAIS NON SATISFAITS" in html
    assert "inférieur au plancher 0,99" in html
    assert gate_exit_code(ctx, EvaluateParams(gates=strict)) == 1
    err = capsys.readouterr().err
    assert err.startswith("Échec des contrôles de biais")
    assert "inférieur au plancher" in err
    lenient = EvaluateParams(gates=strict.model_copy(update={"enforce": False}))
    assert gate_exit_code(ctx, lenient) == 0
    assert gate_exit_code(sample_context, EvaluateParams()) == 0


@pytest.mark.req("EX-065")
def test_false_alarm_and_delay_intervals_and_per_camera() -> None:
    clips = {
        f"c{i}": ClipInfo(clip=f"c{i}", duration_s=3600.0, metadata={"camera_id": f"cam{i % 2}"})
        for i in range(8)
    }
    truth = [GroundTruthEvent(clip=c, event=EVENT, start_s=10.0, end_s=20.0) for c in clips]
    alerts = [PredictedAlert(clip=f"c{i}", event=EVENT, alert_s=10.0 + i) for i in range(8)]
    alerts += [PredictedAlert(clip="c0", event=EVENT, alert_s=900.0 + k) for k in range(4)]
    ev = evaluate_events(truth, alerts, clips, n_bootstrap=500, seed=1)
    m = ev.overall
    assert m.false_alarms_per_hour == pytest.approx(4 / 8)
    assert m.false_alarms_per_hour_ci is not None and m.delay_mean_ci is not None
    lo, hi = m.false_alarms_per_hour_ci
    assert lo == 0.0 and 0.5 < hi <= 4.0  # all 4 FPs sit in one clip: a wide interval
    assert m.delay_mean_s == pytest.approx(3.5)
    assert m.delay_mean_ci[0] < 3.5 < m.delay_mean_ci[1]
    assert ev.clip_counts["c0"][EVENT] == (1, 4, 0)
    cams = evaluate_slices(truth, alerts, clips, PER_CAMERA, n_bootstrap=50)
    by_cam = {s.value: s.evaluation.overall for s in cams}
    assert set(by_cam) == {"cam0", "cam1"}
    assert by_cam["cam0"].delay_mean_s == pytest.approx(3.0)  # delays 0, 2, 4, 6
    assert by_cam["cam1"].delay_mean_s == pytest.approx(4.0)  # delays 1, 3, 5, 7
    assert by_cam["cam0"].fp == 4 and by_cam["cam1"].fp == 0
