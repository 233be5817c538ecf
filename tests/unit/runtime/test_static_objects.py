"""StaticObjectDetector on synthetic frames: a noisy textured ground and rectangles on it."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from veilleur.runtime.core.detections import Detections, box_iou
from veilleur.runtime.scene.imaging import shrink_factor, work_gray
from veilleur.runtime.scene.static_objects import StaticObjectDetector

H, W = 288, 352
OBJ = (200, 150, 240, 180)  # x0, y0, x1, y1 in pixels
OBJ_NORM = np.array([[OBJ[0] / W, OBJ[1] / H, OBJ[2] / W, OBJ[3] / H]], dtype=np.float32)

Image = NDArray[np.uint8]


def ground(seed: int = 0, h: int = H, w: int = W) -> NDArray[np.float32]:
    """A pavement-like texture: smooth blotches and tile joints, grey levels ~90–170."""
    rng = np.random.default_rng(seed)
    blotch = cv2.resize(
        rng.normal(0, 1, (h // 16, w // 16)).astype(np.float32), (w, h), cv2.INTER_CUBIC
    )
    img = 130 + 15 * blotch
    img[:: h // 9, :] -= 35
    img[:, :: w // 11] -= 35
    return np.asarray(img, dtype=np.float32)


def render(
    bg: NDArray[np.float32],
    rng: np.random.Generator,
    rects: list[tuple[int, int, int, int, float]] = (),  # type: ignore[assignment]
    gain: float = 1.0,
) -> Image:
    img = bg.copy()
    for x0, y0, x1, y1, value in rects:
        img[y0:y1, x0:x1] = value
    img = img * gain + rng.normal(0, 3.0, img.shape).astype(np.float32)
    grey = np.clip(img, 0, 255).astype(np.uint8)
    return np.asarray(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


Scene = Callable[[float], tuple[list[tuple[int, int, int, int, float]], float]]


def run(
    scene: Scene, duration: float, fps: float = 6.25, det: StaticObjectDetector | None = None
) -> tuple[StaticObjectDetector, list[tuple[float, Detections]]]:
    """Feed ``duration`` s of frames; ``scene(t)`` gives the rectangles and the gain."""
    det = det or StaticObjectDetector()
    bg = ground()
    rng = np.random.default_rng(1)
    out = []
    for i in range(round(duration * fps)):
        t = i / fps
        rects, gain = scene(t)
        out.append((t, det.update(render(bg, rng, rects, gain), t)))
    return det, out


def dark_box_from(t_drop: float) -> Scene:
    return lambda t: ([(*OBJ, 30.0)] if t >= t_drop else [], 1.0)


def reported(out: list[tuple[float, Detections]]) -> list[tuple[float, Detections]]:
    return [(t, d) for t, d in out if len(d)]


@pytest.mark.req("EX-002")
def test_dropped_object_is_reported_after_static_s_at_its_place():
    det, out = run(dark_box_from(2.0), duration=12.0)
    hits = reported(out)
    assert hits, "the dropped object was never reported"
    first = hits[0][0]
    assert 2.0 + det.static_s <= first <= 2.0 + det.static_s + 2.0
    for t, d in hits:
        assert len(d) == 1, f"one blob expected at {t}: {d}"
        assert d.class_id.tolist() == [-1]
        assert float(box_iou(d.xyxy, OBJ_NORM)[0, 0]) >= 0.7
        assert 0.5 <= float(d.confidence[0]) <= 1.0
    assert len({int(d.tracker_id[0]) for _, d in hits}) == 1  # a stable blob id
    assert hits[-1][1].confidence[0] > hits[0][1].confidence[0]  # stability grows


def test_reports_do_not_depend_on_the_frame_rate():
    firsts = []
    for fps in (5.0, 12.5, 25.0):
        _, out = run(dark_box_from(2.0), duration=10.0, fps=fps)
        firsts.append(reported(out)[0][0])
    assert max(firsts) - min(firsts) <= 0.6


def test_moving_object_is_never_reported():
    def moving(t: float) -> tuple[list[tuple[int, int, int, int, float]], float]:
        x = int(10 + 25 * t)  # 25 px/s, the box is 40 px wide
        return [(x, 120, x + 40, 160, 30.0)], 1.0

    _, out = run(moving, duration=12.0)
    assert reported(out) == []


def test_object_present_from_the_first_frame_is_background():
    _, out = run(lambda t: ([(*OBJ, 30.0), (40, 40, 90, 120, 220.0)], 1.0), duration=12.0)
    assert reported(out) == []


def test_ghost_of_an_object_that_leaves_is_not_reported():
    # present in the first frame (so in the background), gone at 1 s: a ghost, healed
    det, out = run(lambda t: ([(*OBJ, 30.0)] if t < 1.0 else [], 1.0), duration=12.0)
    assert reported(out) == []
    assert not det._blobs


def test_person_standing_still_briefly_is_not_reported():
    _, out = run(lambda t: ([(*OBJ, 30.0)] if 2.0 <= t < 5.5 else [], 1.0), duration=12.0)
    assert reported(out) == []


def test_removed_object_disappears_quickly():
    _, out = run(lambda t: ([(*OBJ, 30.0)] if 1.0 <= t < 10.0 else [], 1.0), duration=13.0)
    times = [t for t, _ in reported(out)]
    assert times and max(times) < 10.5


@pytest.mark.parametrize("gain", [0.5, 1.6])
def test_global_brightness_step_is_not_an_object(gain: float):
    _, out = run(lambda t: ([], gain if t >= 3.0 else 1.0), duration=12.0)
    assert reported(out) == []


def test_slow_dusk_is_not_an_object():
    _, out = run(lambda t: ([(*OBJ, 30.0)], 1.0 - 0.03 * t), duration=20.0)
    assert reported(out) == []


def test_lights_switching_on_part_of_the_view_restarts_the_background():
    def lights(t: float) -> tuple[list[tuple[int, int, int, int, float]], float]:
        return ([(0, 0, W, H // 2 + 20, 230.0)] if t >= 3.0 else []), 1.0

    det, out = run(lights, duration=12.0)
    assert reported(out) == []
    assert det.resets >= 1


def test_an_object_dropped_after_a_brightness_step_is_still_found():
    def scene(t: float) -> tuple[list[tuple[int, int, int, int, float]], float]:
        return ([(*OBJ, 30.0)] if t >= 4.0 else []), (1.4 if t >= 2.0 else 1.0)

    _, out = run(scene, duration=13.0)
    hits = reported(out)
    assert hits and float(box_iou(hits[-1][1].xyxy, OBJ_NORM)[0, 0]) >= 0.7


def test_flickering_reflection_is_not_reported():
    rng = np.random.default_rng(5)

    def puddle(t: float) -> tuple[list[tuple[int, int, int, int, float]], float]:
        return [(60, 200, 140, 240, float(rng.choice([60.0, 200.0])))], 1.0

    _, out = run(puddle, duration=15.0)
    assert reported(out) == []


def test_a_passer_by_in_front_keeps_the_object():
    def scene(t: float) -> tuple[list[tuple[int, int, int, int, float]], float]:
        rects = [(*OBJ, 30.0)] if t >= 1.0 else []
        if 8.0 <= t < 9.0:  # someone walks in front of it
            x = int(180 + 80 * (t - 8.0))
            rects.append((x, 130, x + 20, 200, 200.0))
        return rects, 1.0

    _, out = run(scene, duration=11.0)
    ids = {int(i) for t, d in reported(out) for i in d.tracker_id if t >= 9.5}
    before = {int(i) for t, d in reported(out) for i in d.tracker_id if t < 8.0}
    assert ids and ids == before


def test_small_and_huge_objects_are_not_reported():
    def scene(t: float) -> tuple[list[tuple[int, int, int, int, float]], float]:
        small = (100, 100, 105, 105, 20.0)  # 25 px² < min_area
        huge = (0, 0, 120, 150, 20.0)  # 18 000 px² > max_area (but < global change)
        return ([small, huge] if t >= 1.0 else []), 1.0

    _, out = run(scene, duration=10.0)
    assert reported(out) == []


def test_full_size_frames_give_normalised_boxes():
    det = StaticObjectDetector(static_s=2.0)
    bg = cv2.resize(ground(3), (704, 576))
    rng = np.random.default_rng(0)
    box = (400, 300, 470, 360)
    last = Detections.empty()
    for i in range(40):
        t = i / 6.25
        last = det.update(render(bg, rng, [(*box, 25.0)] if t >= 1.0 else []), t)
    truth = np.array([[400 / 704, 300 / 576, 470 / 704, 360 / 576]], dtype=np.float32)
    assert len(last) == 1 and float(box_iou(last.xyxy, truth)[0, 0]) >= 0.7


def test_reset_makes_the_current_view_the_background():
    det, out = run(dark_box_from(1.0), duration=9.0)
    assert reported(out)
    det.reset()
    _, out = run(lambda t: ([(*OBJ, 30.0)], 1.0), duration=9.0, det=det)
    assert reported(out) == []


def test_invalid_parameters_are_refused():
    with pytest.raises(ValueError, match="static_s"):
        StaticObjectDetector(static_s=-1)
    assert StaticObjectDetector(static_s=0).static_s == 0.5
    with pytest.raises(ValueError, match="min_area"):
        StaticObjectDetector(min_area=0.1, max_area=0.05)
    with pytest.raises(ValueError, match="BGR"):
        StaticObjectDetector().update(np.zeros((10, 10), np.uint8), 0.0)


def test_work_image_uses_an_integer_shrink_factor():
    assert shrink_factor(704, 320) == 2
    assert shrink_factor(1920, 320) == 6
    assert work_gray(np.zeros((576, 704, 3), np.uint8), 320).shape == (288, 352)
    assert work_gray(np.zeros((1080, 1920, 3), np.uint8), 320).shape == (180, 320)
