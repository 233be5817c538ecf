"""ByteTrack-style multi-object tracker (pure numpy, time in seconds, no clock).

Two association passes per frame, as in ByteTrack (Zhang et al., 2022): confident detections
first, then low-score ones against the tracks still unmatched, so a partly occluded person keeps
its id. Motion is a constant-velocity prediction of the box, smoothed exponentially. Tracks are
class-consistent up to :attr:`TrackerParams.class_groups` (a person who falls is detected as
``person_lying`` and keeps their id; the track's class follows its latest detection), confirmed
after ``min_hits`` matches and dropped after ``max_lost_s`` seconds without a match. Ages are in
seconds, not frames, so the tracker works at any analysis rate (EX-007).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from veilleur.runtime.core.detections import Detections, box_iou
from veilleur.runtime.core.taxonomy import CLASS_IDS

PERSON_POSTURES: frozenset[int] = frozenset({CLASS_IDS["person"], CLASS_IDS["person_lying"]})
"""Classes one person's track may switch between (upright ↔ on the ground)."""


@dataclass
class Track:
    track_id: int
    class_id: int
    box: NDArray[np.float32]
    velocity: NDArray[np.float32]
    score: float
    last_t: float
    first_t: float
    hits: int = 1
    confirmed: bool = False
    history: list[tuple[float, float, float]] = field(default_factory=list)

    def predict(self, t: float) -> NDArray[np.float32]:
        dt = max(0.0, t - self.last_t)
        return (self.box + self.velocity * dt).astype(np.float32)


@dataclass(frozen=True)
class TrackerParams:
    """Tracker settings.

    Attributes:
        class_groups: sets of classes a detection may switch between within one track (the
            detector's class for one object can change: person → person_lying on a fall).
            A track matches detections of its own class (IoU ≥ ``match_iou``), then, among
            what is left, of another class of its group (IoU ≥ ``group_match_iou``: a change of
            posture changes the box's shape); other classes never.
        group_duplicate_iou: an unmatched box overlapping a box of another class of its group
            matched in the same frame by at least this IoU is the same object detected twice
            (class-aware NMS keeps both) and starts no track.
    """

    high_score: float = 0.5
    low_score: float = 0.1
    match_iou: float = 0.2
    min_hits: int = 2
    max_lost_s: float = 2.0
    velocity_smoothing: float = 0.6
    history_s: float = 10.0
    class_groups: tuple[frozenset[int], ...] = (PERSON_POSTURES,)
    group_match_iou: float = 0.1
    group_duplicate_iou: float = 0.5

    def class_key(self, class_id: int) -> int:
        """Classes with the same key may share a track (the group's smallest id, else itself)."""
        for group in self.class_groups:
            if class_id in group:
                return min(group)
        return class_id


def _greedy_match(
    iou: NDArray[np.float32], threshold: float
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Greedy highest-IoU-first matching; returns pairs and unmatched rows / columns."""
    pairs: list[tuple[int, int]] = []
    if iou.size:
        flat = np.argsort(-iou, axis=None)
        # best first, up to the first pair below the threshold (compared as numpy compares)
        below = iou.ravel()[flat] < threshold
        above = int(np.argmax(below)) if below.any() else flat.size
        ncols = iou.shape[1]
        used_r: set[int] = set()
        used_c: set[int] = set()
        for f in flat[:above].tolist():
            r, c = divmod(f, ncols)
            if r in used_r or c in used_c:
                continue
            pairs.append((r, c))
            used_r.add(r)
            used_c.add(c)
    rows = sorted(set(range(iou.shape[0])) - {p[0] for p in pairs})
    cols = sorted(set(range(iou.shape[1])) - {p[1] for p in pairs})
    return pairs, rows, cols


def _predict_all(tracks: list[Track], t: float) -> NDArray[np.float32]:
    """``Track.predict(t)`` of every track as one (K, 4) array.

    One numpy expression for all tracks instead of one per track. Equal to the per-track
    predictions when boxes and velocities are float32 (what :meth:`ByteTracker.update`
    stores for float32 detections): the time step is rounded to float32 as numpy does for a
    Python float multiplying a float32 array. Other dtypes take the per-track path.
    """
    if not tracks:
        return np.zeros((0, 4), dtype=np.float32)
    boxes = np.array([tr.box for tr in tracks])
    vel = np.array([tr.velocity for tr in tracks])
    if boxes.dtype != np.float32 or vel.dtype != np.float32 or boxes.shape[1:] != (4,):
        return np.array([tr.predict(t) for tr in tracks], dtype=np.float32).reshape(-1, 4)
    dt = np.array([max(0.0, t - tr.last_t) for tr in tracks], dtype=np.float32)
    pred: NDArray[np.float32] = boxes + vel * dt[:, None]
    return pred


class ByteTracker:
    """Assigns stable ``tracker_id``s to detections, frame after frame.

    Example:
        >>> tr = ByteTracker()
        >>> d = Detections.from_arrays([[0, 0, 10, 10]], [0.9], [0])
        >>> tr.update(d, 0.0).tracker_id.tolist(), tr.update(d, 0.1).tracker_id.tolist()
        ([-1], [1])
    """

    def __init__(self, params: TrackerParams | None = None) -> None:
        self.params = params or TrackerParams()
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, dets: Detections, t: float) -> Detections:
        """Match ``dets`` (at stream time ``t`` seconds) to tracks.

        Returns:
            The detections with ``tracker_id`` set for those matched to a confirmed track
            (``-1`` for unconfirmed or unmatched low-score boxes).
        """
        p = self.params
        ids = np.full(len(dets), -1, dtype=np.int64)
        self.tracks = [tr for tr in self.tracks if t - tr.last_t <= p.max_lost_s]
        high = np.flatnonzero(dets.confidence >= p.high_score)
        low = np.flatnonzero((dets.confidence < p.high_score) & (dets.confidence >= p.low_score))

        unmatched_tracks = list(range(len(self.tracks)))
        for det_idx, allow_new in ((high, True), (low, False)):
            if len(det_idx) == 0:
                continue
            cand = [self.tracks[i] for i in unmatched_tracks]
            pred = _predict_all(cand, t)
            iou = box_iou(pred, dets.xyxy[det_idx])
            pairs, free_rows, free_cols = self._associate(cand, dets.class_id[det_idx], iou)
            matched_dets = [int(det_idx[c]) for _, c in pairs]
            matched_tracks = [cand[r] for r, _ in pairs]
            self._apply_all(matched_tracks, dets, matched_dets, t)
            for tr, d in zip(matched_tracks, matched_dets, strict=True):
                tr.class_id = int(dets.class_id[d])
                if tr.confirmed:
                    ids[d] = tr.track_id
            unmatched_tracks = [unmatched_tracks[r] for r in free_rows]
            if allow_new:
                for c in free_cols:
                    d = int(det_idx[c])
                    if self._group_duplicate(dets, d, matched_dets):
                        continue
                    self.tracks.append(
                        Track(
                            track_id=self._next_id,
                            class_id=int(dets.class_id[d]),
                            box=dets.xyxy[d].copy(),
                            velocity=np.zeros(4, dtype=np.float32),
                            score=float(dets.confidence[d]),
                            last_t=t,
                            first_t=t,
                            history=[self._foot(dets.xyxy[d], t)],
                        )
                    )
                    self._next_id += 1
        return dets.with_tracker_ids(ids)

    def _associate(
        self, cand: list[Track], det_class: NDArray[np.int64], iou: NDArray[np.float32]
    ) -> tuple[list[tuple[int, int]], list[int], list[int]]:
        """Match tracks to boxes of their own class, then the rest within class groups.

        A class change (person → person_lying) changes the box's shape, so its IoU with the
        track is low (a 60 × 170 px person and the 170 × 50 px body on the ground share less
        than 0.2): the second pass takes it at ``group_match_iou``, after every same-class
        pair, so a class change never wins over the same class.
        """
        p = self.params
        track_class = np.array([tr.class_id for tr in cand], dtype=np.int64)
        same = track_class[:, None] == det_class[None, :]
        pairs, free_rows, free_cols = _greedy_match(
            np.where(same, iou, 0.0).astype(np.float32), p.match_iou
        )
        if not (free_rows and free_cols and p.class_groups):
            return pairs, free_rows, free_cols
        track_keys = np.array([p.class_key(int(c)) for c in track_class[free_rows]])
        det_keys = np.array([p.class_key(int(c)) for c in det_class[free_cols]])
        grouped = (track_keys[:, None] == det_keys[None, :]) & ~same[np.ix_(free_rows, free_cols)]
        sub = np.where(grouped, iou[np.ix_(free_rows, free_cols)], 0.0).astype(np.float32)
        more, rows, cols = _greedy_match(sub, p.group_match_iou)
        pairs += [(free_rows[r], free_cols[c]) for r, c in more]
        return pairs, [free_rows[r] for r in rows], [free_cols[c] for c in cols]

    def _group_duplicate(self, dets: Detections, d: int, matched: list[int]) -> bool:
        """Whether box ``d`` repeats, under another class of its group, a matched box.

        Non-maximum suppression is per class, so a falling person may come out both as
        ``person`` and ``person_lying``; the second box must not start a second track.
        """
        p = self.params
        key = p.class_key(int(dets.class_id[d]))
        others = [
            m
            for m in matched
            if dets.class_id[m] != dets.class_id[d] and p.class_key(int(dets.class_id[m])) == key
        ]
        if not others:
            return False
        iou = box_iou(dets.xyxy[d : d + 1], dets.xyxy[others])
        return bool(np.max(iou) >= p.group_duplicate_iou)

    @staticmethod
    def _foot(box: NDArray[np.float32], t: float) -> tuple[float, float, float]:
        return (t, float(box[0] + box[2]) / 2, float(box[3]))

    def _apply_all(self, tracks: list[Track], dets: Detections, rows: list[int], t: float) -> None:
        """:meth:`_apply` of box ``dets[rows[j]]`` to ``tracks[j]`` for every j, at once.

        The velocities of all matched tracks are one numpy expression (the per-track
        arithmetic, float32 as there: same values); other dtypes go track by track.
        """
        if not tracks:
            return
        new = dets.xyxy[rows]
        old = np.array([tr.box for tr in tracks])
        old_v = np.array([tr.velocity for tr in tracks])
        if not (new.dtype == old.dtype == old_v.dtype == np.float32) or old.shape != new.shape:
            for tr, d in zip(tracks, rows, strict=True):
                changed = tr.class_id != int(dets.class_id[d])
                self._apply(tr, dets.xyxy[d], float(dets.confidence[d]), t, keep_velocity=changed)
            return
        p = self.params
        classes = dets.class_id[rows].tolist()
        scores = dets.confidence[rows].tolist()
        dts = [t - tr.last_t for tr in tracks]
        dt32 = np.array(dts, dtype=np.float32)  # as numpy rounds a Python float for float32
        with np.errstate(divide="ignore", invalid="ignore"):  # dt <= 0: rows not used
            v = (new - old) / dt32[:, None]
        vel = (p.velocity_smoothing * old_v + (1 - p.velocity_smoothing) * v).astype(np.float32)
        sums_x = (new[:, 0] + new[:, 2]).tolist()  # as _foot: float32 sum, halved as a float
        bottoms = new[:, 3].tolist()
        for j, tr in enumerate(tracks):
            if dts[j] > 0 and tr.class_id == classes[j]:
                tr.velocity = vel[j].copy()
            tr.box = new[j].copy()
            tr.score = float(scores[j])
            tr.last_t = t
            tr.hits += 1
            tr.confirmed = tr.confirmed or tr.hits >= p.min_hits
            tr.history.append((t, float(sums_x[j]) / 2, float(bottoms[j])))
            while tr.history and t - tr.history[0][0] > p.history_s:
                tr.history.pop(0)

    def _apply(
        self,
        tr: Track,
        box: NDArray[np.float32],
        score: float,
        t: float,
        keep_velocity: bool = False,
    ) -> None:
        """Move ``tr`` to ``box``; ``keep_velocity`` when the box's shape jumped (class change).

        A change of class changes the box's shape at once; taken as motion, it would make the
        prediction keep stretching the box and lose the track on the next frame.
        """
        p = self.params
        dt = t - tr.last_t
        if dt > 0 and not keep_velocity:
            v = (box - tr.box) / dt
            tr.velocity = (
                p.velocity_smoothing * tr.velocity + (1 - p.velocity_smoothing) * v
            ).astype(np.float32)
        tr.box = box.copy()
        tr.score = score
        tr.last_t = t
        tr.hits += 1
        tr.confirmed = tr.confirmed or tr.hits >= p.min_hits
        tr.history.append(self._foot(box, t))
        while tr.history and t - tr.history[0][0] > p.history_s:
            tr.history.pop(0)

    def track(self, track_id: int) -> Track | None:
        for tr in self.tracks:
            if tr.track_id == track_id:
                return tr
        return None
