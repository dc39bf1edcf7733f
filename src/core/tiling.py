"""Tiled prediction that gives the one-pass answer: halo tiles, cropped and stitched.

The network is fully convolutional, so a volume runs in one pass whenever its padded box fits
the tile budget (``max_voxels``: `memory.tile_voxels` in `predict_map`, from the memory this
process may use; ``tile_size``³ when no budget is given). Otherwise the volume is cut into the
plan with the least network work (`TilePlan.make`): on each axis the padded box is split into
``n`` cores at multiples of the network's size multiple (so every tile lies on the pooling grid
of the one pass), each tile reads `HALO` voxels beyond its core on every side that has a
neighbour, and only its core is kept. Tiles need not be cubic: a 160³ box under a budget of
3.1 M voxels becomes two 120×160×160 tiles, not eight cubes.

The halo is the network's field of view as far as it matters: a voxel's probabilities change by
less than 1e-3 when the density more than `HALO` voxels away is replaced by the network's
zero padding (measured on the shipped weights, 300³ EMD-11007 box on its 2 Å grid, cut through
the molecule's middle: max |Δp| 0.57 at 8 voxels, 0.14 at 16, 0.013 at 24, 0.0015 at 32, under
1e-3 at 40; `tests/test_core_tiling.py` checks the shipped network against its one pass). The
stitched result is the one-pass result to that tolerance: no blending weights, no seams.

Hand-written, not MONAI's sliding_window_inference: that needs torch, which inference does not
have (the runtime is numpy, mrcfile and onnxruntime).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import Cancelled
from .inference import Network, softmax

HALO = 40  # voxels of the model grid each tile reads beyond the core it keeps (80 Å at 2 Å)
MAX_CORES = 32  # per axis, so planning stays quick on any map

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


def padded_size(n: int, multiple: int) -> int:
    """Smallest multiple of `multiple` that holds `n` voxels."""
    return max(multiple, int(math.ceil(n / multiple)) * multiple)


def core_cuts(size: int, n: int, multiple: int) -> tuple[int, ...]:
    """Boundaries ``0 = c0 < c1 < ... < cn = size`` of `n` cores as even as multiples of
    `multiple` allow (`size` is a multiple of it)."""
    blocks = size // multiple
    if not 1 <= n <= blocks:
        raise ValueError(f"cannot cut {size} voxels into {n} cores of multiples of {multiple}")
    return tuple(int(round(i * blocks / n)) * multiple for i in range(n + 1))


def axis_tiles(cuts: Sequence[int], halo: int) -> list[tuple[int, int]]:
    """``(start, stop)`` read by each core of an axis: the core and `halo` voxels beyond each
    inner cut."""
    size = cuts[-1]
    return [(max(0, a - halo), min(size, b + halo)) for a, b in zip(cuts[:-1], cuts[1:])]


@dataclass(frozen=True)
class TilePlan:
    """Where the padded volume and its tiles lie.

    Attributes:
        shape: ``[z, y, x]`` size of the volume.
        padded: its size after padding (each edge a multiple of the size multiple).
        before: voxels of padding before the volume on each axis (the rest goes after).
        cuts: per axis, the core boundaries in the padded box (``(0, padded)`` for one core).
        halo: voxels each tile reads beyond its core where it has a neighbour.
    """

    shape: tuple[int, int, int]
    padded: tuple[int, int, int]
    before: tuple[int, int, int]
    cuts: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]
    halo: int = HALO

    @classmethod
    def make(cls, shape: Sequence[int], tile_size: int, size_multiple: int, *,
             max_voxels: int | None = None, halo: int | None = None) -> TilePlan:
        """The plan with the least network work whose largest tile holds at most `max_voxels`
        (default ``tile_size``³): one pass where the padded box fits; ties go to fewer
        tiles. `tile_size` must be a multiple of `size_multiple`; `halo` (default `HALO`) is
        rounded up to one (so every tile starts on the one pass's pooling grid)."""
        if tile_size % size_multiple:
            raise ValueError(f"tile_size {tile_size} is not a multiple of {size_multiple}")
        halo = HALO if halo is None else int(halo)
        halo = padded_size(halo, size_multiple) if halo > 0 else 0
        shape = tuple(int(n) for n in shape)
        padded = tuple(padded_size(n, size_multiple) for n in shape)
        before = tuple((p - n) // 2 for p, n in zip(padded, shape))
        limit = tile_size**3 if max_voxels is None else int(max_voxels)
        options = []  # per axis: (cuts, voxels read in all, largest tile edge)
        for p in padded:
            axis = []
            for n in range(1, min(p // size_multiple, MAX_CORES) + 1):
                cuts = core_cuts(p, n, size_multiple)
                spans = [b - a for a, b in axis_tiles(cuts, halo)]
                axis.append((cuts, sum(spans), max(spans)))
                if max(spans) <= 2 * halo + size_multiple:
                    break  # more cores only add halos
            options.append(axis)
        best = None  # (key, combo); a budget below every plan gets the smallest tiles
        for combo in itertools.product(*options):
            largest = math.prod(c[2] for c in combo)
            key = (0 if largest <= limit else largest, math.prod(c[1] for c in combo),
                   math.prod(len(c[0]) - 1 for c in combo), largest)
            if best is None or key < best[0]:
                best = (key, combo)
        cuts = tuple(c[0] for c in best[1])
        return cls(shape, padded, before, cuts, halo)  # type: ignore[arg-type]

    @property
    def n_tiles(self) -> int:
        return math.prod(len(c) - 1 for c in self.cuts)

    @property
    def tile(self) -> tuple[int, int, int]:
        """The largest tile's edges ``[z, y, x]`` (the padded box for one pass)."""
        return tuple(max(b - a for a, b in axis_tiles(c, self.halo))
                     for c in self.cuts)  # type: ignore[return-value]

    @property
    def computed_voxels(self) -> int:
        """Voxels the network computes over all tiles."""
        return math.prod(sum(b - a for a, b in axis_tiles(c, self.halo)) for c in self.cuts)

    @property
    def overhead(self) -> float:
        """Voxels computed per voxel of the volume (padding and halos)."""
        return self.computed_voxels / math.prod(self.shape)

    def tiles(self) -> list[tuple[tuple[slice, ...], tuple[slice, ...], tuple[slice, ...]]]:
        """Per tile, z slowest: ``(read, keep, core)``: the slices of the padded box the tile
        reads, the slices of the padded box it keeps, and where that core lies in the tile."""
        per_axis = []
        for cuts in self.cuts:
            spans = axis_tiles(cuts, self.halo)
            per_axis.append([(slice(s, e), slice(a, b), slice(a - s, b - s))
                             for (s, e), a, b in zip(spans, cuts[:-1], cuts[1:])])
        return [tuple(zip(*t)) for t in itertools.product(*per_axis)]  # type: ignore[misc]


def predict_tiled(volume: np.ndarray, net: Network, tile_size: int, size_multiple: int, *,
                  pad_value: float = 0.0, progress: Progress | None = None,
                  cancel: Cancel | None = None, plan: TilePlan | None = None) -> np.ndarray:
    """Helix and sheet probabilities ``[2, z, y, x]`` of a normalised ``[z, y, x]`` volume.

    Args:
        volume: normalised density on the model grid.
        net: logits from ``[1, 1, D, H, W]`` batches.
        tile_size: with no `plan`, tiles hold at most ``tile_size``³ voxels (a multiple of
            `size_multiple`).
        size_multiple: every network input edge is a multiple of this.
        pad_value: value of the padding (default 0: the mean after z-scoring).
        progress: called as ``progress(done, plan.n_tiles)`` after each tile (this volume's
            tiles; a caller running several volumes offsets them itself).
        cancel: checked before each tile; when it returns true, `Cancelled` is raised.
        plan: the volume's `TilePlan` when the caller has made it already (default None: made
            here from `tile_size` and `size_multiple`).
    """
    if plan is None:
        plan = TilePlan.make(volume.shape, tile_size, size_multiple)
    elif plan.shape != tuple(volume.shape):
        raise ValueError(f"tile plan for shape {plan.shape}, volume of shape {volume.shape}")
    pad = [(b, p - n - b) for b, p, n in zip(plan.before, plan.padded, plan.shape)]
    padded = np.pad(volume.astype(np.float32, copy=False), pad, constant_values=pad_value)
    tiles = plan.tiles()
    out = np.empty((2, *plan.shape), dtype=np.float32)
    for i, (read, keep, core) in enumerate(tiles):
        if cancel is not None and cancel():
            raise Cancelled("prediction cancelled")
        shape = tuple(s.stop - s.start for s in read)
        logits = net(padded[read][None, None])
        _check_logits(logits, shape)
        probs = softmax(logits.astype(np.float32, copy=False), axis=1)[0, :2]
        del logits
        # the kept core, less the padding: where it lies in the volume and in the tile
        dst, src = [], []
        for k, c, b, n in zip(keep, core, plan.before, plan.shape):
            lo, hi = max(k.start, b), min(k.stop, b + n)
            dst.append(slice(lo - b, max(lo, hi) - b))
            src.append(slice(c.start + lo - k.start, c.start + max(lo, hi) - k.start))
        out[(slice(None), *dst)] = probs[(slice(None), *src)]
        del probs
        if progress is not None:
            progress(i + 1, len(tiles))
    return out


def _check_logits(logits: np.ndarray, tile: Sequence[int]) -> None:
    expected = (1, 3, *tile)
    if tuple(logits.shape) != expected:
        raise ValueError(f"network returned logits of shape {tuple(logits.shape)}, "
                         f"expected {expected}")
