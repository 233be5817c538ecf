"""Crowd movement (mouvement de foule): sudden collective motion inside a zone."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from veilleur.runtime.analytics.base import NO_CUES, RuleHit, SceneCues, box_tuple
from veilleur.runtime.analytics.motion import MotionHistory, Span, spread_rate_mps
from veilleur.runtime.core.calibration import GroundPlane
from veilleur.runtime.core.detections import Detections, class_mask
from veilleur.runtime.core.events import EventType
from veilleur.runtime.core.geometry import Points, points_in_polygon


@dataclass
class CrowdMovement:
    """Alerts when the people in a zone suddenly move together: a rush, a scatter, a surge.

    Each frame, the tracks whose foot point is in the zone (or was, less than
    ``speed_window_s`` ago: a crowd bursting out of a small zone) and whose ground speed is known
    (net displacement over ``speed_window_s``, at least half of it observed) are judged. The
    condition holds when there are at least ``min_tracks`` of them and either:

    * **rush**: at least ``min_running_share`` of them run (speed ≥ ``run_speed_mps``), or
    * **scatter / convergence**: their mean distance to their centroid grows or shrinks faster
      than ``spread_mps`` (same tracks at both ends of the window);

    and in both cases their mean speed is at least ``speed_jump`` times the zone's *baseline*,
    so that only a change is an event. The baseline is an exponential moving average of the
    zone's mean speed with time constant ``baseline_s``, weighted by how many tracks were seen
    (a lone passer-by moves it little), never below ``baseline_floor_mps`` (a standing crowd's
    speed is jitter: a jump over it means nothing). It is frozen while the condition holds, so
    an ongoing event does not become normal — but only for ``baseline_s``: a lasting change of
    regime (a race starting) becomes the new normal once alerted.

    The condition must hold ``min_duration_s``; one alert per episode (it re-arms when the
    condition stops), and never twice within ``cooldown_s``. The baseline is first set by the
    first tracks seen, so a flow already fast when observation starts (joggers) never alerts.

    Metres come from ``ground``, or without calibration from the people's apparent height
    (:attr:`degraded`; ``frame_aspect`` is the display width / height of the frame).
    """

    rule_id: str
    zone_id: str
    polygon: Points
    class_ids: frozenset[int]
    ground: GroundPlane | None = None
    run_speed_mps: float = 2.5
    min_tracks: int = 4
    min_running_share: float = 0.5
    speed_jump: float = 2.5
    baseline_s: float = 10.0
    min_duration_s: float = 0.5
    cooldown_s: float = 30.0
    frame_aspect: float = 16 / 9
    speed_window_s: float = 1.0
    spread_mps: float = 1.5
    baseline_floor_mps: float = 0.5
    _motion: MotionHistory = field(init=False, repr=False)
    _baseline: float | None = None
    _since: float | None = None
    _armed: bool = True
    _last_alert: float | None = None
    _last_t: float | None = None
    _inside_at: dict[int, float] = field(default_factory=dict)
    last_mean_speed_mps: float | None = None
    last_running_share: float | None = None
    last_spread_mps: float | None = None

    def __post_init__(self) -> None:
        self._motion = MotionHistory(
            ground=self.ground,
            frame_aspect=self.frame_aspect,
            horizon_s=self.speed_window_s * 1.5,
        )

    @property
    def degraded(self) -> bool:
        """True without calibration: speeds are estimated from people's apparent height."""
        return self.ground is None

    @property
    def baseline_mps(self) -> float | None:
        """The zone's current baseline mean speed (m/s), None before any track was seen."""
        return self._baseline

    def update(self, dets: Detections, t: float, cues: SceneCues = NO_CUES) -> list[RuleHit]:
        dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        self._last_t = t
        idx = np.flatnonzero((dets.tracker_id >= 0) & class_mask(dets.class_id, self.class_ids))
        self._motion.observe(dets, t, idx)
        now_in = idx[points_in_polygon(dets.foot_points()[idx], self.polygon)]
        for i in now_in:
            self._inside_at[int(dets.tracker_id[i])] = t
        # people bursting out of the zone still belong to its crowd for one speed window
        recent = {k for k, v in self._inside_at.items() if t - v <= self.speed_window_s}
        self._inside_at = {k: v for k, v in self._inside_at.items() if k in recent}
        inside = [int(i) for i in idx if int(dets.tracker_id[i]) in recent]
        judged: list[int] = []
        spans: list[Span] = []
        speeds: list[float] = []
        for i in inside:
            s = self._motion.span(int(dets.tracker_id[i]), t, self.speed_window_s)
            if s is None:
                continue
            judged.append(int(i))
            spans.append(s)
            speeds.append(float(np.linalg.norm(self._motion.velocity_mps(s))))
        n = len(judged)
        mean = float(np.mean(speeds)) if n else 0.0
        share = float(np.mean([v >= self.run_speed_mps for v in speeds])) if n else 0.0
        spread = spread_rate_mps(self._motion, spans)
        self.last_mean_speed_mps = mean if n else None
        self.last_running_share = share if n else None
        self.last_spread_mps = spread if n >= 2 else None

        cond = False
        if n >= self.min_tracks and self._baseline is not None:
            sudden = mean >= self.speed_jump * max(self._baseline, self.baseline_floor_mps)
            rush = share >= self.min_running_share
            scatter = abs(spread) >= self.spread_mps
            cond = sudden and (rush or scatter)
        if cond:
            if self._since is None:
                self._since = t
        else:
            self._since = None
            self._armed = True

        frozen = self._since is not None and t - self._since < self.baseline_s
        if n and not frozen:
            self._update_baseline(mean, dt, min(1.0, n / self.min_tracks))

        cooled = self._last_alert is None or t - self._last_alert >= self.cooldown_s
        if not (cond and self._armed and cooled and self._since is not None):
            return []
        if t - self._since < self.min_duration_s:
            return []
        self._armed = False
        self._last_alert = t
        return [
            RuleHit(
                rule_id=self.rule_id,
                event=EventType.MOUVEMENT_FOULE,
                zone=self.zone_id,
                start_s=self._since,
                t=t,
                confidence=float(np.mean(dets.confidence[judged])),
                track_ids=tuple(int(dets.tracker_id[i]) for i in judged),
                boxes=tuple(box_tuple(dets, i) for i in judged),
            )
        ]

    def _update_baseline(self, mean: float, dt: float, weight: float) -> None:
        if self._baseline is None:
            self._baseline = mean
            return
        alpha = 1.0 - math.exp(-dt * weight / self.baseline_s)
        self._baseline += alpha * (mean - self._baseline)
