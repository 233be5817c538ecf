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

    One pass per frame: the resized image is written, converted and normalised straight into
    the batch; the padding gets the normalised pad value. Equal to normalising
    :func:`letterbox`'s output.
    """
    th, tw = size
    batch = np.empty((len(images_bgr), 3, th, tw), dtype=np.float32)
    ratios: list[float] = []
    mean = np.asarray(prep.mean, dtype=np.float32)
    std = np.asarray(prep.std, dtype=np.float32)
    plain = not mean.any() and bool(np.all(std == 1.0))
    fill = (np.float32(prep.pad_value) * np.float32(prep.scale) - mean) / std
    for i, img in enumerate(images_bgr):
        h, w = img.shape[:2]
        r = min(th / h, tw / w)
        nh, nw = round(h * r), round(w * r)
        resized = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR) if r != 1 else img
        if prep.color == "RGB":
            resized = resized[:, :, ::-1]
        out = batch[i]
        out[:] = fill[:, None, None]
        region = out[:, :nh, :nw]
        np.multiply(resized.transpose(2, 0, 1), np.float32(prep.scale), out=region)
        if not plain:
            region -= mean[:, None, None]
            region /= std[:, None, None]
        ratios.append(r)
    return batch, ratios
