"""``evaluate`` section of ``params.yaml``."""

from __future__ import annotations

from pathlib import Path

import yaml
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


def load_params(path: Path | None, section: str = "evaluate") -> EvaluateParams:
    if path is None or not path.is_file():
        return EvaluateParams()
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return EvaluateParams.model_validate(doc.get(section) or {})
