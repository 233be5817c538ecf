"""Site layout of one clip: camera, walkable plaza, road, zones and street furniture.

The plaza is split across the image into *side A* (a fenced works area: the forbidden polygon
zone), the *corridor* (a one-way walkway along the depth axis) and *side B* (the density zone,
then a painted platform-edge line that must not be crossed outwards). ``mirror`` swaps the
sides. Everything is placed in world metres, then projected: zones land on visible ground.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from veilleur.data.synth.camera import BoolArray, FloatArray, PinholeCamera

ZONE_FORBIDDEN = "zone-interdite"
ZONE_LINE = "ligne-quai"
ZONE_DENSITY = "zone-densite"
ZONE_CORRIDOR = "couloir"

FurnitureKind = Literal["lamp", "bollard", "bench", "bin", "tree", "post", "beacon", "sign"]


class LayoutError(RuntimeError):
    """The drawn camera leaves no room for the zones; the caller redraws the camera."""


@dataclass(frozen=True)
class Zone:
    """A zone of the site file: world polygon/segment and its normalised image points."""

    id: str
    kind: Literal["polygon", "line"]
    world: FloatArray
    norm: FloatArray


@dataclass(frozen=True)
class Furniture:
    """A static street-furniture item (a hard negative for the detector)."""

    kind: FurnitureKind
    x: float
    y: float
    heading: float = 0.0
    colour: tuple[int, int, int] = (90, 90, 90)


@dataclass(frozen=True)
class Layout:
    camera: PinholeCamera
    side_a: int
    plaza_y: tuple[float, float]
    road_y: tuple[float, float] | None
    facade_y: float
    corridor_x: tuple[float, float]
    corridor_y: tuple[float, float]
    flow: int
    zones: dict[str, Zone]
    line_direction: Literal["left_to_right", "right_to_left"]
    furniture: tuple[Furniture, ...]

    @property
    def side_b(self) -> int:
        return -self.side_a

    @property
    def corridor_center(self) -> float:
        return (self.corridor_x[0] + self.corridor_x[1]) / 2

    @property
    def line_x(self) -> float:
        return float(self.zones[ZONE_LINE].world[:, 0].mean())

    def x_visible(self, y: float, margin: float = 0.0) -> tuple[float, float]:
        """Visible ground X range at forward distance ``y`` (shrunk by ``margin`` metres)."""
        hw = float(self.camera.half_width_m(y)) - margin
        return -hw, hw

    def lamps(self) -> FloatArray:
        pts = [(f.x, f.y) for f in self.furniture if f.kind == "lamp"]
        return np.asarray(pts, dtype=np.float64).reshape(-1, 2)

    def allowed_direction(self) -> tuple[float, float]:
        """Corridor flow as a unit image vector (normalised coordinates, y down)."""
        ym = sum(self.corridor_y) / 2
        xc = self.corridor_center
        a, b = self.camera.project_ground(np.array([[xc, ym - self.flow], [xc, ym + self.flow]]))
        d = (b - a) / np.array([self.camera.width, self.camera.height])
        d = d / np.linalg.norm(d)
        return round(float(d[0]), 4), round(float(d[1]), 4)


def _normalise(cam: PinholeCamera, world: FloatArray) -> FloatArray:
    px = cam.project_ground(world)
    norm: FloatArray = np.round(np.clip(px / np.array([cam.width, cam.height]), 0.0, 1.0), 4)
    return norm


def _y_where_fits(cam: PinholeCamera, x_abs: float, frac: float) -> float:
    """Smallest forward distance at which ``|X| = x_abs`` is within ``frac`` of the half-width."""
    depth = x_abs / (frac * cam.cx / cam.focal_px)
    t = cam.tilt
    return (depth - cam.height_m * math.sin(t)) / math.cos(t)


def plan_layout(rng: np.random.Generator, cam: PinholeCamera) -> Layout:
    """Place plaza, road, corridor, zones and furniture for ``cam``.

    Raises:
        LayoutError: the view is too narrow or too shallow for the zones.
    """
    h_px = cam.height
    y_bottom = float(cam.ground_y_at_row(h_px))
    y_top_walk = float(cam.ground_y_at_row(0.12 * h_px))
    facade_y = float(max(rng.uniform(28.0, 60.0), y_bottom + 16.0))
    road: tuple[float, float] | None = None
    plaza_far = facade_y - 2.0
    if rng.random() < 0.65:
        r1 = facade_y - 3.0
        r0 = r1 - 7.0
        if r0 < y_top_walk and r0 - y_bottom > 12.0:
            road = (r0, r1)
            plaza_far = r0 - 0.4
    walk_far = min(plaza_far, y_top_walk, 48.0)
    if walk_far - y_bottom < 8.0:
        raise LayoutError("visible ground too shallow")
    v_far = float(cam.ground_row(walk_far))

    def world(s: float, t: float) -> FloatArray:
        return cam.ground_from_pixel(np.array([s * cam.width, h_px - t * (h_px - v_far)]))

    side_a = -1 if rng.random() < 0.5 else 1
    sb = -side_a
    # Corridor along depth, near the middle of the view.
    xc = float(world(0.5 + rng.uniform(-0.04, 0.04), 0.5)[0])
    y_mid = float(world(0.5, 0.5)[1])
    wc = float(np.clip(0.2 * 2 * cam.half_width_m(y_mid), 2.5, 6.0))
    cy0 = max(y_bottom + 0.05, _y_where_fits(cam, abs(xc) + wc / 2, 0.97))
    cy1 = float(world(0.5, 0.95)[1])
    if cy1 - cy0 < 8.0:
        raise LayoutError("corridor too short")
    corridor = np.array(
        [[xc - wc / 2, cy0], [xc + wc / 2, cy0], [xc + wc / 2, cy1], [xc - wc / 2, cy1]]
    )
    # Side A: forbidden works area at mid depth (deeper when the view is narrow).
    ta0 = rng.uniform(0.3, 0.55)
    gap_a = rng.uniform(1.2, 2.5)
    inner = xc + side_a * (wc / 2 + gap_a)
    want = rng.uniform(3.5, 7.0)
    for _ in range(12):
        zy0 = float(world(0.5, ta0)[1])
        zy1 = float(world(0.5, min(ta0 + rng.uniform(0.2, 0.3), 0.92))[1])
        reach = 0.92 * float(cam.half_width_m(zy0))
        width = min(want, reach - side_a * inner)
        if width >= 2.5 and zy1 - zy0 >= 2.5:
            break
        ta0 = min(ta0 + 0.05, 0.75)
    else:
        raise LayoutError("no room for the forbidden zone")
    outer = inner + side_a * width
    forbidden = np.array([[inner, zy0], [outer, zy0], [outer, zy1], [inner, zy1]])
    # Side B: density zone, then the platform-edge line.
    dy0 = float(world(0.5, rng.uniform(0.15, 0.25))[1])
    dy1 = float(world(0.5, rng.uniform(0.55, 0.7))[1])
    d_inner = xc + sb * (wc / 2 + 0.8)
    wd = rng.uniform(4.0, 8.0)
    gap = rng.uniform(2.0, 3.0)
    ly1 = float(world(0.5, rng.uniform(0.72, 0.85))[1])
    y_deep = float(world(0.5, 0.92)[1])
    for _ in range(10):
        x_line = d_inner + sb * (wd + gap)
        ly0 = max(float(world(0.5, 0.08)[1]), _y_where_fits(cam, abs(x_line), 0.9))
        ly1 = min(max(ly1, ly0 + 6.0), y_deep)
        dy0_fit = max(dy0, _y_where_fits(cam, abs(d_inner + sb * wd), 0.95))
        dy1 = min(max(dy1, dy0_fit + 4.0), y_deep - 1.0)
        if ly1 - ly0 >= 5.0 and dy1 - dy0_fit >= 3.0:
            break
        wd = max(2.5, wd * 0.85)
        gap = max(1.5, gap * 0.9)
    else:
        raise LayoutError("no room for the density zone and the line")
    dy0 = dy0_fit
    d_outer = d_inner + sb * wd
    density = np.array([[d_inner, dy0], [d_outer, dy0], [d_outer, dy1], [d_inner, dy1]])
    line = np.array([[x_line, ly0], [x_line, ly1]])  # points[0] near (bottom), [1] far (top)
    # Walking from the near end to the far end (upwards on screen), the right-hand side is the
    # screen's right. The outer side (beyond the line) is side B: right when side_b = +1.
    direction: Literal["left_to_right", "right_to_left"] = (
        "left_to_right" if sb > 0 else "right_to_left"
    )
    zones = {
        ZONE_FORBIDDEN: Zone(ZONE_FORBIDDEN, "polygon", forbidden, _normalise(cam, forbidden)),
        ZONE_LINE: Zone(ZONE_LINE, "line", line, _normalise(cam, line)),
        ZONE_DENSITY: Zone(ZONE_DENSITY, "polygon", density, _normalise(cam, density)),
        ZONE_CORRIDOR: Zone(ZONE_CORRIDOR, "polygon", corridor, _normalise(cam, corridor)),
    }
    for z in zones.values():
        span = z.norm.max(axis=0) - z.norm.min(axis=0)
        if z.kind == "polygon" and (span[0] < 0.04 or span[1] < 0.04):
            raise LayoutError(f"zone {z.id} too small in the image")
    layout = Layout(
        camera=cam,
        side_a=side_a,
        plaza_y=(y_bottom, walk_far),
        road_y=road,
        facade_y=facade_y,
        corridor_x=(xc - wc / 2, xc + wc / 2),
        corridor_y=(cy0, cy1),
        flow=1 if rng.random() < 0.5 else -1,
        zones=zones,
        line_direction=direction,
        furniture=(),
    )
    return _with_furniture(rng, layout)


def _with_furniture(rng: np.random.Generator, lay: Layout) -> Layout:
    items: list[Furniture] = []
    y0, y1 = lay.corridor_y
    x0, x1 = lay.corridor_x
    sa = lay.side_a
    edge_a = x0 if sa < 0 else x1
    edge_b = x1 if sa < 0 else x0
    # Lamp posts along both corridor edges.
    n_lamps = int(rng.integers(2, 5))
    for i, y in enumerate(np.linspace(y0 + 2, y1 - 2, n_lamps)):
        side_edge, s = (edge_a, sa) if i % 2 == 0 else (edge_b, -sa)
        items.append(Furniture("lamp", side_edge + s * 0.6, float(y + rng.uniform(-1, 1))))
    # Bollards lining the corridor on side A.
    if rng.random() < 0.6:
        step = rng.uniform(2.5, 4.0)
        for y in np.arange(y0 + 1.0, y1, step):
            if min(abs(y - f.y) for f in items) > 1.0:
                items.append(Furniture("bollard", edge_a + sa * 0.3, float(y), colour=(70, 70, 75)))
    # Works-area corner posts (red/white) on the forbidden zone.
    fz = lay.zones[ZONE_FORBIDDEN].world
    for x, y in fz:
        items.append(Furniture("post", float(x), float(y), colour=(40, 40, 200)))
    # Benches and bins on side A, in front of the works area.
    zy0 = float(fz[:, 1].min())
    bench_y1 = zy0 - 1.5
    lo, hi = lay.x_visible(max(lay.plaza_y[0] + 1.0, bench_y1 - 3.0), 0.8)
    for _ in range(int(rng.integers(1, 3))):
        y = rng.uniform(lay.plaza_y[0] + 1.0, max(lay.plaza_y[0] + 1.2, bench_y1))
        x = edge_a + sa * rng.uniform(1.3, 3.0)
        if lo < x < hi:
            heading = 0.0 if sa < 0 else math.pi
            colour = (40, 70, 110) if rng.random() < 0.5 else (60, 60, 60)
            items.append(Furniture("bench", float(x), float(y), heading, colour))
            items.append(Furniture("bin", float(x), float(y + 1.4), colour=(40, 80, 40)))
    # Trees on the far part of side A.
    for _ in range(int(rng.integers(0, 3))):
        y = rng.uniform(float(fz[:, 1].max()) + 2.0, lay.plaza_y[1] + 2.0)
        x = edge_a + sa * rng.uniform(2.0, 6.0)
        items.append(Furniture("tree", float(x), float(y)))
    return replace(lay, furniture=tuple(items))


def point_in_convex(poly: FloatArray, pts: FloatArray, margin: float = 0.0) -> BoolArray:
    """Whether ground points ``(N, 2)`` lie in convex ``poly`` grown by ``margin`` metres."""
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    q = np.asarray(poly, dtype=np.float64)
    a = q
    b = np.roll(q, -1, axis=0)
    d = b - a
    n = np.stack([d[:, 1], -d[:, 0]], axis=1) / np.linalg.norm(d, axis=1)[:, None]
    # orient normals outwards
    centre = q.mean(axis=0)
    sign = np.sign(((centre - a) * n).sum(axis=1))
    n = -n * sign[:, None]
    dist = ((p[:, None, :] - a[None, :, :]) * n[None, :, :]).sum(axis=2)
    result: BoolArray = np.all(dist <= margin, axis=1)
    return result
