"""Voxel and residue F1 on hand-made arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
from chimerax.deepssetracer.core.metrics import (
    Counts,
    in_central_box,
    residue_counts,
    residue_votes,
    voxel_counts,
    weighted_f1,
)


def test_voxel_counts_skip_padding():
    true = np.array([[[0, 0, 1, 2, 255, 255]]], dtype=np.uint8)
    pred = np.array([[[0, 1, 1, 0, 0, 1]]], dtype=np.uint8)
    c = voxel_counts(pred, true)
    assert c["helix"] == Counts(tp=1, fp=1, fn=1)  # the helix on padding does not count
    assert c["sheet"] == Counts(tp=1, fp=1, fn=0)
    assert c["helix"].f1 == pytest.approx(0.5)
    assert c["sheet"].f1 == pytest.approx(2 / 3)


def test_f1_undefined_without_class():
    assert math.isnan(Counts().f1)
    assert Counts(0, 3, 0).f1 == 0.0


def test_weighted_f1_by_true_counts():
    maps = [Counts(tp=8, fp=0, fn=2),   # F1 = 16/18, 10 true voxels
            Counts(tp=0, fp=5, fn=30),  # F1 = 0, 30 true voxels
            Counts(tp=0, fp=4, fn=0)]   # no true voxels: weight 0
    assert weighted_f1(maps) == pytest.approx((10 * 16 / 18) / 40)
    assert math.isnan(weighted_f1([Counts(0, 4, 0)]))


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        voxel_counts(np.zeros((2, 2, 2)), np.zeros((2, 2, 3)))


def _grid():
    """12^3 labels, 2 Å voxels: helix in x < 6, sheet in x >= 6, origin (10, 0, 0)."""
    pred = np.full((12, 12, 12), 2, dtype=np.uint8)
    pred[:, :, :6] = 0
    pred[:, :, 6:] = 1
    return pred, (2.0, 2.0, 2.0), (10.0, 0.0, 0.0)


def test_residue_votes():
    pred, vs, org = _grid()
    ca = np.array([
        [10 + 2 * 2, 10, 10],     # deep in the helix half
        [10 + 2 * 9, 10, 10],     # deep in the sheet half
        [10 + 2 * 5.6, 10, 10],   # near the border: more sheet than helix voxels within 3 A
        [0.0, 10, 10],            # outside the grid
        [np.nan, 0, 0],
    ])
    assert residue_votes(pred, vs, org, ca).tolist() == [0, 1, 1, 255, 255]


def test_residue_votes_coarse_grid_uses_nearest_voxel():
    pred = np.zeros((3, 3, 3), dtype=np.uint8)
    pred[1, 1, 1] = 1
    # 4 A voxels: no voxel centre lies within 3 A of a point between centres
    ca = np.array([[4 + 1.9, 4 + 1.9, 4 + 1.9]])
    assert residue_votes(pred, (4.0, 4.0, 4.0), (0.0, 0.0, 0.0), ca).tolist() == [1]


def test_residue_counts_central_box_only():
    pred, vs, org = _grid()
    true = np.full(pred.shape, 2, dtype=np.uint8)
    true[:, :, :2] = 255  # padding in x < 2 (x < 14 A)
    ca = np.array([[10 + 2 * 0, 10, 10],   # in padding: ignored
                   [10 + 2 * 3, 10, 10],   # helix predicted, helix true
                   [10 + 2 * 4, 10, 10],   # helix predicted, sheet true
                   [10 + 2 * 9, 10, 10]])  # sheet predicted, other true
    cls = np.array([0, 0, 1, 2])
    assert in_central_box(true, vs, org, ca).tolist() == [False, True, True, True]
    c = residue_counts(pred, vs, org, ca, cls, true_labels=true)
    assert c["helix"] == Counts(tp=1, fp=1, fn=0)
    assert c["sheet"] == Counts(tp=0, fp=1, fn=1)
    c_all = residue_counts(pred, vs, org, ca, cls)
    assert c_all["helix"] == Counts(tp=2, fp=1, fn=0)
