"""Class-agnostic static objects by dual background modelling: the abandoned-object cue.

The detector names bags; this module finds *anything* that appeared in the scene and then
stayed still, so that an object the detector has no class for (a dark box, a parcel) can still
be reported as abandoned by :class:`~veilleur.runtime.analytics.abandoned.AbandonedObject`.

Algorithm (per frame, on a grey image about ``work_width`` pixels wide, lightly blurred):

1. **Photometric normalisation.** The frame is multiplied by one global gain, the median ratio
   of the long-term background to the frame, so that dusk, auto-exposure and lights switching
   evenly do not look like change.
2. **Two backgrounds.** A *long-term* running average (time constant ``long_term_s``, frozen
   where static evidence exists) and a *short-term* one (``short_term_s``). Both learning
   rates are per second (``1 - exp(-dt / tau)``), so the behaviour does not depend on the
   analysis frame rate. Differences are taken against the 3×3 min/max of each background,
   which tolerates a pixel of jitter; the threshold is ``diff_threshold`` grey levels, or
   ``noise_k`` times the stream's noise when that is higher.
3. **Static evidence.** A pixel that is foreground for the long-term model but background for
   the short-term one belongs to something that arrived and stopped: its evidence (seconds)
   grows by ``dt``. It decays slowly while something moves over it (an occluder, or a
   flickering reflection: never still, it never accumulates) and quickly once the pixel is
   background again (the object left).
4. **Blobs.** Pixels with at least ``min(1 s, static_s / 2)`` of evidence are grouped into
   connected components; components keep a stable id from frame to frame by box overlap
   (IoU ≥ 0.3). Specks too small to ever be reported are healed once still.
5. **Ghosts and relighting.** A component can also be the *hole* left by something that was in
   the background and went away (a person present in the first frame, a van driving off), or a
   patch of light or shadow. Two cues, summed into a score (exponential mean over frames):
   along the component's contour a new object *adds* edges that the background did not have
   while a ghost *removes* edges the background had (gradient energy, frame against
   background); and a ghost's inside now looks like its surroundings while an object's inside
   did before (grey-level histogram intersection with a ring around it). A patch whose texture
   is the background's under other light (high normalised correlation) is relighting. Ghosts
   and relit patches are written into the long-term background at once (healed); components
   in between are kept but not reported.
6. **Global change.** When more than ``global_change_frac`` of the image differs from the
   long-term background at once (lights switched unevenly, camera moved, IR switch), both
   backgrounds restart from the current frame.

Blobs are reported once their median evidence reaches ``static_s`` (about ``static_s`` + 1 s
after the object stopped), if they are judged objects, cover ``min_area``–``max_area`` of the
frame, are compact and still differ from the background. Whatever is in the first
frame (or in the frame of a restart) is background by definition: street furniture, parked
vehicles and a bag already there are never reported. Objects that stay longer than
``max_static_s`` are absorbed into the background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from veilleur.runtime.core.detections import Detections, box_iou
from veilleur.runtime.scene.imaging import shrink_factor, work_gray

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
Bool = NDArray[np.bool_]

_K3 = np.ones((3, 3), np.uint8)
_K5 = np.ones((5, 5), np.uint8)
_K9 = np.ones((9, 9), np.uint8)
_MIN_STATIC_S = 0.5
"""Shortest usable ``static_s``: the short-term model itself needs about this long."""
_GAIN_FLOOR = 12.0
"""Grey levels below which pixels do not vote for the global gain (too noisy, or clipped)."""


@dataclass
class _Blob:
    id: int
    box: tuple[int, int, int, int]
    """``x0, y0, x1, y1`` in work pixels, ``x1`` and ``y1`` exclusive."""
    first_t: float
    last_t: float
    stability: float = 0.0
    score: float | None = None
    """Exponential mean of the object-versus-ghost score (−2…2, > 0 new object)."""
    checks: int = 0
    """Frames on which the score was measured."""


@dataclass(frozen=True)
class _Component:
    label: int
    box: tuple[int, int, int, int]
    area: int
    stability: float
    cover: float


class StaticObjectDetector:
    """Boxes of objects that appeared after the background was learned and then stayed still.

    Args:
        static_s: seconds of stillness (static evidence) before a blob is reported; values
            under 0.5 s count as 0.5 s.
        min_area: smallest blob reported, as a fraction of the frame area.
        max_area: largest blob reported, as a fraction of the frame area.
        work_width: about the width (px) of the grey image the models run on: the frame is
            shrunk by the nearest integer factor (352 px for a 704 px frame, see
            :func:`~veilleur.runtime.scene.imaging.shrink_factor`).
        long_term_s: time constant (s) of the long-term background. It is frozen where static
            evidence exists, so it only bounds how fast unattended changes (moved furniture
            that never became a blob, slow shadows) are learned.
        short_term_s: time constant (s) of the short-term background: how long something must
            stop before it starts to count as still. Also the lag of a report after
            ``static_s``, roughly ``short_term_s · ln(contrast / threshold)``.
        diff_threshold: minimum grey-level difference (0–255) that counts as foreground.
        noise_k: the threshold is at least ``noise_k`` times the stream's estimated noise.
        global_change_frac: fraction of the image that may differ from the long-term
            background before both models restart from the current frame.
        max_static_s: a blob older than this is absorbed into the background.
        object_score: object-versus-ghost score (−2…2, step 5) from which a blob is a new
            object and can be reported.
        ghost_score: score at or below which a blob is a ghost and is healed; in between the
            blob is tracked but neither reported nor healed.
        relight_ncc: correlation of a blob's texture with the background above which it is
            the same surface under other light, not an object.
        max_elongation: longest side over shortest side of a reported blob's box: thin strips
            are left-overs of ghosts (a kerb revealed by a van leaving), not objects.

    Example:
        >>> import numpy as np
        >>> det = StaticObjectDetector(static_s=1.0)
        >>> ground = np.full((120, 160, 3), 128, np.uint8)
        >>> with_box = ground.copy()
        >>> with_box[50:70, 60:80] = 30
        >>> len(det.update(ground, 0.0))
        0
        >>> out = [det.update(with_box, 0.2 * i) for i in range(1, 30)]
        >>> len(out[-1]), out[-1].class_id.tolist()
        (1, [-1])
    """

    def __init__(
        self,
        static_s: float = 5.0,
        min_area: float = 0.0005,
        max_area: float = 0.05,
        work_width: int = 320,
        long_term_s: float = 300.0,
        short_term_s: float = 0.7,
        diff_threshold: float = 12.0,
        noise_k: float = 4.0,
        global_change_frac: float = 0.4,
        max_static_s: float = 600.0,
        object_score: float = 0.5,
        ghost_score: float = 0.1,
        relight_ncc: float = 0.8,
        max_elongation: float = 5.0,
    ) -> None:
        if static_s < 0:
            raise ValueError(f"static_s must be ≥ 0, got {static_s}")
        if not 0 <= min_area < max_area <= 1:
            raise ValueError(f"expected 0 ≤ min_area < max_area ≤ 1, got {min_area}, {max_area}")
        if work_width < 32:
            raise ValueError(f"work_width must be at least 32 px, got {work_width}")
        if min(long_term_s, short_term_s) <= 0 or short_term_s >= long_term_s:
            raise ValueError("expected 0 < short_term_s < long_term_s")
        if not 0 < global_change_frac <= 1:
            raise ValueError("global_change_frac must be in (0, 1]")
        self.static_s = max(float(static_s), _MIN_STATIC_S)
        self.min_area = float(min_area)
        self.max_area = float(max_area)
        self.work_width = int(work_width)
        self.long_term_s = float(long_term_s)
        self.short_term_s = float(short_term_s)
        self.diff_threshold = float(diff_threshold)
        self.noise_k = float(noise_k)
        self.global_change_frac = float(global_change_frac)
        self.max_static_s = float(max_static_s)
        self.object_score = float(object_score)
        self.ghost_score = float(ghost_score)
        self.relight_ncc = float(relight_ncc)
        self.max_elongation = float(max_elongation)
        self.max_dt = 1.0
        """Longest step (s) credited between two frames (a gap in the stream counts as this)."""
        self.occluded_decay = 0.5
        """Evidence lost per second while something moves over a pixel (an occluder)."""
        self.background_decay = 2.0
        """Evidence lost per second once a pixel matches the long-term background again."""
        self.blob_memory_s = 2.0
        """How long an unseen blob keeps its id."""
        self.resets = 0
        """Times both backgrounds restarted because of a global change (diagnostics)."""
        self.fg_fraction = 0.0
        """Fraction of the last frame differing from the long-term background (diagnostics)."""
        self.threshold = self.diff_threshold
        """Grey-level threshold used on the last frame (diagnostics)."""
        self._next_id = 1
        self._bl: F32 | None = None
        self._bs: F32 = np.zeros((0, 0), np.float32)
        self._ev: F32 = np.zeros((0, 0), np.float32)
        self._t_prev = 0.0
        self._blobs: dict[int, _Blob] = {}
        self._norm = (1.0, 1.0)

    @property
    def _t_min(self) -> float:
        """Evidence (s) from which a pixel joins a candidate blob."""
        return min(1.0, 0.5 * self.static_s)

    @property
    def _cap(self) -> float:
        return 2.0 * self.static_s

    def reset(self) -> None:
        """Forget both backgrounds: the next frame becomes the background (e.g. new view)."""
        self._bl = None
        self._blobs.clear()

    def update(self, image: NDArray[np.uint8], t: float) -> Detections:
        """Consume one BGR frame at stream time ``t`` (s); return the static blobs.

        Boxes are normalised (0–1), ``class_id`` is -1, ``tracker_id`` the blob's stable id and
        ``confidence`` its stability: 0.5 at ``static_s`` of stillness, 1 at twice that.
        """
        small = self._prepare(image)
        if self._bl is None or self._bl.shape != small.shape:
            self._start(small, t)
            return Detections.empty()
        dt = min(max(t - self._t_prev, 0.0), self.max_dt)
        self._t_prev = t
        cur = self._normalise(small, self._bl)
        fl, fs = self._foreground(cur)
        self.fg_fraction = float(np.count_nonzero(fl)) / fl.size
        if self.fg_fraction > self.global_change_frac:
            self.resets += 1
            self._start(small, t)
            return Detections.empty()
        self._accumulate(fl, fs, dt)
        self._learn(cur, dt)
        return self._report(cur, fl, t)

    # --- models ----------------------------------------------------------------------------

    def _prepare(self, image: NDArray[np.uint8]) -> F32:
        gray = work_gray(image, self.work_width).astype(np.float32)
        k = shrink_factor(image.shape[1], self.work_width)
        self._norm = (k / image.shape[1], k / image.shape[0])
        return np.asarray(cv2.GaussianBlur(gray, (3, 3), 0), dtype=np.float32)

    def _start(self, small: F32, t: float) -> None:
        self._bl = small.copy()
        self._bs = small.copy()
        self._ev = np.zeros_like(small)
        self._t_prev = t
        self._blobs.clear()
        self.fg_fraction = 0.0

    @staticmethod
    def _normalise(small: F32, bl: F32) -> F32:
        """The frame in the long-term background's photometry (one robust global gain)."""
        s = small[::4, ::4]
        b = bl[::4, ::4]
        ok = (s > _GAIN_FLOOR) & (b > _GAIN_FLOOR) & (s < 250) & (b < 250)
        if np.count_nonzero(ok) < 32:
            return small
        gain = float(np.median(b[ok] / s[ok]))
        if abs(gain - 1.0) < 1e-3:
            return small
        out: F32 = small * np.float32(min(max(gain, 0.2), 5.0))
        return out

    def _foreground(self, cur: F32) -> tuple[Bool, Bool]:
        assert self._bl is not None
        sigma = 1.4826 * float(np.median(np.abs(cur[::3, ::3] - self._bs[::3, ::3])))
        self.threshold = thr = max(self.diff_threshold, self.noise_k * sigma)
        return _differs(cur, self._bl, thr), _differs(cur, self._bs, thr)

    def _accumulate(self, fl: Bool, fs: Bool, dt: float) -> None:
        ev = self._ev
        np.add(ev, dt, out=ev, where=fl & ~fs)
        np.subtract(ev, self.occluded_decay * dt, out=ev, where=fl & fs)
        np.subtract(ev, self.background_decay * dt, out=ev, where=~fl)
        np.clip(ev, 0.0, self._cap, out=ev)

    def _learn(self, cur: F32, dt: float) -> None:
        assert self._bl is not None
        if dt <= 0:
            return
        cv2.accumulateWeighted(cur, self._bs, 1.0 - math.exp(-dt / self.short_term_s))
        free = (self._ev <= 0).astype(np.uint8)
        cv2.accumulateWeighted(cur, self._bl, 1.0 - math.exp(-dt / self.long_term_s), free)

    # --- blobs -----------------------------------------------------------------------------

    def _components(self, cur: F32, fl: Bool) -> tuple[list[_Component], NDArray[np.int32]]:
        """Connected groups of pixels with evidence; specks that stay still are healed."""
        evident = self._ev >= self._t_min
        if not evident.any():
            return [], np.zeros(evident.shape, np.int32)
        cand = cv2.morphologyEx(evident.astype(np.uint8), cv2.MORPH_CLOSE, _K3)
        n, lab, stats, _ = cv2.connectedComponentsWithStats(cand, connectivity=8)
        labels = np.asarray(lab, dtype=np.int32)
        area = stats[:, cv2.CC_STAT_AREA]
        smallest = max(4, int(0.25 * self.min_area * cand.size))
        small = area < smallest
        small[0] = False  # label 0 is the background
        if small.any():
            # far too small to be reported, ever: once clearly still, they are background
            still = np.bincount(labels.ravel(), weights=self._ev.ravel(), minlength=n)
            for k in np.flatnonzero(small & (still >= self.static_s * np.maximum(area, 1))):
                x, y, w, h = (int(v) for v in stats[k, :4])
                self._heal(cur, (x, y, x + w, y + h), labels[y : y + h, x : x + w] == k)
        out: list[_Component] = []
        for k in np.flatnonzero(~small)[1:]:
            x, y, w, h, a = (int(v) for v in stats[k])
            m = labels[y : y + h, x : x + w] == k
            stability = float(np.median(self._ev[y : y + h, x : x + w][m]))
            cover = float(np.count_nonzero(fl[y : y + h, x : x + w][m])) / a
            out.append(_Component(int(k), (x, y, x + w, y + h), a, stability, cover))
        return out, labels

    def _match(self, comps: list[_Component], t: float) -> list[_Blob]:
        """The blob of each component: the overlapping blob of the last frames, or a new one."""
        blobs = list(self._blobs.values())
        result: list[_Blob | None] = [None] * len(comps)
        if comps and blobs:
            a = np.asarray([c.box for c in comps], dtype=np.float32)
            b = np.asarray([bl.box for bl in blobs], dtype=np.float32)
            iou = box_iou(a, b)
            used: set[int] = set()
            for flat in np.argsort(-iou, axis=None):
                i, j = divmod(int(flat), len(blobs))
                if iou[i, j] < 0.3:
                    break
                if result[i] is None and j not in used:
                    result[i] = blobs[j]
                    used.add(j)
        out: list[_Blob] = []
        for i, c in enumerate(comps):
            blob = result[i]
            if blob is None:
                blob = _Blob(self._next_id, c.box, t, t)
                self._next_id += 1
                self._blobs[blob.id] = blob
            blob.box = c.box
            blob.last_t = t
            blob.stability = c.stability
            out.append(blob)
        return out

    def _report(self, cur: F32, fl: Bool, t: float) -> Detections:
        comps, labels = self._components(cur, fl)
        blobs = self._match(comps, t)
        frame_px = labels.size
        sx, sy = self._norm
        xyxy: list[list[float]] = []
        conf: list[float] = []
        ids: list[int] = []
        for c, blob in zip(comps, blobs, strict=True):
            x0, y0, x1, y1 = c.box
            mask = labels[y0:y1, x0:x1] == c.label
            if t - blob.first_t > self.max_static_s:
                self._heal(cur, c.box, mask)
                self._blobs.pop(blob.id, None)
                continue
            kind = self._classify(cur, c.box, mask, blob)
            if kind in ("ghost", "relit"):
                self._heal(cur, c.box, mask)
                self._blobs.pop(blob.id, None)
                continue
            if (
                kind == "object"
                and c.stability >= self.static_s
                and c.cover >= 0.5
                and self.min_area <= c.area / frame_px <= self.max_area
                and _compact(c.box, self.max_elongation)
            ):
                xyxy.append([x0 * sx, y0 * sy, x1 * sx, y1 * sy])
                conf.append(min(1.0, c.stability / self._cap))
                ids.append(blob.id)
        for bid in [b.id for b in self._blobs.values() if t - b.last_t > self.blob_memory_s]:
            del self._blobs[bid]
        if not ids:
            return Detections.empty()
        order = np.argsort(ids)
        return Detections.from_arrays(
            np.asarray(xyxy)[order],
            np.asarray(conf)[order],
            np.full(len(ids), -1),
            np.asarray(ids)[order],
        )

    def _classify(self, cur: F32, box: tuple[int, int, int, int], mask: Bool, blob: _Blob) -> str:
        """``object``, ``ghost``, ``relit`` or ``unsure`` (see the module docstring, step 5)."""
        assert self._bl is not None
        x0, y0, x1, y1 = box
        hh, ww = cur.shape
        pad = 5
        px0, py0 = max(0, x0 - pad), max(0, y0 - pad)
        px1, py1 = min(ww, x1 + pad), min(hh, y1 + pad)
        m8 = np.zeros((py1 - py0, px1 - px0), np.uint8)
        m8[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0] = mask
        c = cur[py0:py1, px0:px1]
        b = self._bl[py0:py1, px0:px1]
        inside = m8.astype(bool)
        inner = cv2.erode(m8, _K3).astype(bool)
        if np.count_nonzero(inner) >= 16:
            ci, bi = c[inner], b[inner]
            sc, sb = float(ci.std()), float(bi.std())
            texture = 0.5 * self.threshold
            if sc > texture and sb > texture:
                ncc = float(np.mean((ci - ci.mean()) * (bi - bi.mean()))) / (sc * sb)
                if ncc >= self.relight_ncc:
                    return "relit"
        # contour: a new object adds edges there, a ghost takes the background's edges away
        band = cv2.dilate(m8, _K5).astype(bool) & ~inner
        ec = float(np.mean(_gradient(c)[band]))
        eb = float(np.mean(_gradient(b)[band]))
        edges = (ec - eb) / (ec + eb + 1e-6)
        # region: a ghost's inside looks like its surroundings now, an object's did before
        ring = cv2.dilate(m8, _K9).astype(bool) & ~cv2.dilate(m8, _K3).astype(bool)
        around = _histogram(c[ring])
        region = _overlap(_histogram(b[inside]), around) - _overlap(_histogram(c[inside]), around)
        score = edges + region
        blob.score = score if blob.score is None else 0.7 * blob.score + 0.3 * score
        blob.checks += 1
        if blob.score <= self.ghost_score and blob.checks >= 3:
            return "ghost"
        return "object" if blob.score >= self.object_score else "unsure"

    def _heal(self, cur: F32, box: tuple[int, int, int, int], mask: Bool) -> None:
        """Write a component into the long-term background and clear its evidence."""
        assert self._bl is not None
        x0, y0, x1, y1 = box
        hh, ww = cur.shape
        px0, py0, px1, py1 = max(0, x0 - 1), max(0, y0 - 1), min(ww, x1 + 1), min(hh, y1 + 1)
        m8 = np.zeros((py1 - py0, px1 - px0), np.uint8)
        m8[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0] = mask
        m = cv2.dilate(m8, _K3).astype(bool)
        self._bl[py0:py1, px0:px1][m] = cur[py0:py1, px0:px1][m]
        self._ev[py0:py1, px0:px1][m] = 0.0


def _compact(box: tuple[int, int, int, int], max_elongation: float) -> bool:
    """At least 3 px across and at most ``max_elongation`` times longer than wide."""
    w, h = box[2] - box[0], box[3] - box[1]
    return min(w, h) >= 3 and max(w, h) <= max_elongation * min(w, h)


def _differs(cur: F32, bg: F32, thr: float) -> Bool:
    """Pixels outside ``[min, max] ± thr`` of the background's 3×3 neighbourhood."""
    hi = cv2.dilate(bg, _K3)
    lo = cv2.erode(bg, _K3)
    out: Bool = (cur > hi + thr) | (cur < lo - thr)
    return out


def _histogram(values: F32) -> NDArray[np.float64]:
    """Normalised 16-bin grey-level histogram."""
    h = np.bincount((np.clip(values, 0, 255) // 16).astype(np.intp), minlength=16)[:16]
    out: NDArray[np.float64] = h / max(1, int(h.sum()))
    return out


def _overlap(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Histogram intersection, 0 (disjoint) … 1 (same distribution)."""
    return float(np.minimum(a, b).sum())


def _gradient(img: F32) -> F32:
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)
    out: F32 = np.abs(gx) + np.abs(gy)
    return out
