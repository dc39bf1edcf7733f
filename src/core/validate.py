"""Refuse maps the network cannot handle, before any work, with a message that says why.

Limits (everything at or above them is accepted; small maps are padded):

* at least ``MIN_EXTENT`` = 10 Å along each axis (voxel count times voxel size);
* voxels no coarser than ``MAX_VOXEL`` = 4 Å (a 5-10 Å map needs finer sampling to resolve helices);
* finite values (no NaN or Inf), not constant, and a spread of values that float32 arithmetic can
  still divide by (see `MIN_SPREAD`);
* enough free memory for the arrays of the tiled prediction (`memory.prediction_bytes`), counting
  the address-space limit (``ulimit -v``) and the cgroup memory limit, not only the host's.

The first two and the memory depend on the grid alone (`validate_grid`), so a file's header
decides them before its data are read (`core.predict.read_checked`); the values need the data
(`validate_values`). `validate_map` runs both.

Limits compare with a relative tolerance of `TOLERANCE`: a voxel of 4.0000005 Å (``CELLA / MX``
in float32) is 4 Å.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .errors import InputError
from .grid import DensityMap
from .lowpass import check_resolution
from .memory import check_memory, extras_bytes, prediction_bytes

MIN_EXTENT = 10.0
MAX_VOXEL = 4.0
TOLERANCE = 1e-5  # relative: float32 header fields round 4 Å to 4.0000005
MIN_SPREAD = 1e-30  # max - min below this underflows the normalisation's statistics to 0 (NaN)
MIN_RELATIVE_SPREAD = 1e-4  # max - min over max |value| below this: fewer than ~1000 float32 levels
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
    validate_grid(dmap.data.shape, dmap.voxel_size, name, model_voxel_size=model_voxel_size,
                  tile_size=tile_size)
    validate_values(dmap.data, name)


def validate_grid(shape_zyx: Sequence[int], voxel_size: Sequence[float],
                  name: str | os.PathLike[str], *, model_voxel_size: float | None = None,
                  tile_size: int = 96, whole: bool = False, elements: bool = False,
                  residues: bool = False) -> None:
    """Raise `InputError` if a map of this grid cannot be predicted: voxel size, extent and
    memory (arguments as `validate_map`'s; `whole` / `elements` / `residues`: that memory
    counts the whole prediction, the elements and the model's residue vote too,
    `memory.extras_bytes`); no data needed, so a header can be checked."""
    for axis, v in zip(AXES, voxel_size):
        if not np.isfinite(v) or v <= 0:
            raise InputError(name, f"voxel size along {axis} is {v:g} Å; it must be positive")
        if v > MAX_VOXEL * (1 + TOLERANCE):
            raise InputError(name, f"voxels are {v:.6g} Å along {axis}; the coarsest supported "
                                   f"is {MAX_VOXEL:g} Å (resample the map finer)")
    for axis, n, v in zip(AXES, shape_zyx[::-1], voxel_size):
        if n * v < MIN_EXTENT * (1 - TOLERANCE):
            raise InputError(name, f"map is only {n * v:.6g} Å along {axis}; at least "
                                   f"{MIN_EXTENT:g} Å is needed")
    extras = [w for w, asked in (("the elements", elements), ("the residue vote", residues))
              if asked]
    check_memory(name, shape_zyx, prediction_bytes(shape_zyx, voxel_size, model_voxel_size,
                                                   tile_size)
                 + extras_bytes(shape_zyx, whole=whole, elements=elements,
                                residues=residues),
                 what=" with ".join(["tiled prediction", " and ".join(extras)] if extras
                                    else ["tiled prediction"]))


def validate_values(data: np.ndarray, name: str | os.PathLike[str]) -> None:
    """Raise `InputError` naming `name` if the values cannot be normalised: NaN or Inf, a
    constant map, or a spread below float32 precision."""
    finite = np.isfinite(data)
    if not finite.all():
        n_nan = int(np.isnan(data).sum())
        n_inf = int(finite.size - finite.sum()) - n_nan
        raise InputError(name, f"map holds {n_nan} NaN and {n_inf} Inf values")
    lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        raise InputError(name, f"map is constant (every voxel is {lo:g})")
    if hi - lo < max(MIN_SPREAD, MIN_RELATIVE_SPREAD * max(abs(lo), abs(hi))):
        raise InputError(name, f"map values span only {lo:.7g} to {hi:.7g}, below float32 "
                               "precision: scale the map (multiply it by a large factor)")


def validate_lowpass(resolution: float | None, model_voxel_size: float,
                     name: str | os.PathLike[str]) -> None:
    """Raise `InputError` naming `name` if the network's grid cannot hold ``resolution``."""
    if resolution is None:
        return
    try:
        check_resolution(resolution, (model_voxel_size,) * 3)
    except ValueError as err:
        raise InputError(name, str(err)) from None
