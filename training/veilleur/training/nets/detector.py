"""The detector, its raw outputs, box decoding and the contract-v1 export wrapper.

Every feature-map location ("point") predicts, per class, a score; one IoU-aware objectness
(quality) logit; and four distances ``l, t, r, b`` from the point to the box sides, in input
pixels. The score of class ``c`` is ``sqrt(sigmoid(cls_c) * sigmoid(quality))``.

Example:
    >>> import torch
    >>> net = Detector(DetectorConfig.preset("nano", num_classes=2)).eval()
    >>> wrapper = DetectorExportWrapper(net, (64, 96))
    >>> tuple(wrapper(torch.zeros(1, 3, 64, 96)).shape)  # A = 8*12 + 4*6 + 2*3
    (1, 126, 6)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from veilleur.training.nets.backbone import CSPBackbone, FPNLite, scaled_channels
from veilleur.training.nets.blocks import ConvBNAct

STRIDES = (8, 16, 32)
CLS_PRIOR = 0.01


@dataclass(frozen=True)
class DetectorConfig:
    """Architecture hyper-parameters (``neck_channels`` is at width 1.0)."""

    num_classes: int
    width_mult: float = 0.25
    depth_mult: float = 0.33
    neck_channels: int = 256
    head_convs: int = 1

    @classmethod
    def preset(
        cls,
        size: str,
        num_classes: int,
        width_mult: float | None = None,
        depth_mult: float | None = None,
    ) -> DetectorConfig:
        """A named size (``nano``, ``small``, ``medium``), optionally with overrides."""
        if size not in PRESETS:
            raise ValueError(f"unknown model size {size!r}; choose one of {sorted(PRESETS)}")
        cfg = replace(PRESETS[size], num_classes=num_classes)
        if width_mult is not None:
            cfg = replace(cfg, width_mult=width_mult)
        if depth_mult is not None:
            cfg = replace(cfg, depth_mult=depth_mult)
        return cfg


PRESETS: dict[str, DetectorConfig] = {
    "nano": DetectorConfig(0, width_mult=0.25, depth_mult=0.33, head_convs=1),
    "small": DetectorConfig(0, width_mult=0.5, depth_mult=0.33, head_convs=2),
    "medium": DetectorConfig(0, width_mult=0.75, depth_mult=0.67, head_convs=2),
}


class DetectorOutput(NamedTuple):
    """Raw outputs, all levels concatenated (A points, strides 8 → 32, row-major)."""

    cls_logits: torch.Tensor  # [B, A, C]
    quality_logits: torch.Tensor  # [B, A]
    distances: torch.Tensor  # [B, A, 4] l, t, r, b in input pixels, >= 0
    points: torch.Tensor  # [A, 2] x, y in input pixels
    strides: torch.Tensor  # [A]


class DecoupledHead(nn.Module):
    """One level's head: separate classification and regression (+ quality) branches."""

    def __init__(self, channels: int, num_classes: int, convs: int) -> None:
        super().__init__()
        self.cls_branch = nn.Sequential(*(ConvBNAct(channels, channels) for _ in range(convs)))
        self.reg_branch = nn.Sequential(*(ConvBNAct(channels, channels) for _ in range(convs)))
        self.cls_pred = nn.Conv2d(channels, num_classes, 1)
        self.reg_pred = nn.Conv2d(channels, 4, 1)
        self.quality_pred = nn.Conv2d(channels, 1, 1)
        assert self.cls_pred.bias is not None and self.reg_pred.bias is not None
        nn.init.constant_(self.cls_pred.bias, -math.log((1 - CLS_PRIOR) / CLS_PRIOR))
        nn.init.constant_(self.reg_pred.bias, 1.0)  # softplus(1) * stride ≈ 1.3 strides

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c = self.cls_branch(x)
        r = self.reg_branch(x)
        return self.cls_pred(c), self.quality_pred(r), self.reg_pred(r)


def _flatten(x: torch.Tensor) -> torch.Tensor:
    """[B, K, H, W] → [B, H*W, K]."""
    return x.flatten(2).transpose(1, 2)


def make_points(
    sizes: list[tuple[int, int]], strides: tuple[int, ...], device: torch.device | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Centres of the feature-map cells ``((j + .5) s, (i + .5) s)`` and their strides."""
    points, point_strides = [], []
    for (h, w), s in zip(sizes, strides, strict=True):
        ys = (torch.arange(h, dtype=torch.float32, device=device) + 0.5) * s
        xs = (torch.arange(w, dtype=torch.float32, device=device) + 0.5) * s
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        points.append(torch.stack((gx.reshape(-1), gy.reshape(-1)), dim=1))
        point_strides.append(torch.full((h * w,), float(s), device=device))
    return torch.cat(points), torch.cat(point_strides)


def decode_boxes(points: torch.Tensor, distances: torch.Tensor) -> torch.Tensor:
    """Point + ``l, t, r, b`` distances → ``x1, y1, x2, y2``."""
    return torch.cat((points - distances[..., :2], points + distances[..., 2:]), dim=-1)


class Detector(nn.Module):
    """CSP backbone + FPN-lite neck (strides 8/16/32) + decoupled anchor-free heads."""

    def __init__(self, config: DetectorConfig) -> None:
        super().__init__()
        if config.num_classes < 1:
            raise ValueError("num_classes must be >= 1")
        self.config = config
        self.strides = STRIDES
        self.backbone = CSPBackbone(config.width_mult, config.depth_mult)
        neck = scaled_channels(config.neck_channels, config.width_mult)
        self.neck = FPNLite(self.backbone.out_channels, neck)
        self.heads = nn.ModuleList(
            DecoupledHead(neck, config.num_classes, config.head_convs) for _ in STRIDES
        )

    def forward_raw(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Flattened ``(cls_logits [B,A,C], quality_logits [B,A], distances [B,A,4])``."""
        feats = self.neck(self.backbone(images))
        cls_all, q_all, d_all = [], [], []
        for head, feat, stride in zip(self.heads, feats, self.strides, strict=True):
            cls, quality, reg = head(feat)
            cls_all.append(_flatten(cls))
            q_all.append(_flatten(quality))
            d_all.append(_flatten(F.softplus(reg) * float(stride)))
        return torch.cat(cls_all, 1), torch.cat(q_all, 1).squeeze(-1), torch.cat(d_all, 1)

    def feature_sizes(self, height: int, width: int) -> list[tuple[int, int]]:
        return [(height // s, width // s) for s in self.strides]

    def forward(self, images: torch.Tensor) -> DetectorOutput:
        cls, quality, dist = self.forward_raw(images)
        points, strides = make_points(
            self.feature_sizes(images.shape[2], images.shape[3]), self.strides, images.device
        )
        return DetectorOutput(cls, quality, dist, points, strides)


def class_scores(cls_logits: torch.Tensor, quality_logits: torch.Tensor) -> torch.Tensor:
    """Per-class probability with objectness folded in: ``sqrt(σ(cls) · σ(quality))``."""
    return torch.sqrt(torch.sigmoid(cls_logits) * torch.sigmoid(quality_logits).unsqueeze(-1))


class DetectorExportWrapper(nn.Module):
    """Contract v1 graph: ``images`` [B,3,H,W] → ``detections`` [B,A,4+C], no NMS.

    The input is RGB, already scaled by 1/255 (mean 0, std 1) and letterboxed to
    ``input_size``; boxes come out as ``x1, y1, x2, y2`` in input pixels, clipped to the input.
    """

    def __init__(self, detector: Detector, input_size: tuple[int, int]) -> None:
        super().__init__()
        self.detector = detector
        self.input_size = input_size
        points, _ = make_points(detector.feature_sizes(*input_size), detector.strides)
        self.register_buffer("points", points, persistent=False)
        h, w = input_size
        self.register_buffer(
            "box_max", torch.tensor([w, h, w, h], dtype=torch.float32), persistent=False
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        cls, quality, dist = self.detector.forward_raw(images)
        boxes = decode_boxes(self.points, dist)  # type: ignore[arg-type]
        boxes = torch.minimum(boxes.clamp(min=0.0), self.box_max)  # type: ignore[arg-type]
        return torch.cat((boxes, class_scores(cls, quality)), dim=-1)
