"""Signs that a map is wrong for the tool, found before the network runs.

Each is a one-line warning: the prediction still runs, but the user learns why its answer may
be doubtful (``warning:`` on stderr, a warning in the ChimeraX log). None blanks a map: no
statistic here tells a noisy crop crowded with protein from noise (below), and a threshold that
blanked noise blanked such crops of real maps, so the crop is answered and the warning says
what to doubt. (The shipped network, shown smooth noise scaled like a molecule, finds rods and
slabs in 10-20 % of it; docs/zoo.md.)

The no-molecule test asks two things of the map as the network would see it (on its grid,
low-passed if it is to be): its densest voxels rise less than :data:`MIN_CONTRAST` times the
solvent's noise above the solvent, *and* its darkest voxels lie nearly as far below the
solvent as the densest lie above (:data:`NOISE_SYMMETRY`), as in noise. ("Rise" is the
molecule's typical density of `normalize.density_levels`; the noise is the spread of the
voxels below the solvent level.) Measured on the real
maps of ../shared (6 maps, 8 crops from inside them down to 20 Å): contrast ≥ 2.9 and symmetry
≤ 0.46; Gaussian-smoothed noise of 2-6 Å grain in 80-200 Å boxes: contrast 1.6-2.7, symmetry
0.82-1.23. But crowded central crops of real maps with smooth noise of the map's own spread
added measure contrast 2.0-3.0 and symmetry 0.54-0.73 (the VP6 head's: 2.0 and 0.71), as
small boxes of coarse noise can (0.67-0.87 in 40-44 Å cubes), and the VP6 head's crop in 40 Å
of noise measures above 0.9, as large noise boxes do (0.96-1.11).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .normalize import DensityLevels, density_levels
from .sharpness import SHARP_LIMIT

MIN_CONTRAST = 3.0  # molecule density over solvent noise: smooth noise 1.6-2.7, real ≥ 2.9
NOISE_SYMMETRY = 0.7  # depth below / height above the solvent: noise ~1, real maps ≤ 0.46
INVERTED_RATIO = 1.5  # the darkest volume this much deeper than the densest is high: inverted
COARSE_LIMIT = 9.0  # Å: estimated coarser, a map is at or beyond the 10 Å edge of what the
# network learnt (the estimate reads GroEL, filtered to about 11.5 Å, as 9.3 Å: sharpness.py)
NO_MOLECULE = "no molecule stands out of the noise"  # how that warning begins
FACE_SHARE = 0.04  # of the box faces' area in the molecule: it runs into them (whole real
# maps in ../shared: 0-0.01, the map segment and tight crop 0.05-0.10, central crops 0.06-0.38)
FACE_DEPTH = 12.0  # Å from a face within which a crop's answer degrades (docs/crops.md)


@dataclass
class Assessment:
    """What the checks found: ``warnings`` to show, and whether there is a molecule at all."""

    warnings: list[str] = field(default_factory=list)
    molecule: bool = True


def assess_map(grid: np.ndarray, voxel_size: float, resolution: float | None = None,
               lowpass: float | None = None, levels: DensityLevels | None = None,
               map_voxel: Sequence[float] | None = None, faces: float | None = None,
               faces_of: str = "the box's faces") -> Assessment:
    """Check a map as the network will see it (model grid of ``voxel_size`` Å).

    Args:
        grid: the map on the network's grid, low-passed if it is to be.
        resolution: its spectral resolution estimate (Å) before any low-pass, if measured.
        lowpass: the low-pass applied, if any.
        levels: ``normalize.density_levels(grid, voxel_size)`` when the caller has them.
        map_voxel: the map's own ``(x, y, z)`` voxel size (Å), when known.
        faces: ``face_share(grid, levels)`` when the caller has it.
        faces_of: what the faces warning calls the faces (a padded crop's inside is no box).
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
            f"{NO_MOLECULE} (density {levels.contrast:.1f} times the noise above the "
            f"solvent, under {MIN_CONTRAST:g}, and {symmetry:.2f} times as deep below it as "
            "above): it is predicted, but if this is only noise, what is called is noise; with "
            "protein, a box with some solvent reads better")
    faces = face_share(grid, levels) if faces is None else faces
    if faces > FACE_SHARE:
        out.warnings.append(
            f"the molecule runs into {faces_of} ({faces:.0%} of their area is density): "
            f"helices and sheets within about {FACE_DEPTH:g} Å of a face may be missed; crop "
            f"with {FACE_DEPTH:g} Å or more of solvent around the region")
    if lowpass is None and resolution is not None and resolution < SHARP_LIMIT:
        out.warnings.append(f"the map looks sharper than {SHARP_LIMIT:g} Å (spectrum to "
                            f"{resolution:.1f} Å) and is not low-passed: the network learnt "
                            "5–10 Å maps")
    if resolution is not None and resolution > COARSE_LIMIT:
        out.warnings.append(f"the map looks about {resolution:.0f} Å or coarser (its spectrum's "
                            "falloff): at or beyond the 10 Å edge of the 5–10 Å maps the network "
                            "learnt, where helices and sheets are hard to tell apart; check "
                            "the answer against the map")
    if map_voxel is not None and max(map_voxel) > voxel_size * 1.001:
        out.warnings.append(f"the map's voxels ({max(map_voxel):.3g} Å) are coarser than the "
                            f"network's {voxel_size:g} Å grid: it sees them interpolated")
    return out


def face_share(grid: np.ndarray, levels: DensityLevels) -> float:
    """The share of the box faces' voxels that lie in the molecule (above half its density)."""
    cut = levels.solvent + 0.5 * levels.molecule
    faces = [grid[0], grid[-1], grid[:, 0], grid[:, -1], grid[:, :, 0], grid[:, :, -1]]
    return float(sum(np.count_nonzero(f > cut) for f in faces) / sum(f.size for f in faces))
