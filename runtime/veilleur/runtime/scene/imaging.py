"""Small image helpers shared by the scene cues."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray


def shrink_factor(width: int, work_width: int) -> int:
    """The integer factor that brings ``width`` closest to ``work_width`` (at least 1).

    Area averaging by an integer factor is tens of times faster than by an arbitrary one
    (0.03 ms against 1.4 ms for 704 → 352 or 320 px), so work images are *about*
    ``work_width`` wide: 352 px for a 704 px frame and a ``work_width`` of 320.

    Example:
        >>> shrink_factor(704, 320), shrink_factor(1920, 320), shrink_factor(200, 320)
        (2, 6, 1)
    """
    return max(1, round(width / work_width))


def work_gray(image: NDArray[np.uint8], work_width: int) -> NDArray[np.uint8]:
    """BGR frame → grey image about ``work_width`` px wide (see :func:`shrink_factor`)."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a BGR image (H, W, 3), got shape {image.shape}")
    h, w = image.shape[:2]
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    k = shrink_factor(w, work_width)
    if k > 1:
        size = (max(1, w // k), max(1, h // k))
        gray = cv2.resize(gray[: size[1] * k, : size[0] * k], size, interpolation=cv2.INTER_AREA)
    return np.asarray(gray, dtype=np.uint8)
