"""The five training losses of the paper: CE, FL(gamma), DL, CE_DL, FL_DL.

All take logits ``[N, 3, D, H, W]`` (helix, sheet, background) and integer labels
``[N, D, H, W]`` (0 helix, 1 sheet, 2 background, 255 ignore). Voxels labelled 255 (the box
padding, and crop padding) take no part in any term.

CE and FL are *means* over the valid voxels, not sums as the paper writes them: a sum grows with
the crop size and would drown the Dice term, which is a ratio in [0, 2]. The combined losses are
composed of the single ones (``FL_DL == FL + DL`` exactly), as MONAI composes its losses.

``class_weights`` (helix, sheet, background; default 1, 1, 1) weight each voxel of the CE and FL
means by its true class and each Dice ratio by its class: the lever for sheets, which the
unweighted sum under-serves. ``focal_weight`` scales the CE/FL term against Dice, which the paper
notes dominates the sum.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.classes import BACKGROUND, IGNORE

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


def _class_weights(weights: tuple[float, ...] | None) -> tuple[float, float, float] | None:
    """Validated (helix, sheet, background) weights; None when all are 1 (the paper's losses)."""
    if weights is None:
        return None
    w = tuple(float(v) for v in weights)
    if len(w) != 3 or not all(v > 0 for v in w):
        raise ValueError(f"class_weights must be three positive numbers (helix, sheet, "
                         f"background), got {list(weights)!r}")
    return None if w == (1.0, 1.0, 1.0) else w


def _voxel_mean(terms: torch.Tensor, target: torch.Tensor, valid: torch.Tensor,
                weights: tuple[float, float, float] | None) -> torch.Tensor:
    """Mean of per-voxel terms, each weighted by its true class (a plain mean when unweighted)."""
    if weights is None:
        return terms.sum() / max(terms.numel(), 1)
    w = terms.new_tensor(weights)[target[valid].long()]
    return (w * terms).sum() / w.sum().clamp(min=1e-12)


class CrossEntropyLoss(nn.Module):
    """CE = mean over valid voxels of -log p_t (class-weighted if asked); 0 with no valid voxel."""

    def __init__(self, class_weights: tuple[float, ...] | None = None) -> None:
        super().__init__()
        self.class_weights = _class_weights(class_weights)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_pt, valid = _log_p_true(logits, target)
        return _voxel_mean(-log_pt, target, valid, self.class_weights)


class FocalLoss(nn.Module):
    """Softmax focal loss: mean over valid voxels of -(1 - p_t)^gamma log p_t.

    Args:
        gamma: focusing exponent, default `DEFAULT_GAMMA` (2.0), >= 0 (gamma = 0 is CE). The
            paper tried 1, 2, 5, 8.
    """

    def __init__(self, gamma: float = DEFAULT_GAMMA,
                 class_weights: tuple[float, ...] | None = None) -> None:
        super().__init__()
        if gamma < 0:
            raise ValueError(f"focal loss gamma must be >= 0, got {gamma}")
        self.gamma = float(gamma)
        self.class_weights = _class_weights(class_weights)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_pt, valid = _log_p_true(logits, target)
        focus = (1.0 - log_pt.exp()).clamp(min=0.0) ** self.gamma
        return _voxel_mean(-focus * log_pt, target, valid, self.class_weights)


class DiceLoss(nn.Module):
    """DL = 2 - sum over {helix, sheet} of (2 sum y_k p_k + eps) / (sum y_k + sum p_k + eps).

    Sums run over all valid voxels of the batch. ``eps`` (default 1.0, i.e. one voxel) keeps the
    ratio defined when a class is absent: a class absent from the labels and not predicted
    scores ~1 (no penalty), one absent but predicted scores ~0. A perfect prediction gives DL ~ 0.
    """

    def __init__(self, eps: float = 1.0, class_weights: tuple[float, ...] | None = None) -> None:
        super().__init__()
        if eps <= 0:
            raise ValueError(f"Dice eps must be > 0, got {eps}")
        self.eps = float(eps)
        self.class_weights = _class_weights(class_weights) or (1.0, 1.0, 1.0)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check(logits, target)
        valid = (target != IGNORE).unsqueeze(1)
        p = F.softmax(logits.float(), dim=1)
        dice = logits.new_zeros((), dtype=torch.float32)
        for k in FOREGROUND:
            y_k = ((target == k).unsqueeze(1) & valid).float()
            p_k = p[:, k:k + 1] * valid
            ratio = (2.0 * (y_k * p_k).sum() + self.eps) / (y_k.sum() + p_k.sum() + self.eps)
            dice = dice + self.class_weights[k] * ratio
        return sum(self.class_weights[k] for k in FOREGROUND) - dice


class SumLoss(nn.Module):
    """Weighted sum of component losses (CE_DL = CE + DL, FL_DL = FL + DL at weights 1)."""

    def __init__(self, *parts: nn.Module, weights: tuple[float, ...] | None = None) -> None:
        super().__init__()
        self.parts = nn.ModuleList(parts)
        self.weights = tuple(weights) if weights is not None else (1.0,) * len(parts)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sum(w * part(logits, target) for w, part in zip(self.weights, self.parts))


def make_loss(name: str, gamma: float = DEFAULT_GAMMA,
              class_weights: tuple[float, ...] | None = None,
              focal_weight: float = 1.0) -> nn.Module:
    """Loss by the paper's name: "CE", "FL", "DL", "CE_DL" or "FL_DL" (case-insensitive)."""
    if not focal_weight > 0:
        raise ValueError(f"focal_weight must be > 0, got {focal_weight}")
    single: dict[str, nn.Module] = {"CE": CrossEntropyLoss(class_weights),
                                    "FL": FocalLoss(gamma, class_weights),
                                    "DL": DiceLoss(class_weights=class_weights)}
    key = name.upper()
    if key in single:
        return single[key]
    if key in ("CE_DL", "FL_DL"):
        return SumLoss(single[key[:2]], single["DL"], weights=(focal_weight, 1.0))
    raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSS_NAMES)}")


def consistency(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor,
                foreground: float = 0.0, either: bool = False) -> torch.Tensor:
    """KL(teacher ‖ student) of the class probabilities, a mean over the voxels of ``mask``
    (``[N, D, H, W]`` bool): how far the network's answer to a view of a box is from the
    teacher's answer to the box itself. Both take logits ``[N, 3, D, H, W]``; no gradient
    flows into ``teacher``. ``foreground`` weighs each voxel ``1 + foreground × (1 - the
    teacher's background probability)``: a plain mean is mostly solvent, where agreement is
    easy, and lets the edges of helices and sheets drift. With ``either`` the lower of the
    teacher's and the student's background probability (the student's without gradient), so
    the solvent the student calls an element weighs as much as an element it misses."""
    if student.shape != teacher.shape or student.shape[:1] + student.shape[2:] != mask.shape:
        raise ValueError(f"consistency needs logits of one shape and a mask without the class "
                         f"axis, got {tuple(student.shape)}, {tuple(teacher.shape)} and "
                         f"{tuple(mask.shape)}")
    log_t = F.log_softmax(teacher.detach(), dim=1)
    p_t = log_t.exp()
    log_s = F.log_softmax(student, dim=1)
    kl = (p_t * (log_t - log_s)).sum(dim=1)
    m = mask.to(kl.dtype)
    if foreground:
        background = p_t[:, BACKGROUND]
        if either:
            background = torch.minimum(background, log_s.detach()[:, BACKGROUND].exp())
        m = m * (1.0 + foreground * (1.0 - background))
    return (kl * m).sum() / m.sum().clamp_min(1.0)
