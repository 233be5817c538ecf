"""Scenario staging: the key actors whose behaviour is the event of the clip.

Timings are relative to the clip duration (with floors and ceilings) so that short test clips
still contain their event; thresholds (lying time, abandonment delay…) come from the params.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from veilleur.data.synth.actors import Fire, Person, Scene
from veilleur.data.synth.camera import BoolArray, FloatArray
from veilleur.data.synth.layout import (
    ZONE_DENSITY,
    ZONE_FORBIDDEN,
    ZONE_LINE,
    Layout,
    point_in_convex,
)
from veilleur.data.synth.params import SynthParams
from veilleur.data.synth.population import (
    add_carried_bag,
    add_person,
    far_y,
    offscreen_bottom,
    offscreen_x,
    random_route,
    route_length,
)
from veilleur.data.synth.routes import Kinematics, follow, violates

Points = list[tuple[float, float]]


def duration(scene: Scene) -> float:
    return float(scene.times[-1]) + 1.0 / scene.fps


def free_spot(
    rng: np.random.Generator,
    lay: Layout,
    t_range: tuple[float, float] = (0.05, 0.95),
    avoid_corridor: bool = True,
) -> tuple[float, float]:
    """A visible plaza point away from zones, the line, the corridor and furniture."""
    y_near, y_far = lay.plaza_y
    for _ in range(200):
        y = y_near + 1.0 + (y_far - y_near - 2.0) * rng.uniform(*t_range)
        x = float(rng.uniform(*lay.x_visible(y, 1.2)))
        p = np.array([[x, y]])
        if point_in_convex(lay.zones[ZONE_FORBIDDEN].world, p, 1.5).any():
            continue
        line = lay.zones[ZONE_LINE].world
        if lay.side_b * (x - line[0, 0]) > -1.0 and line[0, 1] - 2 < y < line[1, 1] + 2:
            continue
        if avoid_corridor and lay.corridor_x[0] - 0.5 < x < lay.corridor_x[1] + 0.5:
            continue
        if any(math.hypot(f.x - x, f.y - y) < 1.5 for f in lay.furniture):
            continue
        return x, y
    raise RuntimeError("no free spot on this plaza")


def arrival_time(points: Points, speed: float, waits: list[float] | None, index: int) -> float:
    """Time (from the route start) at which waypoint ``index`` is reached."""
    p = np.asarray(points)
    legs = np.hypot(*np.diff(p, axis=0).T)
    w = waits or [0.0] * len(points)
    return float(legs[:index].sum() / speed + sum(w[:index]))


def first_time(
    kin_at: Callable[[float], Kinematics],
    times: FloatArray,
    test: Callable[[FloatArray], BoolArray],
) -> float:
    """First time of ``times`` where ``test(pos)`` holds for the route started at 0."""
    kin = kin_at(0.0)
    ok = kin.present & np.asarray(test(np.nan_to_num(kin.pos)), dtype=bool)
    idx = np.flatnonzero(ok)
    if len(idx) == 0:
        raise RuntimeError("the staged route never meets its goal")
    return float(times[idx[0]])


def _fine_times(points: Points, speed: float, waits: list[float] | None) -> FloatArray:
    total = route_length(points) / speed + sum(waits or []) + 1.0
    return np.arange(0.0, total, 0.02)


def stage_intrusion(scene: Scene, rng: np.random.Generator, p: SynthParams) -> None:
    lay = scene.layout
    zone = lay.zones[ZONE_FORBIDDEN].world
    inner, outer = float(zone[0, 0]), float(zone[1, 0])
    zy0, zy1 = float(zone[0, 1]), float(zone[2, 1])
    target = (
        inner + (outer - inner) * rng.uniform(0.3, 0.7),
        zy0 + (zy1 - zy0) * rng.uniform(0.3, 0.7),
    )
    y_exit = zy0 + (zy1 - zy0) * rng.uniform(0.2, 0.8)
    exit_pt = (offscreen_x(lay, y_exit, lay.side_a), y_exit)
    if lay.flow > 0 and rng.random() < 0.6:
        xc = lay.corridor_center
        pts: Points = [(xc, offscreen_bottom(lay)), (xc, target[1]), target, exit_pt]
    else:
        y_in = zy0 + (zy1 - zy0) * rng.uniform(0.2, 0.8)
        pts = [(offscreen_x(lay, y_in, lay.side_a), y_in), target, exit_pt]
    speed = float(rng.uniform(1.0, 1.4))
    waits = [0.0] * len(pts)
    waits[-2] = float(rng.uniform(1.5, 3.5))
    fine = _fine_times(pts, speed, waits)
    t_in = first_time(
        lambda t0: follow(pts, speed, t0, fine, waits),
        fine,
        lambda pos: point_in_convex(zone, pos, -0.3),
    )
    t_entry = float(np.clip(0.25 * duration(scene), 0.3, 4.0))
    kin = follow(pts, speed, t_entry - t_in, scene.times, waits)
    person = add_person(scene, rng, kin, "intruder")
    scene.facts.key_ids.append(person.track_id)


def line_crossers(
    scene: Scene, rng: np.random.Generator, forbidden: bool, t_cross: float
) -> Person:
    """A person crossing the platform line outwards (``forbidden``) or inwards."""
    lay = scene.layout
    line = lay.zones[ZONE_LINE].world
    xl, ly0, ly1 = float(line[0, 0]), float(line[0, 1]), float(line[1, 1])
    sb = lay.side_b
    yc = ly0 + (ly1 - ly0) * rng.uniform(0.3, 0.7)
    inside_pt = (xl - sb * 1.0, yc - rng.uniform(0.5, 1.5))
    outside_pt = (xl + sb * 1.8, yc + rng.uniform(-0.5, 0.5))
    far_out = (offscreen_x(lay, yc, sb), yc + rng.uniform(-1.0, 1.0))
    start_in = (xl - sb * 1.0, offscreen_bottom(lay))
    pts: Points = [start_in, inside_pt, outside_pt, far_out]
    if not forbidden:
        pts = pts[::-1]
    speed = float(rng.uniform(1.0, 1.4))
    fine = _fine_times(pts, speed, None)
    side0 = np.sign(pts[0][0] - xl)
    t_at = first_time(
        lambda t0: follow(pts, speed, t0, fine), fine, lambda pos: np.sign(pos[:, 0] - xl) != side0
    )
    kin = follow(pts, speed, t_cross - t_at, scene.times)
    return add_person(scene, rng, kin, "line-crosser" if forbidden else "line-crosser-allowed")


def stage_line_crossing(scene: Scene, rng: np.random.Generator, p: SynthParams) -> None:
    d = duration(scene)
    person = line_crossers(scene, rng, True, float(np.clip(0.3 * d, 0.4, 5.0)))
    scene.facts.key_ids.append(person.track_id)
    if rng.random() < 0.6 and d > 4.0:
        line_crossers(scene, rng, False, float(np.clip(0.7 * d, 1.0, d - 1.0)))
        scene.hard_negatives.append("line_allowed_crossing")


def corridor_route(lay: Layout, rng: np.random.Generator, with_flow: bool) -> Points:
    x0, x1 = lay.corridor_x
    xc = lay.corridor_center + rng.uniform(-0.3, 0.3) * (x1 - x0)
    a = (xc, offscreen_bottom(lay))
    b = (xc + rng.uniform(-0.2, 0.2), far_y(lay))
    forward = lay.flow > 0
    return [a, b] if forward == with_flow else [b, a]


def stage_wrong_way(scene: Scene, rng: np.random.Generator, p: SynthParams) -> None:
    lay = scene.layout
    d = duration(scene)
    for _ in range(int(rng.integers(6, 11))):
        pts = corridor_route(lay, rng, with_flow=True)
        speed = float(rng.uniform(1.1, 1.6))
        t0 = float(rng.uniform(-route_length(pts) / speed, d))
        add_person(scene, rng, follow(pts, speed, t0, scene.times), "flow")
    pts = corridor_route(lay, rng, with_flow=False)
    speed = float(rng.uniform(1.2, 1.5))
    y_start = lay.corridor_y[1] if lay.flow > 0 else lay.corridor_y[0]
    y_mid = y_start - lay.flow * 0.25 * (lay.corridor_y[1] - lay.corridor_y[0])
    walked = abs(y_mid - pts[0][1])
    kin = follow(pts, speed, -walked / speed, scene.times)
    scene.facts.key_ids.append(add_person(scene, rng, kin, "wrong-way").track_id)


def zone_spots(
    rng: np.random.Generator, lay: Layout, poly: FloatArray, n: int, spacing: float
) -> Points:
    """Up to ``n`` points inside convex ``poly``, ``spacing`` apart and clear of furniture."""
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    spots: Points = []
    for _ in range(60 * n):
        q = rng.uniform(lo, hi)
        if not point_in_convex(poly, q[None, :], -0.3).any():
            continue
        if any(math.hypot(f.x - q[0], f.y - q[1]) < 0.9 for f in lay.furniture):
            continue
        if all(math.hypot(q[0] - s[0], q[1] - s[1]) >= spacing for s in spots):
            spots.append((float(q[0]), float(q[1])))
            if len(spots) == n:
                break
    return spots


def standing(scene: Scene, spot: tuple[float, float], heading: float) -> Kinematics:
    kin = follow([spot], 0.0, -1.0, scene.times, hold_start=True, hold_end=True)
    return Kinematics(kin.pos, np.full(scene.n_frames, heading), kin.speed, kin.dist)


def stage_density(scene: Scene, rng: np.random.Generator, p: SynthParams) -> None:
    lay = scene.layout
    d = duration(scene)
    spots = zone_spots(rng, lay, lay.zones[ZONE_DENSITY].world, int(rng.integers(11, 17)), 0.6)
    for spot in spots:
        for _ in range(10):
            pts = random_route(rng, lay)
            pts = [pts[0], spot]
            speed = float(rng.uniform(1.1, 1.5))
            arrive = float(rng.uniform(0.05, 0.55)) * d
            kin = follow(pts, speed, arrive - route_length(pts) / speed, scene.times, hold_end=True)
            if not violates(lay, kin, scene.fps, p.wrong_way_tolerance_deg, zone_margin=0.8):
                break
        else:
            kin = standing(scene, spot, float(rng.uniform(-math.pi, math.pi)))
        person = add_person(scene, rng, kin, "gathering")
        scene.facts.density_group.append(person.track_id)
    scene.facts.density_threshold = math.ceil(0.6 * len(spots))


def stage_crowd_rush(scene: Scene, rng: np.random.Generator, p: SynthParams) -> None:
    lay = scene.layout
    d = duration(scene)
    zone = lay.zones[ZONE_DENSITY].world
    spots = zone_spots(rng, lay, zone, int(rng.integers(14, 27)), 0.55)
    centre = np.mean(np.asarray(spots), axis=0)
    origin = centre + rng.normal(0.0, 1.0, size=2)
    t_rush = float(np.clip(0.4 * d, 0.8, 8.0))
    scene.facts.rush_t = t_rush
    for spot in spots:
        away = np.asarray(spot) - origin
        base = math.atan2(away[1], away[0])
        delay = float(rng.uniform(0.0, 0.4))
        run_speed = float(rng.uniform(3.5, 5.5))
        kin = None
        for attempt in range(12):
            ang = base + rng.normal(0.0, 0.35) + (attempt // 2) * 0.5 * (-1) ** attempt
            direction = np.array([math.cos(ang), math.sin(ang)])
            run = float(rng.uniform(8.0, 16.0))
            p1 = np.asarray(spot) + direction * run
            p2 = p1 + direction * 30.0
            pts: Points = [spot, (float(p1[0]), float(p1[1])), (float(p2[0]), float(p2[1]))]
            cand = follow(pts, [run_speed, 1.8], 0.0, scene.times, [t_rush + delay, 0.0, 0.0], True)
            if not violates(lay, cand, scene.fps, p.wrong_way_tolerance_deg, zone_margin=0.8):
                kin = cand
                break
        if kin is None:
            kin = standing(scene, spot, base)
        heading = kin.heading.copy()
        heading[scene.times < t_rush + delay] = float(rng.uniform(-math.pi, math.pi))
        kin = Kinematics(kin.pos, heading, kin.speed, kin.dist)
        scene.facts.crowd_ids.append(add_person(scene, rng, kin, "crowd").track_id)


def stage_abandoned_bag(scene: Scene, rng: np.random.Generator, p: SynthParams) -> None:
    lay = scene.layout
    d = duration(scene)
    drop = free_spot(rng, lay, (0.1, 0.6))
    for _ in range(20):
        start = random_route(rng, lay)[0]
        y_exit = float(rng.uniform(*lay.plaza_y))
        side = 1 if drop[0] < 0 else -1
        exit_pt = (offscreen_x(lay, y_exit, side), y_exit)
        pts: Points = [start, drop, exit_pt]
        waits = [0.0, 1.2, 0.0]
        speed = float(rng.uniform(1.2, 1.5))
        t_arrive = float(np.clip(0.15 * d, 0.3, 4.0))
        t0 = t_arrive - arrival_time(pts, speed, waits, 1)
        kin = follow(pts, speed, t0, scene.times, waits)
        if not violates(lay, kin, scene.fps, p.wrong_way_tolerance_deg):
            break
    owner = add_person(scene, rng, kin, "owner")
    bag = add_carried_bag(scene, rng, owner, trolley=rng.random() < 0.5, drop_t=t_arrive + 0.5)
    scene.facts.abandoned.append((bag.track_id, owner.track_id, t_arrive + 0.5))
    scene.facts.key_ids.append(owner.track_id)


def stage_weapon(scene: Scene, rng: np.random.Generator, p: SynthParams) -> None:
    lay = scene.layout
    y_near, y_far = lay.plaza_y
    for _ in range(20):
        ys = y_near + (y_far - y_near) * rng.uniform(0.1, 0.55)
        ye = ys + rng.uniform(-2.0, 2.0)
        s = 1 if rng.random() < 0.5 else -1
        pts: Points = [(offscreen_x(lay, ys, -s), ys), (offscreen_x(lay, ye, s), ye)]
        if rng.random() < 0.3:
            pts = corridor_route(lay, rng, with_flow=True)
        speed = float(rng.uniform(1.0, 1.4))
        t0 = -rng.uniform(0.2, 0.4) * route_length(pts) / speed
        kin = follow(pts, speed, t0, scene.times)
        if not violates(lay, kin, scene.fps, p.wrong_way_tolerance_deg):
            break
    person = add_person(scene, rng, kin, "armed", weapon_id=scene.new_id())
    assert person.weapon_id is not None
    scene.facts.weapons.append((person.track_id, person.weapon_id))


def stage_fall(scene: Scene, rng: np.random.Generator, p: SynthParams) -> None:
    lay = scene.layout
    d = duration(scene)
    spot = free_spot(rng, lay, (0.1, 0.6), avoid_corridor=False)
    t_fall = float(np.clip(0.2 * d, 0.5, 5.0))
    for _ in range(20):
        start = random_route(rng, lay)[0]
        pts: Points = [start, spot]
        speed = float(rng.uniform(1.0, 1.4))
        kin = follow(pts, speed, t_fall - route_length(pts) / speed, scene.times, hold_end=True)
        if not violates(lay, kin, scene.fps, p.wrong_way_tolerance_deg):
            break
    ease = np.clip((scene.times - t_fall) / 0.8, 0.0, 1.0) ** 2
    tilt = ease * (math.pi / 2)
    person = add_person(scene, rng, kin, "faller", tilt=tilt)
    lying = np.flatnonzero(person.lying)
    t_lying = float(scene.times[lying[0]]) if len(lying) else math.inf
    scene.facts.falls.append((person.track_id, t_lying))
    scene.facts.key_ids.append(person.track_id)


def add_fire(
    scene: Scene, rng: np.random.Generator, spot: tuple[float, float], t_ignite: float
) -> Fire:
    size = float(rng.uniform(0.7, 1.3))
    n, k = scene.n_frames, 9
    flicker = np.empty((n, k, 4))
    flicker[..., 0:2] = rng.normal(0.0, 0.22 * size, size=(n, k, 2))
    flicker[..., 2] = rng.uniform(0.55, 1.25, size=(n, k))
    flicker[..., 3] = rng.uniform(0.0, 1.0, size=(n, k))
    d = duration(scene)
    births = np.arange(t_ignite + 0.4, d, 1.0 / 7.0)
    m = len(births)
    wind = rng.uniform(-0.7, 0.7, size=2)
    puffs = np.column_stack(
        [
            births,
            spot[0] + rng.normal(0.0, 0.15 * size, m),
            spot[1] + rng.normal(0.0, 0.15 * size, m),
            rng.uniform(0.6, 1.1, m),
            wind[0] + rng.normal(0.0, 0.15, m),
            wind[1] + rng.normal(0.0, 0.15, m),
            rng.uniform(0.2, 0.4, m),
        ]
    )
    tone = int(rng.integers(45, 150))
    fire = Fire(
        scene.new_id(), scene.new_id(), spot[0], spot[1], size, t_ignite, flicker, puffs, tone
    )
    scene.fires.append(fire)
    return fire


def stage_fire(scene: Scene, rng: np.random.Generator, p: SynthParams) -> None:
    spot = free_spot(rng, scene.layout, (0.1, 0.7))
    t_ignite = float(np.clip(0.1 * duration(scene), 0.0, 3.0))
    fire = add_fire(scene, rng, spot, t_ignite)
    scene.facts.fires.append((fire.fire_id, fire.smoke_id, t_ignite))


STAGERS: dict[str, Callable[[Scene, np.random.Generator, SynthParams], None]] = {
    "intrusion": stage_intrusion,
    "line_crossing": stage_line_crossing,
    "wrong_way": stage_wrong_way,
    "density": stage_density,
    "crowd_rush": stage_crowd_rush,
    "abandoned_bag": stage_abandoned_bag,
    "weapon": stage_weapon,
    "fall": stage_fall,
    "fire": stage_fire,
}
"""Scenario name → function adding its key actors (the explicit registry)."""
