"""CSP backbone and FPN-lite neck."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from veilleur.training.nets.blocks import SPPF, ConvBNAct, CSPStage

BASE_CHANNELS = (64, 128, 256, 512, 1024)  # stem, s4, s8, s16, s32 at width 1.0
BASE_DEPTHS = (3, 9, 9, 3)  # bottlenecks per stage at depth 1.0


def scaled_channels(base: int, width_mult: float, divisor: int = 8) -> int:
    """``base * width_mult`` rounded up to a multiple of ``divisor`` (at least ``divisor``)."""
    return max(divisor, int(-(-base * width_mult // divisor) * divisor))


class CSPBackbone(nn.Module):
    """Stem + four stride-2 CSP stages; returns the stride 8, 16 and 32 feature maps."""

    def __init__(self, width_mult: float, depth_mult: float) -> None:
        super().__init__()
        ch = [scaled_channels(c, width_mult) for c in BASE_CHANNELS]
        depths = [max(1, round(d * depth_mult)) for d in BASE_DEPTHS]
        self.stem = ConvBNAct(3, ch[0], 3, 2)
        self.stages = nn.ModuleList()
        for i, depth in enumerate(depths):
            layers: list[nn.Module] = [ConvBNAct(ch[i], ch[i + 1], 3, 2)]
            if i == len(depths) - 1:
                layers.append(SPPF(ch[i + 1]))
            layers.append(CSPStage(ch[i + 1], ch[i + 1], depth))
            self.stages.append(nn.Sequential(*layers))
        self.out_channels: tuple[int, ...] = tuple(ch[2:])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        feats: list[torch.Tensor] = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats[1:]  # strides 8, 16, 32


class FPNLite(nn.Module):
    """Lateral 1×1 convolutions, top-down nearest upsampling + sum, 3×3 smoothing."""

    def __init__(self, in_channels: tuple[int, ...], channels: int) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(ConvBNAct(c, channels, 1) for c in in_channels)
        self.smooth = nn.ModuleList(ConvBNAct(channels, channels, 3) for _ in in_channels)

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        lat = [conv(f) for conv, f in zip(self.lateral, feats, strict=True)]
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], scale_factor=2.0, mode="nearest")
        return [conv(f) for conv, f in zip(self.smooth, lat, strict=True)]
