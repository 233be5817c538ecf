"""Train-time augmentation chosen in ``train.augment`` (names: ``config.AUGMENTATIONS``).

Two albumentations pipelines sharing one random stream:

- *content* (photometric, weather, horizontal flip) acts on the letterboxed image content only,
  so the padding keeps the exact pad value the runtime uses;
- *frame* (geometric: affine scale/shift, perspective, box-safe crop) acts on the whole network
  input; uncovered pixels get the pad value. Boxes follow, are clipped to the image, and boxes
  left thinner than :data:`MIN_BOX_SIDE` (or mostly outside) are dropped with their labels.

Example:
    >>> import numpy as np
    >>> aug = Augmenter([("hflip", 1.0)], (64, 64), seed=0)
    >>> img, boxes, labels = aug(np.zeros((64, 64, 3), np.uint8), (64, 48),
    ...                          np.array([[0, 0, 8, 8]], np.float32), np.array([2]))
    >>> boxes.tolist(), labels.dtype.name
    ([[40.0, 0.0, 48.0, 8.0]], 'int64')
"""

from __future__ import annotations

import random
import warnings
from typing import Any

import albumentations as A
import cv2
import numpy as np
from numpy.typing import NDArray

from veilleur.training.config import CONTENT_AUGMENTATIONS
from veilleur.training.preprocess import PAD_VALUE

MIN_BOX_SIDE = 1.0  # pixels at network input; thinner boxes are dropped
MIN_VISIBILITY = 0.3  # share of a box's area that must stay in the image after a geometric step
_FILL = (PAD_VALUE, PAD_VALUE, PAD_VALUE)


def _transform(name: str, p: float, input_size: tuple[int, int]) -> A.BasicTransform:
    """One named augmentation with the project's ranges (CCTV-like frames)."""
    h, w = input_size
    factories: dict[str, Any] = {
        "hflip": lambda: A.HorizontalFlip(p=p),
        "brightness_contrast": lambda: A.RandomBrightnessContrast(
            brightness_limit=0.3, contrast_limit=0.3, p=p
        ),
        "hue_saturation": lambda: A.HueSaturationValue(10, 20, 10, p=p),
        "blur": lambda: A.OneOf(
            [A.GaussianBlur(blur_limit=(3, 5)), A.MotionBlur(blur_limit=(3, 7))], p=p
        ),
        "noise": lambda: A.GaussNoise(std_range=(0.02, 0.08), p=p),
        "jpeg": lambda: A.ImageCompression(quality_range=(35, 90), p=p),
        "rain": lambda: A.RandomRain(
            slant_range=(-10, 10), drop_length=8, blur_value=3, brightness_coefficient=0.8, p=p
        ),
        "fog": lambda: A.RandomFog(fog_coef_range=(0.1, 0.35), alpha_coef=0.08, p=p),
        "affine": lambda: A.Affine(
            scale=(0.75, 1.25),
            translate_percent=(-0.1, 0.1),
            border_mode=cv2.BORDER_CONSTANT,
            fill=_FILL,
            p=p,
        ),
        "perspective": lambda: A.Perspective(
            scale=(0.02, 0.06), border_mode=cv2.BORDER_CONSTANT, fill=_FILL, p=p
        ),
        "crop": lambda: A.RandomSizedBBoxSafeCrop(height=h, width=w, erosion_rate=0.2, p=p),
    }
    transform: A.BasicTransform = factories[name]()
    return transform


class Augmenter:
    """The content and frame pipelines of one ``train.augment`` list, one random stream."""

    def __init__(
        self, spec: list[tuple[str, float]], input_size: tuple[int, int], seed: int
    ) -> None:
        self.spec = spec
        content = [_transform(n, p, input_size) for n, p in spec if n in CONTENT_AUGMENTATIONS]
        frame = [_transform(n, p, input_size) for n, p in spec if n not in CONTENT_AUGMENTATIONS]
        self.content = self._compose(content, min_visibility=0.0) if content else None
        self.frame = self._compose(frame, min_visibility=MIN_VISIBILITY) if frame else None
        self.set_random_seed(seed)

    @staticmethod
    def _compose(transforms: list[A.BasicTransform], min_visibility: float) -> A.Compose:
        with warnings.catch_warnings():
            # photometric-only lists leave the boxes untouched: nothing to warn about
            warnings.filterwarnings("ignore", message=".*no transform to process it.*")
            return A.Compose(
                transforms,
                bbox_params=A.BboxParams(
                    format="pascal_voc",
                    label_fields=["labels"],
                    clip=True,
                    min_visibility=min_visibility,
                ),
            )

    def set_random_seed(self, seed: int) -> None:
        """Restart the shared random stream (per DataLoader worker, per run)."""
        self.random_generator = np.random.default_rng(seed)
        self.py_random = random.Random(seed)
        for compose in (self.content, self.frame):
            if compose is not None:
                compose.set_random_state(self.random_generator, self.py_random)

    def get_state(self) -> dict[str, Any]:
        """The random stream's state (plain ints and tuples: safe in a checkpoint)."""
        return {
            "numpy": self.random_generator.bit_generator.state,
            "python": self.py_random.getstate(),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state` in place (the transforms keep sharing the stream)."""
        self.random_generator.bit_generator.state = state["numpy"]
        version, internal, gauss = state["python"]
        self.py_random.setstate((version, tuple(internal), gauss))

    def __call__(
        self,
        image: NDArray[np.uint8],
        content_hw: tuple[int, int],
        boxes: NDArray[np.float32],
        labels: NDArray[np.int64],
    ) -> tuple[NDArray[np.uint8], NDArray[np.float32], NDArray[np.int64]]:
        """Augment a letterboxed ``image`` whose content is ``image[:h, :w]``; boxes xyxy."""
        h, w = content_hw
        if self.content is not None:
            res = self.content(
                image=np.ascontiguousarray(image[:h, :w]), bboxes=boxes, labels=labels
            )
            image = image.copy()
            image[:h, :w] = res["image"]
            boxes, labels = _unpack(res)
        if self.frame is not None:
            res = self.frame(image=np.ascontiguousarray(image), bboxes=boxes, labels=labels)
            image = np.ascontiguousarray(res["image"])
            boxes, labels = _unpack(res)
        keep = ((boxes[:, 2:] - boxes[:, :2]) >= MIN_BOX_SIDE).all(axis=1)
        return image, boxes[keep], labels[keep]


def _unpack(res: dict[str, Any]) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    boxes = np.asarray(res["bboxes"], dtype=np.float32).reshape(-1, 4)
    labels = np.asarray(res["labels"]).astype(np.int64)  # albumentations gives floats
    return boxes, labels
