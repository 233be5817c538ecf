"""Wrong-way movement (sens de circulation) inside a corridor zone."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from veilleur.runtime.analytics.base import NO_CUES, RuleHit, SceneCues, box_tuple
from veilleur.runtime.core.calibration import GroundPlane, approx_ground_m
from veilleur.runtime.core.detections import Detections, class_mask
from veilleur.runtime.core.events import EventType
from veilleur.runtime.core.geometry import Points, angle_between_deg, points_in_polygon


@dataclass
class WrongWay:
    """Alerts when a track inside the zone moves against ``allowed`` for ``min_duration_s``.

    Motion is the foot point's displacement over the last ``window_s`` seconds; a track is
    judged only while its speed exceeds ``min_speed`` (normalised units per second). With
    ``min_distance_m`` > 0 the track must also have gone that far against the flow (ground
    metres with a :class:`GroundPlane`, else estimated from its apparent height).
    """

    rule_id: str
    zone_id: str
    polygon: Points
    class_ids: frozenset[int]
    allowed: Points
    tolerance_deg: float = 90.0
    min_duration_s: float = 1.5
    min_speed: float = 0.01
    window_s: float = 1.0
    cooldown_s: float = 10.0
    min_distance_m: float = 0.0
    ground: GroundPlane | None = None
    frame_aspect: float = 16 / 9
    _wrong_from: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    _hist: dict[int, deque[tuple[float, float, float]]] = field(default_factory=dict)
    _wrong_since: dict[int, float] = field(default_factory=dict)
    _alerted: dict[int, float] = field(default_factory=dict)

    def update(self, dets: Detections, t: float, cues: SceneCues = NO_CUES) -> list[RuleHit]:
        hits: list[RuleHit] = []
        feet = dets.foot_points()
        idx = np.flatnonzero((dets.tracker_id >= 0) & class_mask(dets.class_id, self.class_ids))
        inside = points_in_polygon(feet[idx], self.polygon)
        seen: set[int] = set()
        for i, is_in in zip(idx, inside, strict=True):
            tid = int(dets.tracker_id[i])
            seen.add(tid)
            h = self._hist.setdefault(tid, deque())
            h.append((t, float(feet[i, 0]), float(feet[i, 1])))
            while h and t - h[0][0] > self.window_s:
                h.popleft()
            if not is_in or len(h) < 2 or h[-1][0] - h[0][0] < self.window_s / 2:
                self._wrong_since.pop(tid, None)
                continue
            dt = h[-1][0] - h[0][0]
            motion = np.array([h[-1][1] - h[0][1], h[-1][2] - h[0][2]], dtype=np.float32) / dt
            if float(np.linalg.norm(motion)) < self.min_speed:
                self._wrong_since.pop(tid, None)
                continue
            if angle_between_deg(motion, self.allowed) <= self.tolerance_deg:
                self._wrong_since.pop(tid, None)
                continue
            since = self._wrong_since.setdefault(tid, h[0][0])
            if tid not in self._wrong_from or self._wrong_from[tid][2] != since:
                self._wrong_from[tid] = (h[0][1], h[0][2], since)
            last = self._alerted.get(tid)
            far_enough = self._distance_m(tid, dets, int(i), feet) >= self.min_distance_m
            if (
                t - since >= self.min_duration_s
                and far_enough
                and (last is None or t - last >= self.cooldown_s)
            ):
                self._alerted[tid] = t
                hits.append(
                    RuleHit(
                        rule_id=self.rule_id,
                        event=EventType.SENS_CIRCULATION,
                        zone=self.zone_id,
                        start_s=since,
                        t=t,
                        confidence=float(dets.confidence[i]),
                        track_ids=(tid,),
                        boxes=(box_tuple(dets, int(i)),),
                    )
                )
        for tid in [k for k, h in self._hist.items() if k not in seen and t - h[-1][0] > 5.0]:
            self._wrong_from.pop(tid, None)
            del self._hist[tid]
            self._wrong_since.pop(tid, None)
        return hits

    def _distance_m(self, tid: int, dets: Detections, i: int, feet: Points) -> float:
        """Distance the track went since it started moving the wrong way, in metres."""
        if self.min_distance_m <= 0:
            return 0.0
        x0, y0, _ = self._wrong_from[tid]
        start, now = np.array([x0, y0]), np.asarray(feet[i], dtype=np.float64)
        if self.ground is not None:
            return self.ground.distance_m(start, now)
        height = float(dets.xyxy[i, 3] - dets.xyxy[i, 1])
        if height <= 0:
            return 0.0
        a, b = approx_ground_m(np.stack([start, now]), height, self.frame_aspect)
        return float(np.linalg.norm(b - a))
