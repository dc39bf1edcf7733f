from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core.classes import BACKGROUND, HELIX, IGNORE, SHEET
from chimerax.deepssetracer.train.labels import label_grid, resample_labels

SHAPE = (20, 20, 20)
ORIGIN = (0.0, 0.0, 0.0)
STEP = (1.0, 1.0, 1.0)


def _dist_grid(point):
    z, y, x = np.indices(SHAPE)
    return np.sqrt((x - point[0]) ** 2 + (y - point[1]) ** 2 + (z - point[2]) ** 2)


def test_helix_ca_labels_within_3A_only():
    ca = np.array([[10.0, 9.0, 8.0]])
    lab = label_grid(SHAPE, ORIGIN, STEP, ca, np.array([HELIX]))
    d = _dist_grid(ca[0])
    assert (lab[d < 2.99] == HELIX).all()
    assert (lab[d > 3.01] == BACKGROUND).all()
    assert (lab == HELIX).sum() == (d < 3.0).sum()


def test_tie_goes_to_nearest_ca():
    helix, sheet = np.array([8.0, 10.0, 10.0]), np.array([12.0, 10.0, 10.0])
    lab = label_grid(SHAPE, ORIGIN, STEP, np.array([helix, sheet]), np.array([HELIX, SHEET]))
    dh, ds = _dist_grid(helix), _dist_grid(sheet)
    both = (dh < 3.0) & (ds < 3.0)
    assert both.any()
    assert (lab[both & (dh < ds)] == HELIX).all()
    assert (lab[both & (ds < dh)] == SHEET).all()


def test_coil_and_nan_ca_label_nothing():
    ca = np.array([[10.0, 10.0, 10.0], [np.nan, 0.0, 0.0]])
    lab = label_grid(SHAPE, ORIGIN, STEP, ca, np.array([2, HELIX]))
    assert (lab == BACKGROUND).all()


def test_origin_and_voxel_size_are_honoured():
    # A Cα at (11, 10, 10) Å on a grid starting at x = 1 Å with 2 Å voxels along x
    # lies at voxel index x = 5.
    lab = label_grid(SHAPE, (1.0, 0.0, 0.0), (2.0, 1.0, 1.0), np.array([[11.0, 10.0, 10.0]]),
                     np.array([SHEET]))
    assert lab[10, 10, 5] == SHEET
    assert lab[10, 10, 7] == BACKGROUND  # 4 Å away along x
    assert lab[10, 10, 4] == SHEET  # 2 Å away


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="rows"):
        label_grid(SHAPE, ORIGIN, STEP, np.zeros((2, 3)), np.array([0]))


def test_resample_labels_takes_the_voxel_at_each_coarse_point():
    from chimerax.deepssetracer.core.resample import resampled_shape

    rng = np.random.default_rng(0)
    lab = rng.integers(0, 3, size=(9, 10, 11)).astype(np.uint8)
    shape = resampled_shape(lab.shape, (1.0,) * 3, (2.0,) * 3)
    out = resample_labels(lab, 2.0, shape)
    assert out.shape == shape == (5, 6, 6)
    # coarse point j sits on fine voxel 2j; points past the last fine voxel are ignored
    assert np.array_equal(out[:5, :5, :6], lab[::2, ::2, ::2])
    assert (out[:, 5, :] == IGNORE).all()
