"""Polygon-zone analytics: presence in a forbidden zone (franchissement) and density."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from veilleur.runtime.analytics.base import NO_CUES, RuleHit, SceneCues, box_tuple
from veilleur.runtime.core.calibration import PERSON_HEIGHT_M, GroundPlane
from veilleur.runtime.core.detections import Detections, class_mask
from veilleur.runtime.core.events import EventType
from veilleur.runtime.core.geometry import Points, points_in_polygon, polygon_area


@dataclass
class ZonePresence:
    """Alerts when a tracked object's foot point stays ``min_duration_s`` inside a polygon.

    One alert per entry of a track; a track that leaves and re-enters after ``cooldown_s``
    alerts again.
    """

    rule_id: str
    zone_id: str
    polygon: Points
    class_ids: frozenset[int]
    min_duration_s: float = 0.0
    cooldown_s: float = 10.0
    _entered: dict[int, float] = field(default_factory=dict)
    _alerted: dict[int, float] = field(default_factory=dict)

    def update(self, dets: Detections, t: float, cues: SceneCues = NO_CUES) -> list[RuleHit]:
        hits: list[RuleHit] = []
        mask = (dets.tracker_id >= 0) & class_mask(dets.class_id, self.class_ids)
        idx = np.flatnonzero(mask)
        inside = points_in_polygon(dets.foot_points()[idx], self.polygon)
        present: set[int] = set()
        for i, is_in in zip(idx, inside, strict=True):
            if not is_in:
                continue
            tid = int(dets.tracker_id[i])
            present.add(tid)
            start = self._entered.setdefault(tid, t)
            last = self._alerted.get(tid)
            fresh_entry = last is None or (last < start and t - last >= self.cooldown_s)
            if fresh_entry and t - start >= self.min_duration_s:
                self._alerted[tid] = t
                hits.append(
                    RuleHit(
                        rule_id=self.rule_id,
                        event=EventType.FRANCHISSEMENT,
                        zone=self.zone_id,
                        start_s=start,
                        t=t,
                        confidence=float(dets.confidence[i]),
                        track_ids=(tid,),
                        boxes=(box_tuple(dets, int(i)),),
                    )
                )
        for tid in list(self._entered):
            if tid not in present:
                del self._entered[tid]
        return hits


@dataclass
class ZoneDensity:
    """Alerts when a polygon holds too many objects for ``min_duration_s``.

    Too many is more than ``max_count`` objects, or more than ``max_density_m2`` objects per
    square metre (either threshold suffices). In dense crowds boxes merge and a detector
    undercounts: ``count_correction`` (fitted on annotated footage of the site, see
    :func:`corrected_count`) turns the detected count into an estimate of the true one.

    The zone's ground area comes from the camera's :class:`GroundPlane`; without one it is
    estimated from the median apparent height of the people in the zone (a standing person
    ≈ 1.7 m), which is only approximate under perspective: the rule then runs degraded and
    says so.
    """

    rule_id: str
    zone_id: str
    polygon: Points
    class_ids: frozenset[int]
    max_count: int | None
    min_duration_s: float = 2.0
    cooldown_s: float = 10.0
    max_density_m2: float | None = None
    ground: GroundPlane | None = None
    frame_aspect: float = 16 / 9
    _since: float | None = None
    _armed: bool = True
    _last_alert: float | None = None
    count_correction: tuple[tuple[float, float], ...] | None = None
    last_count: float = 0
    last_detected: int = 0
    last_density_m2: float | None = None

    def zone_area_m2(self, dets: Detections, inside: NDArray[np.int64]) -> float | None:
        """Ground area of the zone: calibrated, or estimated from people's apparent size."""
        if self.ground is not None:
            return self.ground.area_m2(self.polygon)
        heights = dets.xyxy[inside, 3] - dets.xyxy[inside, 1]
        heights = heights[heights > 1e-4]
        if len(heights) == 0:
            return None
        metres_per_unit_y = PERSON_HEIGHT_M / float(np.median(heights))
        area_norm = polygon_area(self.polygon)
        return area_norm * self.frame_aspect * metres_per_unit_y**2

    def _too_dense(self, dets: Detections, inside: NDArray[np.int64]) -> bool:
        self.last_density_m2 = None
        over = self.max_count is not None and self.last_count > self.max_count
        if self.max_density_m2 is not None and self.last_count:
            area = self.zone_area_m2(dets, inside)
            if area:
                self.last_density_m2 = self.last_count / area
                over = over or self.last_density_m2 > self.max_density_m2
        return over

    def update(self, dets: Detections, t: float, cues: SceneCues = NO_CUES) -> list[RuleHit]:
        mask = class_mask(dets.class_id, self.class_ids)
        idx = np.flatnonzero(mask)
        inside = (
            idx[points_in_polygon(dets.foot_points()[idx], self.polygon)]
            if len(idx)
            else np.zeros(0, dtype=np.int64)
        )
        self.last_detected = len(inside)
        self.last_count = corrected_count(self.last_detected, self.count_correction)
        if not self._too_dense(dets, inside):
            self._since = None
            self._armed = True
            return []
        if self._since is None:
            self._since = t
        cooled = self._last_alert is None or t - self._last_alert >= self.cooldown_s
        if not (self._armed and cooled and t - self._since >= self.min_duration_s):
            return []
        self._armed = False
        self._last_alert = t
        return [
            RuleHit(
                rule_id=self.rule_id,
                event=EventType.DENSITE,
                zone=self.zone_id,
                start_s=self._since,
                t=t,
                confidence=float(np.mean(dets.confidence[inside])),
                track_ids=tuple(int(v) for v in dets.tracker_id[inside] if v >= 0),
                boxes=tuple(box_tuple(dets, int(i)) for i in inside),
            )
        ]


def corrected_count(detected: int, correction: tuple[tuple[float, float], ...] | None) -> float:
    """Estimated true count from a detected count: piecewise linear through ``correction``'s
    ``(detected, estimated)`` points, extended beyond the last point with its last slope
    (and below the first with the line through the origin and the first point).

    Example:
        >>> corrected_count(10, ((0, 0), (5, 5), (10, 15)))
        15.0
        >>> corrected_count(12, ((0, 0), (5, 5), (10, 15)))
        19.0
    """
    if correction is None or detected == 0:
        return float(detected)
    xs = [p[0] for p in correction]
    ys = [p[1] for p in correction]
    if detected <= xs[0]:
        return float(ys[0] * detected / xs[0]) if xs[0] > 0 else float(ys[0])
    if detected >= xs[-1]:
        slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        return float(ys[-1] + slope * (detected - xs[-1]))
    return float(np.interp(detected, xs, ys))
