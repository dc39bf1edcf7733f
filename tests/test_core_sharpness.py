"""The spectral resolution estimate behind the "far sharper than 5 Å" warning."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core.lowpass import lowpass
from chimerax.deepssetracer.core.mapio import read_map
from chimerax.deepssetracer.core.resample import resample
from chimerax.deepssetracer.core.sharpness import (
    SHARP_LIMIT,
    estimate_resolution,
)


def _atoms(sigma: float, n: int = 48, seed: int = 0) -> np.ndarray:
    """Random point atoms on a 2 Å grid blurred by a Gaussian of ``sigma`` voxels."""
    from scipy.ndimage import gaussian_filter
    rng = np.random.default_rng(seed)
    grid = np.zeros((n, n, n), np.float32)
    idx = rng.integers(8, n - 8, size=(600, 3))
    grid[tuple(idx.T)] = 1.0
    return gaussian_filter(grid, sigma).astype(np.float32)


def test_sharp_map_is_told_from_a_blurred_one():
    sharp = _atoms(0.4)
    assert estimate_resolution(sharp, 2.0) < SHARP_LIMIT
    assert estimate_resolution(lowpass(sharp, (2.0,) * 3, 8.0), 2.0) > 6.5


def test_estimate_follows_the_low_pass():
    sharp = _atoms(0.4, seed=1)
    est = [estimate_resolution(lowpass(sharp, (2.0,) * 3, r), 2.0) for r in (5.0, 6.0, 8.0, 10.0)]
    assert est == sorted(est)
    assert est[0] < 6.0 < est[-1]  # the estimate reads 8 Å at most: its reference band


def test_scale_and_offset_do_not_matter():
    m = _atoms(1.2, seed=2)
    assert estimate_resolution(m * 1e3 + 7, 2.0) == pytest.approx(estimate_resolution(m, 2.0))


def test_tiny_box_is_not_estimated():
    assert estimate_resolution(np.random.default_rng(0).random((4, 4, 4)), 2.0) == float("inf")


@pytest.mark.parametrize("folder, sharp", [("emd3488_5me2", True), ("emd21457_6vyb_ntd", True),
                                           ("emd8518_5u8s_A", False), ("emd1657_4v5h_AM", False)])
def test_real_maps(shared_dir, folder, sharp):
    """The 3.2 Å maps read as sharp as deposited; the 6 Å map and the ribosome do not."""
    m = read_map(shared_dir / "data" / "real" / folder / "map.mrc")
    grid = resample(m.data, m.voxel_size, (2.0,) * 3)
    assert (estimate_resolution(grid, 2.0) < SHARP_LIMIT) == sharp
