"""Pure ``nn.Module`` builders: a small anchor-free single-stage detector (FCOS/YOLOX class)."""

from veilleur.training.nets.detector import (
    PRESETS,
    Detector,
    DetectorConfig,
    DetectorExportWrapper,
    DetectorOutput,
)
from veilleur.training.nets.loss import DetectionLoss, LossParts

__all__ = [
    "PRESETS",
    "DetectionLoss",
    "Detector",
    "DetectorConfig",
    "DetectorExportWrapper",
    "DetectorOutput",
    "LossParts",
]
