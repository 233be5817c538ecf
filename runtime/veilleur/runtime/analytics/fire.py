"""Outbreak of fire (départ de feu): fire or smoke that persists and grows in a zone."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from veilleur.runtime.analytics.base import NO_CUES, RuleHit, SceneCues, box_tuple, check_k_of_n
from veilleur.runtime.analytics.weapon import anchored_in_polygon
from veilleur.runtime.core.detections import Detections, FloatArray, class_mask
from veilleur.runtime.core.events import EventType
from veilleur.runtime.core.geometry import Points
from veilleur.runtime.core.taxonomy import CLASS_IDS


def union_area(xyxy: FloatArray) -> float:
    """Exact area covered by the union of (N, 4) boxes (coordinate compression; N is small).

    Example:
        >>> union_area(np.array([[0, 0, 2, 2], [1, 1, 3, 3]], dtype=np.float32))
        7.0
    """
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    boxes = boxes[(boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])]
    if len(boxes) == 0:
        return 0.0
    xs = np.unique(boxes[:, [0, 2]])
    ys = np.unique(boxes[:, [1, 3]])
    cx = (xs[:-1] + xs[1:]) / 2
    cy = (ys[:-1] + ys[1:]) / 2
    gx, gy = np.meshgrid(cx, cy, indexing="ij")
    covered = np.zeros(gx.shape, dtype=bool)
    for x1, y1, x2, y2 in boxes:
        covered |= (gx > x1) & (gx < x2) & (gy > y1) & (gy < y2)
    cell = np.outer(np.diff(xs), np.diff(ys))
    return float(np.sum(cell[covered]))


@dataclass
class FireGrowth:
    """Alerts when fire or smoke persists in the zone and grows (or smokes for long).

    Each analysed frame counts as *present* when a detection of ``class_ids`` (normally fire
    and smoke) with confidence ≥ ``min_confidence`` has its box centre or bottom-centre in the
    zone; its *area* is the union of those boxes (fire and smoke together, overlaps counted
    once), in normalised image units — only ratios are used, so no calibration is needed.

    Persistence: present in ≥ ``k`` of the last ``n`` analysed frames (a light flashing every
    other frame, or a one-frame blip, fails it). While persistent, the rule alerts when either

    * **growth**: over the last ``window_s``, the median area of the present frames of its
      second half is ≥ ``min_growth`` times that of its first half (medians shrug off box
      jitter and a missed frame), or
    * **smoke**: persistence has lasted ``2 × window_s`` and ``smoke_class`` is present in
      ≥ ``k`` of the last ``n`` frames — a fire whose apparent size does not change (far away,
      smouldering) still smokes.

    Trade-off: a steady lamp or reflection detected as fire with a constant area never alerts;
    neither does a real fire that stays the same apparent size and produces no detected smoke.

    One alert per persistent episode (it re-arms when persistence is lost), at most one per
    ``cooldown_s``. ``start_s`` is the first present frame of the episode.
    """

    rule_id: str
    zone_id: str
    polygon: Points
    class_ids: frozenset[int]
    k: int = 5
    n: int = 8
    min_growth: float = 1.15
    window_s: float = 4.0
    min_confidence: float = 0.3
    cooldown_s: float = 60.0
    smoke_class: int = CLASS_IDS["smoke"]
    _frames: deque[tuple[float, bool, bool]] = field(default_factory=deque)
    _areas: deque[tuple[float, float]] = field(default_factory=deque)
    _since: float | None = None
    _armed: bool = True
    _last_alert: float | None = None
    last_growth: float | None = None

    def __post_init__(self) -> None:
        check_k_of_n(self.k, self.n)

    def update(self, dets: Detections, t: float, cues: SceneCues = NO_CUES) -> list[RuleHit]:
        mask = class_mask(dets.class_id, self.class_ids) & (dets.confidence >= self.min_confidence)
        idx = anchored_in_polygon(dets, np.flatnonzero(mask), self.polygon)
        present = len(idx) > 0
        smoke = bool(np.any(dets.class_id[idx] == self.smoke_class))
        self._frames.append((t, present, smoke))
        while len(self._frames) > self.n:
            self._frames.popleft()
        if present:
            self._areas.append((t, union_area(dets.xyxy[idx])))
        while self._areas and t - self._areas[0][0] > 2 * self.window_s:
            self._areas.popleft()

        persistent = sum(f[1] for f in self._frames) >= self.k
        if not persistent:
            self._since = None
            self._armed = True
            self.last_growth = None
            return []
        if self._since is None:
            self._since = next(ft for ft, p, _ in self._frames if p)
        self.last_growth = self._growth(t)
        growing = self.last_growth is not None and self.last_growth >= self.min_growth
        smoking = t - self._since >= 2 * self.window_s and sum(f[2] for f in self._frames) >= self.k
        cooled = self._last_alert is None or t - self._last_alert >= self.cooldown_s
        if not (present and (growing or smoking) and self._armed and cooled):
            return []
        self._armed = False
        self._last_alert = t
        return [
            RuleHit(
                rule_id=self.rule_id,
                event=EventType.FEU,
                zone=self.zone_id,
                start_s=self._since,
                t=t,
                confidence=float(np.mean(dets.confidence[idx])),
                track_ids=tuple(sorted({int(v) for v in dets.tracker_id[idx] if v >= 0})),
                boxes=tuple(box_tuple(dets, int(i)) for i in idx),
            )
        ]

    def _growth(self, t: float) -> float | None:
        """Late / early median area over the last ``window_s`` of the episode, or None.

        None until the episode's present frames cover three quarters of the window.
        """
        since = self._since if self._since is not None else t
        recent = [(ft, a) for ft, a in self._areas if t - ft <= self.window_s and ft >= since]
        if not recent or t - recent[0][0] < 0.75 * self.window_s:
            return None
        mid = t - self.window_s / 2
        early = [a for ft, a in recent if ft < mid]
        late = [a for ft, a in recent if ft >= mid]
        if not early or not late:
            return None
        base = float(np.median(early))
        return float(np.median(late)) / base if base > 0 else None
