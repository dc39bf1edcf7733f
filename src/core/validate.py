"""Refuse maps the network cannot handle, before any work, with a message that says why.

Limits (everything at or above them is accepted; small maps are padded):

* at least ``MIN_EXTENT`` = 10 Å along each axis (voxel count times voxel size);
* voxels no coarser than ``MAX_VOXEL`` = 4 Å (a 5-10 Å map needs finer sampling to resolve helices);
* finite values (no NaN or Inf), not constant;
* enough free memory for the arrays of the tiled prediction (see `prediction_bytes`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError
from .lowpass import check_resolution

if TYPE_CHECKING:  # mapio imports this module for its memory check
    from .mapio import DensityMap

MIN_EXTENT = 10.0
MAX_VOXEL = 4.0
AXES = "xyz"


def validate_map(dmap: DensityMap, name: str | os.PathLike[str], *,
                 model_voxel_size: float | None = None, tile_size: int = 96) -> None:
    """Raise `InputError` naming `name` if `dmap` cannot be predicted.

    Args:
        dmap: the map as read.
        name: file name (or model name) for the message.
        model_voxel_size: the network's voxel size in Å; when given, the memory check counts the
            resampled grid too (default None: only the input grid).
        tile_size: largest tile edge in voxels, for the memory estimate (default 96).
    """
    for axis, v in zip(AXES, dmap.voxel_size):
        if not np.isfinite(v) or v <= 0:
            raise InputError(name, f"voxel size along {axis} is {v:g} Å; it must be positive")
        if v > MAX_VOXEL:
            raise InputError(name, f"voxels are {v:.3g} Å along {axis}; the coarsest supported "
                                   f"is {MAX_VOXEL:g} Å (resample the map finer)")
    for axis, e in zip(AXES, dmap.extent):
        if e < MIN_EXTENT - 1e-6:
            raise InputError(name, f"map is only {e:.3g} Å along {axis}; at least "
                                   f"{MIN_EXTENT:g} Å is needed")
    check_memory(name, dmap.data.shape, prediction_bytes(
        dmap.data.shape, dmap.voxel_size, model_voxel_size, tile_size), what="tiled prediction")
    data = dmap.data
    finite = np.isfinite(data)
    if not finite.all():
        n_nan = int(np.isnan(data).sum())
        n_inf = int(finite.size - finite.sum()) - n_nan
        raise InputError(name, f"map holds {n_nan} NaN and {n_inf} Inf values")
    lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        raise InputError(name, f"map is constant (every voxel is {lo:g})")


def validate_lowpass(resolution: float | None, model_voxel_size: float,
                     name: str | os.PathLike[str]) -> None:
    """Raise `InputError` naming `name` if the network's grid cannot hold ``resolution``."""
    if resolution is None:
        return
    try:
        check_resolution(resolution, (model_voxel_size,) * 3)
    except ValueError as err:
        raise InputError(name, str(err)) from None


def prediction_bytes(shape_zyx: Sequence[int], voxel_size: Sequence[float],
                     model_voxel_size: float | None, tile_size: int) -> int:
    """Peak bytes of `predict_map` for a map, roughly.

    Input grid: the map, its two probability maps, resampling temporaries and a label map
    (about 21 bytes per voxel); model grid: the normalised volume, its padded (or rotated) copy,
    the blended helix and sheet sums and their weights, and the cropped result (about 32 bytes
    per voxel); one tile: input, logits and network activations (about 100 floats per voxel,
    generous for a small 3-D U-Net).
    """
    n_in = int(np.prod(shape_zyx, dtype=np.int64))
    if model_voxel_size:
        scale = np.prod([v / model_voxel_size for v in voxel_size])
        n_model = int(n_in * scale)
    else:
        n_model = n_in
    return 21 * n_in + 32 * n_model + 400 * tile_size**3


def available_memory() -> int | None:
    """Bytes of memory available to this process, or None when the system does not say.

    Linux's ``MemAvailable`` counts reclaimable page cache, which ``os.sysconf`` free pages do
    not; other systems fall back to ``os.sysconf``.
    """
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(name: str | os.PathLike[str], shape_zyx: Sequence[int], needed_bytes: int, *,
                 what: str) -> None:
    """Raise `InputError` if `needed_bytes` exceeds the memory available now."""
    free = available_memory()
    if free is not None and needed_bytes > free:
        nz, ny, nx = shape_zyx
        size = _gib(4 * nx * ny * nz)
        raise InputError(name, f"map too large for memory: {nx}x{ny}x{nz} voxels ({size} as "
                               f"float32); {what} needs about {_gib(needed_bytes)}, "
                               f"{_gib(free)} available")


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"
