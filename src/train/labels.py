"""Voxel labels as the paper: within 3 Å of a helix or sheet Cα, the nearest such Cα wins ties.

Only helix and sheet Cα atoms label voxels; everything else is background (2). The grid is
the map's own: ``shape`` [z, y, x], ``origin`` and ``voxel_size`` (x, y, z) in Å, origin at
the centre of voxel [0, 0, 0].
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..core.classes import BACKGROUND, IGNORE, SHEET
from ..core.resample import grid_positions

RADIUS = 3.0


def label_grid(
    shape: tuple[int, int, int],
    origin: tuple[float, float, float],
    voxel_size: tuple[float, float, float],
    ca_xyz: np.ndarray,
    ca_class: np.ndarray,
    radius: float = RADIUS,
) -> np.ndarray:
    """uint8 [z, y, x] labels: helix 0 / sheet 1 where a helix/sheet Cα lies within ``radius``.

    Args:
        shape: grid shape [z, y, x].
        origin: (x, y, z) Å of voxel [0, 0, 0]'s centre.
        voxel_size: (x, y, z) Å.
        ca_xyz: (R, 3) Cα coordinates (x, y, z) in Å; NaN rows are ignored.
        ca_class: (R,) 0 helix, 1 sheet, 2 other.
        radius: labelling distance in Å (3 in the paper).
    """
    labels = np.full(shape, BACKGROUND, dtype=np.uint8)
    ca_xyz = np.asarray(ca_xyz, dtype=np.float64).reshape(-1, 3)
    ca_class = np.asarray(ca_class).reshape(-1)
    if len(ca_xyz) != len(ca_class):
        raise ValueError(f"ca_xyz has {len(ca_xyz)} rows but ca_class {len(ca_class)}")
    keep = (ca_class <= SHEET) & np.isfinite(ca_xyz).all(axis=1)
    pts, cls = ca_xyz[keep], ca_class[keep].astype(np.uint8)
    if len(pts) == 0:
        return labels
    vs = np.asarray(voxel_size, dtype=np.float64)
    org = np.asarray(origin, dtype=np.float64)
    # Candidate voxels: the index box of each Cα's radius (x, y, z order), then exact KD-tree
    # nearest-Cα distances on those only; far cheaper than querying every voxel of the box.
    reach = np.ceil(radius / vs).astype(int)
    offs = np.stack(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij"), -1)
    centre = np.rint((pts - org) / vs).astype(int)
    cand = (centre[:, None, :] + offs.reshape(1, -1, 3)).reshape(-1, 3)
    nx, ny, nz = shape[2], shape[1], shape[0]
    inside = ((cand >= 0) & (cand < np.array([nx, ny, nz]))).all(axis=1)
    near = np.zeros(shape, dtype=bool)
    near[cand[inside, 2], cand[inside, 1], cand[inside, 0]] = True
    cand = np.argwhere(near)[:, ::-1]  # unique candidates, (x, y, z)
    if len(cand) == 0:
        return labels
    dist, idx = cKDTree(pts).query(cand * vs + org, k=1, distance_upper_bound=radius)
    hit = np.isfinite(dist)
    c = cand[hit]
    labels[c[:, 2], c[:, 1], c[:, 0]] = cls[idx[hit]]
    return labels


def resample_labels(labels: np.ndarray, ratio: float, shape: tuple[int, int, int]) -> np.ndarray:
    """Labels at the grid points of `core.resample.resample` (step ``ratio`` input voxels).

    Nearest input voxel, so each coarse label is a true label, not a blend; points past the
    input's last voxel are IGNORE (the density there is only the edge value, extended).
    """
    out = labels
    for axis, n in enumerate(shape):
        idx = np.rint(grid_positions(n, ratio)).astype(np.intp)
        inside = idx < labels.shape[axis]
        taken = np.take(out, np.minimum(idx, labels.shape[axis] - 1), axis=axis)
        mask_shape = [1] * out.ndim
        mask_shape[axis] = n
        out = np.where(inside.reshape(mask_shape), taken, np.uint8(IGNORE))
    return out.astype(np.uint8, copy=False)
