"""Letterbox pre-processing shared by the runtime and training (contracts §5)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Preprocess:
    """How a model wants its input: letterbox, channel order, scaling and normalisation."""

    color: str = "RGB"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    pad_value: float = 114.0


def letterbox(
    image: NDArray[np.uint8], size: tuple[int, int], pad_value: float = 114.0
) -> tuple[NDArray[np.uint8], float]:
    """Resize keeping the aspect ratio into ``size = (H, W)``, pad right and bottom.

    Returns:
        The padded image and the scale factor applied (model pixels / image pixels).
    """
    h, w = image.shape[:2]
    th, tw = size
    r = min(th / h, tw / w)
    nh, nw = round(h * r), round(w * r)
    out = np.full((th, tw, 3), pad_value, dtype=np.uint8)
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR) if r != 1 else image
    out[:nh, :nw] = resized
    return out, r


def to_tensor(
    images_bgr: list[NDArray[np.uint8]], size: tuple[int, int], prep: Preprocess
) -> tuple[NDArray[np.float32], list[float]]:
    """Batch of BGR uint8 frames → float32 ``[B, 3, H, W]`` and each frame's scale factor.

    Each frame is resized into one uint8 batch canvas (straight into it when the resized
    frame spans the full width), then the whole batch is converted, channel-swapped and
    scaled in one numpy pass; the padding gets the normalised pad value. Equal to
    normalising :func:`letterbox`'s output.

    Few calls per batch on purpose: in the live pipeline this runs in the detection thread
    while the analysis thread holds the GIL most of the time, and every C call that lets the
    GIL go must wait to take it back.
    """
    th, tw = size
    n = len(images_bgr)
    batch = np.empty((n, 3, th, tw), dtype=np.float32)
    canvas = np.empty((n, th, tw, 3), dtype=np.uint8)
    mean = np.asarray(prep.mean, dtype=np.float32)
    std = np.asarray(prep.std, dtype=np.float32)
    plain = not mean.any() and bool(np.all(std == 1.0))
    fill = (np.float32(prep.pad_value) * np.float32(prep.scale) - mean) / std
    ratios: list[float] = []
    padded: list[tuple[int, int, int]] = []
    for i, img in enumerate(images_bgr):
        h, w = img.shape[:2]
        r = min(th / h, tw / w)
        nh, nw = round(h * r), round(w * r)
        if r == 1:
            canvas[i, :nh, :nw] = img
        elif nw == tw:  # full rows: the canvas slice is contiguous, resize writes into it
            cv2.resize(img, (nw, nh), dst=canvas[i, :nh], interpolation=cv2.INTER_LINEAR)
        else:
            canvas[i, :nh, :nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
        if nh < th or nw < tw:
            padded.append((i, nh, nw))
        ratios.append(r)
    src = canvas[..., ::-1] if prep.color == "RGB" else canvas
    np.multiply(src.transpose(0, 3, 1, 2), np.float32(prep.scale), out=batch)
    if not plain:
        batch -= mean[None, :, None, None]
        batch /= std[None, :, None, None]
    for i, nh, nw in padded:  # the canvas was not filled there: the pad value, normalised
        batch[i, :, nh:, :] = fill[:, None, None]
        batch[i, :, :nh, nw:] = fill[:, None, None]
    return batch, ratios
