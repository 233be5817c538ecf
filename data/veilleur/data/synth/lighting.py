"""Light and atmosphere: global gain and colour cast, lamp pools at night, depth fog."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from veilleur.data.synth.actors import Colour
from veilleur.data.synth.camera import FloatArray
from veilleur.data.synth.params import Lighting, Weather


@dataclass(frozen=True)
class LightModel:
    """Multiplicative BGR gain of a ground point, and the fog blend of a viewing distance."""

    lighting: Lighting
    ambient: FloatArray
    lamps: FloatArray
    lamp_gain: float
    lamp_sigma: float
    lamp_colour: FloatArray
    fog_distance: float
    fog_colour: FloatArray
    sky_top: FloatArray
    sky_horizon: FloatArray

    @property
    def night(self) -> bool:
        return self.lighting == "night"

    def gain(self, xy: FloatArray) -> FloatArray:
        """BGR gain ``(..., 3)`` at ground points ``(..., 2)``."""
        p = np.asarray(xy, dtype=np.float64)
        g = np.broadcast_to(self.ambient.astype(p.dtype), (*p.shape[:-1], 3)).copy()
        if self.lamp_gain <= 0:
            return g
        k = -1.0 / (2 * self.lamp_sigma**2)
        for lamp in self.lamps:
            d2 = (p[..., 0] - lamp[0]) ** 2 + (p[..., 1] - lamp[1]) ** 2
            w = self.lamp_gain * np.exp(d2 * k)
            g += w[..., None] * self.lamp_colour.astype(p.dtype)
        return g

    def fog(self, distance: FloatArray) -> FloatArray:
        """Fog blend factor (0 clear … 1 fog colour) for viewing distances in metres."""
        d = np.asarray(distance, dtype=np.float64)
        if not math.isfinite(self.fog_distance):
            return np.zeros_like(d)
        result: FloatArray = 1.0 - np.exp(-d / self.fog_distance)
        return result

    def shade(self, colour: Colour, gain: FloatArray, fog: float) -> Colour:
        """A lit, fogged colour."""
        c = np.asarray(colour, dtype=np.float64) * gain * (1.0 - fog) + self.fog_colour * fog
        b, g, r = np.clip(c, 0, 255).astype(int).tolist()
        return b, g, r


def make_lighting(
    rng: np.random.Generator, lighting: Lighting, weather: Weather, lamps: FloatArray
) -> LightModel:
    """Draw the light of one clip."""
    cast = 1.0 + rng.uniform(-0.04, 0.04, size=3)
    if lighting == "day":
        ambient = rng.uniform(0.92, 1.1) * cast
        lamp_gain, lamp_colour = 0.0, np.ones(3)
        sky_top, sky_hor = np.array([215.0, 175.0, 125.0]), np.array([235.0, 220.0, 205.0])
        fog_col = np.array([200.0, 200.0, 195.0])
    elif lighting == "dusk":
        ambient = rng.uniform(0.5, 0.68) * cast * np.array([0.9, 0.95, 1.1])
        lamp_gain, lamp_colour = 0.22, np.array([0.6, 0.85, 1.2])
        sky_top, sky_hor = np.array([120.0, 75.0, 65.0]), np.array([120.0, 165.0, 235.0])
        fog_col = np.array([140.0, 140.0, 150.0])
    else:
        ambient = rng.uniform(0.14, 0.22) * cast * np.array([1.3, 1.05, 0.8])
        sodium = rng.random() < 0.5
        lamp_gain = float(rng.uniform(0.55, 0.85))
        lamp_colour = np.array([0.5, 0.8, 1.25]) if sodium else np.array([1.05, 1.0, 0.95])
        sky_top, sky_hor = np.array([35.0, 18.0, 12.0]), np.array([70.0, 52.0, 45.0])
        fog_col = np.array([45.0, 45.0, 50.0])
    fog_distance = math.inf
    if weather == "fog":
        fog_distance = float(rng.uniform(12.0, 30.0))
    elif weather == "rain":
        ambient = ambient * 0.85
        fog_distance = float(rng.uniform(60.0, 100.0))
    if weather != "clear":
        grey = sky_hor.mean()
        sky_top = 0.3 * sky_top + 0.7 * grey * 0.85
        sky_hor = 0.3 * sky_hor + 0.7 * grey
    return LightModel(
        lighting=lighting,
        ambient=np.asarray(ambient, dtype=np.float64),
        lamps=np.asarray(lamps, dtype=np.float64).reshape(-1, 2),
        lamp_gain=lamp_gain,
        lamp_sigma=float(rng.uniform(4.5, 7.0)),
        lamp_colour=lamp_colour,
        fog_distance=fog_distance,
        fog_colour=fog_col,
        sky_top=sky_top,
        sky_horizon=sky_hor,
    )
