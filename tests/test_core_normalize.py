"""The normalisations named in the sidecar: box-independent ``foreground``, legacy ``zscore``."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core.normalize import density_levels, normalize

FG = {"method": "foreground"}


def test_zscore_without_clip():
    a = np.random.default_rng(1).gamma(2.0, size=(10, 12, 14)).astype(np.float32) * 7 + 3
    out = normalize(a, {"method": "zscore"})
    assert out.dtype == np.float32 and out.shape == a.shape
    assert out.mean() == pytest.approx(0, abs=1e-5)
    assert out.std() == pytest.approx(1, abs=1e-4)


def test_clip_limits_in_standard_deviations():
    a = np.zeros((10, 10, 10), np.float32)
    a[0, 0, 0] = 1000.0
    out = normalize(a, {"method": "zscore", "clip": [-4.0, 8.0]})
    assert out.max() == 8.0 and out.min() >= -4.0


def test_one_global_statistic_not_per_part():
    a = np.random.default_rng(2).standard_normal((8, 8, 16)).astype(np.float32)
    a[..., 8:] += 5
    whole = normalize(a, {"method": "zscore"})
    half = normalize(a[..., 8:], {"method": "zscore"})
    assert not np.allclose(whole[..., 8:], half)


@pytest.mark.parametrize("params, match", [
    ({"method": "minmax"}, "unknown normalization"),
    ({"method": "zscore", "clip": [3, 1]}, "lo < hi"),
    ({"method": "zscore", "clip": 5}, r"\[lo, hi\]"),
])
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        normalize(np.arange(8, dtype=np.float32).reshape(2, 2, 2), params)


def test_constant_array_is_refused():
    with pytest.raises(ValueError, match="constant"):
        normalize(np.ones((3, 3, 3), np.float32), {"method": "zscore"})


def _molecule(seed: int = 0, n: int = 40) -> np.ndarray:
    """Blurred random atoms in the middle of a box, zero solvent around (2 Å voxels)."""
    from scipy.ndimage import gaussian_filter
    rng = np.random.default_rng(seed)
    grid = np.zeros((n, n, n), np.float32)
    idx = rng.integers(n // 4, 3 * n // 4, size=(400, 3))
    grid[tuple(idx.T)] = 1.0
    return gaussian_filter(grid, 1.5).astype(np.float32) * 3.0


def test_foreground_does_not_see_empty_box():
    """Zero padding, however much, leaves every normalised value of the molecule unchanged."""
    m = _molecule()
    ref = normalize(m, FG, 2.0)
    for pad in (5, 20, 40):
        out = normalize(np.pad(m, pad), FG, 2.0)
        np.testing.assert_allclose(out[pad:-pad, pad:-pad, pad:-pad], ref, atol=1e-6)


def test_foreground_solvent_noise_padding_barely_moves_it():
    m = _molecule(1)
    rng = np.random.default_rng(3)
    sd = 0.03 * float(m.max())
    noisy = (m + rng.normal(0, sd, m.shape)).astype(np.float32)
    big = rng.normal(0, sd, tuple(s + 60 for s in m.shape)).astype(np.float32)
    big[30:-30, 30:-30, 30:-30] = noisy
    a = density_levels(noisy, 2.0)
    b = density_levels(big, 2.0)
    assert b.molecule == pytest.approx(a.molecule, rel=0.03)
    assert abs(b.solvent - a.solvent) < 0.05 * a.molecule


def test_foreground_ignores_scale_offset_and_outliers():
    m = _molecule(2)
    ref = normalize(m, FG, 2.0)
    np.testing.assert_allclose(normalize(m * 1e3 - 5.0, FG, 2.0), ref, atol=1e-3)
    np.testing.assert_allclose(normalize(m * 1e-3, FG, 2.0), ref, atol=1e-3)
    spiked = m.copy()
    spiked[0, 0, 0], spiked[-1, -1, -1] = 1e30, -1e30
    out = normalize(spiked, {"method": "foreground", "clip": [-3.0, 5.0]}, 2.0)
    np.testing.assert_allclose(out[1:-1, 1:-1, 1:-1], ref[1:-1, 1:-1, 1:-1], atol=1e-3)
    assert out.max() == 5.0 and out.min() == -3.0


def test_foreground_maps_solvent_to_zero_and_molecule_to_one():
    m = _molecule(3)
    levels = density_levels(m, 2.0)
    assert levels.masked and levels.solvent == 0.0 and levels.noise == 0.0
    out = normalize(m, FG, 2.0)
    assert out[0, 0, 0] == 0.0
    assert np.median(out[out > 0.5 * out.max()]) == pytest.approx(1.0, rel=0.5)


def test_foreground_counts_a_volume_not_voxels():
    """The same molecule on a finer grid keeps its molecule level (a volume, not a count)."""
    m = _molecule(4, n=40)
    from chimerax.deepssetracer.core.resample import resample
    fine = resample(m, (2.0,) * 3, (1.0,) * 3)
    assert density_levels(fine, 1.0).molecule == pytest.approx(
        density_levels(m, 2.0).molecule, rel=0.1)


def test_foreground_refuses_a_map_with_nothing_above_solvent():
    m = -_molecule(5)  # inverted and masked: everything at or below the solvent
    with pytest.raises(ValueError, match="above the solvent"):
        normalize(m, FG, 2.0)
    with pytest.raises(ValueError, match="constant"):
        normalize(np.ones((3, 3, 3), np.float32), FG, 2.0)
