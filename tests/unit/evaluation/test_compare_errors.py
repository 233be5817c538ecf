"""Two-model comparison (paired bootstrap over clips) and the error analysis export."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from veilleur.evaluation.compare import compare_metrics
from veilleur.evaluation.errors import analyse_errors, thumbnail_base64, write_fiftyone_samples
from veilleur.evaluation.report import metrics_dict, render_report
from veilleur.evaluation.report_context import ReportContext

EVENT = "franchissement"


def _metrics(hits: list[bool], sha: str, fps: int = 0) -> dict[str, Any]:
    """A metrics.json 'clips' section: one event per clip, detected or not."""
    clips = {}
    for i, hit in enumerate(hits):
        fp = 1 if i < fps else 0
        counts = [int(hit), fp, int(not hit)]
        clips[f"c{i:02d}"] = {
            "counts": {EVENT: counts, "all": counts},
            "slices": {"lighting": "night" if i % 2 else "day"},
        }
    return {"model": {"sha256": sha}, "clips": clips}


@pytest.mark.req("EX-065", "EX-087")
def test_identical_models_show_no_difference() -> None:
    m = _metrics([i % 4 != 0 for i in range(40)], "a" * 64)
    cmp = compare_metrics(m, m, n_bootstrap=300)
    assert cmp.n_common_clips == 40
    assert all(r.verdict in ("same", "undefined") for r in cmp.rows)
    rec = next(r for r in cmp.rows if r.key == EVENT and r.metric == "recall")
    assert rec.delta == 0.0 and rec.delta_ci == (0.0, 0.0)
    assert cmp.reference_label == "modèle aaaaaaaaaaaa"


@pytest.mark.req("EX-065", "EX-087")
def test_a_retraining_that_loses_night_events_is_a_significant_regression() -> None:
    ref = _metrics([True] * 40, "a" * 64)
    cand = _metrics([i % 2 == 0 for i in range(40)], "b" * 64)  # misses every night clip
    cmp = compare_metrics(ref, cand, n_bootstrap=500, seed=3)
    rows = {(r.group, r.key, r.value, r.metric): r for r in cmp.rows}
    overall = rows[("event", EVENT, None, "recall")]
    assert overall.delta == pytest.approx(-0.5) and overall.verdict == "regression"
    assert overall.verdict_fr == "régression significative"
    assert overall.p_value is not None and overall.p_value < 0.05
    night = rows[("slice", "lighting", "night", "recall")]
    day = rows[("slice", "lighting", "day", "recall")]
    assert night.delta == pytest.approx(-1.0) and night.verdict == "regression"
    assert day.delta == 0.0 and day.verdict == "same"
    assert {r.key for r in cmp.regressions} == {EVENT, "all", "lighting"}


@pytest.mark.req("EX-065")
def test_comparison_needs_per_clip_counts_and_common_clips() -> None:
    with pytest.raises(ValueError, match="per-clip counts"):
        compare_metrics({"clips": {}}, _metrics([True], "a"))
    other = {"clips": {"zz": {"counts": {EVENT: [1, 0, 0]}}}}
    with pytest.raises(ValueError, match="share no clip"):
        compare_metrics(other, _metrics([True], "a"))


@pytest.mark.req("EX-065", "EX-087")
def test_comparison_table_in_report(sample_context: ReportContext, tmp_path: Path) -> None:
    current = json.loads(json.dumps(metrics_dict(sample_context)))
    assert set(current["clips"]) == set(sample_context.events.clip_counts)
    worse = json.loads(json.dumps(current))
    for entry in worse["clips"].values():  # the reference found every event
        for counts in entry["counts"].values():
            counts[0], counts[2] = counts[0] + counts[2], 0
    cmp = compare_metrics(worse, current, n_bootstrap=200)
    ctx = dataclasses.replace(sample_context, comparison=cmp)
    html = render_report(ctx, tmp_path, pdf=False).read_text(encoding="utf-8")
    assert "9. Comparaison avec un autre modèle" in html
    assert "Aucune comparaison demandée" not in html
    assert "séquences communes" in html
    saved = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert saved["comparison"]["n_common_clips"] == cmp.n_common_clips


def _ann(i: int, img: int, cat: int, box: list[float]) -> dict[str, Any]:
    return {"id": i, "image_id": img, "category_id": cat, "bbox": box,
            "area": box[2] * box[3], "iscrowd": 0}  # fmt: skip


def _error_fixture() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    gt = {
        "images": [{"id": 1, "width": 200, "height": 100, "file_name": "a.jpg", "clip": "c1"}],
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "vehicle"}],
        "annotations": [
            _ann(1, 1, 1, [10, 10, 40, 60]),  # found
            _ann(2, 1, 2, [100, 10, 60, 40]),  # predicted as a person: class confusion
            _ann(3, 1, 1, [170, 80, 10, 10]),  # small, nothing near: missed small object
        ],
    }
    preds = [
        {"image_id": 1, "category_id": 1, "bbox": [10, 10, 40, 60], "score": 0.9},  # TP
        {"image_id": 1, "category_id": 1, "bbox": [11, 10, 40, 60], "score": 0.8},  # duplicate
        {"image_id": 1, "category_id": 1, "bbox": [100, 10, 60, 40], "score": 0.7},  # class
        {"image_id": 1, "category_id": 1, "bbox": [10, 40, 40, 60], "score": 0.6},  # loc.
        {"image_id": 1, "category_id": 2, "bbox": [60, 70, 20, 20], "score": 0.5},  # background
    ]
    return gt, preds


@pytest.mark.req("EX-065", "EX-087")
def test_errors_are_ranked_by_loss_and_grouped_by_cause() -> None:
    gt, preds = _error_fixture()
    er = analyse_errors(gt, preds, top=10)
    assert [(e.cause, e.score) for e in er.false_positives] == [
        ("doublon", 0.8), ("classe", 0.7), ("localisation", 0.6), ("fond", 0.5),
    ]  # fmt: skip
    assert er.fp_causes == {"doublon": 1, "classe": 1, "localisation": 1, "fond": 1}
    assert {(e.category, e.cause) for e in er.false_negatives} == {
        ("vehicle", "classe"), ("person", "petit objet"),
    }  # fmt: skip
    assert all(e.loss == 1.0 for e in er.false_negatives)
    assert len(analyse_errors(gt, preds, top=2).false_positives) == 2
    assert analyse_errors(gt, preds, min_score=0.65).fp_causes == {"doublon": 1, "classe": 1}


@pytest.mark.req("EX-065")
def test_thumbnails_and_fiftyone_samples(tmp_path: Path) -> None:
    gt, preds = _error_fixture()
    img = np.full((100, 200, 3), 128, dtype=np.uint8)
    assert cv2.imwrite(str(tmp_path / "a.jpg"), img)
    er = analyse_errors(gt, preds)
    thumb = thumbnail_base64(tmp_path / "a.jpg", er.false_positives[0].bbox, colour=(0, 0, 255))
    assert thumb is not None and thumb.startswith("/9j/")  # JPEG
    assert thumbnail_base64(tmp_path / "absent.jpg", None, colour=(0, 0, 0)) is None
    out = write_fiftyone_samples(er, tmp_path, tmp_path / "erreurs.json")
    doc = json.loads(out.read_text(encoding="utf-8"))
    (sample,) = doc["samples"]
    assert sample["filepath"] == str((tmp_path / "a.jpg").resolve())
    assert {"fp", "fn", "classe", "doublon"} <= set(sample["tags"])
    assert len(sample["errors"]) == 6
    for e in sample["errors"]:
        assert all(0.0 <= v <= 1.0 for v in e["bounding_box"])


@pytest.mark.req("EX-065", "EX-087")
def test_report_shows_error_thumbnails(sample_context: ReportContext, tmp_path: Path) -> None:
    images = tmp_path / "test"
    (images / "images").mkdir(parents=True)
    for im in range(1, 21):
        cv2.imwrite(str(images / f"images/{im:06d}.jpg"), np.zeros((576, 704, 3), np.uint8))
    ctx = dataclasses.replace(sample_context, images_dir=images)
    out = tmp_path / "out"
    html = render_report(ctx, out, pdf=False).read_text(encoding="utf-8")
    assert "8. Analyse des erreurs" in html
    assert html.count('src="data:image/jpeg;base64,') >= len(ctx.errors.false_positives)  # type: ignore[union-attr]
    assert "Fausses détections les plus coûteuses" in html
    assert (out / "erreurs_fiftyone.json").is_file()
