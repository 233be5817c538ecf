"""Typed parameters of the synthetic clip generator (``synth`` section of ``params.yaml``)."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field, model_validator

Scenario = Literal[
    "intrusion",
    "line_crossing",
    "wrong_way",
    "density",
    "crowd_rush",
    "abandoned_bag",
    "weapon",
    "fall",
    "fire",
    "normal",
    "hard_negative",
]
"""What a clip shows. The first nine each stage one event type; the last two are negatives."""

SCENARIOS: tuple[Scenario, ...] = get_args(Scenario)
NEGATIVE_SCENARIOS: frozenset[str] = frozenset({"normal", "hard_negative"})

Lighting = Literal["day", "dusk", "night"]
Weather = Literal["clear", "rain", "fog"]
DensityLevel = Literal["low", "medium", "high"]


def _default_lighting() -> dict[Lighting, float]:
    return {"day": 0.6, "dusk": 0.2, "night": 0.2}


def _default_weather() -> dict[Weather, float]:
    return {"clear": 0.6, "rain": 0.2, "fog": 0.2}


def _default_density() -> dict[DensityLevel, float]:
    return {"low": 0.4, "medium": 0.4, "high": 0.2}


def _default_scenarios() -> dict[Scenario, float]:
    weights: dict[Scenario, float] = dict.fromkeys(SCENARIOS, 1.0)
    weights["hard_negative"] = 2.0
    return weights


class SynthParams(BaseModel, frozen=True, extra="forbid"):
    """Everything that shapes a synthetic bundle; same params + seed → same bytes.

    Example:
        >>> p = SynthParams(n_clips=2, seed=7, duration_s=3.0)
        >>> p.width, p.height, p.fps
        (704, 576, 12.5)
    """

    n_clips: int = Field(16, ge=1, le=100_000, description="Number of clips to generate.")
    seed: int = Field(0, ge=0, lt=2**63, description="Master seed; clip i uses (seed, i).")
    width: int = Field(704, ge=704, le=3840, description="Frame width (px, even; 4CIF = 704).")
    height: int = Field(576, ge=576, le=2160, description="Frame height (px, even; 4CIF = 576).")
    fps: float = Field(12.5, ge=12.0, le=25.0, description="Frame rate (EX-007: 12–25 fps).")
    duration_s: float = Field(12.0, ge=1.0, le=600.0, description="Clip duration in seconds.")
    scenario_weights: dict[Scenario, float] = Field(
        default_factory=_default_scenarios,
        description="Relative share of each scenario (quota allocation, then shuffled).",
    )
    lighting_weights: dict[Lighting, float] = Field(
        default_factory=_default_lighting,
        description="Relative share of each lighting condition.",
    )
    weather_weights: dict[Weather, float] = Field(
        default_factory=_default_weather,
        description="Relative share of each weather condition.",
    )
    density_weights: dict[DensityLevel, float] = Field(
        default_factory=_default_density,
        description="Relative share of each background crowd level (crowd scenarios force high).",
    )
    camera_height_m: tuple[float, float] = Field((3.0, 12.0), description="Mast height range.")
    camera_tilt_deg: tuple[float, float] = Field((15.0, 60.0), description="Tilt range (deg).")
    hfov_deg: tuple[float, float] = Field((50.0, 85.0), description="Horizontal field of view.")
    crf: int = Field(23, ge=0, le=51, description="x264 constant rate factor.")
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = Field(
        "veryfast", description="x264 preset."
    )
    noise_sigma: float = Field(2.5, ge=0.0, le=20.0, description="Sensor noise (8-bit units).")
    analysis_fps: float | None = Field(
        None, gt=0.0, description="analysis_fps written to site files (default: fps / 2)."
    )
    intrusion_min_duration_s: float = Field(0.4, ge=0.0, description="Polygon rule delay.")
    line_event_duration_s: float = Field(2.0, gt=0.0, description="GT length of a crossing.")
    wrong_way_min_s: float = Field(2.0, ge=0.0, description="Wrong-way duration before event.")
    wrong_way_tolerance_deg: float = Field(
        120.0, gt=90.0, lt=180.0, description="Motion further than this from the flow is wrong."
    )
    density_min_duration_s: float = Field(1.0, ge=0.0, description="Over-count duration.")
    abandon_distance_m: float = Field(3.0, gt=0.0, description="Owner distance for abandonment.")
    abandon_min_s: float = Field(3.0, ge=0.0, description="Owner-away time before the event.")
    fall_min_lying_s: float = Field(2.0, ge=0.0, description="Lying time before the event.")

    @model_validator(mode="after")
    def _check(self) -> SynthParams:
        if self.width % 2 or self.height % 2:
            raise ValueError("width and height must be even (H.264 yuv420p); e.g. 704×576")
        for name in ("scenario_weights", "lighting_weights", "weather_weights", "density_weights"):
            weights: dict[str, float] = getattr(self, name)
            if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
                raise ValueError(f"{name}: weights must be ≥ 0 with a positive sum")
        for name in ("camera_height_m", "camera_tilt_deg", "hfov_deg"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name}: expected 0 < low ≤ high, got ({lo}, {hi})")
        if self.camera_tilt_deg[1] >= 89:
            raise ValueError("camera_tilt_deg must stay within (0, 89) degrees")
        return self

    @classmethod
    def easy(cls, seed: int, duration_s: float = 10.0) -> SynthParams:
        """Plain conditions: daylight, clear weather, few people, a low mast (3–5 m).

        Where an off-the-shelf COCO detector (YOLOX-Nano) finds most synthetic people: used by
        the tests on real detectors and by ``veilleur bench --synthetic``.
        """
        return cls(
            seed=seed,
            duration_s=duration_s,
            lighting_weights={"day": 1.0},
            weather_weights={"clear": 1.0},
            density_weights={"low": 1.0},
            camera_height_m=(3.0, 5.0),
            camera_tilt_deg=(15.0, 25.0),
        )

    @property
    def n_frames(self) -> int:
        """Frames per clip."""
        return max(1, round(self.duration_s * self.fps))

    @property
    def site_analysis_fps(self) -> float:
        """The ``analysis_fps`` written into site files."""
        return self.analysis_fps if self.analysis_fps is not None else self.fps / 2
