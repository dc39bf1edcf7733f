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
             shape: Sequence[int] | None = None, *, scale: float = 1.0,
             rows: tuple[int, int] | None = None) -> np.ndarray:
    """Sample a ``[z, y, x]`` array at a new step; both grids start at the same point.

    Each axis is filtered (where it is sampled coarser) and interpolated slab by slab, so no
    temporary is as large as the input: a map's size costs its own array and the output.

    Args:
        data: ``[z, y, x]`` array.
        voxel_size: its ``(x, y, z)`` step in Å.
        new_voxel_size: the ``(x, y, z)`` step of the output in Å.
        shape: output ``[z, y, x]`` size (default: `resampled_shape`). Points beyond the
            input take the value of its edge.
        scale: the values are divided by it as they are read (no copy of a map to change
            its units).
        rows: ``(start, stop)``: only these rows (axis 0) of the output, equal to the
            whole output's (to write a large output in slabs).

    Returns:
        float32 array; `data` itself (no copy) when the steps are equal, the shape matches
        and nothing is scaled or cut.
    """
    shape = tuple(shape) if shape is not None else resampled_shape(
        data.shape, voxel_size, new_voxel_size)
    out, divide = data, float(scale) != 1.0
    for axis, (old, new) in enumerate(zip(voxel_size[::-1], new_voxel_size[::-1])):
        cut = rows is not None and axis == 0 and rows != (0, shape[0])
        if same_step(old, new) and out.shape[axis] == shape[axis] and not cut:
            continue
        ratio = new / old
        positions = grid_positions(shape[axis], ratio)
        smooth = _axis_filter(ratio, axis)
        if cut:
            positions = positions[rows[0]:rows[1]]
            out, positions = _rows_needed(out, positions, smooth)
        out = _filter_interp_axis(out, positions, axis, smooth, scale if divide else None)
        divide = False
    if divide:
        out = np.divide(out, np.float32(scale), dtype=np.float32)
    return out.astype(np.float32, copy=False)


Smoother = Callable[[np.ndarray], np.ndarray]


def _axis_filter(ratio: float, axis: int) -> tuple[Smoother, int] | None:
    """``(Gaussian anti-aliasing of a slab along axis, its reach in voxels)`` for an axis
    sampled ``ratio`` times coarser, past `ANTIALIAS_RATIO`; else None."""
    if ratio <= ANTIALIAS_RATIO:
        return None
    sigma = (ratio - 1.0) / 2.0
    return (lambda part: gaussian_filter_axis(part, sigma, axis)), _radius(sigma)


def _rows_needed(data: np.ndarray, positions: np.ndarray, smooth: tuple[Smoother, int] | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The input rows ``positions`` (axis 0) read, with a filter's reach either side, and the
    positions in them."""
    n = data.shape[0]
    reach = smooth[1] if smooth is not None else 0
    if not len(positions):
        return data, positions
    pos = np.clip(positions, 0, n - 1)
    lo = max(0, int(np.floor(pos.min())) - reach)
    hi = min(n, int(np.floor(pos.max())) + 2 + reach)
    # a window at the map's last row keeps that row's neighbour: interpolation reads row n - 2
    lo = min(lo, max(n - 2, 0)) if hi == n else lo
    return data[lo:hi], positions - lo


def same_step(a: float, b: float) -> bool:
    """Whether two voxel steps are equal for resampling (a map's header rounds them)."""
    return abs(a - b) <= SAME_STEP_TOL * max(abs(a), abs(b))


def grid_positions(n: int, ratio: float) -> np.ndarray:
    """Input-voxel coordinates of ``n`` output points ``ratio`` input voxels apart: the one
    grid rule that density (`resample`) and labels (``train.labels``) are sampled by."""
    return np.arange(n) * float(ratio)


def _interp(part: np.ndarray, positions: np.ndarray, axis: int) -> np.ndarray:
    """Linear interpolation along one axis at fractional indices (clamped to the edges)."""
    n = part.shape[axis]
    pos = np.clip(positions, 0, n - 1)
    lo = np.minimum(np.floor(pos).astype(np.intp), max(n - 2, 0))
    hi = np.minimum(lo + 1, n - 1)
    shape = [1] * part.ndim
    shape[axis] = len(pos)
    w = (pos - lo).astype(np.float32).reshape(shape)
    a = np.take(part, lo, axis=axis).astype(np.float32, copy=False)
    if not w.any():  # every point on an input voxel (a step ratio of 2 from 1 Å, say)
        return a
    d = np.take(part, hi, axis=axis).astype(np.float32, copy=False) - a
    d *= w
    d += a
    return d


def _filter_interp_axis(data: np.ndarray, positions: np.ndarray, axis: int,
                        smooth: tuple[Smoother, int] | None, scale: float | None
                        ) -> np.ndarray:
    """``data`` (divided by ``scale``, filtered) interpolated at ``positions`` along `axis`,
    slab by slab."""
    def fn(part: np.ndarray) -> np.ndarray:
        if scale is not None:
            part = np.divide(part, np.float32(scale), dtype=np.float32)
        if smooth is not None:
            part = smooth[0](part)
        return _interp(part, positions, axis)
    return _by_slabs(data, axis, len(positions), fn)


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
    per_index = max(1, math.prod(data.shape) // max(data.shape[other], 1))
    step = max(1, SLAB_VOXELS // per_index)
    for start in range(0, shape[other], step):
        sl = [slice(None)] * data.ndim
        sl[other] = slice(start, start + step)
        out[tuple(sl)] = fn(data[tuple(sl)])
    return out


def _radius(sigma: float) -> int:
    return max(1, int(math.ceil(3.0 * sigma)))


def gaussian_filter_axis(part: np.ndarray, sigma: float, axis: int) -> np.ndarray:
    """Gaussian smoothing along one axis (edge values repeat beyond the ends), of a whole
    array or of a slab holding whole lines along `axis`."""
    radius = _radius(sigma)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    pad = [(0, 0)] * part.ndim
    pad[axis] = (radius, radius)
    n = part.shape[axis]
    padded = np.pad(part.astype(np.float32, copy=False), pad, mode="edge")
    out = np.zeros(part.shape, dtype=np.float32)
    window = [slice(None)] * part.ndim
    for k, w in enumerate(kernel):
        window[axis] = slice(k, k + n)
        out += np.float32(w) * padded[tuple(window)]
    return out
