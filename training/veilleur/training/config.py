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
    augment: bool = Field(True, description="Photometric augmentation + horizontal flip.")
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
