"""How much memory a prediction needs and how much this process may still use.

`check_memory` compares an estimate (`prediction_bytes` for `predict_map`, the array's size for
`mapio.read_map` alone) with the tightest of three limits (`memory_headroom`): the host's
available memory, the address-space limit (``ulimit -v``), the cgroup memory limit and the
user's own (``DEEPSSETRACER_MAX_MEMORY_MB``). `tile_voxels` sizes the network's tiles from the
same limits. A file
to predict is checked once, from its header, with the prediction's estimate
(`predict.read_checked`). Standard library and numpy only, so both the readers and the checks
can import it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from .errors import InputError

NETWORK_BYTES_PER_VOXEL = 300  # onnxruntime's peak per tile voxel, shipped network, CPU
TILE_BYTES_MAX = 5 << 28  # the most one network pass may take (1.25 GiB: a 300^3 map at 1 Å
# is one pass; a larger map's peak grows with this, not with the map)
SHARE = 0.8  # of the memory left, what a prediction plans to use (the rest is slack)
LIMIT_ENV = "DEEPSSETRACER_MAX_MEMORY_MB"  # a user's own limit on this process (MB)


def _model_grid(shape_zyx: Sequence[int], voxel_size: Sequence[float],
                model_voxel_size: float | None) -> tuple[int, int]:
    """Voxels of the map and of its model grid (a margin of 8 voxels and padding included)."""
    n_in = math.prod(int(n) for n in shape_zyx)  # Python ints: a huge header cannot wrap
    scale = [v / model_voxel_size for v in voxel_size[::-1]] if model_voxel_size else [1.0] * 3
    model_shape = [max(1, math.ceil(int(n) * s)) + 8 for n, s in zip(shape_zyx, scale)]
    return n_in, math.prod(-(-n // 8) * 8 for n in model_shape)


def rest_bytes(shape_zyx: Sequence[int], voxel_size: Sequence[float],
               model_voxel_size: float | None) -> int:
    """Peak bytes of a prediction outside the network, roughly: the larger of its two phases.

    Preparing (8 bytes per input voxel, 12 per model voxel): the map and its low-pass on its
    own grid (a map finer than the network's); on the model grid the unfiltered and filtered
    map, the filter's output. Predicting (4 and 24): the map; the normalised volume, its padded
    copy, the stitched probabilities and the cropped result. The outputs are made and written a
    slab at a time (`predict.GridPrediction`); what holds them whole is in `extras_bytes`.
    """
    n_in, n_model = _model_grid(shape_zyx, voxel_size, model_voxel_size)
    return max(8 * n_in + 12 * n_model, 4 * n_in + 24 * n_model)


def prediction_bytes(shape_zyx: Sequence[int], voxel_size: Sequence[float],
                     model_voxel_size: float | None, tile_size: int) -> int:
    """Peak bytes `predict_map` needs at least for a map: `rest_bytes` and one network pass
    over a tile of ``tile_size``³ voxels (`NETWORK_BYTES_PER_VOXEL` each), or over the whole
    model grid when it is smaller. `tile_voxels` lets the tiles grow when there is more room,
    so a huge sidecar ``tile_size`` costs only the map's own size."""
    _, n_model = _model_grid(shape_zyx, voxel_size, model_voxel_size)
    n_tile = min(int(tile_size) ** 3, n_model)
    return rest_bytes(shape_zyx, voxel_size, model_voxel_size) + NETWORK_BYTES_PER_VOXEL * n_tile


def tile_voxels(shape_zyx: Sequence[int], voxel_size: Sequence[float],
                model_voxel_size: float | None, tile_size: int) -> int:
    """The most voxels one network pass may take for this map (`tiling.TilePlan.make`'s
    ``max_voxels``): `SHARE` of the memory left (`memory_headroom`) less `rest_bytes`, at most
    `TILE_BYTES_MAX`, at `NETWORK_BYTES_PER_VOXEL`; never fewer than ``tile_size``³ (what
    the memory check made room for), nor when no limit can be read."""
    floor = int(tile_size) ** 3
    headroom = memory_headroom()
    if headroom is None:
        return floor
    room = SHARE * headroom[0] - rest_bytes(shape_zyx, voxel_size, model_voxel_size)
    return max(floor, int(min(room, TILE_BYTES_MAX) // NETWORK_BYTES_PER_VOXEL))


def memory_headroom() -> tuple[int, str] | None:
    """The tightest of the memory limits on this process: ``(bytes left, what limits it)``.

    Host ``MemAvailable`` (which counts reclaimable page cache, unlike ``os.sysconf`` free
    pages), the address-space limit (``RLIMIT_AS``, ``ulimit -v`` or ``prlimit --as``) less
    this process's size, and the cgroup v2 / v1 memory limit less its usage without page
    cache. A job past the last two is killed or fails late, so they count as much as the first.
    None when no limit can be read.
    """
    limits = [(n, what) for n, what in (_host_available(), _address_space_headroom(),
                                         *_cgroup_headroom(), _user_headroom())
              if n is not None]
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


def _user_headroom() -> tuple[int | None, str]:
    """`LIMIT_ENV` (MB) less this process's resident size, if the user set it."""
    what = f"left under {LIMIT_ENV}"
    try:
        limit = int(float(os.environ[LIMIT_ENV]) * 2**20)
    except (KeyError, ValueError):
        return None, what
    return max(0, limit - _status_kib("VmRSS") * 1024), what


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
        nz, ny, nx = (int(n) for n in shape_zyx)
        size = _size(4 * nx * ny * nz)
        raise InputError(name, f"map too large for memory: {nx}x{ny}x{nz} voxels ({size} as "
                               f"float32); {what} needs about {_size(needed_bytes)}, "
                               f"{_size(free)} {limit}")


def _size(n: int) -> str:
    """Bytes in the largest unit that keeps them at least 1 (so no figure reads 0.0 GiB)."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 2**10:.1f} KiB"


# What holding the whole prediction adds on top of `prediction_bytes`, per input voxel
# (measured with tracemalloc on real maps, shipped weights): helix and sheet on the input grid,
# 8 B (`predict.predict_map`, which the ChimeraX command runs, and --elements / --model; the
# CLI's maps alone are written a slab at a time). The elements add 38-44 B to rebuild the map
# as the network saw it (a float64 copy, the low-pass) plus their tracing, which grows with the
# element voxels (42 B/voxel on 5me2, 192 on GroEL's sheets): 48 covers the grid-wide part, a
# map dense in elements needs more. The residue vote adds the labels and their masks (4 B).
WHOLE_BYTES_PER_VOXEL = 8
ELEMENTS_BYTES_PER_VOXEL = 48
RESIDUES_BYTES_PER_VOXEL = 4


def extras_bytes(shape_zyx: Sequence[int], *, whole: bool = False, elements: bool = False,
                 residues: bool = False) -> int:
    """Bytes that the whole prediction (``whole``; implied by the others), ``predict
    --elements`` and ``--model`` need besides `prediction_bytes`."""
    n_in = math.prod(int(n) for n in shape_zyx)
    whole = whole or elements or residues
    return n_in * (WHOLE_BYTES_PER_VOXEL * whole + ELEMENTS_BYTES_PER_VOXEL * elements
                   + RESIDUES_BYTES_PER_VOXEL * residues)
