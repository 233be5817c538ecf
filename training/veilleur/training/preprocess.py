"""Contract-v1 pre-processing: the runtime's own letterbox, plus what training needs around it.

Training calls :func:`veilleur.runtime.detect.preprocess.letterbox` itself, so a trained model
sees exactly the pixels the runtime will feed it (resize keeping the aspect ratio with
``cv2.INTER_LINEAR``, pad right/bottom with 114, RGB, ``x / 255``).

Example:
    >>> import numpy as np
    >>> out, scale = letterbox(np.zeros((576, 704, 3), np.uint8), (256, 320))
    >>> out.shape, content_shape((576, 704), scale), int(out[0, 319, 0])
    ((256, 320, 3), (256, 313), 114)
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from veilleur.runtime.detect.preprocess import Preprocess, letterbox

__all__ = ["PAD_VALUE", "PREPROCESS", "SCALE", "content_shape", "letterbox", "read_rgb"]

PAD_VALUE: Final = 114
SCALE: Final = 1.0 / 255.0
# Stored verbatim (as JSON) in the ONNX metadata ``preprocess`` field.
PREPROCESS: Final[dict[str, object]] = {
    "color": "RGB",
    "scale": SCALE,
    "mean": [0, 0, 0],
    "std": [1, 1, 1],
    "pad_value": PAD_VALUE,
}


def runtime_preprocess() -> Preprocess:
    """:data:`PREPROCESS` as the runtime's dataclass (what ``OnnxDetector`` will build)."""
    return Preprocess(
        color="RGB", scale=SCALE, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), pad_value=PAD_VALUE
    )


def content_shape(shape: tuple[int, int], scale: float) -> tuple[int, int]:
    """``(h, w)`` of the resized image inside the letterbox (same rounding as ``letterbox``)."""
    return round(shape[0] * scale), round(shape[1] * scale)


def read_rgb(path: str) -> NDArray[np.uint8]:
    """Read an image file as RGB uint8.

    Raises:
        FileNotFoundError: when OpenCV cannot read the file.
    """
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
