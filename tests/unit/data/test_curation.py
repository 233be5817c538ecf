"""Curation, pure logic: perceptual hashes, the near-duplicate policy, label-quality checks."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from veilleur.data.curation import (
    CurateParams,
    HashedImage,
    check_labels,
    dhash,
    hamming,
    hash_file,
    phash,
    plan_near_duplicates,
)
from veilleur.runtime.config import ParamsError, load_params_section

REPO = Path(__file__).resolve().parents[3]


def scene(seed: int, height: int = 240, width: int = 320) -> NDArray[np.uint8]:
    """A smooth random scene (8×6 random colours, upscaled): textured like a real view."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC))


def reencode(pixels: NDArray[np.uint8], quality: int) -> NDArray[np.uint8]:
    ok, buf = cv2.imencode(".jpg", pixels, [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    assert ok
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR))


@pytest.mark.req("EX-086")
@pytest.mark.parametrize("method", [phash, dhash])
def test_reencoded_or_brightened_frame_is_near_duplicate_other_scene_is_not(
    method: Any,
) -> None:
    a = scene(1)
    assert hamming(method(a), method(reencode(a, 50))) == 0
    assert hamming(method(a), method(cv2.convertScaleAbs(a, alpha=1.1))) <= 2
    others = [hamming(method(a), method(scene(s))) for s in range(2, 8)]
    assert min(others) >= 20, others  # default threshold 6: far from it
    assert hamming(method(a), method(a)) == 0
    assert 0 <= method(a) < 2**64


@pytest.mark.req("EX-086")
def test_phash_ignores_dc_and_hamming_counts_bits() -> None:
    assert hamming(0b1011, 0b0001) == 2
    flat = np.full((64, 64), 128, np.uint8)
    assert phash(flat) == 0  # no frequency above the median: no bit set
    assert phash(scene(3)) & (1 << 63) == 0  # bit of the DC term is never set


@pytest.mark.req("EX-086")
def test_hash_file_reads_reduced_jpeg_and_reports_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    a = scene(4, 576, 704)
    assert cv2.imwrite(str(path), a)
    assert hamming(hash_file(path) or 0, phash(a)) <= 2  # decoded at 1/4 size: same hash
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    assert hash_file(tmp_path / "bad.jpg") is None
    assert hash_file(tmp_path / "missing.jpg") is None


def _img(sid: str, clip: str, h: int, split: str = "train") -> HashedImage:
    return HashedImage(f"{split}/{sid}", split, clip, h)


@pytest.mark.req("EX-086")
def test_policy_keeps_same_clip_look_alikes_and_removes_across_clips() -> None:
    images = [
        _img("a/0.jpg", "a", 0b0000),
        _img("a/1.jpg", "a", 0b0001),  # same clip, distance 1: kept
        _img("b/0.jpg", "b", 0b0011),  # distance 1 from a/1, 2 from a/0: removed for a/1
        _img("b/1.jpg", "b", 0b1111_0000_1111),  # far from all: kept
        _img("c/0.jpg", "c", 0b1111_0000_1110),  # distance 1 from b/1: removed
    ]
    plan = plan_near_duplicates(list(reversed(images)), threshold=2)
    assert [(r.sample_id, r.kept, r.distance) for r in plan.removals] == [
        ("train/b/0.jpg", "train/a/1.jpg", 1),
        ("train/c/0.jpg", "train/b/1.jpg", 1),
    ]
    assert plan.same_clip_pairs == 1  # a/0–a/1 (b/0–b/1 are far apart)
    assert plan.groups() == {"train/a/1.jpg": ["train/b/0.jpg"], "train/b/1.jpg": ["train/c/0.jpg"]}
    assert plan.leaks == ()


@pytest.mark.req("EX-086")
def test_policy_never_removes_within_a_clip() -> None:
    images = [_img(f"a/{i}.jpg", "a", 0) for i in range(5)]
    plan = plan_near_duplicates(images, threshold=0)
    assert plan.removals == () and plan.leaks == ()
    assert plan.same_clip_pairs == 10  # 5 identical frames: C(5, 2) pairs, all kept


@pytest.mark.req("EX-086")
def test_policy_invariants_on_random_clusters() -> None:
    rng = random.Random(7)
    centres = [rng.getrandbits(64) for _ in range(6)]
    images = []
    for i in range(120):
        h = centres[i % 6]
        for _ in range(rng.randint(0, 3)):
            h ^= 1 << rng.randrange(64)
        images.append(_img(f"c{i % 9}/{i}.jpg", f"c{i % 9}", h))
    thr = 3
    plan = plan_near_duplicates(images, thr)
    removed = {r.sample_id for r in plan.removals}
    by_id = {im.sample_id: im for im in images}
    kept = [im for im in images if im.sample_id not in removed]
    assert removed and len(kept) + len(removed) == len(images)
    for r in plan.removals:  # each removed image has a kept near-duplicate in another clip
        assert r.kept not in removed
        assert by_id[r.kept].clip != by_id[r.sample_id].clip
        assert hamming(by_id[r.kept].hash, by_id[r.sample_id].hash) == r.distance <= thr
    for i, x in enumerate(kept):  # no two kept images of different clips are near-duplicates
        for y in kept[i + 1 :]:
            assert x.clip == y.clip or hamming(x.hash, y.hash) > thr


@pytest.mark.req("EX-086")
def test_near_duplicates_across_splits_are_leaks_not_removals() -> None:
    images = [
        _img("a/0.jpg", "a", 0b0, "train"),
        _img("b/0.jpg", "b", 0b1, "test"),
        _img("c/0.jpg", "c", 0b111111, "val"),
    ]
    plan = plan_near_duplicates(images, threshold=1)
    assert plan.removals == ()
    assert [(p.a, p.b, p.distance) for p in plan.leaks] == [("test/b/0.jpg", "train/a/0.jpg", 1)]


def _coco() -> dict[str, Any]:
    """Clip c1: frames 0, 3, 6, 9 (track 7 missing on frame 3); clip c2: one image, no box."""

    def image(i: int, clip: str, frame: int) -> dict[str, Any]:
        return {"id": i, "file_name": f"images/{clip}/{frame:06d}.jpg", "width": 100,
                "height": 80, "frame_index": frame, "clip": clip}  # fmt: skip

    def ann(i: int, image_id: int, bbox: list[float], cat: int = 1, track: int = 7) -> Any:
        return {"id": i, "image_id": image_id, "category_id": cat, "bbox": bbox,
                "track_id": track}  # fmt: skip

    return {
        "images": [
            image(1, "c1", 0),
            image(2, "c1", 3),
            image(3, "c1", 6),
            image(4, "c1", 9),
            image(5, "c2", 0),
        ],
        "annotations": [
            ann(1, 1, [10, 10, 20, 30]),
            ann(2, 2, [90, 70, 20, 20], track=8),  # out of bounds (x+w=110 > 100)
            ann(3, 3, [12, 10, 20, 30]),
            ann(4, 3, [12.5, 10, 20, 30], track=9),  # duplicate of 3 (IoU 0.95)
            ann(5, 3, [12, 10, 20, 30], cat=2, track=10),  # same place, other class: fine
            ann(6, 3, [50, 50, 3, 9], track=11),  # tiny: 3 px wide
        ],
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "bag"}],
    }


@pytest.mark.req("EX-086", "EX-087")
def test_every_label_check_finds_its_problem_with_a_french_message() -> None:
    findings = check_labels(_coco(), CurateParams(), "train/")
    got = sorted((f.check, f.severity, f.sample_ids) for f in findings)
    assert got == [
        ("duplicate_box", "warning", ("train/images/c1/000006.jpg",)),
        ("empty_image", "warning", ("train/images/c1/000009.jpg",)),
        ("missing_label", "warning", ("train/images/c1/000003.jpg",)),
        ("out_of_bounds", "error", ("train/images/c1/000003.jpg",)),
        ("tiny_box", "warning", ("train/images/c1/000006.jpg",)),
    ]
    msg = {f.check: f.message for f in findings}
    assert msg["out_of_bounds"] == (
        "train/images/c1/000003.jpg : la boîte [90, 70, 20, 20] (person, annotation 2) sort de "
        "l'image 100×80 de plus de 1 px ; corrigez l'annotation ou recadrez la boîte"
    )
    assert "annotations 3 et 4 (person) en double (IoU 0.95 ≥ 0.9)" in msg["duplicate_box"]
    assert (
        "boîte minuscule 3×9 px (person, annotation 6), sous le minimum de 4 px"
        in (msg["tiny_box"])
    )
    assert (
        "la piste 7 du clip c1 est annotée aux images 0 et 6 mais pas à l'image 3"
        in (msg["missing_label"])
    )
    assert (
        "aucune boîte sur cette image alors que le clip c1 est annoté (6 boîtes)"
        in (msg["empty_image"])
    )
    # c2 has no box at all: a negative clip, not an empty image of an annotated clip
    assert all("c2" not in f.sample_ids[0] for f in findings)
    details = {f.check: f.details for f in findings}
    assert details["missing_label"] == {"clip": "c1", "track_id": 7, "frames": [0, 3, 6]}
    assert details["duplicate_box"]["annotation_ids"] == [3, 4]


@pytest.mark.req("EX-087")
def test_severity_decides_error_warning_or_skipped() -> None:
    params = CurateParams.model_validate(
        {
            "severity": {
                "out_of_bounds": "off",
                "tiny_box": "error",
                "missing_label": "off",
                "empty_image": "off",
                "duplicate_box": "off",
            },
            "min_box_px": 10,
        }
    )
    findings = check_labels(_coco(), params, "val/")
    # only the 3×9 box is under 10 px (the others are 20×30 and 20×20)
    assert [(f.check, f.severity, f.sample_ids) for f in findings] == [
        ("tiny_box", "error", ("val/images/c1/000006.jpg",))
    ]
    params = CurateParams(bounds_tolerance_px=15.0)
    assert not [f for f in check_labels(_coco(), params) if f.check == "out_of_bounds"]


@pytest.mark.req("EX-086")
def test_curate_section_of_params_yaml_loads_and_rejects_typos(tmp_path: Path) -> None:
    params = load_params_section(REPO / "params.yaml", "curate", CurateParams)
    assert params.hash == "phash" and params.hamming_threshold == 6
    assert params.severity.cross_split_duplicate == "error"
    bad = tmp_path / "params.yaml"
    bad.write_text("curate:\n  hamming_treshold: 4\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="hamming_treshold"):
        load_params_section(bad, "curate", CurateParams)
    bad.write_text("curate:\n  severity: {tiny_box: fatal}\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="tiny_box"):
        load_params_section(bad, "curate", CurateParams)
