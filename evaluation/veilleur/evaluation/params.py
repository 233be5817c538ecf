"""``evaluate`` section of ``params.yaml``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EvaluateParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    map_confidence: float = Field(0.01, ge=0.0, le=1.0, description="Score floor for COCO mAP.")
    event_confidence: float = Field(
        0.35, ge=0.0, le=1.0, description="Detector threshold for replays without a model section."
    )
    tolerance_before_s: float = Field(2.0, ge=0.0)
    tolerance_after_s: float = Field(3.0, ge=0.0)
    n_bootstrap: int = Field(1000, ge=0)
    seed: int = 0
    batch_size: int = Field(8, ge=1)
