"""Trilinear resampling between two grids that share voxel ``[0, 0, 0]`` (numpy only).

The model works on a cubic grid (the sidecar's voxel size); predictions go back to the input
grid with the same function. Trilinear interpolation of axis-aligned grids is separable, so it
runs as three 1-D interpolations, one axis at a time. When a grid is sampled much coarser than
it is stored (a step ratio above ``ANTIALIAS_RATIO``), it is first smoothed along that axis with
a Gaussian of sigma ``(ratio - 1) / 2`` input voxels (as scikit-image's anti-aliasing does), so
fine noise does not alias into the coarse grid.

Hand-written, not scipy.ndimage.zoom: the runtime needs only numpy, mrcfile and onnxruntime
(ChimeraX installs them with the bundle; scipy is a training dependency).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

ANTIALIAS_RATIO = 1.5
SAME_STEP_TOL = 1e-6
SLAB_VOXELS = 1 << 21  # temporaries per slab: ~8 MB of float32


def resampled_shape(shape_zyx: Sequence[int], voxel_size: Sequence[float],
                    new_voxel_size: Sequence[float]) -> tuple[int, int, int]:
    """Grid size ``[z, y, x]`` at the new step that covers every input voxel centre."""
    out = []
    for n, old, new in zip(shape_zyx, voxel_size[::-1], new_voxel_size[::-1]):
        if same_step(old, new):
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
        if same_step(old, new) and out.shape[axis] == shape[axis]:
            continue
        ratio = new / old
        if ratio > ANTIALIAS_RATIO:
            out = gaussian_filter_axis(out, (ratio - 1.0) / 2.0, axis)
        out = _interp_axis(out, grid_positions(shape[axis], ratio), axis)
    return out.astype(np.float32, copy=False)


def same_step(a: float, b: float) -> bool:
    """Whether two voxel steps are equal for resampling (a map's header rounds them)."""
    return abs(a - b) <= SAME_STEP_TOL * max(abs(a), abs(b))


def grid_positions(n: int, ratio: float) -> np.ndarray:
    """Input-voxel coordinates of ``n`` output points ``ratio`` input voxels apart: the one
    grid rule that density (`resample`) and labels (``train.labels``) are sampled by."""
    return np.arange(n) * float(ratio)


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

    def interp(part: np.ndarray) -> np.ndarray:
        a = np.take(part, lo, axis=axis).astype(np.float32, copy=False)
        d = np.take(part, hi, axis=axis).astype(np.float32, copy=False) - a
        d *= w
        d += a
        return d
    return _by_slabs(data, axis, len(pos), interp)


def _by_slabs(data: np.ndarray, axis: int, n_out: int,
              fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``fn`` applied slab by slab across another axis, into one float32 output.

    Working along `axis` needs whole lines on it, but any other axis can be cut, so the
    temporaries stay near ``SLAB_VOXELS`` whatever the map's size; only the output is
    whole-map.
    """
    other = 1 if axis == 0 else 0
    shape = list(data.shape)
    shape[axis] = n_out
    out = np.empty(shape, dtype=np.float32)
    per_index = max(1, math.prod(shape) // max(shape[other], 1))
    step = max(1, SLAB_VOXELS // per_index)
    for start in range(0, shape[other], step):
        sl = [slice(None)] * data.ndim
        sl[other] = slice(start, start + step)
        out[tuple(sl)] = fn(data[tuple(sl)])
    return out


def gaussian_filter_axis(data: np.ndarray, sigma: float, axis: int) -> np.ndarray:
    """Gaussian smoothing along one axis (edge values repeat beyond the ends)."""
    radius = max(1, int(math.ceil(3.0 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    pad = [(0, 0)] * data.ndim
    pad[axis] = (radius, radius)
    n = data.shape[axis]

    def smooth(part: np.ndarray) -> np.ndarray:
        padded = np.pad(part.astype(np.float32, copy=False), pad, mode="edge")
        out = np.zeros(part.shape, dtype=np.float32)
        for k, w in enumerate(kernel):
            out += np.float32(w) * np.take(padded, np.arange(k, k + n), axis=axis)
        return out
    return _by_slabs(data, axis, n, smooth)
