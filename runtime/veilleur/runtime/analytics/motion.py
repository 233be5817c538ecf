"""Per-track motion history on the ground: positions over time, speeds in m/s.

Shared by the analysers that reason in metres. With a
:class:`~veilleur.runtime.core.calibration.GroundPlane` the foot points are mapped to ground
metres exactly (up to the calibration's error). Without one the history keeps the points in the
y-normalised image frame (:func:`~veilleur.runtime.core.calibration.y_normalised`) with the
box heights, and converts to metres on demand with the apparent height of a standing person as
the scale (:func:`~veilleur.runtime.core.calibration.approx_metres_per_unit`): the estimate is
approximate ("degraded"), see :func:`~veilleur.runtime.core.calibration.approx_ground_m`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from veilleur.runtime.core.calibration import (
    PERSON_HEIGHT_M,
    GroundPlane,
    approx_metres_per_unit,
    y_normalised,
)
from veilleur.runtime.core.detections import Detections

Vec = NDArray[np.float64]


@dataclass(frozen=True)
class Sample:
    """One observation of a track: time, position and normalised box height.

    ``x, y`` are ground metres when calibrated, else y-normalised image units.
    """

    t: float
    x: float
    y: float
    height: float


@dataclass(frozen=True)
class Span:
    """A track's first and last positions over a time window."""

    t0: float
    t1: float
    p0: Vec
    p1: Vec
    height: float
    """Median normalised box height over the window (the uncalibrated scale)."""

    @property
    def dt(self) -> float:
        return self.t1 - self.t0


@dataclass
class MotionHistory:
    """Foot-point history of every track, kept ``horizon_s`` seconds.

    Example:
        >>> m = MotionHistory(frame_aspect=1.0)
        >>> for i in range(11):
        ...     box = [[0.1 + 0.02 * i, 0.3, 0.14 + 0.02 * i, 0.47]]  # 0.17 tall: 10 m/unit
        ...     _ = m.observe(Detections.from_arrays(box, [0.9], [0], [1]), i * 0.1)
        >>> round(m.speed_mps(1, 1.0, window_s=1.0) or 0.0, 2)
        2.0
    """

    ground: GroundPlane | None = None
    frame_aspect: float = 16 / 9
    horizon_s: float = 3.0
    forget_s: float = 5.0
    person_height_m: float = PERSON_HEIGHT_M
    _hist: dict[int, deque[Sample]] = field(default_factory=dict)

    @property
    def degraded(self) -> bool:
        """True without calibration: metres are estimated from people's apparent height."""
        return self.ground is None

    def observe(
        self, dets: Detections, t: float, idx: NDArray[np.int64] | None = None
    ) -> list[int]:
        """Record the foot points of tracked detections ``idx`` (all tracked ones by default).

        Returns:
            The track ids recorded. Untracked boxes (``tracker_id`` -1) are skipped.
        """
        if idx is None:
            idx = np.flatnonzero(dets.tracker_id >= 0)
        idx = idx[dets.tracker_id[idx] >= 0]
        feet = dets.foot_points()[idx]
        heights = dets.xyxy[idx, 3] - dets.xyxy[idx, 1]
        if self.ground is not None:
            pos = self.ground.to_ground(feet)
        else:
            pos = y_normalised(feet, self.frame_aspect)
        seen: list[int] = []
        for j, i in enumerate(idx):
            tid = int(dets.tracker_id[i])
            h = self._hist.setdefault(tid, deque())
            if h and t <= h[-1].t:
                continue  # one sample per track and time; time never goes back
            h.append(Sample(t, float(pos[j, 0]), float(pos[j, 1]), float(heights[j])))
            while t - h[0].t > self.horizon_s:
                h.popleft()
            seen.append(tid)
        self.forget(t)
        return seen

    def forget(self, t: float) -> None:
        """Drop tracks not seen for ``forget_s`` seconds."""
        for tid in [k for k, h in self._hist.items() if t - h[-1].t > self.forget_s]:
            del self._hist[tid]

    def last(self, tid: int) -> Sample | None:
        h = self._hist.get(tid)
        return h[-1] if h else None

    def span(self, tid: int, t: float, window_s: float, min_fraction: float = 0.5) -> Span | None:
        """The track's motion over ``[t - window_s, t]``.

        None when the track was not seen at ``t`` or its samples in the window cover less
        than ``min_fraction`` of it (too short to give a steady speed).
        """
        h = self._hist.get(tid)
        if not h or h[-1].t != t:
            return None
        first = next((s for s in h if t - s.t <= window_s + 1e-9), h[-1])
        if t - first.t < min_fraction * window_s or t - first.t <= 0:
            return None
        heights = [s.height for s in h if s.t >= first.t]
        return Span(
            t0=first.t,
            t1=t,
            p0=np.array([first.x, first.y]),
            p1=np.array([h[-1].x, h[-1].y]),
            height=_median(heights),
        )

    def metres_per_unit(self, box_height: float) -> float:
        """Metres per stored position unit: 1 when calibrated, else from the box height."""
        if self.ground is not None:
            return 1.0
        return float(approx_metres_per_unit(max(box_height, 1e-6), self.person_height_m))

    def velocity_mps(self, span: Span) -> Vec:
        """Mean ground velocity over a span, in m/s (net displacement, robust to jitter)."""
        v: Vec = (span.p1 - span.p0) * self.metres_per_unit(span.height) / span.dt
        return v

    def speed_mps(self, tid: int, t: float, window_s: float = 1.0) -> float | None:
        """Ground speed of ``tid`` over the last ``window_s`` seconds, or None (see span)."""
        s = self.span(tid, t, window_s)
        return None if s is None else float(np.linalg.norm(self.velocity_mps(s)))


def spread_rate_mps(motion: MotionHistory, spans: list[Span]) -> float:
    """Rate of change of a group's mean distance to its centroid, in m/s.

    Positive when the group disperses, negative when it converges. Computed on the same tracks
    at both ends of their spans, so tracks entering or leaving do not count as spreading.
    Without calibration all positions share one scale, from the median box height of the
    group (see :func:`~veilleur.runtime.core.calibration.approx_ground_m`).
    """
    if len(spans) < 2:
        return 0.0
    p0 = np.stack([s.p0 for s in spans])
    p1 = np.stack([s.p1 for s in spans])
    scale = motion.metres_per_unit(float(np.median([s.height for s in spans])))
    d0 = float(np.mean(np.linalg.norm(p0 - p0.mean(axis=0), axis=1)))
    d1 = float(np.mean(np.linalg.norm(p1 - p1.mean(axis=0), axis=1)))
    dt = float(np.mean([s.dt for s in spans]))
    return (d1 - d0) * scale / dt if dt > 0 else 0.0


def _median(values: list[float]) -> float:
    """``float(np.median(values))`` of a short list of floats, without numpy's overhead.

    Same value: the middle element, or the mean of the two middle ones, ``(a + b) / 2``,
    as numpy computes it; NaN or an empty list go to numpy (NaN / warning as before).
    """
    n = len(values)
    if n == 0 or any(v != v for v in values):
        return float(np.median(values))
    s = sorted(values)
    mid = n // 2
    if n % 2:
        return float(s[mid])
    return float((s[mid - 1] + s[mid]) / 2)
