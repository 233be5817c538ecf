"""Line crossing (franchissement d'une ligne), optionally in one direction."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from veilleur.runtime.analytics.base import NO_CUES, RuleHit, SceneCues, box_tuple
from veilleur.runtime.core.detections import Detections, class_mask
from veilleur.runtime.core.events import EventType
from veilleur.runtime.core.geometry import Points, segments_intersect, side_of_line


@dataclass
class LineCrossing:
    """Alerts when a track's foot point crosses the segment ``a → b``.

    ``direction``: ``left_to_right`` alerts on crossings from the left-hand side to the
    right-hand side of someone walking from ``a`` to ``b`` on screen (negative → positive
    cross product, see :mod:`veilleur.runtime.core.geometry`); ``right_to_left`` the reverse;
    ``any`` both.
    """

    rule_id: str
    zone_id: str
    a: Points
    b: Points
    class_ids: frozenset[int]
    direction: str = "any"
    cooldown_s: float = 10.0
    _last: dict[int, tuple[float, Points]] = field(default_factory=dict)
    _alerted: dict[int, float] = field(default_factory=dict)

    def update(self, dets: Detections, t: float, cues: SceneCues = NO_CUES) -> list[RuleHit]:
        hits: list[RuleHit] = []
        feet = dets.foot_points()
        for i in np.flatnonzero((dets.tracker_id >= 0) & class_mask(dets.class_id, self.class_ids)):
            tid = int(dets.tracker_id[i])
            p = feet[i]
            prev = self._last.get(tid)
            self._last[tid] = (t, p)
            if prev is None:
                continue
            _, p0 = prev
            if not segments_intersect(p0, p, self.a, self.b):
                continue
            s0, s1 = side_of_line(np.stack([p0, p]), self.a, self.b)
            going = "left_to_right" if s0 < s1 else "right_to_left"
            if self.direction not in ("any", going):
                continue
            last = self._alerted.get(tid)
            if last is not None and t - last < self.cooldown_s:
                continue
            self._alerted[tid] = t
            hits.append(
                RuleHit(
                    rule_id=self.rule_id,
                    event=EventType.FRANCHISSEMENT,
                    zone=self.zone_id,
                    start_s=t,
                    t=t,
                    confidence=float(dets.confidence[i]),
                    track_ids=(tid,),
                    boxes=(box_tuple(dets, int(i)),),
                )
            )
        # forget tracks not seen for a while
        for tid in [k for k, (tl, _) in self._last.items() if t - tl > 5.0]:
            del self._last[tid]
        return hits
