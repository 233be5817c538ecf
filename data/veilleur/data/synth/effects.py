"""Scenery and effects: street furniture, beacons and signs, fire and smoke, rain, sensor noise,
and the camera's on-screen display.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from veilleur.data.synth.actors import Beacon, Colour, Fire, Sign
from veilleur.data.synth.camera import FloatArray, PinholeCamera
from veilleur.data.synth.canvas import Canvas
from veilleur.data.synth.geometry import cuboid_corners
from veilleur.data.synth.layout import Furniture
from veilleur.data.synth.lighting import LightModel

DrawFn = Callable[[Canvas, int, float], None]


@dataclass
class Prop:
    """A static or blinking scenery item: depth for sorting and its drawing function."""

    depth: float
    draw: DrawFn


def _p(cam: PinholeCamera, x: float, y: float, z: float) -> FloatArray:
    return cam.project(np.array([x, y, z]))[0]


def _box(
    cam: PinholeCamera,
    x: float,
    y: float,
    z0: float,
    heading: float,
    dims: tuple[float, float, float],
) -> FloatArray:
    """Pixels ``(8, 2)`` of a static cuboid's corners."""
    corners = cuboid_corners(np.array([[x, y]]), np.array([z0]), np.array([heading]), dims)
    result: FloatArray = cam.project(corners)[0][0]
    return result


def make_props(
    rng: np.random.Generator,
    cam: PinholeCamera,
    light: LightModel,
    furniture: tuple[Furniture, ...],
    beacons: list[Beacon],
    signs: list[Sign],
    corridor_x: float,
) -> list[Prop]:
    """Pre-project every scenery item of the clip."""
    props: list[Prop] = []
    for f in furniture:
        gain = light.gain(np.array([f.x, f.y]))
        fog = float(light.fog(np.array(math.hypot(f.x, f.y, cam.height_m))))

        def sh(c: Colour, gain: FloatArray = gain, fog: float = fog) -> Colour:
            return light.shade(c, gain, fog)

        scale = float(cam.scale_px_per_m(np.array([f.x, f.y, 0.0])))
        base = _p(cam, f.x, f.y, 0.0)
        depth = float(cam.depth_of_ground(f.y))
        props.append(Prop(depth, _furniture_fn(rng, cam, light, f, base, scale, sh, corridor_x)))
    for b in beacons:
        scale = float(cam.scale_px_per_m(np.array([b.x, b.y, 1.1])))
        props.append(Prop(float(cam.depth_of_ground(b.y)), _beacon_fn(cam, light, b, scale)))
    for s in signs:
        props.append(Prop(float(cam.depth_of_ground(s.y)), _sign_fn(cam, light, s)))
    return props


def _furniture_fn(
    rng: np.random.Generator,
    cam: PinholeCamera,
    light: LightModel,
    f: Furniture,
    base: FloatArray,
    scale: float,
    sh: Callable[[Colour], Colour],
    corridor_x: float,
) -> DrawFn:
    if f.kind == "lamp":
        height = float(rng.uniform(4.5, 6.0))
        toward = 1.0 if corridor_x > f.x else -1.0
        top = _p(cam, f.x, f.y, height)
        arm = _p(cam, f.x + toward * 0.9, f.y, height)
        head = _box(cam, f.x + toward * 0.9, f.y, height - 0.2, 0.0, (0.55, 0.25, 0.18))
        pole = sh((60, 62, 66))
        lit = light.lighting != "day"

        def lamp(cv: Canvas, i: int, t: float) -> None:
            cv.line(base, top, 0.13 * scale, pole)
            cv.line(top, arm, 0.08 * scale, pole)
            cv.poly(head, (200, 235, 255) if lit else sh((90, 95, 100)), hull=True)
            if lit:
                cv.glow(head.mean(axis=0), 1.6 * scale, (60.0, 90.0, 110.0), 1.0)

        return lamp
    if f.kind == "bollard":
        top = _p(cam, f.x, f.y, 0.9)
        band0, band1 = _p(cam, f.x, f.y, 0.68), _p(cam, f.x, f.y, 0.78)

        def bollard(cv: Canvas, i: int, t: float) -> None:
            cv.line(base, top, 0.2 * scale, sh(f.colour))
            cv.line(band0, band1, 0.2 * scale, sh((210, 210, 210)))
            cv.circle(top, 0.1 * scale, sh((110, 110, 115)))

        return bollard
    if f.kind == "bench":
        fwd = np.array([math.cos(f.heading), math.sin(f.heading)])
        along = f.heading + math.pi / 2
        seat = _box(cam, f.x, f.y, 0.42, along, (1.8, 0.45, 0.06))
        bx, by = f.x - 0.22 * fwd[0], f.y - 0.22 * fwd[1]
        back = _box(cam, bx, by, 0.5, along, (1.8, 0.06, 0.42))
        side = np.array([math.cos(along), math.sin(along)]) * 0.75
        legs = [(_p(cam, f.x + s * side[0], f.y + s * side[1], 0.0),
                 _p(cam, f.x + s * side[0], f.y + s * side[1], 0.42)) for s in (-1, 1)]  # fmt: skip
        wood = sh(f.colour)

        def bench(cv: Canvas, i: int, t: float) -> None:
            for a, b in legs:
                cv.line(a, b, 0.06 * scale, sh((40, 40, 40)))
            cv.poly(back, wood, hull=True)
            cv.poly(seat, wood, hull=True)

        return bench
    if f.kind == "bin":
        top = _p(cam, f.x, f.y, 0.9)

        def bin_(cv: Canvas, i: int, t: float) -> None:
            cv.line(base, top, 0.5 * scale, sh(f.colour))
            cv.ellipse(top, (0.25 * scale, 0.1 * scale), sh((25, 35, 25)))

        return bin_
    if f.kind == "tree":
        trunk_top = _p(cam, f.x, f.y, 2.6)
        blobs = [
            (_p(cam, f.x + rng.normal(0, 0.7), f.y + rng.normal(0, 0.4), 3.6 + rng.normal(0, 0.5)),
             float(rng.uniform(1.0, 1.7)) * scale,
             sh((int(rng.integers(30, 60)), int(rng.integers(80, 120)), int(rng.integers(40, 70)))))
            for _ in range(6)
        ]  # fmt: skip

        def tree(cv: Canvas, i: int, t: float) -> None:
            cv.line(base, trunk_top, 0.3 * scale, sh((40, 60, 80)))
            for c, r, colour in blobs:
                cv.circle(c, r, colour)

        return tree
    # works-area corner post, red and white
    segs = [(_p(cam, f.x, f.y, z), _p(cam, f.x, f.y, z + 0.25)) for z in (0.0, 0.25, 0.5, 0.75)]

    def post(cv: Canvas, i: int, t: float) -> None:
        for k, (a, b) in enumerate(segs):
            cv.line(a, b, 0.1 * scale, sh((40, 40, 200) if k % 2 == 0 else (220, 220, 220)))

    return post


def _beacon_fn(cam: PinholeCamera, light: LightModel, b: Beacon, scale: float) -> DrawFn:
    base, top = _p(cam, b.x, b.y, 0.0), _p(cam, b.x, b.y, 1.05)
    gain = light.gain(np.array([b.x, b.y]))

    def beacon(cv: Canvas, i: int, t: float) -> None:
        on = ((t + b.phase_s) % b.period_s) < 0.45 * b.period_s
        cv.line(base, top, 0.07 * scale, light.shade((50, 50, 50), gain, 0.0))
        cv.circle(top, 0.1 * scale, (60, 190, 255) if on else light.shade((20, 70, 130), gain, 0.0))
        if on:
            strength = 1.6 if light.lighting != "day" else 0.7
            cv.glow(top, 1.2 * scale, (20.0, 110.0, 200.0), strength)

    return beacon


def _sign_fn(cam: PinholeCamera, light: LightModel, s: Sign) -> DrawFn:
    hw = s.width / 2
    posts = [
        (_p(cam, s.x + dx, s.y, 0.0), _p(cam, s.x + dx, s.y, 1.35)) for dx in (-hw * 0.8, hw * 0.8)
    ]
    panel = np.array([_p(cam, s.x - hw, s.y, 1.3), _p(cam, s.x + hw, s.y, 1.3),
                      _p(cam, s.x + hw, s.y, 2.2), _p(cam, s.x - hw, s.y, 2.2)])  # fmt: skip
    inner = panel.mean(axis=0) + (panel - panel.mean(axis=0)) * 0.7
    scale = float(cam.scale_px_per_m(np.array([s.x, s.y, 1.7])))
    gain = light.gain(np.array([s.x, s.y]))

    def sign(cv: Canvas, i: int, t: float) -> None:
        on = s.blink_s is None or (t % s.blink_s) < 0.6 * s.blink_s
        for a, b in posts:
            cv.line(a, b, 0.06 * scale, light.shade((70, 70, 70), gain, 0.0))
        cv.poly(panel, light.shade((40, 40, 40), gain, 0.0))
        cv.poly(inner, s.colour if on else light.shade(s.colour, gain * 0.35, 0.0))
        if on and light.lighting != "day":
            c = np.asarray(s.colour, dtype=np.float64) * 0.5
            cv.glow(inner.mean(axis=0), 1.5 * s.width * scale, (c[0], c[1], c[2]), 1.0)

    return sign


FLAME_COLOURS = np.array([(20, 40, 190), (20, 110, 245), (60, 190, 255), (170, 240, 255)])
_SEMI = np.linspace(0.0, np.pi, 7)


def _tongue(base: FloatArray, tip: FloatArray, width: float) -> FloatArray:
    """A flame tongue: a half-disc at the base topped by a point (convex)."""
    axis = tip - base
    length = max(float(np.hypot(*axis)), 1e-3)
    u = axis / length
    n = np.array([-u[1], u[0]])
    r = width / 2
    arc = base + r * (np.cos(_SEMI)[:, None] * n - np.sin(_SEMI)[:, None] * u)
    return np.vstack([arc, tip[None, :]])


def draw_fire(
    cv: Canvas, cam: PinholeCamera, light: LightModel, fire: Fire, i: int, t: float
) -> None:
    """Flickering flame tongues (class ``fire``) at frame ``i``; nothing before ignition."""
    if t < fire.t_ignite:
        return
    grow = float(np.clip((t - fire.t_ignite) / 2.5, 0.25, 1.0))
    scale = float(cam.scale_px_per_m(np.array([fire.x, fire.y, 0.0])))
    ground = _p(cam, fire.x, fire.y, 0.0)
    cv.ellipse(ground, (0.7 * fire.size * scale, 0.3 * fire.size * scale), (20, 22, 25))
    blobs = fire.flicker[i]
    size = fire.size * grow
    for layer, (hmul, wmul) in enumerate(((1.0, 0.55), (0.75, 0.42), (0.5, 0.3), (0.22, 0.22))):
        colour: Colour = tuple(int(c) for c in FLAME_COLOURS[layer])  # type: ignore[assignment]
        for k in range(layer, len(blobs), 2 if layer < 2 else 3):
            dx, dy, hs, mix = blobs[k]
            bx, by = fire.x + 0.6 * dx * grow, fire.y + 0.6 * dy * grow
            h = 1.6 * size * hs * hmul
            base = _p(cam, bx, by, 0.15 * size)
            tip = _p(cam, bx + (mix - 0.5) * 0.4 * size, by, h)
            cv.poly(
                _tongue(base, tip, wmul * size * scale * (0.8 + 0.4 * mix)), colour, fire.fire_id
            )
    core = _p(cam, fire.x, fire.y, 0.3 * size)
    strength = 1.5 if light.lighting == "night" else (1.0 if light.lighting == "dusk" else 0.5)
    cv.glow(core, 3.0 * fire.size * scale, (10.0, 80.0, 200.0), strength * grow)


_SPLAT = np.exp(
    -(np.linspace(-1.0, 1.0, 65)[:, None] ** 2 + np.linspace(-1.0, 1.0, 65)[None, :] ** 2)
    / (2 * 0.38**2)
).astype(np.float32)


def draw_smoke(cv: Canvas, cam: PinholeCamera, light: LightModel, fire: Fire, t: float) -> None:
    """Grey puffs rising and drifting (class ``smoke``): Gaussian splats accumulated as
    optical depth, then alpha-blended over the frame.
    """
    puffs = fire.puffs
    age = t - puffs[:, 0]
    alive = (age >= 0) & (age < 9.0)
    if not alive.any():
        return
    p, a = puffs[alive], age[alive]
    world = np.stack(
        [p[:, 1] + p[:, 4] * a, p[:, 2] + p[:, 5] * a, fire.size * 1.3 + p[:, 3] * a], axis=1
    )
    uv, depth = cam.project(world)
    radius = (0.35 * fire.size + p[:, 6] * a) * cam.focal_px / np.maximum(depth, 1e-3)
    density = 1.1 * np.clip(a / 0.5, 0.0, 1.0) * np.exp(-a / 4.5)
    h, w = cv.image.shape[:2]
    half = np.maximum(2, np.round(radius * 1.3)).astype(int)
    cx, cy = np.round(uv[:, 0]).astype(int), np.round(uv[:, 1]).astype(int)
    x0 = int(max(0, (cx - half).min()))
    y0 = int(max(0, (cy - half).min()))
    x1 = int(min(w, (cx + half).max() + 1))
    y1 = int(min(h, (cy + half).max() + 1))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    depth_map = np.zeros((y1 - y0, x1 - x0), dtype=np.float32)
    for k in range(len(a)):
        size = 2 * int(half[k]) + 1
        splat = cv2.resize(_SPLAT, (size, size), interpolation=cv2.INTER_LINEAR)
        sx0, sy0 = int(cx[k] - half[k]) - x0, int(cy[k] - half[k]) - y0
        ax0, ay0 = max(0, sx0), max(0, sy0)
        ax1, ay1 = min(x1 - x0, sx0 + size), min(y1 - y0, sy0 + size)
        if ax1 > ax0 and ay1 > ay0:
            depth_map[ay0:ay1, ax0:ax1] += (
                float(density[k]) * splat[ay0 - sy0 : ay1 - sy0, ax0 - sx0 : ax1 - sx0]
            )
    layer = np.minimum(1.0 - np.exp(-depth_map), 0.92)
    tone = fire.smoke_tone
    shade = light.shade((tone, tone, tone + 3), light.gain(np.array([fire.x, fire.y])), 0.0)
    grey = np.asarray(shade, dtype=np.float32)
    roi = cv.image[y0:y1, x0:x1].astype(np.float32)
    roi = roi * (1 - layer[..., None]) + grey * layer[..., None]
    cv.image[y0:y1, x0:x1] = np.clip(roi, 0, 255).astype(np.uint8)
    dense = layer > 0.3
    rows = np.flatnonzero(dense.any(axis=1))
    cols = np.flatnonzero(dense.any(axis=0))
    if len(rows) and len(cols):
        cv.boxes[fire.smoke_id] = [
            x0 + float(cols[0]),
            y0 + float(rows[0]),
            x0 + float(cols[-1]) + 1,
            y0 + float(rows[-1]) + 1,
        ]
        cv.ids[y0:y1, x0:x1][layer > 0.5] = fire.smoke_id


class Rain:
    """Slanted streaks, redrawn every frame."""

    def __init__(self, rng: np.random.Generator, width: int, height: int) -> None:
        self.rng = rng
        self.w, self.h = width, height
        self.n = int(width * height / 1400)
        self.slant = float(rng.uniform(-0.25, 0.25))
        self.layer = np.zeros((height, width), dtype=np.uint8)

    def apply(self, img: NDArray[np.uint8]) -> None:
        self.layer[:] = 0
        xs = self.rng.uniform(0, self.w, self.n)
        ys = self.rng.uniform(0, self.h, self.n)
        ln = self.rng.uniform(8, 22, self.n)
        val = self.rng.integers(25, 60, self.n)
        for x, y, length, v in zip(xs, ys, ln, val, strict=True):
            cv2.line(
                self.layer,
                (int(x), int(y)),
                (int(x + self.slant * length), int(y + length)),
                int(v),
                1,
                cv2.LINE_AA,
            )
        cv2.add(img, cv2.merge([self.layer, self.layer, self.layer]), dst=img)


class SensorNoise:
    """Gaussian sensor noise drawn from a small pre-computed bank at random offsets."""

    PAD = 16

    def __init__(self, rng: np.random.Generator, width: int, height: int, sigma: float) -> None:
        self.rng = rng
        self.w, self.h = width, height
        shape = (4, height + self.PAD, width + self.PAD, 3)
        noise = rng.normal(0.0, sigma, size=shape).astype(np.float32)
        self.pos = np.clip(noise, 0, 255).astype(np.uint8)
        self.neg = np.clip(-noise, 0, 255).astype(np.uint8)
        self.enabled = sigma > 0

    def apply(self, img: NDArray[np.uint8]) -> None:
        if not self.enabled:
            return
        k = int(self.rng.integers(4))
        dy, dx = (int(v) for v in self.rng.integers(0, self.PAD, size=2))
        cv2.add(img, self.pos[k, dy : dy + self.h, dx : dx + self.w], dst=img)
        cv2.subtract(img, self.neg[k, dy : dy + self.h, dx : dx + self.w], dst=img)


def draw_osd(img: NDArray[np.uint8], text: str) -> None:
    """The camera's on-screen display (name and clock), white on a dark outline."""
    scale = img.shape[1] / 1100.0
    org = (int(12 * scale * 1.6), int(26 * scale * 1.6))
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), 1, cv2.LINE_AA)
