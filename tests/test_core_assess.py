"""Warnings for maps that look wrong for the tool."""

from __future__ import annotations

import numpy as np
from chimerax.deepssetracer.core.assess import map_warnings
from scipy.ndimage import gaussian_filter


def _protein(seed: int = 0, noise: float = 0.02) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grid = np.zeros((40, 40, 40), np.float32)
    idx = rng.integers(10, 30, size=(400, 3))
    grid[tuple(idx.T)] = 1.0
    m = gaussian_filter(grid, 1.5) * 3.0
    return (m + gaussian_filter(rng.normal(0, noise, m.shape), 1.0)).astype(np.float32)


def test_a_clean_map_has_no_warning():
    assert map_warnings(_protein(), 2.0, resolution=6.0) == []


def test_inverted_contrast_is_named():
    (warning,) = map_warnings(-_protein(1), 2.0)
    assert "inverted" in warning


def test_smooth_noise_is_no_molecule():
    noise = gaussian_filter(np.random.default_rng(2).normal(size=(50, 50, 50)), 2.0)
    (warning,) = map_warnings(noise.astype(np.float32), 2.0)
    assert "no molecule" in warning


def test_sharp_map_without_low_pass_is_named():
    (warning,) = map_warnings(_protein(3), 2.0, resolution=4.0, lowpass=None)
    assert "sharper than" in warning
    assert map_warnings(_protein(3), 2.0, resolution=4.0, lowpass=6.0) == []
