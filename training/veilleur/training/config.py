"""Typed parameters of the training and export stages (``params.yaml`` sections).

Example:
    >>> TrainParams(epochs=2).input_size
    (256, 320)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

ModelSize = Literal["nano", "small", "medium"]
STRIDE_MULTIPLE = 32

# Augmentations selectable in ``train.augment``: name -> default probability. "Content" ones
# act on the letterboxed image content only (the padding keeps its exact value); "frame" ones
# (geometric) act on the whole network input, padding included (filled with the pad value).
CONTENT_AUGMENTATIONS: dict[str, float] = {
    "hflip": 0.5,
    "brightness_contrast": 0.6,
    "hue_saturation": 0.3,
    "blur": 0.25,
    "noise": 0.25,
    "jpeg": 0.3,
    "rain": 0.15,
    "fog": 0.15,
}
FRAME_AUGMENTATIONS: dict[str, float] = {"affine": 0.5, "perspective": 0.3, "crop": 0.3}
AUGMENTATIONS: dict[str, float] = CONTENT_AUGMENTATIONS | FRAME_AUGMENTATIONS
# ``augment: true``: the photometric set + horizontal flip of the first versions.
DEFAULT_AUGMENT: tuple[str, ...] = (
    "hflip",
    "brightness_contrast",
    "hue_saturation",
    "blur",
    "noise",
    "jpeg",
)
AugmentItem = str | dict[str, float]


def resolve_augment(spec: bool | tuple[AugmentItem, ...]) -> list[tuple[str, float]]:
    """``train.augment`` as ``[(name, probability), ...]`` in the given order.

    ``true``: the default set; ``false`` or ``[]``: none; a list of names (default probability)
    or one-key mappings ``{name: probability}``.

    Raises:
        ValueError: an unknown name (the message lists the valid ones) or a probability
            outside [0, 1].

    Example:
        >>> resolve_augment(("hflip", {"rain": 0.2}))
        [('hflip', 0.5), ('rain', 0.2)]
    """
    if spec is True:
        return [(name, AUGMENTATIONS[name]) for name in DEFAULT_AUGMENT]
    if spec is False:
        return []
    out: list[tuple[str, float]] = []
    for item in spec:
        pairs = [(item, None)] if isinstance(item, str) else list(item.items())
        if len(pairs) != 1:
            raise ValueError(
                f"augmentation {item!r} : un seul nom par élément ({{nom: probabilité}})"
            )
        name, prob = pairs[0]
        if name not in AUGMENTATIONS:
            raise ValueError(
                f"augmentation inconnue {name!r} ; noms valides : {', '.join(AUGMENTATIONS)}"
            )
        p = AUGMENTATIONS[name] if prob is None else float(prob)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"augmentation {name!r} : probabilité {p} hors de [0, 1]")
        out.append((name, p))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"augmentation citée deux fois dans {names}")
    return out


class TrainParams(BaseModel, frozen=True, extra="forbid"):
    """Section ``train`` of ``params.yaml``. Defaults fit a 2-core CPU in a few minutes."""

    model_size: ModelSize = Field("nano", description="Width/depth preset of the detector.")
    width_mult: float | None = Field(None, gt=0, description="Overrides the preset's width.")
    depth_mult: float | None = Field(None, gt=0, description="Overrides the preset's depth.")
    input_size: tuple[int, int] = Field(
        (256, 320), description="Network input [H, W] in pixels, multiples of 32."
    )
    epochs: int = Field(3, ge=1, description="3 ≈ 3 min for 1,500 images on 2 CPU cores.")
    batch_size: int = Field(16, ge=1)
    lr: float = Field(4e-3, gt=0, description="Peak AdamW learning rate (one-cycle schedule).")
    weight_decay: float = Field(5e-4, ge=0)
    warmup_frac: float = Field(0.15, ge=0, lt=1, description="Share of steps spent warming up.")
    seed: int = 42
    num_workers: int = Field(1, ge=0, description="DataLoader worker processes.")
    augment: bool | tuple[AugmentItem, ...] = Field(
        True,
        description="true: photometric set + horizontal flip; false: none; or a list of names "
        f"(default probability) or {{name: probability}} among: {', '.join(AUGMENTATIONS)}.",
    )
    max_train_images: int | None = Field(
        None, ge=1, description="Deterministic subsample of the train split (None: all)."
    )
    max_val_images: int | None = Field(None, ge=1)
    limit_train_batches: float | int = Field(1.0, description="Lightning: share or count.")
    limit_val_batches: float | int = Field(1.0, description="Lightning: share or count.")
    val_map: bool = Field(True, description="Compute a quick mAP@0.5 on val each epoch.")
    precision: Literal["32-true", "16-mixed", "bf16-mixed"] = "32-true"
    deterministic: bool = True
    missing_classes: Literal["error", "warn"] = Field(
        "error",
        description="A taxonomy class with no box in the train split: stop (error) or warn.",
    )
    init_weights: str | None = Field(
        None,
        description="Local file of initial weights (a checkpoint or a state dict), loaded "
        "partially by name and shape; never downloaded.",
    )
    accelerator: Literal["auto", "cpu", "gpu"] = Field("auto", description="Lightning.")
    devices: int | Literal["auto"] = Field(1, description="Lightning: devices per node.")
    strategy: str = Field("auto", description="Lightning: auto, ddp, … (multi-GPU / nodes).")
    num_nodes: int = Field(1, ge=1, description="Lightning: machines of a multi-node run.")

    @field_validator("augment")
    @classmethod
    def _known_augmentations(
        cls, value: bool | tuple[AugmentItem, ...]
    ) -> bool | tuple[AugmentItem, ...]:
        resolve_augment(value)
        return value

    @field_validator("input_size")
    @classmethod
    def _multiple_of_stride(cls, value: tuple[int, int]) -> tuple[int, int]:
        if any(v <= 0 or v % STRIDE_MULTIPLE for v in value):
            raise ValueError(
                f"input_size {list(value)} must be two positive multiples of {STRIDE_MULTIPLE} "
                "([H, W], e.g. [256, 320])"
            )
        return value


class ExportParams(BaseModel, frozen=True, extra="forbid"):
    """Section ``export`` of ``params.yaml``."""

    opset: int = Field(18, ge=17, description="ONNX opset (contract v1 needs >= 17).")
    exporter: Literal["auto", "dynamo", "legacy"] = Field(
        "auto", description="auto: try the dynamo exporter, fall back to the legacy one."
    )
    parity_images: int = Field(8, ge=1, description="Val images used for torch/ORT parity.")
    parity_tolerance: float = Field(1e-3, gt=0, description="Max abs diff allowed.")
    parity_confidence: float = Field(0.3, gt=0, lt=1, description="Threshold for agreement.")
    parity_nms_iou: float = Field(0.5, gt=0, le=1)
    int8: bool = Field(True, description="Also write MODEL.int8.onnx (static QDQ quantisation).")
    int8_per_channel: bool = Field(True, description="Per-channel INT8 weights.")
    int8_calibration_images: int = Field(32, ge=1, description="Val frames for calibration.")
    int8_calibration: Literal["minmax", "percentile", "entropy"] = Field(
        "percentile", description="Activation range calibration of onnxruntime."
    )
    int8_eval_images: int = Field(
        200, ge=1, description="Val images on which FP32 and INT8/FP16 are compared (mAP@0.5)."
    )
    int8_max_map50_drop: float = Field(
        0.05, ge=0, description="Gate: mAP@0.5 (val) of INT8 may fall at most this below FP32."
    )
    int8_min_agreement: float = Field(
        0.5, ge=0, le=1, description="Gate: detection-level agreement of INT8 with FP32."
    )
    fp16: bool = Field(False, description="Also write MODEL.fp16.onnx (for GPUs).")
    register_model: bool = Field(
        True, description="Register the passing export as the MLflow 'candidate' of its task."
    )
