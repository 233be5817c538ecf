"""Weapon presence (armes): a weapon detection that persists over several analysed frames."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from veilleur.runtime.analytics.base import NO_CUES, RuleHit, SceneCues, check_k_of_n
from veilleur.runtime.core.detections import Detections, FloatArray, class_mask
from veilleur.runtime.core.events import EventType
from veilleur.runtime.core.geometry import Points, points_in_polygon


def anchored_in_polygon(
    dets: Detections, idx: NDArray[np.int64], polygon: Points
) -> NDArray[np.int64]:
    """Indices of ``idx`` whose box centre *or* bottom-centre lies in ``polygon``.

    Weapons, fire and smoke are not on the ground like a person's feet: the centre catches a
    box hanging above a ground zone (a raised weapon, rising smoke), the bottom-centre one
    whose base is in it (flames on the ground, a weapon held low).
    """
    if len(idx) == 0:
        return idx
    in_centre = points_in_polygon(dets.centers()[idx], polygon)
    in_foot = points_in_polygon(dets.foot_points()[idx], polygon)
    out: NDArray[np.int64] = idx[in_centre | in_foot]
    return out


def _box4(box: FloatArray) -> tuple[float, float, float, float]:
    """A box as :func:`~veilleur.runtime.analytics.base.box_tuple` writes it."""
    x1, y1, x2, y2 = (round(float(v), 4) for v in box)
    return (x1, y1, x2, y2)


@dataclass
class _Sighting:
    """One weapon followed over frames: by tracker id, or by proximity while it has none."""

    tracker_id: int
    box: FloatArray
    frames: deque[tuple[float, float] | None]
    """Per analysed frame: (time, confidence) when seen, else None; the last ``n``."""
    alerted: bool = False

    def hits(self, t: float, max_age_s: float) -> list[tuple[float, float]]:
        return [f for f in self.frames if f is not None and t - f[0] <= max_age_s]


@dataclass
class WeaponPresence:
    """Alerts when a weapon is detected in the zone in ``k`` of the last ``n`` analysed frames.

    Detections of ``class_ids`` (normally ``{weapon}``) with confidence ≥ ``min_confidence``
    whose box centre or bottom-centre is in the zone are grouped into *sightings*: by tracker id
    when the tracker gave one, otherwise by proximity (centre within ``link_scale`` times the
    larger box side of the sighting's last box), which also bridges a tracker's first,
    unconfirmed frames (id -1). The ``k``-of-``n`` count is per sighting, so unrelated blips in
    different places never add up; a single-frame blip or a flicker below ``k`` never alerts.
    Hits older than ``max_age_s`` do not count (the frame count alone would join frames minutes
    apart after a pause of the stream).

    Each sighting alerts at most once; the rule alerts at most once per ``cooldown_s`` (one
    alert lists every sighting then persistent).
    """

    rule_id: str
    zone_id: str
    polygon: Points
    class_ids: frozenset[int]
    k: int = 3
    n: int = 5
    min_confidence: float = 0.5
    cooldown_s: float = 30.0
    link_scale: float = 2.0
    max_age_s: float = 10.0
    _sightings: list[_Sighting] = field(default_factory=list)
    _last_alert: float | None = None

    def __post_init__(self) -> None:
        check_k_of_n(self.k, self.n)

    def update(self, dets: Detections, t: float, cues: SceneCues = NO_CUES) -> list[RuleHit]:
        mask = class_mask(dets.class_id, self.class_ids) & (dets.confidence >= self.min_confidence)
        idx = anchored_in_polygon(dets, np.flatnonzero(mask), self.polygon)
        matched: dict[int, tuple[float, float]] = {}
        for i in idx[np.argsort(-dets.confidence[idx], kind="stable")]:
            box = dets.xyxy[i].copy()
            tid = int(dets.tracker_id[i])
            j = self._match(box, tid, set(matched))
            if j is None:
                self._sightings.append(_Sighting(tid, box, deque(maxlen=self.n)))
                j = len(self._sightings) - 1
            s = self._sightings[j]
            s.box = box
            if tid >= 0:
                s.tracker_id = tid
            matched[j] = (t, float(dets.confidence[i]))
        for j, s in enumerate(self._sightings):
            s.frames.append(matched.get(j))
        self._sightings = [s for s in self._sightings if s.hits(t, self.max_age_s)]

        ready = [s for s in self._sightings if len(s.hits(t, self.max_age_s)) >= self.k]
        fresh = [s for s in ready if not s.alerted]
        cooled = self._last_alert is None or t - self._last_alert >= self.cooldown_s
        if not (fresh and cooled):
            return []
        self._last_alert = t
        for s in ready:
            s.alerted = True
        hits = [s.hits(t, self.max_age_s) for s in ready]
        boxes = tuple(_box4(s.box) for s in ready)
        return [
            RuleHit(
                rule_id=self.rule_id,
                event=EventType.ARME,
                zone=self.zone_id,
                start_s=min(h[0][0] for h in hits),
                t=t,
                confidence=max(float(np.mean([c for _, c in h])) for h in hits),
                track_ids=tuple(sorted({s.tracker_id for s in ready if s.tracker_id >= 0})),
                boxes=boxes,
            )
        ]

    def _match(self, box: FloatArray, tid: int, taken: set[int]) -> int | None:
        """The sighting ``box`` continues: same tracker id first, else the nearest close one."""
        if tid >= 0:
            for j, s in enumerate(self._sightings):
                if j not in taken and s.tracker_id == tid:
                    return j
        best: int | None = None
        best_d = np.inf
        centre = (box[:2] + box[2:]) / 2
        for j, s in enumerate(self._sightings):
            if j in taken or (tid >= 0 and s.tracker_id >= 0 and s.tracker_id != tid):
                continue
            d = float(np.linalg.norm((s.box[:2] + s.box[2:]) / 2 - centre))
            side = float(max(np.max(s.box[2:] - s.box[:2]), np.max(box[2:] - box[:2])))
            if d <= self.link_scale * side and d < best_d:
                best, best_d = j, d
        return best
