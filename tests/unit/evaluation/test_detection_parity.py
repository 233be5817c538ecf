"""Our COCO numbers equal an independent engine's (faster-coco-eval, a C++ re-implementation of
COCOeval) to 1e-4 on fixtures that exercise every branch of the protocol: several classes, a
class with no ground truth, crowd boxes, small / medium / large boxes, more than 100 detections
in one image, images without boxes. The clip bootstrap re-accumulates pycocotools' per-image
matches; with unit weights it must give pycocotools' own curves exactly.
"""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Any

import numpy as np
import pytest

from veilleur.evaluation.detection_metrics import (
    _CategoryCurve,
    accumulate_weighted,
    evaluate_coco,
    run_cocoeval,
)

faster_coco_eval = pytest.importorskip("faster_coco_eval")

TOL = 1e-4
SUMMARY_KEYS = (
    "map", "map50", "map75", "map_small", "map_medium", "map_large",
    "ar1", "ar10", "ar100", "ar_small", "ar_medium", "ar_large",
)  # fmt: skip
NAMES = ("person", "vehicle", "bicycle", "bag", "weapon", "fire", "smoke", "person_lying")


def _fixture(seed: int, n_images: int = 30) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Random but plausible detections: jittered true boxes, misses, background boxes."""
    rng = np.random.default_rng(seed)
    images, anns, preds = [], [], []
    for img in range(1, n_images + 1):
        images.append({"id": img, "width": 704, "height": 576, "clip": f"clip_{img % 6}"})
        n_boxes = 0 if img % 10 == 0 else int(rng.integers(1, 8))
        for _ in range(n_boxes):
            cat = int(rng.choice([1, 1, 1, 2, 4, 7, 8]))  # 3, 5, 6: no ground truth
            side = float(rng.choice([12.0, 50.0, 140.0])) * float(rng.uniform(0.7, 1.3))
            w, h = side, side * float(rng.uniform(0.6, 1.8))
            x, y = float(rng.uniform(0, 704 - w)), float(rng.uniform(0, 576 - h))
            crowd = int(rng.uniform() < 0.05)
            anns.append(
                {"id": len(anns) + 1, "image_id": img, "category_id": cat,
                 "bbox": [x, y, w, h], "area": w * h, "iscrowd": crowd}
            )  # fmt: skip
            if rng.uniform() < 0.8:
                j = rng.normal(0, 0.12, size=4) * np.array([w, h, w, h])
                label = cat if rng.uniform() < 0.9 else int(rng.integers(1, 9))
                preds.append(
                    {"image_id": img, "category_id": label,
                     "bbox": [x + j[0], y + j[1], max(w + j[2], 1.0), max(h + j[3], 1.0)],
                     "score": float(rng.uniform(0.05, 1.0))}
                )  # fmt: skip
        for _ in range(int(rng.integers(0, 4))):
            w, h = (float(v) for v in rng.uniform(8, 200, size=2))
            preds.append(
                {"image_id": img, "category_id": int(rng.integers(1, 9)),
                 "bbox": [float(rng.uniform(0, 500)), float(rng.uniform(0, 400)), w, h],
                 "score": float(rng.uniform(0.01, 0.7))}
            )  # fmt: skip
    # one crowded image: 130 person boxes, so maxDets (1, 10, 100) truncation matters
    for _ in range(130):
        x, y = (float(v) for v in rng.uniform(0, 600, size=2))
        preds.append(
            {"image_id": 1, "category_id": 1, "bbox": [x, y, 30.0, 60.0],
             "score": float(rng.uniform(0.01, 0.99))}
        )  # fmt: skip
    cats = [{"id": i + 1, "name": n} for i, n in enumerate(NAMES)]
    return {"images": images, "annotations": anns, "categories": cats}, preds


def _oracle(gt: dict[str, Any], preds: list[dict[str, Any]]) -> Any:
    """faster-coco-eval, run the way its documentation shows."""
    from faster_coco_eval import COCO as FastCOCO
    from faster_coco_eval import COCOeval_faster

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = FastCOCO(copy.deepcopy(gt))
        coco_dt = coco_gt.loadRes(copy.deepcopy(preds))
        ev = COCOeval_faster(coco_gt, coco_dt, iouType="bbox", print_function=lambda *a: None)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


@pytest.mark.req("EX-087", "EX-088")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_summary_and_per_class_equal_faster_coco_eval(seed: int) -> None:
    gt, preds = _fixture(seed)
    ours = evaluate_coco(gt, preds)
    oracle = _oracle(gt, preds)
    stats = np.asarray(oracle.stats, dtype=np.float64)
    worst = 0.0
    for key, expected in zip(SUMMARY_KEYS, stats[:12], strict=True):
        value = getattr(ours, key)
        if expected < 0:
            assert value is None, key
            continue
        assert value is not None, key
        worst = max(worst, abs(value - expected))
        assert value == pytest.approx(float(expected), abs=TOL), key
    precision = np.asarray(oracle.eval["precision"], dtype=np.float64)
    recall = np.asarray(oracle.eval["recall"], dtype=np.float64)
    for k, cls in enumerate(ours.per_class):
        for value, arr in (
            (cls.ap, precision[:, :, k, 0, -1]),
            (cls.ap50, precision[0, :, k, 0, -1]),
            (cls.ap_small, precision[:, :, k, 1, -1]),
            (cls.ap_medium, precision[:, :, k, 2, -1]),
            (cls.ap_large, precision[:, :, k, 3, -1]),
            (cls.ar100, recall[:, k, 0, -1]),
        ):
            kept = arr[arr > -1]
            if kept.size == 0:
                assert value is None, cls.name
            else:
                assert value is not None, cls.name
                worst = max(worst, abs(value - float(kept.mean())))
                assert value == pytest.approx(float(kept.mean()), abs=TOL), cls.name
    assert worst <= TOL
    assert {c.name for c in ours.per_class if c.ap is None} == {"bicycle", "weapon", "fire"}


@pytest.mark.req("EX-087")
def test_known_result_one_hit_one_miss() -> None:
    """Two person boxes, one found exactly: AP 1.0 up to recall 0.5, then 0 → 51/101."""
    gt = {
        "images": [{"id": 1, "width": 100, "height": 100}],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 40, 40],
             "area": 1600, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [50, 50, 40, 40],
             "area": 1600, "iscrowd": 0},
        ],
    }  # fmt: skip
    preds = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 40, 40], "score": 0.9}]
    ours = evaluate_coco(gt, preds)
    assert ours.map == pytest.approx(51 / 101, abs=1e-9)
    assert ours.ar100 == pytest.approx(0.5, abs=1e-9)
    assert ours.per_class[0].ar100 == pytest.approx(0.5, abs=1e-9)
    assert float(_oracle(gt, preds).stats[0]) == pytest.approx(51 / 101, abs=TOL)


@pytest.mark.req("EX-087")
def test_weighted_accumulate_reproduces_pycocotools_curves() -> None:
    gt, preds = _fixture(5)
    coco_eval, _, _ = run_cocoeval(gt, preds)
    p = coco_eval.params
    n_k, n_a, n_i = len(p.catIds), len(p.areaRng), len(p.imgIds)
    precision = np.asarray(coco_eval.eval["precision"])
    recall = np.asarray(coco_eval.eval["recall"])
    for k in range(n_k):
        curve = _CategoryCurve(coco_eval.evalImgs[k * n_a * n_i : k * n_a * n_i + n_i], 100, 10)
        res = accumulate_weighted(curve, np.ones(n_i), np.asarray(p.recThrs))
        if res is None:
            assert (precision[:, :, k, 0, -1] == -1).all()
            continue
        np.testing.assert_allclose(res[0], precision[:, :, k, 0, -1], atol=1e-12)
        np.testing.assert_allclose(res[1], recall[:, k, 0, -1], atol=1e-12)


@pytest.mark.req("EX-087")
def test_duplicated_images_weight_equals_pycocotools_on_duplicated_dataset() -> None:
    """A resample that draws an image twice is the data set with that image copied."""
    gt, preds = _fixture(7, n_images=8)
    weights = np.array([2, 0, 1, 1, 3, 0, 1, 0], dtype=np.float64)
    big: dict[str, Any] = {"images": [], "annotations": [], "categories": gt["categories"]}
    big_preds: list[dict[str, Any]] = []
    next_img = 1
    for im in gt["images"]:
        for _ in range(int(weights[im["id"] - 1])):
            big["images"].append({**im, "id": next_img})
            for a in gt["annotations"]:
                if a["image_id"] == im["id"]:
                    aid = len(big["annotations"]) + 1
                    big["annotations"].append({**a, "id": aid, "image_id": next_img})
            big_preds += [{**d, "image_id": next_img} for d in preds if d["image_id"] == im["id"]]
            next_img += 1
    expected = evaluate_coco(big, big_preds)
    coco_eval, _, _ = run_cocoeval(gt, preds)
    p = coco_eval.params
    n_a, n_i = len(p.areaRng), len(p.imgIds)
    aps = []
    for k in range(len(p.catIds)):
        curve = _CategoryCurve(coco_eval.evalImgs[k * n_a * n_i : k * n_a * n_i + n_i], 100, 10)
        res = accumulate_weighted(curve, weights, np.asarray(p.recThrs))
        if res is not None:
            aps.append(res[0].mean())
    assert expected.map == pytest.approx(float(np.mean(aps)), abs=TOL)


@pytest.mark.req("EX-087", "EX-088")
def test_clip_bootstrap_intervals_bracket_the_estimates_and_repeat() -> None:
    gt, preds = _fixture(3)
    a = evaluate_coco(gt, preds, n_bootstrap=100, seed=4)
    b = evaluate_coco(gt, preds, n_bootstrap=100, seed=4)
    assert a.map_ci == b.map_ci
    assert a.n_groups == 6  # the fixture's six clips, not its 30 images
    for value, ci in ((a.map, a.map_ci), (a.map50, a.map50_ci), (a.ar100, a.ar100_ci)):
        assert value is not None and ci is not None
        assert ci[0] <= value + 0.05 and value - 0.05 <= ci[1]
        assert 0.0 <= ci[0] <= ci[1] <= 1.0
    person = a.per_class[0]
    assert person.ap_ci is not None and person.ap_ci[0] <= person.ap_ci[1]
    assert next(c for c in a.per_class if c.name == "fire").ap_ci is None
