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

from veilleur.evaluation.detection_metrics import (
    BACKGROUND,
    confusion_matrix,
    evaluate_coco,
    evaluate_detection_slices,
)

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


# -- precision–recall curves ------------------------------------------------------------------


def test_pr_curve_of_one_hit_then_one_false_positive() -> None:
    """Same fixture as above: precision 1 on the 51 recall points 0.00 … 0.50, where the curve
    stops (the highest recall reached); the score at each point is the hit's, 0.9."""
    gt = {
        "images": [{"id": 1, "width": 640, "height": 480}],
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "vehicle"}],
        "annotations": [_ann(1, 1, 1, [10, 10, 100, 100]), _ann(2, 1, 1, [300, 300, 100, 100])],
    }
    preds = [
        {"image_id": 1, "category_id": 1, "bbox": [10, 10, 100, 100], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [500, 20, 50, 50], "score": 0.4},
    ]
    report = evaluate_coco(gt, preds)
    assert [c.name for c in report.pr_curves] == ["person"]  # vehicle: no ground truth
    curve = report.pr_curves[0]
    assert curve.recall == tuple(round(i / 100, 2) for i in range(51))
    assert curve.precision == (1.0,) * 51
    assert curve.score == (0.9,) * 51
    assert curve.ap50 == pytest.approx(51 / 101)
    assert sum(curve.precision) / 101 == pytest.approx(curve.ap50)


def test_pr_curves_are_pycocotools_precision_at_iou_050() -> None:
    gt = _gt()
    rng = np.random.default_rng(11)
    preds = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": [float(v) + float(rng.normal(0, 6)) for v in a["bbox"]],
            "score": float(rng.uniform(0.2, 1.0)),
        }
        for a in gt["annotations"]
        for _ in range(2)
    ]
    report = evaluate_coco(gt, preds)
    for curve in report.pr_curves:
        k = [c.name for c in report.per_class].index(curve.name)
        padded = np.zeros(101)
        padded[: len(curve.precision)] = curve.precision
        assert float(padded.mean()) == pytest.approx(report.per_class[k].ap50, abs=1e-4)
        assert all(a >= b for a, b in zip(curve.precision, curve.precision[1:], strict=False))


# -- confusion matrix -------------------------------------------------------------------------


def test_confusion_matrix_counts_on_a_hand_built_image() -> None:
    """One image, five annotated boxes, seven predictions:

    - person 1 found as person (0.9), and found again by a duplicate (0.6): 1 TP + 1 false
      detection of a person;
    - person 2 found as person (0.8) and also overlapped better by a bag box (0.7): the
      person detection wins (same class first), the bag box is a false detection;
    - the vehicle found as a bicycle (0.85): a vehicle → bicycle confusion;
    - the bag missed (its only detection scores 0.2, under the operating threshold 0.3);
    - a person detection on empty ground (0.95): a false detection;
    - a crowd box is ignored.
    """
    p1, p2 = [10, 10, 40, 100], [200, 10, 40, 100]
    car, bag = [300, 200, 150, 80], [50, 300, 30, 30]
    gt = {
        "images": [{"id": 1, "width": 704, "height": 576}],
        "categories": CATEGORIES,
        "annotations": [
            _ann(1, 1, 1, p1),
            _ann(2, 1, 1, p2),
            _ann(3, 1, 2, car),
            _ann(4, 1, 8, bag),
            {**_ann(5, 1, 1, [600, 400, 50, 50]), "iscrowd": 1},
        ],
    }

    def pred(cat: int, bbox: list[float], score: float) -> dict[str, Any]:
        return {"image_id": 1, "category_id": cat, "bbox": bbox, "score": score}

    preds = [
        pred(1, p1, 0.9),
        pred(1, [12, 12, 40, 100], 0.6),
        pred(1, [205, 15, 40, 100], 0.8),
        pred(8, [200, 10, 40, 100], 0.7),
        pred(3, [300, 200, 150, 80], 0.85),
        pred(8, bag, 0.2),
        pred(1, [600, 100, 40, 90], 0.95),
    ]
    gt["categories"] = [*CATEGORIES, {"id": 3, "name": "bicycle"}]
    cm = confusion_matrix(gt, preds, min_score=0.3)
    assert cm.labels == ("person", "vehicle", "bicycle", "bag", BACKGROUND)
    assert cm.category_ids == (1, 2, 3, 8)
    assert cm.counts == (
        # person vehicle bicycle bag background
        (2, 0, 0, 0, 0),  # person
        (0, 0, 1, 0, 0),  # vehicle
        (0, 0, 0, 0, 0),  # bicycle
        (0, 0, 0, 0, 1),  # bag: missed
        (2, 0, 0, 1, 0),  # background: false detections (duplicate + empty ground; bag box)
    )
    assert cm.count("vehicle", "bicycle") == 1
    # every annotated (non-crowd) box is in exactly one cell of its row, every kept
    # prediction in exactly one cell of its column
    assert sum(sum(row) for row in cm.counts[:-1]) == 4
    assert sum(row[j] for row in cm.counts for j in range(4)) == 6
    # with no threshold the bag is found
    assert confusion_matrix(gt, preds).count("bag", "bag") == 1


def test_confusion_matrix_goes_into_the_report_when_asked() -> None:
    gt = _gt()
    assert evaluate_coco(gt, _perfect(gt)).confusion is None
    report = evaluate_coco(gt, _perfect(gt), confusion_min_score=0.5)
    assert report.confusion is not None
    assert report.confusion.count("person", "person") == 3
    assert report.confusion.count("vehicle", "vehicle") == 1
    assert report.to_dict()["confusion"]["labels"][-1] == BACKGROUND


# -- per slice --------------------------------------------------------------------------------


def test_detection_slices_evaluate_the_images_of_each_slice() -> None:
    gt = _gt()
    gt["images"][0]["clip"], gt["images"][1]["clip"] = "c1", "c2"
    preds = _perfect(gt)[:3]  # the vehicle (image 2) is missed
    slices = evaluate_detection_slices(
        gt, preds, {"lighting": {"c1": "day", "c2": "night"}, "weather": {"c1": "rain"}}
    )
    assert [(s.key, s.value, s.clips) for s in slices] == [
        ("lighting", "day", ("c1",)),
        ("lighting", "night", ("c2",)),
        ("weather", "rain", ("c1",)),
    ]
    day, night, _ = slices
    assert day.map == pytest.approx(1.0) and day.n_images == 1 and day.n_gt_boxes == 2
    by_name = {c.name: c for c in night.per_class}
    assert by_name["person"].ap50 == pytest.approx(1.0) and by_name["vehicle"].ap50 == 0.0
    assert by_name["bag"].ap is None
    direct = evaluate_coco(
        {**gt, "images": gt["images"][1:], "annotations": gt["annotations"][2:]}, preds[2:]
    )
    assert night.map == pytest.approx(direct.map)
    data = night.to_dict()
    assert data["n_clips"] == 1 and data["map"] == pytest.approx(direct.map)


def _random_clips_fixture(seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    images, anns, preds = [], [], []
    for img in range(1, 41):
        images.append({"id": img, "width": 704, "height": 576, "clip": f"c{img % 6}"})
        for _ in range(int(rng.integers(0, 5))):
            cat = int(rng.choice([1, 2, 8]))
            x, y, w, h = rng.uniform(0, 500), rng.uniform(0, 400), *rng.uniform(8, 160, 2)
            anns.append(_ann(len(anns) + 1, img, cat, [float(x), float(y), float(w), float(h)]))
            for _ in range(int(rng.integers(0, 3))):
                d = rng.normal(0, 0.15, 4) * [w, h, w, h]
                preds.append(
                    {"image_id": img, "category_id": cat if rng.uniform() < 0.85 else 2,
                     "bbox": [float(v) for v in np.add([x, y, w, h], d)],
                     "score": float(rng.uniform(0.05, 1.0))}
                )  # fmt: skip
        if rng.uniform() < 0.5:
            preds.append({"image_id": img, "category_id": 1, "bbox": [600.0, 10.0, 50.0, 90.0],
                          "score": float(rng.uniform(0.05, 1.0))})  # fmt: skip
    return {"images": images, "annotations": anns, "categories": CATEGORIES}, preds


@pytest.mark.parametrize("seed", range(4))
def test_a_slice_equals_pycocotools_on_its_images_alone(seed: int) -> None:
    gt, preds = _random_clips_fixture(seed)
    values = {"lighting": {f"c{i}": ("day", "night")[i % 2] for i in range(6)},
              "weather": {"c1": "rain", "c4": "rain", "c5": "fog"}}  # fmt: skip
    slices = evaluate_detection_slices(gt, preds, values, n_bootstrap=30, seed=seed)
    assert [(s.key, s.value) for s in slices] == [
        ("lighting", "day"), ("lighting", "night"), ("weather", "fog"), ("weather", "rain"),
    ]  # fmt: skip
    for s in slices:
        ids = {im["id"] for im in gt["images"] if im["clip"] in s.clips}
        sub = {
            "images": [im for im in gt["images"] if im["id"] in ids],
            "annotations": [a for a in gt["annotations"] if a["image_id"] in ids],
            "categories": CATEGORIES,
        }
        sub_preds = [p for p in preds if p["image_id"] in ids]
        direct = evaluate_coco(sub, sub_preds, n_bootstrap=30, seed=seed)
        for name in ("map", "map50", "ar100", "n_images", "n_gt_boxes", "n_predictions"):
            assert getattr(s, name) == pytest.approx(getattr(direct, name), abs=1e-9), name
        for ours, ref in zip(s.per_class, direct.per_class, strict=True):
            for name in ("ap", "ap50", "ar100", "n_gt", "n_pred"):
                assert getattr(ours, name) == pytest.approx(getattr(ref, name), abs=1e-9), name
        # the same resamples as evaluate_coco on the slice alone: the same intervals
        assert s.map_ci == pytest.approx(direct.map_ci) and s.map50_ci == pytest.approx(
            direct.map50_ci
        )
