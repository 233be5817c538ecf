"""The static background of a clip: paved plaza, road, painted markings, facades and sky.

Rendered once per clip at twice the resolution (per-pixel ray casting against the ground and
the facade plane), lit and fogged, then area-downsampled: distant paving lines fade out
instead of aliasing.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from veilleur.data.synth.actors import Scene
from veilleur.data.synth.camera import FloatArray
from veilleur.data.synth.layout import ZONE_FORBIDDEN, ZONE_LINE
from veilleur.data.synth.lighting import LightModel

SS = 2  # supersampling factor
F32 = NDArray[np.float32]


def _value_noise(rng: np.random.Generator, x: F32, y: F32, cell: float) -> F32:
    """Smooth noise in [-1, 1] anchored to world points (bicubic over a wrapped random grid)."""
    n = 64
    grid = rng.uniform(-1.0, 1.0, size=(n, n)).astype(np.float32)
    # BORDER_WRAP tiles the grid, so world coordinates need no modulo.
    mx = (x * np.float32(1.0 / cell)).astype(np.float32, copy=False)
    my = (y * np.float32(1.0 / cell)).astype(np.float32, copy=False)
    result: F32 = np.clip(
        cv2.remap(grid, mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_WRAP), -1.0, 1.0
    )
    return result


def _grid_lines(coord: F32, period: float, width: float, footprint: F32) -> F32:
    """Coverage (0–1) of lines of ``width`` every ``period`` metres, box-filtered."""
    d = np.abs(np.mod(coord + width / 2, period) - width / 2)
    cov = np.clip(0.5 + (width / 2 - d) / np.maximum(footprint, 1e-6), 0.0, 1.0)
    result: F32 = (cov * np.clip(2.5 * width / np.maximum(footprint, width), 0.0, 1.0)).astype(
        np.float32
    )
    return result


def _fill_world(
    mask: NDArray[np.uint8], scene: Scene, polygon: FloatArray, value: int = 255
) -> NDArray[np.uint8]:
    """Rasterise a ground polygon (world metres) into a supersampled mask."""
    px = scene.layout.camera.project_ground(polygon) * SS
    pts = np.round(np.clip(px, -1e5, 1e5) * 8).astype(np.int32)
    cv2.fillPoly(mask, [pts], value, cv2.LINE_AA, 3)
    return mask


def _strip(a: tuple[float, float], b: tuple[float, float], width: float) -> FloatArray:
    d = np.subtract(b, a)
    n = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-9) * width / 2
    return np.array([np.add(a, n), np.add(b, n), np.subtract(b, n), np.subtract(a, n)])


def _arrow(x: float, y: float, direction: int, length: float = 1.8) -> FloatArray:
    s = direction
    pts = [(-0.12, -length / 2), (0.12, -length / 2), (0.12, length / 6), (0.3, length / 6),
           (0.0, length / 2), (-0.3, length / 6), (-0.12, length / 6)]  # fmt: skip
    return np.array([(x + px, y + s * py) for px, py in pts])


def _paint(
    img: F32,
    mask: NDArray[np.uint8],
    colour: tuple[float, float, float] | F32,
    alpha: float,
    texture: F32 | None = None,
) -> None:
    """Blend ``colour`` (times ``texture``) into ``img`` where ``mask`` is set (ROI only)."""
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0 or h == 0:
        return
    roi = img[y : y + h, x : x + w]
    a = (mask[y : y + h, x : x + w].astype(np.float32) * (alpha / 255.0))[..., None]
    paint = np.asarray(colour, dtype=np.float32)
    if texture is not None:
        paint = paint * texture[y : y + h, x : x + w, None]
    roi *= 1 - a
    roi += a * paint


def render_background(
    rng: np.random.Generator, scene: Scene, light: LightModel
) -> NDArray[np.uint8]:
    """The lit background image ``(H, W, 3)`` uint8 (BGR)."""
    lay = scene.layout
    cam = lay.camera
    w2, h2 = cam.width * SS, cam.height * SS
    xn = ((np.arange(w2) + 0.5) / SS - cam.cx) / cam.focal_px
    yn = ((np.arange(h2) + 0.5) / SS - cam.cy) / cam.focal_px
    s, c = math.sin(cam.tilt), math.cos(cam.tilt)
    denom = yn * c + s
    with np.errstate(divide="ignore", invalid="ignore"):
        lam_g = np.where(denom > 1e-6, cam.height_m / denom, np.inf)
        y_row = lam_g * (c - yn * s)
        fwd = c - yn * s
        lam_f = np.where(fwd > 1e-6, lay.facade_y / fwd, np.inf)
    z_row = cam.height_m - lam_f * (yn * c + s)
    ground_row = (denom > 1e-6) & (y_row <= lay.facade_y)
    lam_g_fin = np.where(ground_row, lam_g, 0.0)
    gx = (lam_g_fin[:, None] * xn[None, :]).astype(np.float32)
    gy = np.broadcast_to(np.where(ground_row, y_row, 0.0)[:, None], gx.shape).astype(np.float32)
    foot_row = (lam_g_fin / cam.focal_px / SS).astype(np.float32)
    foot = np.broadcast_to(foot_row[:, None], gx.shape)
    foot_y_row = (foot_row / np.maximum(np.abs(denom), 0.05)).astype(np.float32)
    foot_y = np.broadcast_to(foot_y_row[:, None], gx.shape)
    img = np.zeros((h2, w2, 3), dtype=np.float32)
    # --- ground: paving
    tile = float(rng.uniform(0.45, 1.0))
    base = np.array(
        [(160, 165, 170), (150, 170, 185), (135, 140, 145), (120, 140, 160)][int(rng.integers(4))],
        dtype=np.float32,
    ) * float(rng.uniform(0.9, 1.05))
    bond = 0.5 * (np.floor(gy / tile) % 2) if rng.random() < 0.5 else 0.0
    tx = np.floor(gx / tile + bond)
    ty = np.floor(gy / tile)
    tile_var = (
        ((tx * 73856093).astype(np.int64) ^ (ty * 19349663).astype(np.int64)) & 1023
    ) / 1023.0
    shade = 0.93 + 0.12 * tile_var.astype(np.float32)
    shade += 0.08 * _value_noise(rng, gx, gy, 3.0) + 0.04 * _value_noise(rng, gx, gy, 0.7)
    lines = np.maximum(
        _grid_lines(gx + bond * tile, tile, 0.025, foot),
        _grid_lines(gy, tile, 0.025, foot_y),
    )
    shade *= 1 - 0.35 * lines
    if scene.weather == "rain":
        shade *= 0.75
    img[:] = base * shade[..., None]
    grain = rng.standard_normal(size=(h2, w2, 1), dtype=np.float32) * np.float32(4.0)
    img += grain
    # --- road, kerbs, lane markings
    if lay.road_y is not None:
        r0, r1 = lay.road_y
        road = (gy > r0) & (gy < r1)
        asphalt = 72 + 10 * _value_noise(rng, gx, gy, 2.0) + grain[..., 0] * 1.5
        img[road] = asphalt[road, None] * np.array([1.0, 1.0, 1.03], dtype=np.float32)
        kerb = ((gy > r0 - 0.2) & (gy <= r0)) | ((gy >= r1) & (gy < r1 + 0.2))
        img[kerb] = (175.0, 178.0, 180.0)
        dash = (np.mod(gx, 6.0) < 3.0) & (np.abs(gy - (r0 + 4.15)) < 0.07)
        img[dash & road] = (215.0, 215.0, 215.0)
    # --- painted markings and zone surfaces
    mask = np.zeros((h2, w2), dtype=np.uint8)
    fz = lay.zones[ZONE_FORBIDDEN].world
    surface = (70.0, 110.0, 85.0) if rng.random() < 0.5 else (95.0, 120.0, 130.0)
    _fill_world(mask, scene, fz)
    texture = 1.0 + 0.25 * _value_noise(rng, gx, gy, 0.25)
    _paint(img, mask, surface, 1.0, texture)
    mask[:] = 0
    for i in range(4):
        p0, p1 = fz[i], fz[(i + 1) % 4]
        _fill_world(mask, scene, _strip(tuple(p0), tuple(p1), 0.16))
    _paint(img, mask, (30.0, 200.0, 230.0), 0.9)
    mask[:] = 0
    (x0, x1), (y0, y1) = lay.corridor_x, lay.corridor_y
    for x in (x0, x1):
        _fill_world(mask, scene, _strip((x, y0), (x, y1), 0.12))
    for y in np.arange(y0 + 3.0, y1 - 1.0, float(rng.uniform(6.0, 9.0))):
        _fill_world(mask, scene, _arrow((x0 + x1) / 2, float(y), lay.flow))
    _paint(img, mask, (225.0, 225.0, 225.0), 0.75)
    mask[:] = 0
    line = lay.zones[ZONE_LINE].world
    xl, ly0, ly1 = float(line[0, 0]), float(line[0, 1]), float(line[1, 1])
    outer = np.array(
        [[xl, ly0], [xl + lay.side_b * 3.0, ly0], [xl + lay.side_b * 3.0, ly1], [xl, ly1]]
    )
    _fill_world(mask, scene, outer)
    _paint(img, mask, (85.0, 85.0, 90.0), 0.8)
    mask[:] = 0
    _fill_world(mask, scene, _strip((xl, ly0), (xl, ly1), 0.2))
    _paint(img, mask, (20.0, 210.0, 240.0), 0.95)
    mask[:] = 0
    # --- light on the ground
    img *= light.gain(np.stack([gx, gy], axis=-1)).astype(np.float32)
    mask[:] = 0
    for pud in scene.puddles:
        ang = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        poly = np.stack([pud.x + pud.rx * np.cos(ang), pud.y + pud.ry * np.sin(ang)], axis=1)
        _fill_world(mask, scene, poly)
    if scene.puddles:
        mask = np.asarray(cv2.GaussianBlur(mask, (0, 0), 2.0), dtype=np.uint8)
        sky = light.sky_horizon * 0.8 + 0.2 * light.sky_top
        _paint(img, mask, (float(sky[0]), float(sky[1]), float(sky[2])), 0.55)
    # --- facade and sky, on the rows above the visible ground
    top = int(np.argmax(ground_row)) if ground_row.any() else h2
    if top > 0:
        _facade_and_sky(rng, scene, light, img[:top], xn, yn[:top], lam_f[:top], z_row[:top])
    # --- fog by viewing distance
    if math.isfinite(light.fog_distance):
        ray = np.sqrt(xn[None, :] ** 2 + yn[:, None] ** 2 + 1.0).astype(np.float32)
        lam = np.where(ground_row, lam_g_fin, lam_f).astype(np.float32)
        fog = light.fog((lam[:, None] * ray).astype(np.float64)).astype(np.float32)
        if top > 0:
            sky = np.all(img[:top] < 0, axis=2)
            fog[:top][sky] = 1.0
        img *= 1 - fog[..., None]
        img += light.fog_colour.astype(np.float32) * fog[..., None]
    np.maximum(img, 0, out=img)
    small = cv2.resize(img, (cam.width, cam.height), interpolation=cv2.INTER_AREA)
    yy, xx = np.mgrid[0 : cam.height, 0 : cam.width].astype(np.float32)
    r2 = ((xx - cam.cx) / cam.cx) ** 2 + ((yy - cam.cy) / cam.cy) ** 2
    small *= (1.0 - 0.12 * r2)[..., None]
    return np.clip(small, 0, 255).astype(np.uint8)


def _facade_and_sky(
    rng: np.random.Generator,
    scene: Scene,
    light: LightModel,
    img: F32,
    xn: FloatArray,
    yn: FloatArray,
    lam_f: FloatArray,
    z_row: FloatArray,
) -> None:
    """Building fronts on the plane ``Y = facade_y`` and the sky above them (in place).

    Sky pixels are left negative (-1) when there is fog, so that the fog pass turns them into
    the fog colour.
    """
    h2 = img.shape[0]
    fac_rows = np.isfinite(lam_f) & (z_row >= 0)
    fx = (np.where(fac_rows, lam_f, 0.0)[:, None] * xn[None, :]).astype(np.float32)
    fz = np.broadcast_to(np.where(fac_rows, z_row, 0.0)[:, None], fx.shape).astype(np.float32)
    edges = np.cumsum(rng.uniform(8.0, 20.0, size=60)) - 250.0
    idx = np.searchsorted(edges, fx)
    heights = rng.uniform(7.0, 22.0, size=61).astype(np.float32)
    palette = np.array(
        [(150, 180, 200), (140, 140, 140), (70, 90, 150), (195, 200, 205), (110, 130, 150)],
        dtype=np.float32,
    )
    colours = palette[rng.integers(len(palette), size=61)]
    facade = fac_rows[:, None] & (fz <= heights[idx])
    wx = np.mod(fx, 2.6) / 2.6
    wz = np.mod(fz, 3.1) / 3.1
    window = (wx > 0.28) & (wx < 0.72) & (wz > 0.3) & (wz < 0.8) & (fz > 3.2)
    shop = (fz > 0.2) & (fz < 2.8) & (wx > 0.08) & (wx < 0.92)
    fcol = colours[idx] * (0.9 + 0.1 * _value_noise(rng, fx, fz, 1.5))[..., None]
    glass = np.array([95.0, 85.0, 75.0], dtype=np.float32)
    fcol = np.where((window | shop)[..., None], glass, fcol)
    fcol = fcol * light.ambient.astype(np.float32)
    if light.night:
        lit_seed = rng.random(size=4096) < 0.35
        cell = (
            np.floor(fx / 2.6).astype(np.int64) * 31 + np.floor(fz / 3.1).astype(np.int64)
        ) % 4096
        shop_lit = rng.random(size=61) < 0.5
        lit = (window & lit_seed[cell]) | (shop & shop_lit[idx])
        fcol = np.where(lit[..., None], np.array([110.0, 190.0, 240.0], dtype=np.float32), fcol)
    img[facade] = fcol[facade]
    sky = ~facade
    if math.isfinite(light.fog_distance):
        img[sky] = -1.0
        return
    cam = scene.layout.camera
    v = np.arange(h2, dtype=np.float32) / (cam.height * SS)
    horizon = float(np.clip(cam.horizon_row / cam.height, 0.05, 1.0))
    tgrad = np.clip(v / horizon, 0.0, 1.0)[:, None, None]
    sky_img = (light.sky_top * (1 - tgrad) + light.sky_horizon * tgrad).astype(np.float32)
    img[sky] = np.broadcast_to(sky_img, img.shape)[sky]
