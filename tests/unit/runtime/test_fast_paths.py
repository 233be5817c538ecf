"""The runtime's fast paths give exactly what the straightforward code they replaced gave.

Each reference below is the previous implementation, kept here verbatim, and compared on
random inputs (bit for bit where the arithmetic is the same).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from veilleur.runtime.analytics.motion import _median
from veilleur.runtime.core.detections import Detections, class_mask
from veilleur.runtime.core.geometry import points_in_polygon, segments_intersect, side_of_line
from veilleur.runtime.detect.preprocess import Preprocess, to_tensor
from veilleur.runtime.track.bytetrack import ByteTracker, Track, _predict_all


def _ref_points_in_polygon(points: Any, polygon: Any) -> NDArray[np.bool_]:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    x = pts[:, 0][:, None]
    y = pts[:, 1][:, None]
    x1, y1 = poly[:, 0][None, :], poly[:, 1][None, :]
    x2, y2 = np.roll(poly[:, 0], -1)[None, :], np.roll(poly[:, 1], -1)[None, :]
    straddles = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    crossings = straddles & (x < x_cross)
    out: NDArray[np.bool_] = (np.count_nonzero(crossings, axis=1) % 2) == 1
    return out


def _ref_segments_intersect(p0: Any, p1: Any, a: Any, b: Any) -> bool:
    s0, s1 = side_of_line(np.stack([p0, p1]), a, b)
    if s0 == 0 and s1 == 0:
        return False
    if (s0 > 0) == (s1 > 0) and s0 != 0 and s1 != 0:
        return False
    t0, t1 = side_of_line(np.stack([a, b]), p0, p1)
    return bool((t0 > 0) != (t1 > 0) or t0 == 0 or t1 == 0)


def _ref_to_tensor(
    images: list[NDArray[np.uint8]], size: tuple[int, int], prep: Preprocess
) -> NDArray[np.float32]:
    th, tw = size
    batch = np.empty((len(images), 3, th, tw), dtype=np.float32)
    mean = np.asarray(prep.mean, dtype=np.float32)
    std = np.asarray(prep.std, dtype=np.float32)
    plain = not mean.any() and bool(np.all(std == 1.0))
    fill = (np.float32(prep.pad_value) * np.float32(prep.scale) - mean) / std
    for i, img in enumerate(images):
        h, w = img.shape[:2]
        r = min(th / h, tw / w)
        nh, nw = round(h * r), round(w * r)
        resized = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR) if r != 1 else img
        if prep.color == "RGB":
            resized = resized[:, :, ::-1]
        out = batch[i]
        out[:] = fill[:, None, None]
        region = out[:, :nh, :nw]
        np.multiply(resized.transpose(2, 0, 1), np.float32(prep.scale), out=region)
        if not plain:
            region -= mean[:, None, None]
            region /= std[:, None, None]
    return batch


def test_points_in_polygon_equals_reference() -> None:
    rng = np.random.default_rng(3)
    for k in (3, 4, 7, 12):
        for n in (0, 1, 5, 40):
            poly = rng.random((k, 2))
            pts = rng.random((n, 2)).astype(np.float32)
            # points exactly on vertices and edges' heights too
            pts = np.concatenate([pts, poly[: min(n, k)].astype(np.float32)])
            got = points_in_polygon(pts, poly)
            assert got.dtype == np.bool_
            np.testing.assert_array_equal(got, _ref_points_in_polygon(pts, poly))
    with pytest.raises(ValueError):
        points_in_polygon(np.zeros((1, 2)), np.zeros((2, 2)))


def test_segments_intersect_equals_reference() -> None:
    rng = np.random.default_rng(4)
    grid = np.linspace(0.0, 1.0, 5)  # collinear and touching cases on a coarse grid
    for _ in range(3000):
        if rng.random() < 0.5:
            p0, p1, a, b = (rng.choice(grid, 2).astype(np.float32) for _ in range(4))
        else:
            p0, p1 = rng.random(2).astype(np.float32), rng.random(2).astype(np.float32)
            a, b = rng.random(2), rng.random(2)
        assert segments_intersect(p0, p1, a, b) == _ref_segments_intersect(p0, p1, a, b)


def test_class_mask_equals_isin() -> None:
    rng = np.random.default_rng(5)
    for n in (0, 1, 9, 200):
        cls = rng.integers(-3, 12, n).astype(np.int64)
        for ids in (frozenset(), frozenset({0}), frozenset({0, 3, 7}), {2, 9}, {-1, 4}, [5000]):
            np.testing.assert_array_equal(class_mask(cls, ids), np.isin(cls, list(ids)))


def test_foot_points_equals_stack() -> None:
    rng = np.random.default_rng(6)
    xyxy = (rng.random((17, 4)) * 700).astype(np.float32)
    d = Detections.from_arrays(xyxy, np.ones(17), np.zeros(17))
    x = (d.xyxy[:, 0] + d.xyxy[:, 2]) / 2
    ref = np.stack([x, d.xyxy[:, 3]], axis=1).astype(np.float32)
    got = d.foot_points()
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, ref)
    assert Detections.empty().foot_points().shape == (0, 2)


def test_median_equals_numpy() -> None:
    rng = np.random.default_rng(7)
    for n in range(1, 12):
        values = [float(v) for v in rng.random(n)]
        assert _median(values) == float(np.median(values))
    assert _median([0.25, 0.25]) == 0.25


def test_predict_all_equals_per_track() -> None:
    rng = np.random.default_rng(8)
    tracks = [
        Track(
            track_id=i,
            class_id=0,
            box=(rng.random(4) * 700).astype(np.float32),
            velocity=(rng.normal(size=4) * 30).astype(np.float32),
            score=0.9,
            last_t=float(rng.random() * 3),
            first_t=0.0,
        )
        for i in range(13)
    ]
    for t in (0.0, 1.37, 3.2, 10.0):
        ref = np.array([tr.predict(t) for tr in tracks], dtype=np.float32).reshape(-1, 4)
        got = _predict_all(tracks, t)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, ref)
    assert _predict_all([], 1.0).shape == (0, 4)
    tracks[0].box = tracks[0].box.astype(np.float64)  # other dtypes: the per-track path
    ref = np.array([tr.predict(2.0) for tr in tracks], dtype=np.float32).reshape(-1, 4)
    np.testing.assert_array_equal(_predict_all(tracks, 2.0), ref)


def test_tracker_ids_unchanged_on_random_sequence() -> None:
    """A whole sequence gives the ids the per-track prediction gives (same tracker twice)."""
    rng = np.random.default_rng(9)
    base = (rng.random((12, 4)) * 500).astype(np.float32)
    base[:, 2:] = base[:, :2] + 40 + (rng.random((12, 2)) * 80).astype(np.float32)
    fast, slow = ByteTracker(), ByteTracker()
    import veilleur.runtime.track.bytetrack as bt

    def per_track(tracks: list[Track], t: float) -> NDArray[np.float32]:
        return np.array([tr.predict(t) for tr in tracks], dtype=np.float32).reshape(-1, 4)

    for j in range(40):
        jitter = rng.normal(size=base.shape).astype(np.float32) * 3
        keep = rng.random(12) > 0.15
        d = Detections.from_arrays(
            (base + j * 4 + jitter)[keep], rng.uniform(0.2, 1.0, 12)[keep], np.zeros(12)[keep]
        )
        a = fast.update(d, j * 0.16)
        orig = bt._predict_all
        bt._predict_all = per_track
        try:
            b = slow.update(d, j * 0.16)
        finally:
            bt._predict_all = orig
        np.testing.assert_array_equal(a.tracker_id, b.tracker_id)


@pytest.mark.parametrize(
    "prep",
    [Preprocess(), Preprocess(color="BGR"), Preprocess(mean=(0.4, 0.5, 0.6), std=(0.2, 0.3, 0.4))],
)
def test_to_tensor_equals_reference(prep: Preprocess) -> None:
    rng = np.random.default_rng(10)
    images = [
        rng.integers(0, 256, (576, 704, 3), dtype=np.uint8),  # resized into the canvas
        rng.integers(0, 256, (288, 352, 3), dtype=np.uint8),  # no resize, no padding
        rng.integers(0, 256, (300, 200, 3), dtype=np.uint8),  # padded right
        rng.integers(0, 256, (480, 640, 3), dtype=np.uint8),  # padded below
        rng.integers(0, 256, (100, 500, 3), dtype=np.uint8),
        rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8),
    ]
    got, ratios = to_tensor(images, (288, 352), prep)
    np.testing.assert_array_equal(got, _ref_to_tensor(images, (288, 352), prep))
    assert ratios[1] == 1.0


def _ref_greedy_match(
    iou: NDArray[np.float32], threshold: float
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    pairs: list[tuple[int, int]] = []
    if iou.size:
        order = np.dstack(np.unravel_index(np.argsort(-iou, axis=None), iou.shape))[0]
        used_r: set[int] = set()
        used_c: set[int] = set()
        for r, c in order:
            if iou[r, c] < threshold:
                break
            if r in used_r or c in used_c:
                continue
            pairs.append((int(r), int(c)))
            used_r.add(int(r))
            used_c.add(int(c))
    rows = sorted(set(range(iou.shape[0])) - {p[0] for p in pairs})
    cols = sorted(set(range(iou.shape[1])) - {p[1] for p in pairs})
    return pairs, rows, cols


def test_greedy_match_equals_reference() -> None:
    from veilleur.runtime.track.bytetrack import _greedy_match

    rng = np.random.default_rng(11)
    for shape in ((0, 0), (0, 3), (4, 0), (1, 1), (5, 7), (30, 40)):
        for _ in range(20):
            iou = rng.random(shape).astype(np.float32)
            iou[rng.random(shape) < 0.3] = 0.0
            if iou.size:  # exact ties with the threshold (as float32) too
                iou.flat[0] = np.float32(0.2)
            for thr in (0.1, 0.2, 0.5, 1.5):
                assert _greedy_match(iou, thr) == _ref_greedy_match(iou, thr)


def _ref_box_iou(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]), dtype=np.float32)
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    iou: NDArray[np.float32] = np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(
        np.float32
    )
    return iou


def test_box_iou_equals_reference() -> None:
    from veilleur.runtime.core.detections import box_iou

    rng = np.random.default_rng(12)
    for n, m in ((0, 3), (3, 0), (1, 1), (7, 11), (40, 25)):
        for dtype in (np.float32, np.float64):
            a = (rng.random((n, 4)) * 100).astype(dtype)
            b = (rng.random((m, 4)) * 100).astype(dtype)
            a[: n // 2, 2:] = a[: n // 2, :2] + 5  # some proper boxes, some inverted ones
            got, ref = box_iou(a, b), _ref_box_iou(a, b)
            assert got.dtype == ref.dtype
            np.testing.assert_array_equal(got, ref)


def _track_state(tr: ByteTracker) -> list[tuple[Any, ...]]:
    return [
        (
            t.track_id,
            t.class_id,
            t.box.tolist(),
            t.box.dtype,
            t.velocity.tolist(),
            t.velocity.dtype,
            t.score,
            t.last_t,
            t.hits,
            t.confirmed,
            list(t.history),
        )
        for t in tr.tracks
    ]


def test_apply_all_equals_per_track_apply() -> None:
    """Batched track updates leave every track exactly as the per-track update did."""
    rng = np.random.default_rng(13)
    base = (rng.random((15, 4)) * 500).astype(np.float32)
    base[:, 2:] = base[:, :2] + 30 + (rng.random((15, 2)) * 90).astype(np.float32)
    classes = rng.choice([0, 1, 2], 15)  # person, person_lying (one group), another class

    class PerTrack(ByteTracker):
        def _apply_all(
            self, tracks: list[Track], dets: Detections, rows: list[int], t: float
        ) -> None:
            for tr, d in zip(tracks, rows, strict=True):
                changed = tr.class_id != int(dets.class_id[d])
                self._apply(tr, dets.xyxy[d], float(dets.confidence[d]), t, keep_velocity=changed)

    fast, slow = ByteTracker(), PerTrack()
    t = 0.0
    for j in range(60):
        t += float(rng.choice([0.16, 0.16, 0.0, 0.5]))  # repeated times too (dt = 0)
        jitter = rng.normal(size=base.shape).astype(np.float32) * 4
        keep = rng.random(15) > 0.2
        cls = np.where(rng.random(15) < 0.1, 1 - np.minimum(classes, 1), classes)
        d = Detections.from_arrays(
            (base + j * 5 + jitter)[keep], rng.uniform(0.05, 1.0, 15)[keep], cls[keep]
        )
        a, b = fast.update(d, t), slow.update(d, t)
        np.testing.assert_array_equal(a.tracker_id, b.tracker_id)
        assert _track_state(fast) == _track_state(slow)
