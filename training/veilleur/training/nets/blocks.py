"""Convolution building blocks (conv-BN-SiLU, CSP bottleneck stage, SPPF)."""

from __future__ import annotations

import torch
from torch import nn


class ConvBNAct(nn.Module):
    """``Conv2d`` (no bias) + ``BatchNorm2d`` + ``SiLU``, 'same' padding."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))  # type: ignore[no-any-return]


class Bottleneck(nn.Module):
    """1×1 then 3×3 convolution with a residual connection."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.cv1 = ConvBNAct(channels, channels, 1)
        self.cv2 = ConvBNAct(channels, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.cv2(self.cv1(x))  # type: ignore[no-any-return]


class CSPStage(nn.Module):
    """Cross-stage-partial block: half the channels go through ``depth`` bottlenecks."""

    def __init__(self, c_in: int, c_out: int, depth: int) -> None:
        super().__init__()
        hidden = c_out // 2
        self.cv1 = ConvBNAct(c_in, hidden, 1)
        self.cv2 = ConvBNAct(c_in, hidden, 1)
        self.blocks = nn.Sequential(*(Bottleneck(hidden) for _ in range(depth)))
        self.cv3 = ConvBNAct(2 * hidden, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(torch.cat((self.blocks(self.cv1(x)), self.cv2(x)), dim=1))  # type: ignore[no-any-return]


class SPPF(nn.Module):
    """Spatial pyramid pooling (fast): three chained 5×5 max-pools, concatenated."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = channels // 2
        self.cv1 = ConvBNAct(channels, hidden, 1)
        self.pool = nn.MaxPool2d(5, 1, 2)
        self.cv2 = ConvBNAct(4 * hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y0 = self.cv1(x)
        y1 = self.pool(y0)
        y2 = self.pool(y1)
        return self.cv2(torch.cat((y0, y1, y2, self.pool(y2)), dim=1))  # type: ignore[no-any-return]
