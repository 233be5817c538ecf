"""COCO detection metrics: pycocotools numbers, exact on hand-built fixtures."""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from veilleur.evaluation.detection_metrics import evaluate_coco

pytestmark = pytest.mark.req("EX-047")

CATEGORIES = [{"id": 1, "name": "person"}, {"id": 2, "name": "vehicle"}, {"id": 8, "name": "bag"}]


def _ann(ann_id: int, image_id: int, cat: int, bbox: list[float]) -> dict[str, Any]:
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": cat,
        "bbox": bbox,
        "area": bbox[2] * bbox[3],
        "iscrowd": 0,
    }


def _gt() -> dict[str, Any]:
    """Two images; person: 2 large boxes + 1 small; vehicle: 1 medium box; bag: no box."""
    return {
        "images": [
            {"id": 1, "width": 704, "height": 576, "file_name": "c/000001.jpg"},
            {"id": 2, "width": 704, "height": 576, "file_name": "c/000002.jpg"},
        ],
        "categories": CATEGORIES,
        "annotations": [
            _ann(1, 1, 1, [10, 10, 100, 200]),
            _ann(2, 1, 1, [300, 50, 120, 220]),
            _ann(3, 2, 1, [500, 400, 20, 20]),
            _ann(4, 2, 2, [100, 100, 60, 50]),
        ],
    }


def _perfect(gt: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": a["bbox"],
            "score": 0.9,
        }
        for a in gt["annotations"]
    ]


def _direct_stats(gt: dict[str, Any], preds: list[dict[str, Any]]) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_eval = COCOeval(coco_gt, coco_gt.loadRes(copy.deepcopy(preds)), iouType="bbox")
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    return np.asarray(coco_eval.stats)


def test_perfect_predictions_score_one() -> None:
    gt = _gt()
    report = evaluate_coco(gt, _perfect(gt))
    assert report.map == pytest.approx(1.0)
    assert report.map50 == pytest.approx(1.0)
    assert report.map75 == pytest.approx(1.0)
    assert report.ar100 == pytest.approx(1.0)
    assert report.map_small == pytest.approx(1.0)
    assert report.map_medium == pytest.approx(1.0)
    assert report.map_large == pytest.approx(1.0)
    by_name = {c.name: c for c in report.per_class}
    assert by_name["person"].ap == pytest.approx(1.0)
    assert by_name["vehicle"].ap50 == pytest.approx(1.0)
    # A category without ground truth is undefined (pycocotools' -1), not zero.
    assert by_name["bag"].ap is None
    assert by_name["bag"].ap50 is None
    assert (report.n_images, report.n_gt_boxes, report.n_predictions) == (2, 4, 4)


def test_one_hit_then_one_false_positive_matches_hand_computation() -> None:
    """One category, two GT boxes; the top-scored prediction hits one, the next is a FP.

    Precision is 1 up to recall 0.5 and recall never exceeds 0.5, so on COCO's 101 recall
    points precision is 1 on 0.00..0.50 (51 points) and 0 elsewhere: AP = 51/101 at every IoU.
    """
    gt = {
        "images": [{"id": 1, "width": 640, "height": 480}],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": [_ann(1, 1, 1, [10, 10, 100, 100]), _ann(2, 1, 1, [300, 300, 100, 100])],
    }
    preds = [
        {"image_id": 1, "category_id": 1, "bbox": [10, 10, 100, 100], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [500, 20, 50, 50], "score": 0.4},
    ]
    report = evaluate_coco(gt, preds)
    assert report.map == pytest.approx(51 / 101, abs=1e-9)
    assert report.map50 == pytest.approx(51 / 101, abs=1e-9)
    assert report.ar100 == pytest.approx(0.5, abs=1e-9)
    assert report.per_class[0].ap == pytest.approx(51 / 101, abs=1e-9)


def test_agrees_with_direct_pycocotools_run() -> None:
    gt = _gt()
    rng = np.random.default_rng(3)
    preds = []
    for a in gt["annotations"]:
        x, y, w, h = a["bbox"]
        jitter = rng.uniform(-0.15, 0.15, size=4) * np.array([w, h, w, h])
        box = [float(v) for v in np.array([x, y, w, h]) + jitter]
        preds.append(
            {
                "image_id": a["image_id"],
                "category_id": a["category_id"],
                "bbox": box,
                "score": float(rng.uniform(0.3, 1.0)),
            }
        )
    preds.append({"image_id": 2, "category_id": 1, "bbox": [0, 0, 50, 50], "score": 0.95})
    preds.append({"image_id": 1, "category_id": 8, "bbox": [5, 5, 30, 30], "score": 0.8})
    report = evaluate_coco(gt, preds)
    stats = _direct_stats(gt, preds)
    ours = [
        report.map,
        report.map50,
        report.map75,
        report.map_small,
        report.map_medium,
        report.map_large,
        report.ar1,
        report.ar10,
        report.ar100,
    ]
    for value, expected in zip(ours, stats[:9], strict=True):
        if expected < 0:
            assert value is None
        else:
            assert value == pytest.approx(float(expected), abs=1e-6)
    defined = [c.ap for c in report.per_class if c.ap is not None]
    assert report.map == pytest.approx(float(np.mean(defined)), abs=1e-6)


def test_no_predictions_gives_zeros_without_crash() -> None:
    report = evaluate_coco(_gt(), [])
    assert report.map == 0.0
    assert report.map50 == 0.0
    assert report.ar100 == 0.0
    assert report.n_predictions == 0
    by_name = {c.name: c for c in report.per_class}
    assert by_name["person"].ap == 0.0
    assert by_name["bag"].ap is None


def test_inputs_are_not_modified() -> None:
    gt = _gt()
    preds = _perfect(gt)
    gt_before, preds_before = copy.deepcopy(gt), copy.deepcopy(preds)
    evaluate_coco(gt, preds)
    assert gt == gt_before
    assert preds == preds_before


def test_pycocotools_output_is_silenced(capsys: pytest.CaptureFixture[str]) -> None:
    gt = _gt()
    evaluate_coco(gt, _perfect(gt))
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("pred", "match"),
    [
        ({"image_id": 99, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5}, "image_id 99"),
        ({"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5]}, "score"),
    ],
)
def test_bad_predictions_are_rejected(pred: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        evaluate_coco(_gt(), [pred])


def test_report_is_json_ready() -> None:
    gt = _gt()
    data = evaluate_coco(gt, _perfect(gt)).to_dict()
    assert data["map"] == pytest.approx(1.0)
    assert data["per_class"][2]["name"] == "bag"
    assert data["per_class"][2]["ap"] is None
