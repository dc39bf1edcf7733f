"""`DensityMap`: a 3-D array on a regular orthogonal grid, the type every core module shares.

The ground floor of the core: it imports nothing from the package, so the map readers and
writers (`mapio`), the checks (`validate`) and the prediction (`predict`) can all use it
without importing one another.

A map is a C-order ``[z, y, x]`` array plus ``(x, y, z)`` voxel size and origin in Å, the
origin being the position of the centre of voxel ``[0, 0, 0]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class DensityMap:
    """A map on a regular orthogonal grid.

    Attributes:
        data: C-order ``[z, y, x]`` array; float32 for densities and probabilities (integer
            arrays are allowed for label maps).
        voxel_size: ``(x, y, z)`` spacing in Å.
        origin: ``(x, y, z)`` position in Å of the centre of voxel ``[0, 0, 0]``.
        labels: text that `mapio.write_maps` writes into the MRC header labels (provenance:
            the tool, the class, the weights), after mrcfile's own; not read back.
    """

    data: np.ndarray
    voxel_size: tuple[float, float, float]
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.data.ndim != 3:
            raise ValueError(f"DensityMap needs a 3-D [z, y, x] array, got shape {self.data.shape}")
        self.voxel_size = _triple(self.voxel_size, "voxel_size")
        self.origin = _triple(self.origin, "origin")

    @property
    def shape_xyz(self) -> tuple[int, int, int]:
        """Grid size along x, y, z."""
        nz, ny, nx = self.data.shape
        return nx, ny, nz

    @property
    def extent(self) -> tuple[float, float, float]:
        """Box size in Å along x, y, z (voxel count times voxel size)."""
        return tuple(n * v for n, v in zip(self.shape_xyz, self.voxel_size))  # type: ignore[return-value]

    def xyz(self, index_zyx: np.ndarray) -> np.ndarray:
        """Positions in Å (``[..., 3]`` as x, y, z) of fractional ``[..., 3]`` z, y, x indices."""
        ijk = np.asarray(index_zyx, dtype=np.float64)[..., ::-1]
        return np.asarray(self.origin) + ijk * np.asarray(self.voxel_size)


@dataclass
class SlabMap:
    """A map whose data are made a slab of rows (axis 0) at a time, never held whole:
    `mapio.write_maps` writes it slab by slab, so writing a large prediction costs a slab.

    Attributes:
        shape: its ``[z, y, x]`` size.
        rows: ``rows(start, stop)`` gives ``data[start:stop]`` (float32, or int8 labels).
        voxel_size, origin, labels: as `DensityMap`'s.
    """

    shape: tuple[int, int, int]
    rows: Callable[[int, int], np.ndarray]
    voxel_size: tuple[float, float, float]
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.shape = tuple(int(n) for n in self.shape)  # type: ignore[assignment]
        self.voxel_size = _triple(self.voxel_size, "voxel_size")
        self.origin = _triple(self.origin, "origin")


def _triple(value, name: str) -> tuple[float, float, float]:
    values = tuple(float(v) for v in np.broadcast_to(np.asarray(value, dtype=np.float64), (3,)))
    return values  # type: ignore[return-value]
