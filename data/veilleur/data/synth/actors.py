"""Actors of a scene, as per-frame state arrays (pure data: no drawing, no randomness)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from veilleur.data.synth.camera import BoolArray, FloatArray
from veilleur.data.synth.layout import Layout
from veilleur.data.synth.params import DensityLevel, Lighting, Scenario, Weather
from veilleur.data.synth.routes import Kinematics

Colour = tuple[int, int, int]
"""BGR, 0–255."""


@dataclass
class Person:
    """A pedestrian. ``tilt`` is the body pitch: 0 upright, pi/2 lying on the ground."""

    track_id: int
    role: str
    height: float
    shoulder: float
    top: Colour
    bottom: Colour
    skin: Colour
    hair: Colour
    kin: Kinematics
    tilt: FloatArray
    sitting: bool = False
    weapon_id: int | None = None
    bicycle_id: int | None = None
    bicycle_colour: Colour = (40, 40, 40)
    arms_up: bool = False

    @property
    def present(self) -> BoolArray:
        return self.kin.present

    @property
    def lying(self) -> BoolArray:
        """Frames where the person's class is ``person_lying``."""
        result: BoolArray = self.tilt > np.radians(55.0)
        return result


@dataclass
class Bag:
    """A bag or suitcase; carried (``z`` > 0, follows its owner) then possibly dropped."""

    track_id: int
    owner_id: int | None
    pos: FloatArray
    z: FloatArray
    heading: FloatArray
    dims: tuple[float, float, float]
    colour: Colour

    @property
    def present(self) -> BoolArray:
        result: BoolArray = ~np.isnan(self.pos[:, 0])
        return result


@dataclass
class Vehicle:
    """A car or van driving along the road (or parked)."""

    track_id: int
    kin: Kinematics
    dims: tuple[float, float, float]
    colour: Colour
    van: bool = False

    @property
    def present(self) -> BoolArray:
        return self.kin.present


@dataclass
class Fire:
    """A fire on the ground with its smoke plume; flicker and smoke puffs are pre-drawn."""

    fire_id: int
    smoke_id: int
    x: float
    y: float
    size: float
    t_ignite: float
    flicker: FloatArray
    """(F, K, 4): per flame blob dx, dy (metres), height scale, colour mix."""
    puffs: FloatArray
    """(P, 7): birth time, x0, y0, rise speed, drift x, drift y, growth rate."""
    smoke_tone: int = 120
    """Grey level of the smoke (dark for burning plastics, light for vegetation)."""


@dataclass(frozen=True)
class Beacon:
    """A flashing orange light (works beacon) on a short post: a hard negative for fire."""

    x: float
    y: float
    period_s: float
    phase_s: float


@dataclass(frozen=True)
class Sign:
    """A luminous sign panel on two posts: a hard negative for fire."""

    x: float
    y: float
    colour: Colour
    width: float
    blink_s: float | None


@dataclass(frozen=True)
class Puddle:
    x: float
    y: float
    rx: float
    ry: float


@dataclass
class Facts:
    """What the scenario staged, for the event ground truth that is not a zone rule."""

    crowd_ids: list[int] = field(default_factory=list)
    rush_t: float | None = None
    abandoned: list[tuple[int, int, float]] = field(default_factory=list)
    """(bag id, owner id, drop time)."""
    falls: list[tuple[int, float]] = field(default_factory=list)
    """(person id, time at which the person is lying)."""
    weapons: list[tuple[int, int]] = field(default_factory=list)
    """(person id, weapon id)."""
    fires: list[tuple[int, int, float]] = field(default_factory=list)
    """(fire id, smoke id, ignition time)."""
    key_ids: list[int] = field(default_factory=list)
    density_group: list[int] = field(default_factory=list)
    density_threshold: int = 0
    """Lowest ``max_count`` for the density rule (the gathering exceeds it mid-clip)."""


@dataclass
class Scene:
    layout: Layout
    scenario: Scenario
    lighting: Lighting
    weather: Weather
    density: DensityLevel
    fps: float
    times: FloatArray
    persons: list[Person] = field(default_factory=list)
    bags: list[Bag] = field(default_factory=list)
    vehicles: list[Vehicle] = field(default_factory=list)
    fires: list[Fire] = field(default_factory=list)
    beacons: list[Beacon] = field(default_factory=list)
    signs: list[Sign] = field(default_factory=list)
    puddles: list[Puddle] = field(default_factory=list)
    hard_negatives: list[str] = field(default_factory=list)
    facts: Facts = field(default_factory=Facts)
    next_id: int = 1

    @property
    def n_frames(self) -> int:
        return len(self.times)

    def new_id(self) -> int:
        tid = self.next_id
        self.next_id += 1
        return tid

    def person(self, track_id: int) -> Person:
        for p in self.persons:
            if p.track_id == track_id:
                return p
        raise KeyError(track_id)
