"""Trilinear resampling between grids sharing voxel [0, 0, 0]."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core.resample import (
    gaussian_filter_axis,
    resample,
    resampled_shape,
)


def _linear(shape, step, coef=(0.3, -0.7, 1.1)):
    """f(x, y, z) = a x + b y + c z sampled on a [z, y, x] grid of (x, y, z) step."""
    z, y, x = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, step[::-1])], indexing="ij")
    return (coef[0] * x + coef[1] * y + coef[2] * z).astype(np.float32)


def test_same_step_is_a_no_op():
    a = np.random.default_rng(0).standard_normal((4, 5, 6)).astype(np.float32)
    assert resample(a, (1, 1, 1), (1, 1, 1)) is a


def test_shape_covers_every_input_voxel():
    assert resampled_shape((10, 11, 12), (0.5, 2.0, 1.0), (1.0, 1.0, 1.0)) == (10, 21, 7)
    assert resampled_shape((3, 3, 3), (1.05, 1.05, 1.05), (1, 1, 1)) == (4, 4, 4)


def test_linear_functions_are_reproduced_exactly():
    # trilinear interpolation is exact for linear functions, on any non-cubic grid
    old, new = (0.7, 1.3, 0.9), (1.0, 1.0, 1.0)
    src = _linear((12, 9, 15), old)
    out = resample(src, old, new)
    inside = tuple(slice(0, int((n - 1) * o / w) + 1)  # output points within the input span
                   for n, o, w in zip(src.shape, old[::-1], new[::-1]))
    np.testing.assert_allclose(out[inside], _linear(out.shape, new)[inside], atol=1e-4)


def test_round_trip_of_smooth_data():
    z, y, x = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in (20, 18, 22)],
                          indexing="ij")
    src = np.sin(x / 4) * np.cos(y / 5) + z / 20
    there = resample(src, (1, 1, 1), (0.8, 0.9, 0.7))
    back = resample(there, (0.8, 0.9, 0.7), (1, 1, 1), shape=src.shape)
    np.testing.assert_allclose(back, src, atol=0.04)


def test_beyond_the_input_repeats_its_edge():
    src = np.arange(4, dtype=np.float32).reshape(1, 1, 4) * np.ones((2, 2, 1), np.float32)
    out = resample(src, (1, 1, 1), (1, 1, 1), shape=(2, 2, 6))
    np.testing.assert_array_equal(out[0, 0], [0, 1, 2, 3, 3, 3])


def test_strong_downsampling_is_anti_aliased():
    # a checkerboard at the input's Nyquist limit must not alias into the coarse grid
    src = np.indices((40, 40, 40)).sum(axis=0) % 2 * 2.0 - 1.0
    out = resample(src.astype(np.float32), (0.25, 0.25, 0.25), (1, 1, 1))
    assert np.abs(out[1:-1, 1:-1, 1:-1]).max() < 0.01
    plain = src[::4, ::4, ::4]  # what point sampling without smoothing would give
    assert np.abs(plain).min() == 1
    # mild downsampling keeps detail (no smoothing)
    smooth = _linear((20, 20, 20), (0.9, 0.9, 0.9))
    out = resample(smooth, (0.9,) * 3, (1,) * 3)[:-1, :-1, :-1]
    np.testing.assert_allclose(out, _linear(out.shape, (1, 1, 1)), atol=1e-4)


def test_gaussian_filter_preserves_sum_inside_and_constants():
    a = np.zeros((1, 1, 31), np.float32)
    a[0, 0, 15] = 1
    g = gaussian_filter_axis(a, 2.0, axis=2)
    assert g.sum() == pytest.approx(1.0, abs=1e-6)
    assert g[0, 0, 15] == g.max()
    np.testing.assert_allclose(gaussian_filter_axis(np.full((3, 4, 5), 2.5, np.float32), 1.5, 1),
                               2.5, rtol=1e-6)


def test_slab_by_slab_equals_whole_map(monkeypatch):
    """Cutting the work into slabs (bounded temporaries) changes no value."""
    from chimerax.deepssetracer.core import resample as rs

    rng = np.random.default_rng(1)
    data = rng.standard_normal((23, 17, 19)).astype(np.float32)
    whole = rs.resample(data, (1.0, 1.0, 1.0), (2.3, 1.7, 0.6))
    monkeypatch.setattr(rs, "SLAB_VOXELS", 50)  # a slab of one or two planes
    sliced = rs.resample(data, (1.0, 1.0, 1.0), (2.3, 1.7, 0.6))
    assert sliced.shape == whole.shape
    np.testing.assert_array_equal(sliced, whole)


@pytest.mark.parametrize("old,new", [(2.0, 1.0), (1.0, 2.0), (1.0, 1.3)])
def test_rows_of_the_output_equal_the_whole_outputs_rows(old, new):
    """Written in slabs, an output holds what the whole resampled array holds."""
    rng = np.random.default_rng(3)
    data = rng.standard_normal((23, 17, 19)).astype(np.float32)
    whole = resample(data, (old,) * 3, (new,) * 3)
    n = whole.shape[0]
    for start, stop in ((0, 3), (4, 9), (n - 2, n), (0, n)):
        part = resample(data, (old,) * 3, (new,) * 3, rows=(start, stop))
        np.testing.assert_array_equal(part, whole[start:stop])


def test_scale_divides_as_it_reads():
    rng = np.random.default_rng(4)
    data = (rng.standard_normal((12, 13, 14)) * 1e30).astype(np.float32)
    for new in (1.0, 2.0):
        out = resample(data, (1.0,) * 3, (new,) * 3, scale=1e30)
        np.testing.assert_allclose(out, resample(data / np.float32(1e30), (1.0,) * 3,
                                                 (new,) * 3), rtol=1e-5, atol=1e-6)
    assert resample(data, (1.0,) * 3, (1.0,) * 3, scale=1e30).max() < 10

