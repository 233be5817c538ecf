"""``evaluate`` section of ``params.yaml``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GateParams(BaseModel):
    """Bias gates (EX-087): a slice below a floor, or a disparity beyond its bound, fails the
    ``report`` stage (after the report, which says so in words, is written)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recall_floor: float = Field(0.2, ge=0.0, le=1.0, description="Least recall of a slice.")
    precision_floor: float = Field(0.1, ge=0.0, le=1.0, description="Least precision of a slice.")
    min_disparity_ratio: float = Field(
        0.2, ge=0.0, le=1.0, description="Least worst/best ratio of a metric across slices."
    )
    min_events: int = Field(
        3,
        ge=1,
        description="Slices with fewer events (recall) or alerts (precision) are shown "
        "but not gated: too few to conclude.",
    )
    enforce: bool = Field(True, description="A failed gate fails the stage (exit code 1).")


class EvaluateParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    map_confidence: float = Field(0.01, ge=0.0, le=1.0, description="Score floor for COCO mAP.")
    event_confidence: float = Field(
        0.35, ge=0.0, le=1.0, description="Detector threshold for replays without a model section."
    )
    tolerance_before_s: float = Field(2.0, ge=0.0)
    tolerance_after_s: float = Field(3.0, ge=0.0)
    n_bootstrap: int = Field(1000, ge=0)
    detection_bootstrap: int = Field(
        200, ge=0, description="Clip resamples for the intervals of mAP (each re-accumulates)."
    )
    seed: int = 0
    batch_size: int = Field(8, ge=1)
    errors_per_kind: int = Field(
        12, ge=0, description="Highest-loss false positives / negatives shown as thumbnails."
    )
    gates: GateParams = GateParams()
