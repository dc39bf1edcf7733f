"""Signs that a map is wrong for the tool, found before the network runs.

Each is a one-line warning, not an error: the prediction still runs, but the user learns why
its answer may be nonsense (``warning:`` on stderr, a warning in the ChimeraX log).
"""

from __future__ import annotations

import numpy as np

from .normalize import TOP_VOLUME, DensityLevels, density_levels
from .sharpness import SHARP_LIMIT

MIN_CONTRAST = 2.5  # molecule density over solvent noise: smooth noise gives ~2, real maps 4-15
INVERTED_RATIO = 1.5  # the densest volume below the solvent this much deeper than above it


def _depth_below(grid: np.ndarray, levels: DensityLevels, voxel_size: float) -> float:
    """How far the darkest ``TOP_VOLUME`` Å³ lie below the solvent level."""
    flat = grid.reshape(-1)
    k = int(min(max(TOP_VOLUME / voxel_size**3, 1.0), max(flat.size // 20, 1)))
    return float(levels.solvent - np.partition(flat, k - 1)[k - 1])


def map_warnings(grid: np.ndarray, voxel_size: float, resolution: float | None = None,
                 lowpass: float | None = None) -> list[str]:
    """Warnings for a map on the model grid (``voxel_size`` Å).

    Args:
        grid: the map as the network's grid holds it, before any low-pass.
        resolution: its spectral resolution estimate (Å), if measured.
        lowpass: the low-pass that will be applied, if any.
    """
    out = []
    try:
        levels = density_levels(grid, voxel_size)
    except ValueError:
        return []  # normalisation refuses such a map with the reason
    if _depth_below(grid, levels, voxel_size) > INVERTED_RATIO * levels.top:
        out.append("the map looks inverted (the darkest voxels lie further below the solvent "
                   "than the densest above it): protein should be bright; negate it first")
    elif levels.contrast < MIN_CONTRAST:
        out.append(f"no molecule stands out of the solvent noise (density {levels.contrast:.1f}"
                   f" times the noise, under {MIN_CONTRAST:g}): the answer is likely noise")
    if lowpass is None and resolution is not None and resolution < SHARP_LIMIT:
        out.append(f"the map looks sharper than {SHARP_LIMIT:g} Å (spectrum to "
                   f"{resolution:.1f} Å) and is not low-passed: the network learnt 5–10 Å maps")
    return out
