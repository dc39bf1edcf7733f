"""The class vocabulary every layer shares: order of the network's outputs, names, labels.

Background is last, as in the paper. Label arrays are uint8 with these values; ``IGNORE``
marks voxels not scored (the 17 Å box padding). ``COLORS`` are the ChimeraX surfaces'.
A residue's class (DSSP helix / sheet / other)
uses the same numbers, ``OTHER`` standing where a voxel would say background.
"""

from __future__ import annotations

HELIX, SHEET, BACKGROUND = 0, 1, 2
OTHER = BACKGROUND  # a residue that is neither helix nor sheet
IGNORE = 255
NAMES = ("helix", "sheet", "background")  # index = class
RESIDUE_NAMES = ("helix", "sheet", "other")  # index = a residue's class
SCORED = (HELIX, SHEET)  # the classes F1 is reported for
SCORED_NAMES = tuple(NAMES[k] for k in SCORED)
N_CLASSES = len(NAMES)
COLORS = {"helix": (1.0, 1.0, 0.0, 0.5), "sheet": (0.0, 1.0, 1.0, 0.5)}  # yellow, cyan, RGBA
