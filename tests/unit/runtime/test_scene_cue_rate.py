"""Scene cues at ``scene.cue_fps``: the view monitor and the background model run at that rate,
the rules use the latest cue in between, and abandoned objects and view changes are still found.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from veilleur.runtime.config import ConfigError, parse_site_config
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.engine import CameraAnalysis, Engine
from veilleur.runtime.ingest.video import Frame

H, W = 288, 352
FPS = 6.25
OBJ = (200, 150, 240, 180)  # the dropped object, pixels x0, y0, x1, y1
ZONE = {"id": "z", "kind": "polygon", "points": [[0, 0], [1, 0], [1, 1], [0, 1]]}
ABANDON = {
    "id": "abandon",
    "type": "objet_abandonne",
    "zone": "z",
    "static_s": 3.0,
    "unattended_s": 2.0,
}


def site(cue_fps: float | None = None, view_monitor: bool = True, **rule: Any) -> Any:
    camera: dict[str, Any] = {
        "id": "cam",
        "source": {"url": "cam.mp4"},
        "analysis_fps": FPS,
        "view_monitor": {"enabled": view_monitor, "confirm_s": 1.0},
        "zones": [ZONE],
        "rules": [{**ABANDON, **rule}],
    }
    if cue_fps is not None:
        camera["scene"] = {"cue_fps": cue_fps}
    return parse_site_config({"version": 1, "site": {"name": "t"}, "cameras": [camera]})


class NoDetector:
    def detect_batch(self, frames: list[Any]) -> list[Detections]:
        raise AssertionError("these tests pass their detections")


def ground(seed: int = 0) -> NDArray[np.float32]:
    """A pavement-like texture (as tests/unit/runtime/test_static_objects.py)."""
    rng = np.random.default_rng(seed)
    blotch = cv2.resize(
        rng.normal(0, 1, (H // 16, W // 16)).astype(np.float32), (W, H), cv2.INTER_CUBIC
    )
    img = 130 + 15 * blotch
    img[:: H // 9, :] -= 35
    img[:, :: W // 11] -= 35
    return np.asarray(img, dtype=np.float32)


def render(bg: NDArray[np.float32], rng: np.random.Generator, box: bool) -> NDArray[np.uint8]:
    img = bg.copy()
    if box:
        x0, y0, x1, y1 = OBJ
        img[y0:y1, x0:x1] = 30.0
    img = img + rng.normal(0, 3.0, img.shape).astype(np.float32)
    grey = np.clip(img, 0, 255).astype(np.uint8)
    return np.asarray(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


def keeper(t: float) -> Detections:
    """A person next to the object's place until 4 s (the object is dropped at 2 s), then gone."""
    if t >= 4.0:
        return Detections.empty()
    return Detections.from_arrays([[240.0, 80.0, 275.0, 182.0]], [0.9], [0])


def drop_scene(engine: Engine, seconds: float) -> list[Any]:
    """The object is dropped at 2 s by a keeper who leaves at 4 s; no detector box for it."""
    bg = ground()
    rng = np.random.default_rng(1)
    alerts = []
    for i in range(round(seconds * FPS)):
        t = i / FPS
        frame = Frame(index=i, t=t, image=render(bg, rng, box=t >= 2.0))
        alerts.extend(engine.process_detections([("cam", frame, keeper(t))]))
    return alerts


class Counting:
    """Wraps a scene source and counts its updates."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    @property
    def reason(self) -> str:
        return str(self.inner.reason)

    def update(self, image: Any, t: float) -> Any:
        self.calls += 1
        return self.inner.update(image, t)


def frames(n: int) -> list[Frame]:
    image = np.zeros((H, W, 3), np.uint8)
    return [Frame(index=i, t=i / FPS, image=image) for i in range(n)]


def test_cues_run_at_cue_fps_and_rules_reuse_the_latest() -> None:
    engine = Engine(site(cue_fps=2.0), NoDetector(), "0" * 64, clock=None)
    cam = engine.cameras["cam"]
    clip = frames(63)  # 0 … 9.92 s at 6.25 fps
    engine.process_detections([("cam", clip[0], Detections.empty())])
    view, static = Counting(cam.view), Counting(cam.static_objects)
    cam.view, cam.static_objects = view, static
    seen = []
    for f in clip[1:]:
        engine.process_detections([("cam", f, Detections.empty())])
        seen.append(cam.last_cues)
    # one update per half-second slot of stream time: slots 0 … 19, the first on frame 0
    assert cam.frames == 63
    assert cam.cue_updates == 20
    assert view.calls == static.calls == 19
    # between two updates the rules get the very same cue object (frame 0's, then 19 new)
    assert len({id(c) for c in seen}) == 20
    assert seen[0] is seen[1] is seen[2]  # frames 1–3 (0.16–0.48 s) reuse frame 0's cue


def test_cue_fps_zero_computes_cues_on_every_frame() -> None:
    engine = Engine(site(cue_fps=0.0), NoDetector(), "0" * 64, clock=None)
    for f in frames(40):
        engine.process_detections([("cam", f, Detections.empty())])
    assert engine.cameras["cam"].cue_updates == 40


def test_default_cue_rate_is_two_per_second() -> None:
    assert site().cameras[0].scene.cue_fps == 2.0
    engine = Engine(site(), NoDetector(), "0" * 64, clock=None)
    for f in frames(125):  # 20 s
        engine.process_detections([("cam", f, Detections.empty())])
    assert engine.cameras["cam"].cue_updates == math.floor(124 / FPS * 2) + 1 == 40


def test_camera_without_scene_cue_computes_none() -> None:
    # no view monitor, no abandoned-object rule using the background model
    engine = Engine(
        site(view_monitor=False, use_static_cue=False), NoDetector(), "0" * 64, clock=None
    )
    for f in frames(20):
        engine.process_detections([("cam", f, Detections.empty())])
    cam: CameraAnalysis = engine.cameras["cam"]
    assert cam.view is None and cam.static_objects is None
    assert cam.cue_updates == 0 and cam.last_cues.view_ok


@pytest.mark.req("EX-002")
@pytest.mark.parametrize("cue_fps", [2.0, 0.0])
def test_object_nobody_names_is_still_found_abandoned_at_a_lower_cue_rate(cue_fps: float) -> None:
    engine = Engine(site(cue_fps=cue_fps), NoDetector(), "0" * 64, clock=None)
    alerts = drop_scene(engine, 14.0)
    assert [a.rule_id for a in alerts] == ["abandon"]
    [alert] = alerts
    # reported by the background model after static_s (3 s) of stillness, plus its lag
    assert 5.0 <= alert.alert_s <= 9.0
    x0, y0, x1, y1 = alert.boxes[0]
    assert x0 < OBJ[2] / W and x1 > OBJ[0] / W and y0 < OBJ[3] / H and y1 > OBJ[1] / H
    frames_seen = round(14.0 * FPS)
    cues = engine.cameras["cam"].cue_updates
    assert cues == (frames_seen if cue_fps == 0 else 28)


@pytest.mark.req("EX-010")
def test_view_change_is_still_found_at_a_lower_cue_rate() -> None:
    engine = Engine(site(cue_fps=2.0), NoDetector(), "0" * 64, clock=None)
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    panned = np.roll(scene, 96, axis=1)
    states = []
    for i in range(round(6 * FPS)):
        t = i / FPS
        image = scene if t < 2.0 else panned
        engine.process_detections([("cam", Frame(index=i, t=t, image=image), Detections.empty())])
        states.append((t, engine.state()["cameras"]["cam"]["view_ok"]))
    changed = [t for t, ok in states if not ok]
    assert changed, "the pan was never reported"
    # confirm_s (1 s) after the first cue on the panned view, give or take one cue period
    assert 3.0 <= changed[0] <= 3.6
    assert all(not ok for t, ok in states if t >= changed[0])


@pytest.mark.parametrize("bad", [0.5, -1.0, 30.0])
def test_cue_rate_out_of_range_is_refused_with_the_field_named(bad: float) -> None:
    with pytest.raises(ConfigError, match=r"cameras\.0\.scene\.cue_fps"):
        site(cue_fps=bad)
