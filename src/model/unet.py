"""The 3D U-Net that labels helix, sheet and background voxels (returns logits).

Each level is two 3x3x3 convolutions with BatchNorm and ReLU; levels are joined by 2x max
pooling going down and 2x transposed convolutions coming up, with skip concatenation. The
BatchNorms fold into the convolutions when exported to ONNX, so inference costs only the
convolutions. Input sides must be multiples of ``2 ** (depth - 1)`` (``size_multiple``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..core.classes import N_CLASSES


def _block(c_in: int, c_out: int, dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c in (c_in, c_out):
        layers += [
            nn.Conv3d(c, c_out, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm3d(c_out),
            nn.ReLU(inplace=True),
        ]
    if dropout > 0:
        layers.append(nn.Dropout3d(dropout))
    return nn.Sequential(*layers)


class UNet3D(nn.Module):
    """3D U-Net returning logits ``[N, 3, D, H, W]`` from ``[N, 1, D, H, W]``.

    Args:
        base: channels of the first level (doubled at each level down); default 16, >= 1.
        depth: number of levels (``depth - 1`` poolings); default 4, >= 2.
        widths: channels of each level, overriding the doubling (``depth`` entries, the first
            equal to ``base``): capacity where it is cheap, in the coarse levels.
        in_channels: input channels; default 1 (density).
        n_classes: output classes; default 3 (helix, sheet, background).
    """

    def __init__(self, base: int = 16, depth: int = 4, in_channels: int = 1,
                 n_classes: int = N_CLASSES, widths: Sequence[int] | None = None) -> None:
        super().__init__()
        if base < 1 or depth < 2:
            raise ValueError(f"UNet3D needs base >= 1 and depth >= 2, got base={base}, "
                             f"depth={depth}")
        if widths is None:
            widths = [base * 2**i for i in range(depth)]
        widths = [int(w) for w in widths]
        if len(widths) != depth or widths[0] != base or min(widths) < 1:
            raise ValueError(f"UNet3D widths must be {depth} positive channel counts starting "
                             f"with base={base}, got {widths}")
        self.base, self.depth, self.widths = base, depth, widths
        self.down = nn.ModuleList()
        c_prev = in_channels
        for w in widths:
            self.down.append(_block(c_prev, w))
            c_prev = w
        self.pool = nn.MaxPool3d(2)
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for w_low, w in zip(widths[:0:-1], widths[-2::-1]):
            self.up.append(nn.ConvTranspose3d(w_low, w, kernel_size=2, stride=2))
            self.merge.append(_block(2 * w, w))
        self.head = nn.Conv3d(widths[0], n_classes, kernel_size=1)

    @property
    def size_multiple(self) -> int:
        """Input sides must be multiples of this (one halving per pooling)."""
        return 2 ** (self.depth - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 5 or x.shape[1] != 1:
            raise ValueError(f"UNet3D expects [N, 1, D, H, W], got {tuple(x.shape)}")
        m = self.size_multiple
        if any(s % m for s in x.shape[2:]):
            raise ValueError(f"UNet3D input sides must be multiples of {m}, "
                             f"got {tuple(x.shape[2:])}")
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        for up, merge, skip in zip(self.up, self.merge, skips[-2::-1]):
            x = merge(torch.cat([up(x), skip], dim=1))
        return self.head(x)


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters (recorded in the sidecar and the model card)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
