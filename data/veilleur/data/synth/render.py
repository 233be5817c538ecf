"""Frame loop: background + depth-sorted actors and scenery + effects + noise, and the boxes of
what remains visible in each frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from veilleur.data.synth.actors import Scene
from veilleur.data.synth.background import render_background
from veilleur.data.synth.camera import FloatArray
from veilleur.data.synth.canvas import Canvas
from veilleur.data.synth.draw import (
    draw_bag,
    draw_person,
    draw_vehicle,
    prepare_bag,
    prepare_person,
    prepare_vehicle,
)
from veilleur.data.synth.effects import (
    Rain,
    SensorNoise,
    draw_fire,
    draw_osd,
    draw_smoke,
    make_props,
)
from veilleur.data.synth.lighting import LightModel

PERSON, BAG, VEHICLE, PROP, FIRE = range(5)
MIN_BOX_PX = 2.0
MIN_VISIBLE_PX = 3
MIN_VISIBLE_FRACTION = 0.02
MAX_FOG = 0.85
"""Objects fogged past this blend are drawn but not annotated (nothing left to see)."""


@dataclass(frozen=True)
class Box:
    """A ground-truth box in pixels (xyxy, clipped to the image)."""

    track_id: int
    category: str
    x0: float
    y0: float
    x1: float
    y1: float


FrameSink = Callable[[NDArray[np.uint8]], None]


def _osd_clock(rng: np.random.Generator, lighting: str) -> tuple[str, int]:
    day = int(rng.integers(1, 29))
    month = int(rng.integers(5, 10))
    hour = {"day": int(rng.integers(9, 17)), "dusk": int(rng.integers(19, 21))}.get(
        lighting, int(rng.choice([22, 23, 0, 1, 2]))
    )
    start = hour * 3600 + int(rng.integers(0, 3600))
    return f"2025-{month:02d}-{day:02d}", start


def render_clip(
    scene: Scene, light: LightModel, rng: np.random.Generator, noise_sigma: float, sink: FrameSink
) -> list[list[Box]]:
    """Render every frame of ``scene`` into ``sink``; return the visible boxes per frame."""
    lay = scene.layout
    cam = lay.camera
    background = render_background(rng, scene, light)
    sun_angle = float(rng.uniform(0, 2 * math.pi))
    sun_len = {"day": 0.35, "dusk": 0.6}.get(scene.lighting, 0.0)
    sun = np.array([math.cos(sun_angle), math.sin(sun_angle)]) * sun_len
    shadow_k = {"day": 0.6, "dusk": 0.72}.get(scene.lighting, 0.82)
    persons = [prepare_person(p, cam, light, scene.fps, sun, shadow_k) for p in scene.persons]
    bags = [prepare_bag(b, cam, light) for b in scene.bags]
    vehicles = [prepare_vehicle(v, cam, light) for v in scene.vehicles]
    props = make_props(
        rng, cam, light, lay.furniture, scene.beacons, scene.signs, lay.corridor_center
    )
    noise = SensorNoise(rng, cam.width, cam.height, noise_sigma * (1.6 if light.night else 1.0))
    rain = Rain(rng, cam.width, cam.height) if scene.weather == "rain" else None
    date, clock0 = _osd_clock(rng, scene.lighting)
    kinds: dict[int, str] = {}
    for v in scene.vehicles:
        kinds[v.track_id] = "vehicle"
    for b in scene.bags:
        kinds[b.track_id] = "bag"
    for f in scene.fires:
        kinds[f.fire_id] = "fire"
        kinds[f.smoke_id] = "smoke"
    for p in scene.persons:
        kinds[p.track_id] = "person"
        if p.weapon_id is not None:
            kinds[p.weapon_id] = "weapon"
        if p.bicycle_id is not None:
            kinds[p.bicycle_id] = "bicycle"
    max_id = max(kinds, default=0) + 1
    # Fog blend of every annotated object per frame: past MAX_FOG it is drawn, not annotated.
    fog: dict[int, FloatArray] = {}
    for pv in persons:
        for oid in (pv.person.track_id, pv.person.weapon_id, pv.person.bicycle_id):
            if oid is not None:
                fog[oid] = pv.pts.fog
    for bv in bags:
        fog[bv.track_id] = bv.pts.fog
    for vv in vehicles:
        fog[vv.vehicle.track_id] = vv.parts[0][0].fog
    for f in scene.fires:
        dist = np.full(scene.n_frames, math.hypot(f.x, f.y, cam.height_m))
        fog[f.fire_id] = fog[f.smoke_id] = light.fog(dist)
    lying = {p.track_id: p.lying for p in scene.persons}
    smoke_ids = {f.smoke_id for f in scene.fires}
    fire_depth = [float(cam.depth_of_ground(f.y)) for f in scene.fires]
    frames: list[list[Box]] = []
    for i, t in enumerate(scene.times):
        t = float(t)
        cv = Canvas(background.copy())
        items: list[tuple[float, int, int]] = []
        for k, pv in enumerate(persons):
            if pv.drawn[i]:
                items.append((float(pv.depth_key[i]), PERSON, k))
        for k, bv in enumerate(bags):
            if bv.drawn[i]:
                items.append((float(bv.depth_key[i]), BAG, k))
        for k, vv in enumerate(vehicles):
            if vv.drawn[i]:
                items.append((float(vv.depth_key[i]), VEHICLE, k))
        items.extend((prop.depth, PROP, k) for k, prop in enumerate(props))
        items.extend((fire_depth[k], FIRE, k) for k in range(len(scene.fires)))
        items.sort(key=lambda it: (-it[0], it[1], it[2]))
        for _, kind, k in items:
            if kind == PERSON:
                draw_person(cv, persons[k], i)
            elif kind == BAG:
                draw_bag(cv, bags[k], i, light)
            elif kind == VEHICLE:
                draw_vehicle(cv, vehicles[k], i, light)
            elif kind == PROP:
                props[k].draw(cv, i, t)
            else:
                draw_fire(cv, cam, light, scene.fires[k], i, t)
        for fire in scene.fires:
            draw_smoke(cv, cam, light, fire, t)
        if rain is not None:
            rain.apply(cv.image)
        noise.apply(cv.image)
        secs = clock0 + int(t)
        stamp = f"{date} {secs // 3600 % 24:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        draw_osd(cv.image, f"CAM-01  {stamp}")
        foggy = {oid for oid, f in fog.items() if f[i] > MAX_FOG}
        frames.append(_visible_boxes(cv, kinds, lying, smoke_ids, foggy, i, max_id))
        sink(cv.image)
    return frames


def _visible_boxes(
    cv: Canvas,
    kinds: dict[int, str],
    lying: dict[int, NDArray[np.bool_]],
    smoke_ids: set[int],
    hidden: set[int],
    i: int,
    max_id: int,
) -> list[Box]:
    h, w = int(cv.ids.shape[0]), int(cv.ids.shape[1])
    counts = np.bincount(cv.ids.ravel(), minlength=max_id)
    boxes: list[Box] = []
    for oid in sorted(cv.boxes):
        if oid in hidden:
            continue
        x0, y0, x1, y1 = cv.boxes[oid]
        x0, y0 = max(0.0, x0), max(0.0, y0)
        x1, y1 = min(float(w), x1), min(float(h), y1)
        if x1 - x0 < MIN_BOX_PX or y1 - y0 < MIN_BOX_PX:
            continue
        area = (x1 - x0) * (y1 - y0)
        visible = int(counts[oid]) if oid < len(counts) else 0
        if oid not in smoke_ids and visible < max(MIN_VISIBLE_PX, MIN_VISIBLE_FRACTION * area):
            continue
        kind = kinds.get(oid, "person")
        if kind == "person" and bool(lying[oid][i]):
            kind = "person_lying"
        boxes.append(Box(oid, kind, x0, y0, x1, y1))
    return boxes
