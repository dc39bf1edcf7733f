"""The Fourier low-pass: what it removes, what it keeps, and what it refuses."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core.lowpass import lowpass, nyquist_resolution, raised_cosine


def _power(data: np.ndarray, voxel: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    f = np.abs(np.fft.rfftn(data)) ** 2
    fz = np.fft.fftfreq(data.shape[0], voxel[2])[:, None, None]
    fy = np.fft.fftfreq(data.shape[1], voxel[1])[None, :, None]
    fx = np.fft.rfftfreq(data.shape[2], voxel[0])[None, None, :]
    return np.sqrt(fz**2 + fy**2 + fx**2).ravel(), f.ravel()


@pytest.mark.parametrize("voxel", [(1.0, 1.0, 1.0), (1.0, 1.5, 0.8)])
def test_detail_finer_than_the_resolution_is_gone(voxel):
    d = np.random.default_rng(0).normal(size=(40, 36, 44)).astype(np.float32)
    out = lowpass(d, voxel, 8.0)
    assert out.shape == d.shape and out.dtype == np.float32
    s, p = _power(out, voxel)
    s0, p0 = _power(d, voxel)
    # the mirror padding leaks a little past the cut; far above it nothing is left
    assert p[s > 1 / 6].mean() < 1e-3 * p0[s0 > 1 / 6].mean()
    assert p[(s > 0.02) & (s < 1 / 9)].mean() > 0.3 * p0[(s0 > 0.02) & (s0 < 1 / 9)].mean()


def test_smooth_density_and_its_mean_are_kept():
    z, y, x = np.mgrid[:48, :48, :48].astype(np.float32)
    blob = np.exp(-((z - 24) ** 2 + (y - 24) ** 2 + (x - 24) ** 2) / (2 * 6.0**2))
    out = lowpass(blob, (1.0, 1.0, 1.0), 6.0)
    assert out.mean() == pytest.approx(blob.mean(), rel=1e-3)
    assert np.abs(out - blob).max() < 0.02 * blob.max()


def test_opposite_faces_do_not_bleed_into_each_other():
    d = np.zeros((32, 32, 32), np.float32)
    d[:3] = 1.0  # a bright slab on one face only
    out = lowpass(d, (1.0, 1.0, 1.0), 8.0)
    # without the mirror padding the far face would get ~0.45 by FFT wrap-around; what is
    # left there is the sharp filter's own ringing
    assert np.abs(out[-4:]).max() < 0.1
    assert out[:2].mean() > 0.8


def test_resolution_finer_than_the_grid_is_refused():
    assert nyquist_resolution((2.0, 2.0, 1.0)) == 4.0
    with pytest.raises(ValueError, match="at least 4 Å"):
        lowpass(np.ones((8, 8, 8), np.float32), (2.0, 2.0, 2.0), 3.0)


def test_raised_cosine_edge():
    s = np.array([0.0, 0.089, 0.095, 0.1, 0.2], np.float32)
    w = raised_cosine(s, 0.1, edge=0.1)
    assert w[0] == w[1] == 1.0 and 0 < w[2] < 1 and w[3] == w[4] == 0.0

