"""Background population: passers-by, carried bags and road traffic.

Every background actor is drawn with a route that starts and ends off screen (or is already
walking at frame 0), then checked with :func:`veilleur.data.synth.routes.violates`; routes that
would raise an event are redrawn, and dropped after a few tries.
"""

from __future__ import annotations

import math

import numpy as np

from veilleur.data.synth.actors import Bag, Colour, Person, Scene, Vehicle
from veilleur.data.synth.camera import FloatArray
from veilleur.data.synth.layout import Layout
from veilleur.data.synth.routes import Kinematics, follow, violates

TOPS: tuple[Colour, ...] = (
    (40, 35, 30), (70, 45, 25), (110, 110, 110), (200, 200, 205), (40, 40, 150),
    (150, 170, 190), (50, 90, 50), (140, 80, 30), (40, 150, 200), (60, 50, 90),
    (30, 30, 30), (90, 110, 140), (170, 120, 80), (120, 60, 140),
)  # fmt: skip
BOTTOMS: tuple[Colour, ...] = (
    (110, 70, 40), (40, 35, 35), (80, 80, 80), (120, 150, 170), (60, 50, 40), (25, 25, 25),
)  # fmt: skip
SKINS: tuple[Colour, ...] = (
    (150, 180, 225), (120, 160, 205), (90, 130, 180), (60, 90, 130), (45, 65, 95),
)  # fmt: skip
HAIRS: tuple[Colour, ...] = ((25, 25, 25), (30, 45, 70), (60, 100, 150), (150, 150, 150))
CARS: tuple[Colour, ...] = (
    (200, 200, 200), (40, 40, 40), (120, 120, 120), (40, 40, 150), (140, 80, 30),
    (230, 230, 235), (60, 90, 60), (30, 60, 110),
)  # fmt: skip


def _pick(rng: np.random.Generator, options: tuple[Colour, ...]) -> Colour:
    base = options[int(rng.integers(len(options)))]
    jitter = rng.integers(-12, 13, size=3)
    return tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(base, jitter, strict=True))  # type: ignore[return-value]


def add_person(
    scene: Scene,
    rng: np.random.Generator,
    kin: Kinematics,
    role: str,
    tilt: FloatArray | None = None,
    **extra: object,
) -> Person:
    """Create a person with drawn appearance and append it to ``scene``."""
    height = float(np.clip(rng.normal(1.72, 0.08), 1.52, 1.95))
    person = Person(
        track_id=scene.new_id(),
        role=role,
        height=height,
        shoulder=0.42 * height / 1.75 * float(rng.uniform(0.9, 1.1)),
        top=_pick(rng, TOPS),
        bottom=_pick(rng, BOTTOMS),
        skin=_pick(rng, SKINS),
        hair=_pick(rng, HAIRS),
        kin=kin,
        tilt=np.zeros(scene.n_frames) if tilt is None else tilt,
        **extra,  # type: ignore[arg-type]
    )
    scene.persons.append(person)
    return person


def offscreen_bottom(lay: Layout) -> float:
    """A forward distance just behind the bottom edge where a standing person is unseen."""
    cam = lay.camera
    angle = cam.tilt + math.atan(cam.cy / cam.focal_px)
    return lay.plaza_y[0] - 2.0 / math.tan(angle) - 0.4


def offscreen_x(lay: Layout, y: float, side: int) -> float:
    """An X beyond the left (``side`` = -1) or right (+1) image edge at depth ``y``."""
    return side * (float(lay.camera.half_width_m(max(y, lay.plaza_y[0]))) + 0.9)


def far_y(lay: Layout) -> float:
    return lay.plaza_y[1] + 3.0


def random_route(rng: np.random.Generator, lay: Layout) -> list[tuple[float, float]]:
    """A passer-by's waypoints, from off screen to off screen."""
    y_near, y_far = lay.plaza_y
    x0, x1 = lay.corridor_x
    kind = rng.choice(4, p=[0.45, 0.3, 0.15, 0.1])
    if kind == 0:  # along the corridor, with the flow
        off = rng.uniform(-0.35, 0.35) * (x1 - x0)
        xc = lay.corridor_center + off
        a = (xc, offscreen_bottom(lay))
        b = (xc + rng.uniform(-0.3, 0.3), far_y(lay))
        return [a, b] if lay.flow > 0 else [b, a]
    if kind == 1:  # across the plaza
        ys = rng.uniform(y_near + 1.0, y_far)
        ye = float(np.clip(ys + rng.uniform(-4, 4), y_near + 0.5, y_far))
        s = 1 if rng.random() < 0.5 else -1
        return [(offscreen_x(lay, ys, -s), ys), (offscreen_x(lay, ye, s), ye)]
    if kind == 2:  # from the bottom edge to the far end or a side
        lo, hi = lay.x_visible(y_near + 2.0, 0.5)
        a = (rng.uniform(lo, hi), offscreen_bottom(lay))
        if rng.random() < 0.5:
            b = (rng.uniform(*lay.x_visible(y_far, 2.0)), far_y(lay))
        else:
            y = rng.uniform(y_near + 3, y_far)
            b = (offscreen_x(lay, y, 1 if rng.random() < 0.5 else -1), y)
        return [a, b] if rng.random() < 0.5 else [b, a]
    # stop for a while somewhere on the plaza
    y = rng.uniform(y_near + 1.5, y_far - 1.0)
    spot = (rng.uniform(*lay.x_visible(y, 1.5)), y)
    ya = rng.uniform(y_near, y_far)
    yb = rng.uniform(y_near, y_far)
    return [(offscreen_x(lay, ya, -1), ya), spot, (offscreen_x(lay, yb, 1), yb)]


def route_length(points: list[tuple[float, float]]) -> float:
    p = np.asarray(points)
    return float(np.hypot(*np.diff(p, axis=0).T).sum())


def add_passers_by(
    scene: Scene, rng: np.random.Generator, concurrent: int, tolerance_deg: float
) -> None:
    """About ``concurrent`` people on screen at any time, entering and leaving the view."""
    lay = scene.layout
    duration = float(scene.times[-1]) + 1.0 / scene.fps
    n_total = round(concurrent * (1.0 + duration / 18.0))
    for _ in range(n_total):
        for _attempt in range(8):
            pts = random_route(rng, lay)
            speed = float(rng.uniform(1.0, 1.6))
            waits = [0.0] * len(pts)
            if len(pts) == 3:
                waits[1] = float(rng.uniform(2.0, 10.0))
            total = route_length(pts) / speed + sum(waits)
            t0 = float(rng.uniform(-total, duration))
            kin = follow(pts, speed, t0, scene.times, waits)
            if not kin.present.any():
                break
            if not violates(lay, kin, scene.fps, tolerance_deg):
                person = add_person(scene, rng, kin, "passer-by")
                if rng.random() < 0.2:
                    add_carried_bag(scene, rng, person, trolley=rng.random() < 0.4)
                break


def add_cyclists(scene: Scene, rng: np.random.Generator, tolerance_deg: float) -> None:
    """A few cyclists: along the corridor with the flow, or on the far pavement."""
    lay = scene.layout
    duration = float(scene.times[-1]) + 1.0 / scene.fps
    x0, x1 = lay.corridor_x
    for _ in range(int(rng.choice(4, p=[0.4, 0.3, 0.2, 0.1]))):
        for _attempt in range(6):
            if lay.road_y is not None and rng.random() < 0.5:  # far pavement, side view
                y = lay.road_y[1] + 1.2
                s = 1 if rng.random() < 0.5 else -1
                pts = [(offscreen_x(lay, y, -s) - 1.0, y), (offscreen_x(lay, y, s) + 1.0, y)]
            else:
                xc = lay.corridor_center + rng.uniform(-0.3, 0.3) * (x1 - x0)
                a, b = (xc, offscreen_bottom(lay) - 1.0), (xc, far_y(lay))
                pts = [a, b] if lay.flow > 0 else [b, a]
            speed = float(rng.uniform(3.5, 6.0))
            t0 = float(rng.uniform(-route_length(pts) / speed, duration))
            kin = follow(pts, speed, t0, scene.times)
            if kin.present.any() and not violates(lay, kin, scene.fps, tolerance_deg):
                bike = scene.new_id()
                colour = FRAMES[int(rng.integers(len(FRAMES)))]
                add_person(scene, rng, kin, "cyclist", bicycle_id=bike, bicycle_colour=colour)
                break


FRAMES: tuple[Colour, ...] = ((40, 40, 40), (30, 30, 160), (150, 90, 30), (200, 200, 200))


def bag_offset(heading: FloatArray, trolley: bool) -> FloatArray:
    """Where a carried bag sits relative to its owner (ground metres)."""
    fwd = np.stack([np.cos(heading), np.sin(heading)], axis=1)
    right = np.stack([np.sin(heading), -np.cos(heading)], axis=1)
    if trolley:
        return -0.55 * fwd + 0.12 * right
    return 0.32 * right


def add_carried_bag(
    scene: Scene,
    rng: np.random.Generator,
    owner: Person,
    trolley: bool,
    drop_t: float | None = None,
) -> Bag:
    """A bag that follows ``owner``; dropped at ``drop_t`` it stays where it landed."""
    kin = owner.kin
    pos = kin.pos + bag_offset(kin.heading, trolley)
    if trolley:
        dims = (0.42, 0.26, float(rng.uniform(0.5, 0.65)))
        z = np.zeros(scene.n_frames)
    else:
        dims = (float(rng.uniform(0.4, 0.55)), 0.22, float(rng.uniform(0.3, 0.4)))
        z = np.full(scene.n_frames, 0.32 * owner.height / 1.75)
    heading = kin.heading.copy()
    if drop_t is not None:
        i = int(np.clip(np.searchsorted(scene.times, drop_t), 0, scene.n_frames - 1))
        rest = pos[i].copy()
        pos[i:] = rest
        heading[i:] = heading[i]
        fall = np.clip((scene.times - drop_t) / 0.3, 0.0, 1.0)
        z = z * (1.0 - fall)
    colour = _pick(rng, ((30, 30, 30), (40, 40, 110), (90, 60, 30), (60, 60, 60), (30, 90, 140)))
    bag = Bag(scene.new_id(), owner.track_id, pos, z, heading, dims, colour)
    scene.bags.append(bag)
    return bag


def add_traffic(scene: Scene, rng: np.random.Generator) -> None:
    """Cars and vans on the two lanes of the road, plus a few parked at the kerb."""
    lay = scene.layout
    if lay.road_y is None:
        return
    r0 = lay.road_y[0]
    duration = float(scene.times[-1]) + 1.0 / scene.fps
    for lane_y, direction in ((r0 + 3.0, 1), (r0 + 5.3, -1)):
        span = float(lay.camera.half_width_m(lane_y)) + 8.0
        speed = float(rng.uniform(6.0, 11.0))
        t = float(rng.uniform(-6.0, 2.0))
        while t < duration:
            van = rng.random() < 0.25
            dims = (5.2, 2.0, 2.3) if van else (float(rng.uniform(4.0, 4.8)), 1.8, 1.5)
            pts = [(-direction * span, lane_y), (direction * span, lane_y)]
            kin = follow(pts, speed, t, scene.times)
            if kin.present.any():
                colour = _pick(rng, CARS)
                scene.vehicles.append(Vehicle(scene.new_id(), kin, dims, colour, van))
            t += float(rng.exponential(4.0)) + 8.0 / speed
    for _ in range(int(rng.integers(0, 3))):
        x = float(rng.uniform(*lay.x_visible(r0 + 1.0, 3.0)))
        kin = follow([(x, r0 + 1.0)], 0.0, -1.0, scene.times, hold_start=True, hold_end=True)
        parked = [v for v in scene.vehicles if v.kin.speed.max() == 0]
        if any(abs(float(v.kin.pos[0, 0]) - x) < 5.5 for v in parked):
            continue
        scene.vehicles.append(Vehicle(scene.new_id(), kin, (4.4, 1.8, 1.5), _pick(rng, CARS)))
