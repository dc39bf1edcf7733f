"""Sliding-window prediction with Gaussian blending, so any map runs in bounded memory.

As nnU-Net does: the volume is padded to a multiple of the network's size multiple; when it
then fits in one tile (edges up to the sidecar's ``tile_size``) it runs in one pass. Otherwise
tile starts are spread evenly along each axis with at least half a tile of overlap (tiles
shrink to the smallest edge that needs no more of them), each tile's probabilities are
weighted by a Gaussian centred on the tile (sigma = 1/8 of the edge, floored at
``WEIGHT_FLOOR`` of its peak, so the weight is never zero), and the weighted sums are divided
by the summed weights. Identical tile predictions thus blend to exactly themselves: no
seams.

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

SIGMA_SCALE = 1.0 / 8.0
WEIGHT_FLOOR = 1e-3
MIN_OVERLAP = 0.5

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


def padded_size(n: int, multiple: int) -> int:
    """Smallest multiple of `multiple` that holds `n` voxels."""
    return max(multiple, int(math.ceil(n / multiple)) * multiple)


def tile_starts(size: int, tile: int, min_overlap: float = MIN_OVERLAP) -> list[int]:
    """Evenly spread starts of `tile`-voxel tiles covering `size`, overlapping >= `min_overlap`."""
    if tile >= size:
        return [0]
    max_step = tile * (1.0 - min_overlap)
    n = int(math.ceil((size - tile) / max_step)) + 1
    return [int(round(s)) for s in np.linspace(0, size - tile, n)]


@dataclass(frozen=True)
class TilePlan:
    """Where the padded volume and its tiles lie.

    Attributes:
        shape: ``[z, y, x]`` size of the volume.
        padded: its size after padding (each edge a multiple of the size multiple).
        before: voxels of padding before the volume on each axis (the rest goes after).
        tile: tile edges ``[z, y, x]`` (equal to `padded` for a one-pass volume).
        starts: tile starts along each axis.
    """

    shape: tuple[int, int, int]
    padded: tuple[int, int, int]
    before: tuple[int, int, int]
    tile: tuple[int, int, int]
    starts: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]

    @classmethod
    def make(cls, shape: Sequence[int], tile_size: int, size_multiple: int) -> TilePlan:
        """Plan for a volume; `tile_size` must be a multiple of `size_multiple`."""
        if tile_size % size_multiple:
            raise ValueError(f"tile_size {tile_size} is not a multiple of {size_multiple}")
        shape = tuple(int(n) for n in shape)
        padded = tuple(padded_size(n, size_multiple) for n in shape)
        tile = tuple(_smallest_tile(p, tile_size, size_multiple) for p in padded)
        starts = tuple(tuple(tile_starts(p, t)) for p, t in zip(padded, tile))
        before = tuple((p - n) // 2 for p, n in zip(padded, shape))
        return cls(shape, padded, before, tile, starts)  # type: ignore[arg-type]

    @property
    def n_tiles(self) -> int:
        return math.prod(len(s) for s in self.starts)

    def tiles(self) -> list[tuple[slice, slice, slice]]:
        """Slices of the padded volume, one per tile, z slowest."""
        return [tuple(slice(s, s + t) for s, t in zip(start, self.tile))  # type: ignore[misc]
                for start in itertools.product(*self.starts)]


def _smallest_tile(size: int, tile_size: int, multiple: int) -> int:
    """The smallest tile edge needing no more tiles than `tile_size` does (less work).

    A 112-voxel axis needs two 96-voxel tiles; two 80-voxel tiles cover it as well with half
    overlap, and cost (80/96)^3 = 58 % as much per tile.
    """
    tile = min(tile_size, size)
    n = len(tile_starts(size, tile))
    while tile - multiple >= multiple and len(tile_starts(size, tile - multiple)) == n:
        tile -= multiple
    return tile


def gaussian_weight(tile: Sequence[int], sigma_scale: float = SIGMA_SCALE,
                    floor: float = WEIGHT_FLOOR) -> np.ndarray:
    """Separable Gaussian importance map of a tile: 1 at the centre, never below `floor`."""
    w = np.ones((1, 1, 1), dtype=np.float32)
    for axis, n in enumerate(tile):
        x = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
        g = np.exp(-0.5 * (x / (sigma_scale * n)) ** 2).astype(np.float32)
        shape = [1, 1, 1]
        shape[axis] = n
        w = w * g.reshape(shape)
    return np.maximum(w / w.max(), np.float32(floor))


def predict_tiled(volume: np.ndarray, net: Network, tile_size: int, size_multiple: int, *,
                  pad_value: float = 0.0, progress: Progress | None = None,
                  cancel: Cancel | None = None, plan: TilePlan | None = None) -> np.ndarray:
    """Helix and sheet probabilities ``[2, z, y, x]`` of a normalised ``[z, y, x]`` volume.

    Args:
        volume: normalised density on the model grid.
        net: logits from ``[1, 1, D, H, W]`` batches.
        tile_size: largest tile edge (voxels, a multiple of `size_multiple`).
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
    one_pass = len(tiles) == 1
    acc = None if one_pass else np.zeros((2, *plan.padded), dtype=np.float32)
    wsum = None if one_pass else np.zeros(plan.padded, dtype=np.float32)
    weight = None if one_pass else gaussian_weight(plan.tile)
    probs = None
    for i, sl in enumerate(tiles):
        if cancel is not None and cancel():
            raise Cancelled("prediction cancelled")
        logits = net(padded[sl][None, None])
        _check_logits(logits, plan.tile)
        probs = softmax(logits.astype(np.float32, copy=False), axis=1)[0, :2]
        if not one_pass:
            acc[(slice(None), *sl)] += probs * weight
            wsum[sl] += weight
        if progress is not None:
            progress(i + 1, len(tiles))
    if not one_pass:
        del padded
        acc /= wsum
        probs = acc
    inner = tuple(slice(b, b + n) for b, n in zip(plan.before, plan.shape))
    return np.ascontiguousarray(probs[(slice(None), *inner)])


def _check_logits(logits: np.ndarray, tile: Sequence[int]) -> None:
    expected = (1, 3, *tile)
    if tuple(logits.shape) != expected:
        raise ValueError(f"network returned logits of shape {tuple(logits.shape)}, "
                         f"expected {expected}")
