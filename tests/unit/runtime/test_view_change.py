"""ViewMonitor on a synthetic textured scene: pan, zoom, masking, people, lighting."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from veilleur.runtime.scene.view_change import ViewMonitor, format_stream_time

H, W = 576, 704
FPS = 6.25
Grey = NDArray[np.float32]


def scene(seed: int = 3) -> Grey:
    """Smooth texture plus a few flat rectangles (buildings, signs…)."""
    rng = np.random.default_rng(seed)
    small = cv2.GaussianBlur(rng.normal(128, 40, (H // 4, W // 4)).astype(np.float32), (0, 0), 1.5)
    img = cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC)
    for _ in range(25):
        x, y = (int(v) for v in rng.integers(0, [W - 80, H - 80]))
        w, h = (int(v) for v in rng.integers(20, 80, size=2))
        cv2.rectangle(img, (x, y), (x + w, y + h), float(rng.integers(0, 255)), -1)
    return np.asarray(np.clip(img, 0, 255), dtype=np.float32)


BASE = scene()


def pan(img: Grey, fraction: float = 0.2) -> Grey:
    """The camera turned right by ``fraction`` of the view; new ground comes in on the right."""
    dx = int(fraction * W)
    other = scene(seed=9)
    return np.concatenate([img[:, dx:], other[:, :dx]], axis=1)


def zoom(img: Grey, factor: float = 1.5) -> Grey:
    big = cv2.resize(img, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
    y0, x0 = (big.shape[0] - H) // 2, (big.shape[1] - W) // 2
    return np.asarray(big[y0 : y0 + H, x0 : x0 + W], dtype=np.float32)


def with_people(img: Grey, t: float, n: int = 6) -> Grey:
    out = img.copy()
    for k in range(n):
        x = int((50 + 120 * k + 60 * t) % (W - 40))
        y = 150 + 60 * (k % 4)
        cv2.rectangle(out, (x, y), (x + 35, y + 110), 40.0 + 30 * k, -1)
    return out


NOISE = [np.random.default_rng(k).normal(0, 3, (H, W)).astype(np.float32) for k in range(5)]


def bgr(img: Grey, rng: np.random.Generator, gain: float = 1.0) -> NDArray[np.uint8]:
    """The view with sensor noise (drawn from a small pool: fresh noise costs more than the
    monitor itself)."""
    noise = NOISE[int(rng.integers(len(NOISE)))]
    grey = np.clip(img * gain + noise, 0, 255).astype(np.uint8)
    return np.asarray(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


def run(
    vm: ViewMonitor, view: Callable[[float], tuple[Grey, float]], t0: float, t1: float
) -> list[tuple[float, bool]]:
    rng = np.random.default_rng(int(t0 * 100))
    out = []
    for i in range(round((t1 - t0) * FPS)):
        t = t0 + i / FPS
        img, gain = view(t)
        out.append((t, vm.update(bgr(img, rng, gain), t)))
    return out


def learned() -> ViewMonitor:
    vm = ViewMonitor(confirm_s=2.0)
    assert all(ok for _, ok in run(vm, lambda t: (BASE, 1.0), 0.0, 5.0))
    return vm


@pytest.mark.req("EX-010")
@pytest.mark.parametrize("changed", [pan(BASE), zoom(BASE)], ids=["pan-20%", "zoom-1.5x"])
def test_pan_or_zoom_is_reported_after_confirm_s_and_ok_when_the_view_returns(changed: Grey):
    vm = learned()
    out = run(vm, lambda t: (changed, 1.0), 5.0, 10.0)
    assert all(ok for t, ok in out if t < 5.0 + 2.0 - 1e-6)
    assert not any(ok for t, ok in out if t >= 5.0 + 2.0 + 1 / FPS)
    assert vm.state == "changed"
    assert vm.reason == "Vue modifiée (pan/zoom ou masquage) depuis 00:00:05"
    assert vm.score < 0.3
    back = run(vm, lambda t: (BASE, 1.0), 10.0, 15.0)
    assert not back[0][1]  # not back at once: the return is confirmed too
    assert back[-1][1] and vm.state == "ok" and vm.reason == ""


@pytest.mark.req("EX-010")
def test_masking_is_reported_as_such():
    vm = learned()
    run(vm, lambda t: (np.full_like(BASE, 40.0), 1.0), 5.0, 9.0)
    assert vm.state == "changed" and vm.masked
    assert vm.reason.startswith("Vue masquée ou obstruée depuis")


def test_half_masked_view_is_changed():
    half = BASE.copy()
    half[:, : W * 3 // 5] = 60.0
    vm = learned()
    run(vm, lambda t: (half, 1.0), 5.0, 9.0)
    assert vm.state == "changed"


def test_people_walking_through_keep_the_view_ok():
    vm = learned()
    out = run(vm, lambda t: (with_people(BASE, t), 1.0), 5.0, 25.0)
    assert all(ok for _, ok in out)
    assert vm.score >= 0.7


@pytest.mark.parametrize("gain", [0.35, 0.6, 1.5])
def test_lighting_changes_keep_the_view_ok(gain: float):
    vm = learned()
    out = run(vm, lambda t: (BASE, gain), 5.0, 12.0)
    assert all(ok for _, ok in out)


def test_slow_dusk_keeps_the_view_ok():
    vm = learned()
    out = run(vm, lambda t: (BASE, max(0.3, 1.0 - 0.02 * (t - 5.0))), 5.0, 40.0)
    assert all(ok for _, ok in out)


def test_a_glitch_shorter_than_confirm_s_is_ignored():
    vm = learned()
    out = run(vm, lambda t: (pan(BASE) if t < 6.0 else BASE, 1.0), 5.0, 10.0)
    assert all(ok for _, ok in out)


def test_reset_reference_adopts_the_new_view():
    vm = learned()
    run(vm, lambda t: (pan(BASE), 1.0), 5.0, 9.0)
    assert vm.state == "changed"
    vm.reset_reference()
    assert vm.state == "ok"
    out = run(vm, lambda t: (pan(BASE), 1.0), 9.0, 14.0)
    assert all(ok for _, ok in out)


def test_featureless_view_is_not_judged():
    vm = ViewMonitor(confirm_s=0.5)
    out = run(vm, lambda t: (np.full_like(BASE, 120.0), 1.0 + 0.1 * (t > 2)), 0.0, 5.0)
    assert all(ok for _, ok in out)


def test_format_stream_time_and_validation():
    assert format_stream_time(43384.7) == "12:03:04"
    assert format_stream_time(-1) == "00:00:00"
    with pytest.raises(ValueError):
        ViewMonitor(threshold=0)
    with pytest.raises(ValueError, match="BGR"):
        ViewMonitor().update(np.zeros((10, 10), np.uint8), 0.0)
