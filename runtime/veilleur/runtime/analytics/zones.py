"""Polygon-zone analytics: presence in a forbidden zone (franchissement) and density."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from veilleur.runtime.analytics.base import NO_CUES, RuleHit, SceneCues, box_tuple
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.events import EventType
from veilleur.runtime.core.geometry import Points, points_in_polygon


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
        mask = (dets.tracker_id >= 0) & np.isin(dets.class_id, list(self.class_ids))
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
    """Alerts when more than ``max_count`` objects stay in a polygon for ``min_duration_s``."""

    rule_id: str
    zone_id: str
    polygon: Points
    class_ids: frozenset[int]
    max_count: int
    min_duration_s: float = 2.0
    cooldown_s: float = 10.0
    _since: float | None = None
    _armed: bool = True
    _last_alert: float | None = None
    last_count: int = 0

    def update(self, dets: Detections, t: float, cues: SceneCues = NO_CUES) -> list[RuleHit]:
        mask = np.isin(dets.class_id, list(self.class_ids))
        idx = np.flatnonzero(mask)
        inside = (
            idx[points_in_polygon(dets.foot_points()[idx], self.polygon)]
            if len(idx)
            else np.zeros(0, dtype=np.int64)
        )
        self.last_count = len(inside)
        if self.last_count <= self.max_count:
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
