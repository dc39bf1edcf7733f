"""The published DeepSSETracer 1.1 network, rebuilt from its description, for timing only.

The paper describes a 3D U-Net with two poolings, levels of 32-64, 64-128 and 128-256
channels (two 3x3x3 convolutions each, BatchNorm, ReLU), dropout 0.5 and about 4.6 M
parameters; its weights are not public, so this is used to compare run time, not accuracy.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.classes import N_CLASSES


def _level(c_in: int, c_mid: int, c_out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in ((c_in, c_mid), (c_mid, c_out)):
        layers += [nn.Conv3d(a, b, kernel_size=3, padding=1), nn.BatchNorm3d(b),
                   nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class PublishedUNet(nn.Module):
    """3D U-Net of DeepSSETracer 1.1: input sides must be multiples of 4 (two poolings)."""

    size_multiple = 4

    def __init__(self, in_channels: int = 1, n_classes: int = N_CLASSES,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.enc1 = _level(in_channels, 32, 64)
        self.enc2 = _level(64, 64, 128)
        self.bottom = _level(128, 128, 256)
        self.pool = nn.MaxPool3d(2)
        self.drop = nn.Dropout3d(dropout)
        self.up2 = nn.ConvTranspose3d(256, 256, kernel_size=2, stride=2)
        self.dec2 = _level(256 + 128, 128, 128)
        self.up1 = nn.ConvTranspose3d(128, 128, kernel_size=2, stride=2)
        self.dec1 = _level(128 + 64, 64, 64)
        self.head = nn.Conv3d(64, n_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.drop(self.bottom(self.pool(e2)))
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.head(d1)
