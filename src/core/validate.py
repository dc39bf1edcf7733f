"""Refuse maps the network cannot handle, before any work, with a message that says why.

Limits (everything at or above them is accepted; small maps are padded):

* at least ``MIN_EXTENT`` = 10 Å along each axis (voxel count times voxel size);
* voxels no coarser than ``MAX_VOXEL`` = 4 Å (a 5-10 Å map needs finer sampling to resolve helices);
* finite values (no NaN or Inf), not constant, and a spread of values that float32 arithmetic can
  still divide by (see `MIN_SPREAD`);
* enough free memory for the arrays of the tiled prediction (see `prediction_bytes`), counting
  the address-space limit (``ulimit -v``) and the cgroup memory limit, not only the host's.

Limits compare with a relative tolerance of `TOLERANCE`: a voxel of 4.0000005 Å (``CELLA / MX``
in float32) is 4 Å.
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
TOLERANCE = 1e-5  # relative: float32 header fields round 4 Å to 4.0000005
MIN_SPREAD = 1e-30  # max - min below this underflows the normalisation's statistics to 0 (NaN)
MIN_RELATIVE_SPREAD = 1e-4  # max - min over max |value| below this: fewer than ~1000 float32 levels
OUTLIER_SPREADS = 1e3  # voxels this many robust spreads from the median are not density
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
        if v > MAX_VOXEL * (1 + TOLERANCE):
            raise InputError(name, f"voxels are {v:.6g} Å along {axis}; the coarsest supported "
                                   f"is {MAX_VOXEL:g} Å (resample the map finer)")
    for axis, e in zip(AXES, dmap.extent):
        if e < MIN_EXTENT * (1 - TOLERANCE):
            raise InputError(name, f"map is only {e:.6g} Å along {axis}; at least "
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
    if hi - lo < max(MIN_SPREAD, MIN_RELATIVE_SPREAD * max(abs(lo), abs(hi))):
        raise InputError(name, f"map values span only {lo:.7g} to {hi:.7g}, below float32 "
                               "precision: scale the map (multiply it by a large factor)")


def outlier_bounds(data: np.ndarray) -> tuple[float, float] | None:
    """``(lo, hi)`` beyond which voxels lie absurdly far from the rest, or None if none do.

    The spread is the median distance from the median of the voxels that differ from it (so
    masked solvent, one repeated value, is left out), taken from a strided sample.
    """
    flat = data.reshape(-1)
    sample = flat[:: max(1, flat.size // 400_000)].astype(np.float64)
    median = float(np.median(sample))
    dev = np.abs(sample - median)
    dev = dev[dev > 0]
    if not dev.size:
        return None
    limit = OUTLIER_SPREADS * float(np.median(dev))
    lo, hi = median - limit, median + limit
    if float(flat.min()) >= lo and float(flat.max()) <= hi:
        return None
    return lo, hi


def clip_outliers(data: np.ndarray) -> tuple[np.ndarray, str | None]:
    """``data`` with absurd outliers clipped (a corrupt voxel of 1e30 would otherwise spread
    through resampling and swamp the statistics), and a one-line warning naming them."""
    bounds = outlier_bounds(data)
    if bounds is None:
        return data, None
    lo, hi = bounds
    far = (data < lo) | (data > hi)
    n = int(np.count_nonzero(far))
    values = data[far].astype(np.float64)
    worst = float(values[np.argmax(np.abs(values - 0.5 * (lo + hi)))])
    warning = (f"{n} voxel{'s' * (n != 1)} lie more than {OUTLIER_SPREADS:g} robust spreads "
               f"from the median (the worst is {worst:.3g}): outliers or a corrupt file; they "
               "were clipped, but check the map")
    return np.clip(data, lo, hi).astype(np.float32, copy=False), warning


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
    generous for a small 3-D U-Net). A tile is never larger than the model grid (tiling
    shrinks it to the map), so a huge sidecar ``tile_size`` costs only the map's own size.
    """
    n_in = int(np.prod(shape_zyx, dtype=np.int64))
    scale = [v / model_voxel_size for v in voxel_size[::-1]] if model_voxel_size else [1.0] * 3
    model_shape = [max(1, int(np.ceil(n * s))) for n, s in zip(shape_zyx, scale)]
    n_model = int(np.prod(model_shape, dtype=np.int64))
    n_tile = int(np.prod([min(tile_size, n + 16) for n in model_shape], dtype=np.int64))
    return 21 * n_in + 32 * n_model + 400 * n_tile


def memory_headroom() -> tuple[int, str] | None:
    """The tightest of the memory limits on this process: ``(bytes left, what limits it)``.

    Host ``MemAvailable`` (which counts reclaimable page cache, unlike ``os.sysconf`` free
    pages), the address-space limit (``RLIMIT_AS``, ``ulimit -v`` or ``prlimit --as``) less
    this process's size, and the cgroup v2 / v1 memory limit less its usage without page
    cache. A job past the last two is killed or fails late, so they count as much as the first.
    None when no limit can be read.
    """
    limits = [(n, what) for n, what in (_host_available(), _address_space_headroom(),
                                         *_cgroup_headroom()) if n is not None]
    return min(limits) if limits else None


def available_memory() -> int | None:
    """Bytes of memory this process may still use, or None when the system does not say."""
    headroom = memory_headroom()
    return None if headroom is None else headroom[0]


def _host_available() -> tuple[int | None, str]:
    what = "available"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, what
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), what
    except (ValueError, OSError, AttributeError):
        return None, what


def _address_space_headroom() -> tuple[int | None, str]:
    what = "left under the address-space limit (ulimit -v)"
    try:
        import resource
    except ImportError:  # Windows
        return None, what
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None, what
    return max(0, soft - _status_kib("VmSize") * 1024), what


def _status_kib(field: str) -> int:
    """A ``/proc/self/status`` field in KiB (0 where there is none)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


CGROUP_ROOT = "/sys/fs/cgroup"
CGROUP_FILES = (("memory.max", "memory.current", "inactive_file"),  # v2
                ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes",
                 "total_inactive_file"))  # v1
UNLIMITED = 2**60  # v1 writes "no limit" as a huge page-rounded number


def _cgroup_headroom() -> list[tuple[int | None, str]]:
    """Limit less usage (page cache excluded) of the cgroup mounted at `CGROUP_ROOT`."""
    out = []
    for limit_file, usage_file, cache_key in CGROUP_FILES:
        limit = _read_int(os.path.join(CGROUP_ROOT, limit_file))
        if limit is None or limit >= UNLIMITED:
            continue
        usage = _read_int(os.path.join(CGROUP_ROOT, usage_file)) or 0
        stat = os.path.join(CGROUP_ROOT, os.path.dirname(limit_file), "memory.stat")
        cache = _stat_value(stat, cache_key)
        out.append((max(0, limit - max(0, usage - cache)), "left under the cgroup memory limit"))
    return out


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            text = f.read().strip()
        return None if text == "max" else int(text)
    except (OSError, ValueError):
        return None


def _stat_value(path: str, key: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0


def check_memory(name: str | os.PathLike[str], shape_zyx: Sequence[int], needed_bytes: int, *,
                 what: str) -> None:
    """Raise `InputError` if `needed_bytes` exceeds the memory this process may still use."""
    headroom = memory_headroom()
    if headroom is not None and needed_bytes > headroom[0]:
        free, limit = headroom
        nz, ny, nx = shape_zyx
        size = _size(4 * nx * ny * nz)
        raise InputError(name, f"map too large for memory: {nx}x{ny}x{nz} voxels ({size} as "
                               f"float32); {what} needs about {_size(needed_bytes)}, "
                               f"{_size(free)} {limit}")


def _size(n: int) -> str:
    """Bytes in the largest unit that keeps them at least 1 (so no figure reads 0.0 GiB)."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 2**10:.1f} KiB"
