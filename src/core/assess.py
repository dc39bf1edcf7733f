"""Signs that a map is wrong for the tool, found before the network runs.

Most are one-line warnings: the prediction still runs, but the user learns why its answer may
be nonsense (``warning:`` on stderr, a warning in the ChimeraX log). One is a decision: a map
in which no molecule stands out of the noise gets no answer at all, since the network, shown
smooth noise scaled like a molecule, finds rods and slabs in it.

The no-molecule test asks two things of the map as the network would see it (on its grid,
low-passed if it is to be): its densest voxels rise less than :data:`MIN_CONTRAST` times the
solvent's noise above the solvent, *and* its darkest voxels lie nearly as far below the
solvent as the densest lie above (:data:`NOISE_SYMMETRY`), as in noise. ("Rise" is the
molecule's typical density of `normalize.density_levels`; the noise is the spread of the
voxels below the solvent level.) Measured on the real
maps of ../shared (6 maps, 8 crops from inside them down to 20 Å): contrast ≥ 2.9 and symmetry
≤ 0.46; Gaussian-smoothed noise of 2-6 Å grain in 80-200 Å boxes: contrast 1.6-2.7, symmetry
0.82-1.23. A quarter of the simulated training boxes (the most crowded) look like noise by
this test too; no real map or crop does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .normalize import DensityLevels, density_levels
from .sharpness import SHARP_LIMIT

MIN_CONTRAST = 3.0  # molecule density over solvent noise: smooth noise 1.6-2.7, real ≥ 2.9
NOISE_SYMMETRY = 0.7  # depth below / height above the solvent: noise ~1, real maps ≤ 0.46
INVERTED_RATIO = 1.5  # the darkest volume this much deeper than the densest is high: inverted


@dataclass
class Assessment:
    """What the checks found: ``warnings`` to show, and whether there is a molecule at all."""

    warnings: list[str] = field(default_factory=list)
    molecule: bool = True


def assess_map(grid: np.ndarray, voxel_size: float, resolution: float | None = None,
               lowpass: float | None = None,
               levels: DensityLevels | None = None) -> Assessment:
    """Check a map as the network will see it (model grid of ``voxel_size`` Å).

    Args:
        grid: the map on the network's grid, low-passed if it is to be.
        resolution: its spectral resolution estimate (Å) before any low-pass, if measured.
        lowpass: the low-pass applied, if any.
        levels: ``normalize.density_levels(grid, voxel_size)`` when the caller has them.
    """
    out = Assessment()
    try:
        levels = levels or density_levels(grid, voxel_size)
    except ValueError:
        return out  # the normalisation refuses such a map with the reason
    symmetry = levels.depth / levels.top
    if symmetry > INVERTED_RATIO:
        out.warnings.append("the map looks inverted (the darkest voxels lie further below the "
                            "solvent than the densest above it): protein should be bright; "
                            "negate it first")
    elif levels.contrast < MIN_CONTRAST and symmetry > NOISE_SYMMETRY:
        out.molecule = False
        out.warnings.append(
            f"no molecule stands out of the noise (density {levels.contrast:.1f} times the "
            f"noise above the solvent, under {MIN_CONTRAST:g}, and as deep below it as above): "
            "nothing is called; if there is protein, crop a box with some solvent")
    if lowpass is None and resolution is not None and resolution < SHARP_LIMIT:
        out.warnings.append(f"the map looks sharper than {SHARP_LIMIT:g} Å (spectrum to "
                            f"{resolution:.1f} Å) and is not low-passed: the network learnt "
                            "5–10 Å maps")
    return out
