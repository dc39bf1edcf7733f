"""Trilinear resampling between two grids that share voxel ``[0, 0, 0]`` (numpy only).

The model works on a cubic grid (the sidecar's voxel size); predictions go back to the input
grid with the same function. Trilinear interpolation of axis-aligned grids is separable, so it
runs as three 1-D interpolations, one axis at a time. When a grid is sampled much coarser than
it is stored (a step ratio above ``ANTIALIAS_RATIO``), it is first smoothed along that axis with
a Gaussian of sigma ``(ratio - 1) / 2`` input voxels (as scikit-image's anti-aliasing does), so
fine noise does not alias into the coarse grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

ANTIALIAS_RATIO = 1.5
SAME_STEP_TOL = 1e-6


def resampled_shape(shape_zyx: Sequence[int], voxel_size: Sequence[float],
                    new_voxel_size: Sequence[float]) -> tuple[int, int, int]:
    """Grid size ``[z, y, x]`` at the new step that covers every input voxel centre."""
    out = []
    for n, old, new in zip(shape_zyx, voxel_size[::-1], new_voxel_size[::-1]):
        if _same(old, new):
            out.append(int(n))
        else:
            out.append(int(math.ceil((n - 1) * old / new - 1e-9)) + 1)
    return tuple(out)  # type: ignore[return-value]


def resample(data: np.ndarray, voxel_size: Sequence[float], new_voxel_size: Sequence[float],
             shape: Sequence[int] | None = None) -> np.ndarray:
    """Sample a ``[z, y, x]`` array at a new step; both grids start at the same point.

    Args:
        data: ``[z, y, x]`` array.
        voxel_size: its ``(x, y, z)`` step in Å.
        new_voxel_size: the ``(x, y, z)`` step of the output in Å.
        shape: output ``[z, y, x]`` size (default: `resampled_shape`). Points beyond the
            input take the value of its edge.

    Returns:
        float32 array; `data` itself (no copy) when the steps are equal and the shape matches.
    """
    shape = tuple(shape) if shape is not None else resampled_shape(
        data.shape, voxel_size, new_voxel_size)
    out = data
    for axis, (old, new) in enumerate(zip(voxel_size[::-1], new_voxel_size[::-1])):
        if _same(old, new) and out.shape[axis] == shape[axis]:
            continue
        ratio = new / old
        if ratio > ANTIALIAS_RATIO:
            out = gaussian_filter_axis(out, (ratio - 1.0) / 2.0, axis)
        out = _interp_axis(out, np.arange(shape[axis]) * ratio, axis)
    return out.astype(np.float32, copy=False)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= SAME_STEP_TOL * max(abs(a), abs(b))


def _interp_axis(data: np.ndarray, positions: np.ndarray, axis: int) -> np.ndarray:
    """Linear interpolation along one axis at fractional indices (clamped to the edges)."""
    n = data.shape[axis]
    pos = np.clip(positions, 0, n - 1)
    lo = np.minimum(np.floor(pos).astype(np.intp), max(n - 2, 0))
    hi = np.minimum(lo + 1, n - 1)
    w = (pos - lo).astype(np.float32)
    shape = [1] * data.ndim
    shape[axis] = len(pos)
    w = w.reshape(shape)
    a = np.take(data, lo, axis=axis).astype(np.float32, copy=False)
    b = np.take(data, hi, axis=axis)
    return a + w * (b - a)


def gaussian_filter_axis(data: np.ndarray, sigma: float, axis: int) -> np.ndarray:
    """Gaussian smoothing along one axis (edge values repeat beyond the ends)."""
    radius = max(1, int(math.ceil(3.0 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    pad = [(0, 0)] * data.ndim
    pad[axis] = (radius, radius)
    padded = np.pad(data.astype(np.float32, copy=False), pad, mode="edge")
    n = data.shape[axis]
    out = np.zeros(data.shape, dtype=np.float32)
    for k, w in enumerate(kernel):
        out += np.float32(w) * np.take(padded, np.arange(k, k + n), axis=axis)
    return out
