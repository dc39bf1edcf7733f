"""How much memory a prediction needs and how much this process may still use.

`check_memory` compares an estimate (`prediction_bytes` for `predict_map`, the array's size for
`mapio.read_map` alone) with the tightest of three limits (`memory_headroom`): the host's
available memory, the address-space limit (``ulimit -v``) and the cgroup memory limit. A file
to predict is checked once, from its header, with the prediction's estimate
(`predict.read_checked`). Standard library and numpy only, so both the readers and the checks
can import it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .errors import InputError


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
