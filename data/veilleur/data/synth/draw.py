"""Projection (once per clip, vectorised over frames) and drawing (per frame) of the actors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from veilleur.data.synth import geometry as g
from veilleur.data.synth.actors import Bag, Colour, Person, Vehicle
from veilleur.data.synth.bicycle import BicycleView, draw_bicycle, prepare_bicycle
from veilleur.data.synth.camera import BoolArray, FloatArray, PinholeCamera
from veilleur.data.synth.canvas import Canvas
from veilleur.data.synth.lighting import LightModel

FACE_SHADE = (0.5, 1.12, 0.85, 0.78, 0.95, 0.95)
GLASS: Colour = (70, 60, 52)
WEAPON: Colour = (28, 28, 30)


@dataclass
class Projected:
    """Per-frame pixels of an actor's 3-D points, plus light and fog at its position."""

    uv: FloatArray
    scale: FloatArray
    depth: FloatArray
    gain: FloatArray
    fog: FloatArray

    def in_view(self, cam: PinholeCamera, margin: float = 40.0) -> BoolArray:
        """Frames where all points are well in front of the camera and some may be on screen."""
        lo = self.uv.min(axis=1)
        hi = self.uv.max(axis=1)
        result: BoolArray = (
            (self.depth.min(axis=1) > 0.8)
            & (hi[:, 0] > -margin)
            & (hi[:, 1] > -margin)
            & (lo[:, 0] < cam.width + margin)
            & (lo[:, 1] < cam.height + margin)
        )
        return result


def project_points(
    cam: PinholeCamera, light: LightModel, world: FloatArray, anchor: FloatArray
) -> Projected:
    """Project ``(F, K, 3)`` points; light and fog are taken at ground ``anchor`` ``(F, 2)``."""
    uv, depth = cam.project(world)
    scale = cam.focal_px / np.maximum(depth, 1e-3)
    a = np.nan_to_num(anchor)
    dist = np.sqrt(a[:, 0] ** 2 + a[:, 1] ** 2 + cam.height_m**2)
    return Projected(uv, scale, depth, light.gain(a), light.fog(dist))


def _shadow_poly(
    centre: FloatArray, heading: FloatArray, ra: FloatArray, rb: float, offset: FloatArray
) -> FloatArray:
    ang = np.linspace(0.0, 2 * np.pi, 10, endpoint=False)
    fwd = np.stack([np.cos(heading), np.sin(heading)], axis=1)
    side = np.stack([-np.sin(heading), np.cos(heading)], axis=1)
    pts = (
        (centre + offset)[:, None, :]
        + (ra[:, None] * np.cos(ang)[None, :])[..., None] * fwd[:, None, :]
        + (rb * np.sin(ang))[None, :, None] * side[:, None, :]
    )
    z = np.zeros((*pts.shape[:2], 1))
    return np.concatenate([pts, z], axis=2)


def shade_all(
    light: LightModel, colours: list[Colour], gain: FloatArray, fog: FloatArray
) -> NDArray[np.int64]:
    """Lit and fogged colours per frame, ``(F, len(colours), 3)``."""
    base = np.asarray(colours, dtype=np.float64)[None, :, :]
    c = base * gain[:, None, :] * (1 - fog[:, None, None]) + light.fog_colour * fog[:, None, None]
    result: NDArray[np.int64] = np.clip(c, 0, 255).astype(np.int64)
    return result


@dataclass
class PersonView:
    """Everything needed to draw one person at any frame, computed once per clip."""

    person: Person
    pts: Projected
    shadow: FloatArray
    depth_key: FloatArray
    drawn: BoolArray
    colours: NDArray[np.int64]
    shadow_k: FloatArray
    left_far: BoolArray
    hair_full: BoolArray
    hair_angle: FloatArray
    widths: FloatArray
    bicycle: BicycleView | None = None


def prepare_person(
    p: Person, cam: PinholeCamera, light: LightModel, fps: float, sun: FloatArray, shadow_k: float
) -> PersonView:
    world = g.person_points(p, fps)
    pos = np.nan_to_num(p.kin.pos)
    pts = project_points(cam, light, world, pos)
    hips = (world[:, g.HIP_L, :2] + world[:, g.HIP_R, :2]) / 2
    centre = hips * np.sin(p.tilt)[:, None] + pos * np.cos(p.tilt)[:, None]
    ra = 0.3 + 0.75 * np.sin(p.tilt) * p.height / 1.75
    shadow = cam.project(_shadow_poly(centre, np.nan_to_num(p.kin.heading), ra, 0.28, sun))[0]
    depth = (pts.depth[:, g.HIP_L] + pts.depth[:, g.HIP_R]) / 2
    palette = [p.top, p.bottom, p.skin, p.hair, (25, 25, 30), WEAPON]
    heading = np.nan_to_num(p.kin.heading)
    view = pos / np.maximum(np.hypot(pos[:, 0], pos[:, 1]), 1e-6)[:, None]
    away = (np.cos(heading) * view[:, 0] + np.sin(heading) * view[:, 1] > 0.3) & (p.tilt < 0.5)
    d = pts.uv[:, g.HEAD_TOP] - pts.uv[:, g.HEAD]
    sc = pts.scale
    widths = np.stack(
        [g.LEG_WIDTH * sc[:, g.HIP_L], g.ARM_WIDTH * sc[:, g.SH_L], g.NECK_WIDTH * sc[:, g.NECK],
         g.HEAD_RADIUS * p.height / 1.75 * sc[:, g.HEAD], g.WEAPON_WIDTH * sc[:, g.GUN_A]],
        axis=1,
    )  # fmt: skip
    return PersonView(
        person=p,
        pts=pts,
        shadow=shadow,
        depth_key=depth,
        drawn=p.present & pts.in_view(cam),
        colours=shade_all(light, palette, pts.gain, pts.fog),
        shadow_k=1.0 - (1.0 - shadow_k) * (1.0 - pts.fog),
        left_far=pts.depth[:, g.SH_L] > pts.depth[:, g.SH_R],
        hair_full=away | (p.tilt > 1.2),
        hair_angle=np.degrees(np.arctan2(d[:, 1], d[:, 0])) + 90.0,
        widths=widths,
        bicycle=None
        if p.bicycle_id is None
        else prepare_bicycle(
            p, cam, shade_all(light, [(25, 25, 25), p.bicycle_colour], pts.gain, pts.fog)
        ),
    )


SIDES = (
    (g.HIP_L, g.KNEE_L, g.FOOT_L, g.SH_L, g.ELB_L, g.HAND_L),
    (g.HIP_R, g.KNEE_R, g.FOOT_R, g.SH_R, g.ELB_R, g.HAND_R),
)


def draw_person(cv: Canvas, v: PersonView, i: int) -> None:
    p = v.person
    u: list[list[float]] = v.pts.uv[i].tolist()
    top, bottom, skin, hair, shoe, weapon = (tuple(c) for c in v.colours[i].tolist())
    leg_w, arm_w, neck_w, head_r, gun_w = v.widths[i].tolist()
    cv.darken(v.shadow[i], float(v.shadow_k[i]))
    oid = p.track_id
    far, near = (SIDES[0], SIDES[1]) if v.left_far[i] else (SIDES[1], SIDES[0])
    if v.bicycle is not None:
        draw_bicycle(cv, v.bicycle, i)

    def leg(k: tuple[int, ...]) -> None:
        cv.line(u[k[0]], u[k[1]], leg_w, bottom, oid)
        cv.line(u[k[1]], u[k[2]], leg_w * 0.85, bottom, oid)
        cv.circle(u[k[2]], leg_w * 0.45, shoe, oid)

    def arm(k: tuple[int, ...]) -> None:
        cv.line(u[k[3]], u[k[4]], arm_w, top, oid)
        cv.line(u[k[4]], u[k[5]], arm_w * 0.9, top, oid)
        cv.circle(u[k[5]], arm_w * 0.45, skin, oid)

    leg(far)
    arm(far)
    leg(near)
    cv.poly(v.pts.uv[i, list(g.TORSO)], top, oid, hull=True)
    if p.weapon_id is not None:
        cv.line(u[g.GUN_A], u[g.GUN_B], gun_w, weapon, p.weapon_id)
    arm(near)
    cv.line(u[g.NECK], u[g.HEAD], neck_w, skin, oid)
    cv.circle(u[g.HEAD], head_r, skin, oid)
    if v.hair_full[i]:
        cv.circle(u[g.HEAD], head_r * 1.02, hair, oid)
    else:
        r = head_r * 1.03
        cv.ellipse(u[g.HEAD], (r, r), hair, oid, float(v.hair_angle[i]), (180.0, 360.0))


@dataclass
class BoxView:
    """A cuboid actor (bag) seen from the camera."""

    track_id: int
    corners: FloatArray
    pts: Projected
    top_visible: BoolArray
    colour: Colour
    drawn: BoolArray
    depth_key: FloatArray


def prepare_bag(b: Bag, cam: PinholeCamera, light: LightModel) -> BoxView:
    corners = g.cuboid_corners(np.nan_to_num(b.pos), b.z, np.nan_to_num(b.heading), b.dims)
    pts = project_points(cam, light, corners, b.pos)
    vis = g.visible_faces(corners, cam)
    drawn = b.present & pts.in_view(cam)
    return BoxView(b.track_id, corners, pts, vis[:, 1], b.colour, drawn, pts.depth.mean(axis=1))


def draw_bag(cv: Canvas, v: BoxView, i: int, light: LightModel) -> None:
    uv = v.pts.uv[i]
    gain, fog = v.pts.gain[i], float(v.pts.fog[i])
    cv.poly(uv, light.shade(v.colour, gain, fog), v.track_id, hull=True)
    if v.top_visible[i]:
        b0, g0, r0 = (min(255, int(c * 1.25) + 8) for c in v.colour)
        lighter: Colour = (b0, g0, r0)
        cv.poly(uv[4:8], light.shade(lighter, gain, fog), v.track_id)


@dataclass
class VehicleView:
    vehicle: Vehicle
    parts: list[tuple[Projected, BoolArray, bool]]
    wheels: list[Projected]
    lights: Projected
    depth_key: FloatArray
    drawn: BoolArray


def prepare_vehicle(v: Vehicle, cam: PinholeCamera, light: LightModel) -> VehicleView:
    length, width, height = v.dims
    pos = np.nan_to_num(v.kin.pos)
    head = np.nan_to_num(v.kin.heading)
    n = len(head)
    fwd = np.stack([np.cos(head), np.sin(head)], axis=1)
    left = np.stack([-np.sin(head), np.cos(head)], axis=1)
    z_low = np.full(n, 0.25)
    if v.van:
        body = (length, width, 0.85)
        cab_dims, cab_off, cab_z = (0.8 * length, 0.98 * width, height - 1.1), -0.08 * length, 1.1
    else:
        body = (length, width, 0.72)
        cab_dims, cab_off, cab_z = (
            (0.52 * length, 0.88 * width, height - 0.97),
            -0.06 * length,
            0.97,
        )
    parts: list[tuple[Projected, BoolArray, bool]] = []
    for centre, z0, dims, glass in (
        (pos, z_low, body, False),
        (pos + cab_off * fwd, np.full(n, cab_z), cab_dims, True),
    ):
        corners = g.cuboid_corners(centre, z0, head, dims)
        parts.append(
            (project_points(cam, light, corners, v.kin.pos), g.visible_faces(corners, cam), glass)
        )
    wheels = []
    for sx in (0.33, -0.33):
        for sy in (0.5, -0.5):
            c = pos + sx * length * fwd + sy * (width - 0.22) * left
            corners = g.cuboid_corners(c, np.zeros(n), head, (0.62, 0.22, 0.62))
            wheels.append(project_points(cam, light, corners, v.kin.pos))
    lamp_pts = []
    for sx in (0.5, -0.5):
        for sy in (0.32, -0.32):
            xy = pos + (sx * length + np.sign(sx) * 0.02) * fwd + sy * width * left
            lamp_pts.append(np.concatenate([xy, np.full((n, 1), 0.72)], axis=1))
    lights = project_points(cam, light, np.stack(lamp_pts, axis=1), v.kin.pos)
    drawn = v.present & parts[0][0].in_view(cam) & parts[1][0].in_view(cam, 1e4)
    return VehicleView(v, parts, wheels, lights, parts[0][0].depth.mean(axis=1), drawn)


def draw_vehicle(cv: Canvas, vv: VehicleView, i: int, light: LightModel) -> None:
    v = vv.vehicle
    oid = v.track_id
    body = vv.parts[0][0]
    gain, fog = body.gain[i], float(body.fog[i])
    tyre = light.shade((22, 22, 24), gain, fog)
    for w in vv.wheels:
        cv.poly(w.uv[i], tyre, oid, hull=True)
    for proj, vis, glass in vv.parts:
        uv = proj.uv[i]
        for k, face in enumerate(g.CUBOID_FACES):
            if not vis[i, k]:
                continue
            base = v.colour if (not glass or k == 1) else GLASS
            b0, g0, r0 = (min(255, int(ch * FACE_SHADE[k])) for ch in base)
            c: Colour = (b0, g0, r0)
            cv.poly(uv[list(face)], light.shade(c, gain, fog), oid)
    front_vis = vv.parts[0][1][i, 2]
    night = light.lighting != "day"
    for j in range(4):
        is_front = j < 2
        if is_front != bool(front_vis):
            continue
        colour: Colour = (235, 245, 255) if is_front else (40, 40, 210)
        uv = vv.lights.uv[i, j]
        r = 0.09 * vv.lights.scale[i, j]
        cv.circle(uv, r, colour if night else light.shade(colour, gain, fog), oid)
        if night:
            cv.glow(uv, r * 6, (90.0, 110.0, 130.0) if is_front else (10.0, 10.0, 90.0), 1.2)
