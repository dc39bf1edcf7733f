"""Voxel and residue F1 of helix / sheet predictions (numpy only).

Scores follow the paper: voxel F1 per class on the central box (labels 255, the padding, are
excluded); a test-set figure is the mean of the per-map F1 weighted by each map's number of
true voxels (or residues) of that class; a residue's predicted class is the majority vote of
the predicted voxels within 3 Å of its Cα, and only residues inside the central box count.
Counts (tp, fp, fn) are returned so callers can weight or sum them over maps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .classes import BACKGROUND, IGNORE, NAMES, SCORED

VOTE_RADIUS = 3.0


@dataclass(frozen=True)
class Counts:
    """True positives, false positives and false negatives of one class."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def n_true(self) -> int:
        return self.tp + self.fn

    @property
    def f1(self) -> float:
        """2 tp / (2 tp + fp + fn); NaN when the class is neither true nor predicted."""
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else float("nan")

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def as_dict(self) -> dict[str, float]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "n_true": self.n_true, "f1": self.f1}


def class_counts(pred: np.ndarray, true: np.ndarray,
                 classes: Sequence[int] = SCORED) -> dict[str, Counts]:
    """Per-class counts of ``pred`` against ``true`` (same shape), skipping ``true == 255``."""
    pred, true = np.asarray(pred), np.asarray(true)
    if pred.shape != true.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from label shape {true.shape}")
    valid = true != IGNORE
    p, t = pred[valid], true[valid]
    out = {}
    for k in classes:
        pk, tk = p == k, t == k
        out[NAMES[k]] = Counts(int(np.count_nonzero(pk & tk)),
                                                 int(np.count_nonzero(pk & ~tk)),
                                                 int(np.count_nonzero(~pk & tk)))
    return out


def voxel_counts(pred_labels: np.ndarray, true_labels: np.ndarray) -> dict[str, Counts]:
    """Helix and sheet voxel counts on the central box (true label 255 excluded)."""
    return class_counts(pred_labels, true_labels)


def weighted_f1(per_map: Iterable[Counts]) -> float:
    """Mean of per-map F1 weighted by each map's true count; NaN if no map has the class.

    Maps without true voxels of the class get weight 0 (their F1 is not defined by the class).
    """
    num = den = 0.0
    for c in per_map:
        if c.n_true:
            num += c.n_true * c.f1
            den += c.n_true
    return num / den if den else float("nan")


def residue_votes(pred_labels: np.ndarray, voxel_size: Sequence[float], origin: Sequence[float],
                  ca_xyz: np.ndarray, radius: float = VOTE_RADIUS) -> np.ndarray:
    """Predicted class of each residue: majority of predicted voxels within ``radius`` of its Cα.

    Classes are voted among helix, sheet and background; ties go to the first in that order.
    A Cα with no voxel centre within ``radius`` (coarse grids) takes its nearest voxel.
    Residues whose Cα lies outside the grid or is NaN get 255.

    Args:
        pred_labels: uint8 [z, y, x] predicted labels (0 helix, 1 sheet, 2 background).
        voxel_size, origin: (x, y, z) Å of the grid; origin is voxel [0, 0, 0]'s centre.
        ca_xyz: (R, 3) Cα positions (x, y, z) Å.
    """
    pred = np.asarray(pred_labels)
    vs = np.asarray(voxel_size, dtype=np.float64)
    org = np.asarray(origin, dtype=np.float64)
    ca = np.asarray(ca_xyz, dtype=np.float64).reshape(-1, 3)
    dims = np.array(pred.shape[::-1])  # x, y, z
    reach = np.ceil(radius / vs).astype(int)
    offs = np.stack(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij"), -1)
    offs = offs.reshape(-1, 3)
    out = np.full(len(ca), IGNORE, dtype=np.uint8)
    for i, p in enumerate(ca):
        if not np.isfinite(p).all():
            continue
        f = (p - org) / vs
        near = np.rint(f).astype(int)
        if ((near < 0) | (near >= dims)).any():
            continue
        cand = near + offs
        cand = cand[((cand >= 0) & (cand < dims)).all(axis=1)]
        d2 = (((cand - f) * vs) ** 2).sum(axis=1)
        cand = cand[d2 <= radius**2]
        if len(cand) == 0:
            cand = near[None]
        votes = np.bincount(pred[cand[:, 2], cand[:, 1], cand[:, 0]].astype(np.int64),
                            minlength=3)[:3]
        out[i] = int(np.argmax(votes))
    return out


def in_central_box(true_labels: np.ndarray, voxel_size: Sequence[float], origin: Sequence[float],
                   ca_xyz: np.ndarray) -> np.ndarray:
    """Residues whose Cα falls on a grid voxel not labelled 255 (inside the central box)."""
    labels = np.asarray(true_labels)
    f = (np.asarray(ca_xyz, dtype=np.float64).reshape(-1, 3) - np.asarray(origin)) \
        / np.asarray(voxel_size)
    ok = np.isfinite(f).all(axis=1)
    idx = np.zeros_like(f, dtype=int)
    idx[ok] = np.rint(f[ok]).astype(int)
    ok &= ((idx >= 0) & (idx < np.array(labels.shape[::-1]))).all(axis=1)
    inside = np.zeros(len(f), dtype=bool)
    inside[ok] = labels[idx[ok, 2], idx[ok, 1], idx[ok, 0]] != IGNORE
    return inside


def residue_counts(pred_labels: np.ndarray, voxel_size: Sequence[float], origin: Sequence[float],
                   ca_xyz: np.ndarray, ca_class: np.ndarray,
                   true_labels: np.ndarray | None = None) -> dict[str, Counts]:
    """Helix and sheet residue counts: voted predicted class against the DSSP class.

    ``ca_class`` holds 0 helix, 1 sheet, 2 other per residue. With ``true_labels`` given, only
    residues inside the central box (label != 255 at the Cα) count; residues outside the grid
    never count.
    """
    cls = np.asarray(ca_class).reshape(-1)
    voted = residue_votes(pred_labels, voxel_size, origin, ca_xyz)
    keep = voted != IGNORE
    if true_labels is not None:
        keep &= in_central_box(true_labels, voxel_size, origin, ca_xyz)
    return class_counts(voted[keep], np.minimum(cls[keep], BACKGROUND).astype(np.uint8))
