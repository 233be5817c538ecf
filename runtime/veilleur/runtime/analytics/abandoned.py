"""Abandoned objects (OBJET_ABANDONNE): an object left still in a zone after its keeper went away.

An *object* is a tracked detection of ``class_ids`` (normally ``bag``) or, with
``use_static_cue``, a class-agnostic static blob of
:class:`~veilleur.runtime.scene.static_objects.StaticObjectDetector` (``cues.static_objects``)
for objects the detector cannot name. A blob overlapping a detection of ``class_ids`` is that
same object; a blob overlapping a person (or any other detected class: a parked vehicle, a
person lying), or lying inside such a box (the legs of someone standing still), is explained
by it and is not an object.

The trigger is **the keeper leaving**: an object alerts when it

1. has its foot point (bottom-centre) inside the zone's polygon,
2. has moved less than ``max_move_m`` for ``static_s`` seconds,
3. had a *keeper*, a person within ``owner_radius_m`` when it appeared (from
   ``owner_lookback_s`` before its first sighting to ``owner_grace_s`` after it, or whenever it
   moved: whoever carries it), and
4. has had nobody within ``owner_radius_m`` for ``unattended_s`` seconds.

Requiring a keeper keeps things that were always there and are sometimes taken for bags (a bin,
a bollard) from alerting when passers-by walk past them; set ``require_owner=False`` to also
alert on objects that were never seen with anyone (the unattended time then counts from the
first sighting). A static blob is reported by the detector only after it has been still for
its own ``static_s``, and the keeper has often left by then: the people of the last
``owner_lookback_s`` seconds are kept to find who stood by its place, and the blob is credited
with ``blob_still_s`` seconds of stillness already (set it to the detector's ``static_s``).

Distances are in metres: on the ground plane with a calibration (``ground``), otherwise from
the apparent height of each person (≈ 1.7 m, ``approx_metres_per_unit`` of
:mod:`veilleur.runtime.core.calibration`, approximate: see its caveats). Without calibration,
the movement of an object is measured with the scale of the person nearest to it in the
image, or, while nobody has been seen, with its own box height taken as 0.5 m.

Known limits: in a dense crowd someone is always within the radius, so nothing is ever
unattended; an object whose keeper was never detected does not alert (unless
``require_owner=False``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from veilleur.runtime.analytics.base import NO_CUES, RuleHit, SceneCues
from veilleur.runtime.core.calibration import GroundPlane, approx_metres_per_unit, y_normalised
from veilleur.runtime.core.detections import Detections, box_iou, class_mask
from veilleur.runtime.core.events import EventType
from veilleur.runtime.core.geometry import Points, points_in_polygon

F64 = NDArray[np.float64]

_OBJECT_HEIGHT_M = 0.5
"""Assumed height of an object (a bag) when no person gives the scale, uncalibrated."""
_EXPLAINED_IOU = 0.3
"""A blob overlapping another class's detection this much is that detection (e.g. a person)."""
_INSIDE = 0.7
"""A blob this much inside another class's detection is part of it (legs, a held object)."""
_SAME_IOU = 0.3
"""Boxes overlapping this much are the same object (matching, repeated alerts)."""


@dataclass(frozen=True)
class _People:
    """Keepers seen in one frame: foot points, box heights, ids and ground points."""

    feet: F64
    heights: F64
    ids: NDArray[np.int64]
    ground: F64 | None


@dataclass
class _Candidate:
    box: F64
    track_id: int = -1
    blob_id: int = -1
    confidence: float = 0.0

    @property
    def foot(self) -> F64:
        return np.array([(self.box[0] + self.box[2]) / 2, self.box[3]], dtype=np.float64)


@dataclass
class _Item:
    id: int
    box: F64
    anchor: F64
    first_seen: float
    still_since: float
    last_seen: float
    track_id: int = -1
    blob_id: int = -1
    confidence: float = 0.0
    scale: float | None = None
    owned: bool = False
    keeper_id: int = -1
    last_near: float | None = None
    alerted_at: float | None = None

    @property
    def foot(self) -> F64:
        return np.array([(self.box[0] + self.box[2]) / 2, self.box[3]], dtype=np.float64)


@dataclass
class AbandonedObject:
    """Alerts when an object stays still in the zone after its keeper left (see module doc).

    One alert per object; the same object alerts again only after ``cooldown_s`` *and* after
    someone came back to it and left again; another object at the same place (a new tracker
    id for the same bag) does not alert within ``cooldown_s`` either.

    The hit's ``start_s`` is when the object was both still and alone, ``t`` the alert time;
    ``track_ids`` are the object's tracker id (when the detector tracks it) then its keeper's
    (when tracked); ``boxes`` holds the object's box (detection or static blob).

    Attributes beyond the rule's settings:
        require_owner: only objects that had a keeper alert (see module doc).
        owner_lookback_s: how far back people are remembered to find a late object's keeper.
        owner_grace_s: a person near an object this soon after its first sighting keeps it.
        blob_still_s: stillness (s) a static blob already has when first reported: the
            :class:`~veilleur.runtime.scene.static_objects.StaticObjectDetector`'s
            ``static_s``.
        forget_s: an object unseen this long is forgotten (detector misses, occlusions).
    """

    rule_id: str
    zone_id: str
    polygon: Points
    class_ids: frozenset[int]
    ground: GroundPlane | None = None
    static_s: float = 10.0
    owner_radius_m: float = 2.0
    unattended_s: float = 5.0
    use_static_cue: bool = True
    person_class_ids: frozenset[int] = frozenset({0})
    frame_aspect: float = 16 / 9
    max_move_m: float = 0.3
    cooldown_s: float = 120.0
    require_owner: bool = True
    owner_lookback_s: float = 30.0
    owner_grace_s: float = 3.0
    blob_still_s: float = 5.0
    forget_s: float = 10.0
    _items: list[_Item] = field(default_factory=list)
    _history: deque[tuple[float, _People]] = field(default_factory=deque)
    _explained: dict[int, tuple[float, F64]] = field(default_factory=dict)
    _alerts: list[tuple[float, F64]] = field(default_factory=list)
    _next_id: int = 1

    def update(self, dets: Detections, t: float, cues: SceneCues = NO_CUES) -> list[RuleHit]:
        people = self._people(dets)
        self._history.append((t, people))
        while self._history and self._history[0][0] < t - self.owner_lookback_s:
            self._history.popleft()
        hits: list[RuleHit] = []
        for item in self._match(self._candidates(dets, cues, t), people, t):
            hit = self._check(item, t)
            if hit is not None:
                hits.append(hit)
        self._items = [i for i in self._items if t - i.last_seen <= self.forget_s]
        self._explained = {k: v for k, v in self._explained.items() if t - v[0] <= self.forget_s}
        self._alerts = [a for a in self._alerts if t - a[0] < self.cooldown_s]
        return hits

    # --- what is where ---------------------------------------------------------------------

    def _people(self, dets: Detections) -> _People:
        idx = np.flatnonzero(class_mask(dets.class_id, self.person_class_ids))
        feet = dets.foot_points()[idx].astype(np.float64)
        heights = np.maximum(dets.xyxy[idx, 3] - dets.xyxy[idx, 1], 1e-3).astype(np.float64)
        ground = self.ground.to_ground(feet) if self.ground is not None else None
        return _People(feet, heights, dets.tracker_id[idx].astype(np.int64), ground)

    def _candidates(self, dets: Detections, cues: SceneCues, t: float) -> list[_Candidate]:
        is_obj = class_mask(dets.class_id, self.class_ids)
        obj_idx = np.flatnonzero(is_obj & (dets.tracker_id >= 0))
        cands = [
            _Candidate(
                dets.xyxy[i].astype(np.float64),
                track_id=int(dets.tracker_id[i]),
                confidence=float(dets.confidence[i]),
            )
            for i in obj_idx
        ]
        blobs = cues.static_objects
        if self.use_static_cue and len(blobs):
            other = dets.xyxy[~is_obj]
            explained = box_iou(blobs.xyxy, other).max(axis=1, initial=0.0)
            within = _overlaps(blobs.xyxy, other)[0].max(axis=1, initial=0.0)
            same = _overlaps(blobs.xyxy, dets.xyxy[obj_idx])[1]
            for j in range(len(blobs)):
                box = blobs.xyxy[j].astype(np.float64)
                bid = int(blobs.tracker_id[j])
                conf = float(blobs.confidence[j])
                if explained[j] >= _EXPLAINED_IOU:
                    self._explained[bid] = (t, box)  # e.g. a person standing still
                    continue
                if within[j] >= _INSIDE:
                    continue  # part of someone (legs, head) or what they hold, for now
                known = self._explained.get(bid)
                if known is not None and _iou(known[1], box) >= 0.5:
                    continue  # recently a person (or a vehicle…) missed by the detector now
                if same.shape[1] and same[j].max() >= 0.5:
                    k = int(same[j].argmax())
                    cands[k].blob_id = bid
                    cands[k].confidence = max(cands[k].confidence, conf)
                    continue
                cands.append(_Candidate(box, blob_id=bid, confidence=conf))
        if not cands:
            return []
        feet = np.stack([c.foot for c in cands])
        inside = points_in_polygon(feet, self.polygon)
        return [c for c, ok in zip(cands, inside, strict=True) if ok]

    def _match(self, cands: list[_Candidate], people: _People, t: float) -> list[_Item]:
        """Attach each candidate to its item (same track, same blob, or same place)."""
        taken: set[int] = set()
        seen: list[_Item] = []
        for c in sorted(cands, key=lambda c: c.track_id < 0):
            item = self._find(c, taken)
            moved = False
            if item is None:
                item = self._create(c, t)
            else:
                moved = self._follow(item, c, people, t)
            taken.add(item.id)
            self._attend(item, people, t, moving=moved)
            seen.append(item)
        return seen

    def _find(self, c: _Candidate, taken: set[int]) -> _Item | None:
        free = [i for i in self._items if i.id not in taken]
        for item in free:
            if c.track_id >= 0 and item.track_id == c.track_id:
                return item
        for item in free:
            if c.blob_id >= 0 and item.blob_id == c.blob_id:
                return item
        best: _Item | None = None
        best_iou = _SAME_IOU
        for item in free:
            iou = _iou(item.box, c.box)
            if iou >= best_iou:
                best, best_iou = item, iou
        return best

    def _create(self, c: _Candidate, t: float) -> _Item:
        credit = self.blob_still_s if c.blob_id >= 0 else 0.0
        item = _Item(
            id=self._next_id,
            box=c.box,
            anchor=c.foot,
            first_seen=t,
            still_since=t - credit,
            last_seen=t,
            track_id=c.track_id,
            blob_id=c.blob_id,
            confidence=c.confidence,
        )
        self._next_id += 1
        self._items.append(item)
        # who stood by this place before it was first seen (the dropper, for a late blob):
        # the keeper is whoever was near it longest, passers-by are only near for a moment
        frames_near: dict[int, int] = {}
        for th, past in self._history:
            if th >= t:
                continue
            d = self._distances(past, item)
            if len(d) and float(d.min()) <= self.owner_radius_m:
                item.owned = True
                item.last_near = th
                for pid in past.ids[d <= self.owner_radius_m]:
                    if pid >= 0:
                        frames_near[int(pid)] = frames_near.get(int(pid), 0) + 1
        if frames_near:
            item.keeper_id = max(frames_near, key=lambda pid: frames_near[pid])
        return item

    def _follow(self, item: _Item, c: _Candidate, people: _People, t: float) -> bool:
        """Update the item with its candidate of this frame; True when it moved."""
        item.box = c.box
        item.last_seen = t
        item.confidence = c.confidence
        if c.track_id >= 0:
            item.track_id = c.track_id
        moved = self._moved_m(item, c.foot, people) > self.max_move_m
        if moved:
            item.anchor = c.foot
            item.still_since = t
        elif c.blob_id >= 0 and item.blob_id != c.blob_id:
            # the background model has seen it still for (about) blob_still_s already
            item.still_since = min(item.still_since, t - self.blob_still_s)
        if c.blob_id >= 0:
            item.blob_id = c.blob_id
        return moved

    def _attend(self, item: _Item, people: _People, t: float, moving: bool = False) -> None:
        """Note who is near the item now; whoever is near when it appears or moves keeps it."""
        if not len(people.ids):
            return
        if self.ground is None:
            gap = np.linalg.norm(
                y_normalised(people.feet, self.frame_aspect)
                - y_normalised(item.foot, self.frame_aspect),
                axis=1,
            )
            k = int(gap.argmin())
            item.scale = float(approx_metres_per_unit(people.heights[k]))
        d = self._distances(people, item)
        k = int(d.argmin())
        if float(d[k]) > self.owner_radius_m:
            return
        item.last_near = t
        if moving or t - item.first_seen <= self.owner_grace_s:
            item.owned = True
            if moving or item.keeper_id < 0:  # whoever carries it; else the first one by it
                item.keeper_id = int(people.ids[k])

    # --- metres ----------------------------------------------------------------------------

    def _distances(self, people: _People, item: _Item) -> F64:
        """Ground distance (m) from each person's feet to the item's foot point."""
        if not len(people.ids):
            return np.zeros(0, dtype=np.float64)
        if people.ground is not None and self.ground is not None:
            g = self.ground.to_ground(item.foot)
            out: F64 = np.linalg.norm(people.ground - g, axis=1)
            return out
        gap = y_normalised(people.feet, self.frame_aspect) - y_normalised(
            item.foot, self.frame_aspect
        )
        out = np.linalg.norm(gap, axis=1) * approx_metres_per_unit(people.heights)
        return out

    def _moved_m(self, item: _Item, foot: F64, people: _People) -> float:
        if self.ground is not None:
            return self.ground.distance_m(item.anchor, foot)
        scale = item.scale
        if scale is None:
            scale = _OBJECT_HEIGHT_M / max(float(item.box[3] - item.box[1]), 1e-3)
        gap = y_normalised(foot, self.frame_aspect) - y_normalised(item.anchor, self.frame_aspect)
        return float(np.linalg.norm(gap)) * scale

    # --- the rule --------------------------------------------------------------------------

    def _check(self, item: _Item, t: float) -> RuleHit | None:
        if self.require_owner and not item.owned:
            return None
        if item.last_near == t:
            return None
        alone_since = item.last_near if item.last_near is not None else item.first_seen
        if t - item.still_since < self.static_s or t - alone_since < self.unattended_s:
            return None
        if item.alerted_at is not None and (
            t - item.alerted_at < self.cooldown_s or alone_since <= item.alerted_at
        ):
            return None
        if any(_iou(box, item.box) >= _SAME_IOU for _, box in self._alerts):
            return None
        item.alerted_at = t
        self._alerts.append((t, item.box.copy()))
        ids = tuple(i for i in (item.track_id, item.keeper_id) if i >= 0)
        x1, y1, x2, y2 = (round(float(v), 4) for v in item.box)
        return RuleHit(
            rule_id=self.rule_id,
            event=EventType.OBJET_ABANDONNE,
            zone=self.zone_id,
            start_s=max(item.still_since, alone_since),
            t=t,
            confidence=item.confidence,
            track_ids=ids,
            boxes=((x1, y1, x2, y2),),
        )


def _iou(a: F64, b: F64) -> float:
    return float(
        box_iou(a.reshape(1, 4).astype(np.float32), b.reshape(1, 4).astype(np.float32))[0, 0]
    )


def _overlaps(a: NDArray[np.float32], b: NDArray[np.float32]) -> tuple[F64, F64]:
    """Pairwise intersection of (N, 4) and (M, 4) boxes over the area of the box of ``a``, and
    over the area of the smaller box: two (N, M) arrays."""
    n, m = a.shape[0], b.shape[0]
    if n == 0 or m == 0:
        return np.zeros((n, m), dtype=np.float64), np.zeros((n, m), dtype=np.float64)
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2).astype(np.float64)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1).astype(np.float64)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1).astype(np.float64)
    of_a: F64 = inter / np.maximum(area_a[:, None], 1e-12)
    of_smaller: F64 = inter / np.maximum(np.minimum(area_a[:, None], area_b[None, :]), 1e-12)
    return of_a, of_smaller
