"""Person on the ground after a fall (personne au sol): a posture change, not a lying box."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from veilleur.runtime.analytics.base import NO_CUES, RuleHit, SceneCues, box_tuple
from veilleur.runtime.core.detections import Detections, FloatArray, class_mask
from veilleur.runtime.core.events import EventType
from veilleur.runtime.core.geometry import Points, points_in_polygon
from veilleur.runtime.core.taxonomy import CLASS_IDS


class Posture(Enum):
    UPRIGHT = "upright"
    LYING = "lying"
    OTHER = "other"
    """Sitting, crouching, bending, or a box too square to tell."""


def pixel_ratio(box: FloatArray, frame_aspect: float) -> float:
    """Height / width of a normalised box *in pixels*.

    Normalised boxes divide x by the frame width and y by its height, so their own ratio is
    off by the frame's aspect: a 100 × 250 px person in a 1920 × 1080 frame is 0.052 × 0.231
    normalised (ratio 4.4), i.e. 2.5 in pixels = 4.4 / (16/9).
    """
    w = float(box[2] - box[0])
    h = float(box[3] - box[1])
    return h / (w * frame_aspect) if w > 0 else float("inf")


@dataclass
class _TrackPosture:
    """Posture history of one person track."""

    last_t: float
    box: FloatArray
    up_start: float | None = None
    up_last: float | None = None
    upright_until: float | None = None
    """End of the latest upright run that lasted ``upright_before_s``."""
    lying_start: float | None = None
    lying_last: float | None = None
    after_upright: bool = False
    """The current lying run began within ``max_transition_s`` of a qualifying upright run."""
    alerted: bool = False
    last_alert: float | None = None


@dataclass
class PersonOnGround:
    """Alerts when a person seen upright falls and stays on the ground.

    A track must first be seen **upright** — class ``upright_class`` (person) with a box at
    least ``upright_ratio`` times taller than wide in pixels — for ``upright_before_s``; then,
    within ``max_transition_s`` (a fall takes well under a second; the margin absorbs missed
    frames while the body blurs), **lying** — class ``lying_class`` (person_lying), or a person
    box whose pixel height is under ``lying_ratio`` times its width — for ``min_lying_s``, its
    foot point in the zone. Gaps (not seen, or an in-between posture) up to ``max_gap_s`` do not
    break a lying run; an upright observation does (the person got up).

    Hard negatives: someone already lying when first seen (never upright), sitting (a pixel
    ratio around 1 is neither upright nor lying: ``lying_ratio`` 0.8 keeps a margin under
    "wider than tall" for sitting people with legs stretched), bending briefly (lying shorter
    than ``min_lying_s``), lying down slowly through a long sitting phase (longer than
    ``max_transition_s``).

    ``frame_aspect`` (display width / height) turns normalised box ratios into pixel ratios.

    Ids: the tracker keeps one id across person ↔ person_lying, but should an id still change
    (missed association during the fall, occlusion by helpers), a new track first seen not
    upright inherits the history of a track lost within ``relink_s`` whose last box centre is
    within one body length of its own (a person falls within their own height).

    One alert per lying run and track, at most one per ``cooldown_s`` for that track.
    """

    rule_id: str
    zone_id: str
    polygon: Points
    class_ids: frozenset[int]
    min_lying_s: float = 3.0
    upright_before_s: float = 1.0
    cooldown_s: float = 60.0
    frame_aspect: float = 16 / 9
    upright_ratio: float = 1.3
    lying_ratio: float = 0.8
    max_transition_s: float = 2.0
    max_gap_s: float = 2.0
    relink_s: float = 3.0
    forget_s: float = 10.0
    upright_class: int = CLASS_IDS["person"]
    lying_class: int = CLASS_IDS["person_lying"]
    _tracks: dict[int, _TrackPosture] = field(default_factory=dict)

    def posture(self, class_id: int, box: FloatArray) -> Posture:
        """Posture of one detection (classes other than the two configured: OTHER)."""
        if class_id == self.lying_class:
            return Posture.LYING
        if class_id != self.upright_class:
            return Posture.OTHER
        r = pixel_ratio(box, self.frame_aspect)
        if r >= self.upright_ratio:
            return Posture.UPRIGHT
        if r < self.lying_ratio:
            return Posture.LYING
        return Posture.OTHER

    def update(self, dets: Detections, t: float, cues: SceneCues = NO_CUES) -> list[RuleHit]:
        hits: list[RuleHit] = []
        idx = np.flatnonzero((dets.tracker_id >= 0) & class_mask(dets.class_id, self.class_ids))
        inside = points_in_polygon(dets.foot_points()[idx], self.polygon)
        present = {int(v) for v in dets.tracker_id[idx]}
        for i, is_in in zip(idx, inside, strict=True):
            tid = int(dets.tracker_id[i])
            box = dets.xyxy[i].copy()
            posture = self.posture(int(dets.class_id[i]), box)
            st = self._tracks.get(tid)
            if st is None:
                st = self._relink(box, t, present) if posture is not Posture.UPRIGHT else None
                st = st or _TrackPosture(last_t=t, box=box)
                self._tracks[tid] = st
            self._observe(st, posture, t, box)
            if self._due(st, t) and is_in:
                st.alerted = True
                st.last_alert = t
                assert st.lying_start is not None
                hits.append(
                    RuleHit(
                        rule_id=self.rule_id,
                        event=EventType.PERSONNE_AU_SOL,
                        zone=self.zone_id,
                        start_s=st.lying_start,
                        t=t,
                        confidence=float(dets.confidence[i]),
                        track_ids=(tid,),
                        boxes=(box_tuple(dets, int(i)),),
                    )
                )
        for tid in [k for k, s in self._tracks.items() if t - s.last_t > self.forget_s]:
            del self._tracks[tid]
        return hits

    def _observe(self, st: _TrackPosture, posture: Posture, t: float, box: FloatArray) -> None:
        st.last_t = t
        st.box = box
        if posture is Posture.UPRIGHT:
            st.lying_start = st.lying_last = None  # got up: the lying run is over
            st.alerted = False
            if st.up_start is None or st.up_last is None or t - st.up_last > self.max_gap_s:
                st.up_start = t
            st.up_last = t
            if t - st.up_start >= self.upright_before_s:
                st.upright_until = t
            return
        st.up_start = st.up_last = None
        if posture is not Posture.LYING:
            return
        if st.lying_start is None or st.lying_last is None or t - st.lying_last > self.max_gap_s:
            st.lying_start = t
            st.alerted = False
            st.after_upright = (
                st.upright_until is not None and t - st.upright_until <= self.max_transition_s
            )
        st.lying_last = t

    def _due(self, st: _TrackPosture, t: float) -> bool:
        if st.lying_start is None or st.lying_last != t or not st.after_upright or st.alerted:
            return False
        if t - st.lying_start < self.min_lying_s:
            return False
        return st.last_alert is None or t - st.last_alert >= self.cooldown_s

    def _relink(self, box: FloatArray, t: float, present: set[int]) -> _TrackPosture | None:
        """Take over the state of a recently lost track that this new box continues.

        Tracks present in this frame are not lost: a duplicate box of a person (another
        class, another id) must not take over their history.
        """
        aspect = np.array([self.frame_aspect, 1.0])
        centre = (box[:2] + box[2:]) / 2 * aspect
        best: int | None = None
        best_d = np.inf
        for tid, st in self._tracks.items():
            if tid in present or st.last_t >= t or t - st.last_t > self.relink_s:
                continue
            size = (st.box[2:] - st.box[:2]) * aspect  # y-normalised: isotropic
            body = float(np.max(size))
            d = float(np.linalg.norm((st.box[:2] + st.box[2:]) / 2 * aspect - centre))
            if d <= body and d < best_d:
                best, best_d = tid, d
        return None if best is None else self._tracks.pop(best)
