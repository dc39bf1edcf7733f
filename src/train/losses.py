"""The five training losses of the paper: CE, FL(gamma), DL, CE_DL, FL_DL.

All take logits ``[N, 3, D, H, W]`` (helix, sheet, background) and integer labels
``[N, D, H, W]`` (0 helix, 1 sheet, 2 background, 255 ignore). Voxels labelled 255 (the box
padding, and crop padding) take no part in any term.

CE and FL are *means* over the valid voxels, not sums as the paper writes them: a sum grows with
the crop size and would drown the Dice term, which is a ratio in [0, 2]. The combined losses are
composed of the single ones (``FL_DL == FL + DL`` exactly), as MONAI composes its losses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.classes import IGNORE

DEFAULT_GAMMA = 2.0  # the focal exponent of the paper's FL_DL (the one default: configs use it)
FOREGROUND = (0, 1)  # helix, sheet: the classes the Dice term scores (background excluded)
LOSS_NAMES = ("CE", "FL", "DL", "CE_DL", "FL_DL")


def _check(logits: torch.Tensor, target: torch.Tensor) -> None:
    if logits.ndim != target.ndim + 1 or logits.shape[0] != target.shape[0] \
            or logits.shape[2:] != target.shape[1:]:
        raise ValueError(f"loss needs logits [N, C, ...] and labels [N, ...], "
                         f"got {tuple(logits.shape)} and {tuple(target.shape)}")


def _log_p_true(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """log p of the true class at valid voxels (1-D), and the valid mask."""
    _check(logits, target)
    valid = target != IGNORE
    log_p = F.log_softmax(logits.float(), dim=1)
    safe = torch.where(valid, target, torch.zeros_like(target)).long()
    log_pt = log_p.gather(1, safe.unsqueeze(1)).squeeze(1)
    return log_pt[valid], valid


class CrossEntropyLoss(nn.Module):
    """CE = mean over valid voxels of -log p_t. Zero when no voxel is valid."""

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_pt, _ = _log_p_true(logits, target)
        return -log_pt.sum() / max(log_pt.numel(), 1)


class FocalLoss(nn.Module):
    """Softmax focal loss: mean over valid voxels of -(1 - p_t)^gamma log p_t.

    Args:
        gamma: focusing exponent, default `DEFAULT_GAMMA` (2.0), >= 0 (gamma = 0 is CE). The
            paper tried 1, 2, 5, 8.
    """

    def __init__(self, gamma: float = DEFAULT_GAMMA) -> None:
        super().__init__()
        if gamma < 0:
            raise ValueError(f"focal loss gamma must be >= 0, got {gamma}")
        self.gamma = float(gamma)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_pt, _ = _log_p_true(logits, target)
        weight = (1.0 - log_pt.exp()).clamp(min=0.0) ** self.gamma
        return -(weight * log_pt).sum() / max(log_pt.numel(), 1)


class DiceLoss(nn.Module):
    """DL = 2 - sum over {helix, sheet} of (2 sum y_k p_k + eps) / (sum y_k + sum p_k + eps).

    Sums run over all valid voxels of the batch. ``eps`` (default 1.0, i.e. one voxel) keeps the
    ratio defined when a class is absent: a class absent from the labels and not predicted
    scores ~1 (no penalty), one absent but predicted scores ~0. A perfect prediction gives DL ~ 0.
    """

    def __init__(self, eps: float = 1.0) -> None:
        super().__init__()
        if eps <= 0:
            raise ValueError(f"Dice eps must be > 0, got {eps}")
        self.eps = float(eps)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check(logits, target)
        valid = (target != IGNORE).unsqueeze(1)
        p = F.softmax(logits.float(), dim=1)
        dice = logits.new_zeros((), dtype=torch.float32)
        for k in FOREGROUND:
            y_k = ((target == k).unsqueeze(1) & valid).float()
            p_k = p[:, k:k + 1] * valid
            dice = dice + (2.0 * (y_k * p_k).sum() + self.eps) / (y_k.sum() + p_k.sum() + self.eps)
        return len(FOREGROUND) - dice


class SumLoss(nn.Module):
    """Sum of component losses (CE_DL = CE + DL, FL_DL = FL + DL)."""

    def __init__(self, *parts: nn.Module) -> None:
        super().__init__()
        self.parts = nn.ModuleList(parts)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sum(part(logits, target) for part in self.parts)


def make_loss(name: str, gamma: float = DEFAULT_GAMMA) -> nn.Module:
    """Loss by the paper's name: "CE", "FL", "DL", "CE_DL" or "FL_DL" (case-insensitive)."""
    key = name.upper()
    if key == "CE":
        return CrossEntropyLoss()
    if key == "FL":
        return FocalLoss(gamma)
    if key == "DL":
        return DiceLoss()
    if key == "CE_DL":
        return SumLoss(CrossEntropyLoss(), DiceLoss())
    if key == "FL_DL":
        return SumLoss(FocalLoss(gamma), DiceLoss())
    raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSS_NAMES)}")
