"""View-change detection (EX-010): is the camera still looking at its reference view?

A PTZ camera that pans, tilts or zooms, or a camera that is knocked, sprayed or covered, no
longer matches the zones drawn on its view: zone rules must pause until the view is back.

Algorithm (per frame, on a grey image ``work_width`` pixels wide):

1. The *structure* of the image is its gradient magnitude (Sobel), square-rooted to keep strong
   edges (an on-screen clock, a kerb) from dominating, then blurred so that a pixel or two of
   shake does not count.
2. The reference is the running mean of these maps while the view is judged unchanged: the
   plain mean of the first frames, then an exponential mean with time constant ``adapt_s``.
   People walking through average out; slow changes of the scene are followed.
3. The image is cut into a grid of cells. Each *textured* reference cell (a flat sky or wall
   says nothing) is compared with the same cell now by normalised cross-correlation. A gain on
   the image scales the gradients, which the correlation ignores: lighting changes do not
   count. People cover a few cells; a pan, a zoom or a mask changes most of them.
4. The view *matches* when the fraction of textured cells that correlate (≥ ``cell_ncc``) is at
   least ``threshold``. It becomes ``changed`` after ``confirm_s`` of continuous mismatch and
   ``ok`` again after ``confirm_s`` of continuous match (no flapping either way).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from veilleur.runtime.scene.imaging import work_gray

F32 = NDArray[np.float32]

_NOISE_STRUCTURE = 0.35
"""Cell standard deviation of the structure map below which a cell is noise, not texture."""

OK = "ok"
CHANGED = "changed"


def format_stream_time(t: float) -> str:
    """Stream time in seconds → ``HH:MM:SS`` (hours may exceed 23)."""
    total = max(0, int(t))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


class ViewMonitor:
    """Tells whether the camera's view is still its reference view (pan, zoom, masking).

    Args:
        threshold: fraction (0–1) of the textured grid cells that must still correlate with the
            reference for the view to match.
        confirm_s: seconds of continuous mismatch before ``changed`` (and of continuous match
            before ``ok`` again).
        work_width: about the width (px) of the grey image compared: the frame is shrunk by
            the nearest integer factor (:func:`~veilleur.runtime.scene.imaging.shrink_factor`).
        grid: number of cells across and down.
        cell_ncc: correlation from which a cell matches its reference.
        adapt_s: time constant (s) with which the reference follows the scene while the view
            matches.

    Attributes:
        state: ``"ok"`` or ``"changed"``.
        reason: empty while ``ok``; for operators (French) while ``changed``, with the stream
            time from which the view differed.
        score: fraction of textured cells matching the reference in the last frame.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> scene = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
        >>> vm = ViewMonitor(confirm_s=1.0)
        >>> [vm.update(scene, t / 5) for t in range(3)]
        [True, True, True]
        >>> panned = np.roll(scene, 64, axis=1)
        >>> [vm.update(panned, 1 + t / 5) for t in range(7)][-1], vm.state
        (False, 'changed')
    """

    def __init__(
        self,
        threshold: float = 0.5,
        confirm_s: float = 2.0,
        work_width: int = 160,
        grid: tuple[int, int] = (8, 6),
        cell_ncc: float = 0.5,
        adapt_s: float = 60.0,
    ) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if confirm_s < 0 or adapt_s <= 0:
            raise ValueError("confirm_s must be ≥ 0 and adapt_s > 0")
        if work_width < 32 or min(grid) < 2:
            raise ValueError("work_width must be ≥ 32 px and the grid at least 2×2")
        self.threshold = float(threshold)
        self.confirm_s = float(confirm_s)
        self.work_width = int(work_width)
        self.grid = (int(grid[0]), int(grid[1]))
        self.cell_ncc = float(cell_ncc)
        self.adapt_s = float(adapt_s)
        self.state = OK
        self.reason = ""
        self.score = 1.0
        self.masked = False
        """Whether most textured cells lost their texture in the last frame (a covered lens)."""
        self._ref: F32 | None = None
        self._n = 0
        self._t_prev = 0.0
        self._bad_since: float | None = None
        self._good_since: float | None = None

    def reset_reference(self) -> None:
        """Take the next frame as the new reference view (e.g. after a preset was re-drawn)."""
        self._ref = None
        self._n = 0
        self.state = OK
        self.reason = ""
        self.score = 1.0
        self.masked = False
        self._bad_since = None
        self._good_since = None

    def update(self, image: NDArray[np.uint8], t: float) -> bool:
        """Consume one BGR frame at stream time ``t`` (s); True while the view is OK."""
        cur = self._structure(image)
        if self._ref is None or self._ref.shape != cur.shape:
            self.reset_reference()
            self._ref = cur
            self._n = 1
            self._t_prev = t
            return True
        dt = max(0.0, t - self._t_prev)
        self._t_prev = t
        matches = self._compare(cur)
        if matches:
            self._bad_since = None
            if self.state == CHANGED:
                self._good_since = t if self._good_since is None else self._good_since
                if t - self._good_since >= self.confirm_s:
                    self.state = OK
                    self.reason = ""
                    self._good_since = None
        else:
            self._good_since = None
            self._bad_since = t if self._bad_since is None else self._bad_since
            if self.state == OK and t - self._bad_since >= self.confirm_s:
                self.state = CHANGED
                since = format_stream_time(self._bad_since)
                self.reason = (
                    f"Vue masquée ou obstruée depuis {since}"
                    if self.masked
                    else f"Vue modifiée (pan/zoom ou masquage) depuis {since}"
                )
        if matches and self.state == OK:
            self._learn(cur, dt)
        return self.state == OK

    def _structure(self, image: NDArray[np.uint8]) -> F32:
        g = work_gray(image, self.work_width).astype(np.float32)
        gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
        mag = np.sqrt(cv2.magnitude(gx, gy))
        return np.asarray(cv2.GaussianBlur(mag, (0, 0), 1.5), dtype=np.float32)

    def _cells(self, img: F32) -> F32:
        """(cells, pixels) view of the image cut into the grid (edges trimmed)."""
        gx, gy = self.grid
        h, w = img.shape
        ch, cw = h // gy, w // gx
        cells = img[: ch * gy, : cw * gx].reshape(gy, ch, gx, cw).transpose(0, 2, 1, 3)
        out: F32 = cells.reshape(gx * gy, ch * cw)
        return out

    def _compare(self, cur: F32) -> bool:
        assert self._ref is not None
        r = self._cells(self._ref)
        c = self._cells(cur)
        r0 = r - r.mean(axis=1, keepdims=True)
        c0 = c - c.mean(axis=1, keepdims=True)
        sr = np.sqrt((r0 * r0).mean(axis=1))
        sc = np.sqrt((c0 * c0).mean(axis=1))
        # a cell is textured when its structure varies clearly: more than sensor noise does
        # (≈ 0.1–0.3 on this scale) and not far less than the rest of the view
        textured = sr > max(0.25 * float(np.median(sr)), _NOISE_STRUCTURE)
        n = int(np.count_nonzero(textured))
        if n < 4:  # a featureless reference (fog, a blank wall): nothing to compare
            self.score = 1.0
            self.masked = False
            return True
        ncc = (r0 * c0).mean(axis=1) / np.maximum(sr * sc, 1e-6)
        self.score = float(np.count_nonzero((ncc >= self.cell_ncc) & textured)) / n
        self.masked = bool(np.count_nonzero((sc < 0.3 * sr) & textured) > 0.5 * n)
        return self.score >= self.threshold

    def _learn(self, cur: F32, dt: float) -> None:
        assert self._ref is not None
        self._n += 1
        alpha = max(1.0 / self._n, 1.0 - math.exp(-dt / self.adapt_s))
        cv2.accumulateWeighted(cur, self._ref, alpha)
