"""The spectral resolution estimate behind the "far sharper than 5 Å" warning."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core.lowpass import lowpass
from chimerax.deepssetracer.core.mapio import read_map
from chimerax.deepssetracer.core.prepare import prepare
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


@pytest.mark.parametrize("folder, low, high", [
    ("emd3488_5me2", 0, 4.5), ("emd21457_6vyb_ntd", 0, 4.5),  # 3.2 Å as deposited
    ("emd8518_5u8s_A", 4.5, 7.0), ("emd3491_5mdx_L", 4.5, 7.0),  # 6.1 and 5.3 Å
    ("emd1080_groel14", 9.0, 20.0)])  # filtered to about 11.5 Å
def test_real_maps(shared_dir, folder, low, high):
    """Measured as `prepare` measures it (inside the envelope): the 3.2 Å maps read sharp, the
    5-6 Å maps 5-6 Å, GroEL beyond 9 Å (the drop alone read it as 5.6 Å)."""
    m = read_map(shared_dir / "data" / "real" / folder / "map.mrc")
    _, record = prepare(m.data, m.voxel_size, 2.0, {"method": "foreground"})
    assert low <= record.resolution < high


@pytest.mark.parametrize("folder", ["emd8518_5u8s_A", "emd3491_5mdx_L"])
def test_the_estimate_ignores_mask_edges_and_crop_faces(shared_dir, folder):
    """Padded 30 Å, or cut to its central 0.6: within 0.5 Å of the map as given (the README's
    crop of EMD-8518 read 4.5 Å, and the 5.3 Å chain 4.2 Å, before the envelope)."""
    m = read_map(shared_dir / "data" / "real" / folder / "map.mrc")
    def res(x):
        return prepare(x, m.voxel_size, 2.0, {"method": "foreground"})[1].resolution
    given = res(m.data)
    assert abs(res(np.pad(m.data, 30)) - given) < 0.5
    centre = tuple(slice(int(0.2 * n), int(0.8 * n)) for n in m.data.shape)
    assert abs(res(np.ascontiguousarray(m.data[centre])) - given) < 0.5
