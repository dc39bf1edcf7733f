"""The one global intensity normalisation, named in the weights sidecar.

Training imports this same function, so the network sees the same statistics at both times.
It is applied once to the whole map on the model grid, never per tile (per-tile statistics
made tile borders visible in DeepSSETracer 1.1).

``foreground`` (the shipped method) takes its statistics from the molecule, not the box, so
that padding, masking or cropping the solvent around a molecule leaves the result unchanged:

- the solvent level is the map's mode: the exact value of masked solvent when one value fills
  a share of the box (masked maps, zero-padded boxes), else the peak of the histogram;
- the molecule's density is the median of the voxels above half the density of the map's
  densest :data:`TOP_VOLUME` Å³, a fixed volume (not a fraction of the box) so that empty box
  cannot move it, and large enough that a few outlier voxels cannot either.

``zscore`` (the mean and standard deviation of the whole box) is kept for older weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

METHODS = ("foreground", "zscore")
TOP_VOLUME = 1000.0  # Å^3: about one turn-rich helix; inside any molecule the tool is for
SPIKE_SHARE = 0.02  # one exact value in this share of the voxels is masked solvent
HIST_BINS = 256
SAMPLE = 400_000  # voxels the solvent level is estimated from (strided sample)


@dataclass(frozen=True)
class DensityLevels:
    """Where the solvent and the molecule lie in a map's values.

    Attributes:
        solvent: the solvent level (mode), in map units.
        molecule: the molecule's typical density above the solvent, in map units (> 0).
        top: the density above the solvent of the densest ``TOP_VOLUME`` Å³ (> 0).
        depth: how far below the solvent the darkest ``TOP_VOLUME`` Å³ lie.
        noise: the solvent's standard deviation from the voxels below its level (0 when the
            solvent is exactly flat, as in masked maps).
        masked: the solvent level is one exact value filling a share of the box.
        mode: the map's own mode, in map units: the solvent level, unless a larger map's
            lower solvent level was taken (`density_levels`).
    """

    solvent: float
    molecule: float
    top: float
    depth: float
    noise: float
    masked: bool
    mode: float

    @property
    def contrast(self) -> float:
        """Molecule density over solvent noise (inf for flat, masked solvent)."""
        return self.molecule / self.noise if self.noise > 0 else float("inf")


def _sample(flat: np.ndarray) -> np.ndarray:
    return flat[:: max(1, flat.size // SAMPLE)]


def solvent_level(data: np.ndarray) -> tuple[float, bool]:
    """The map's mode and whether it is one exact, repeated (masked) value."""
    sample = _sample(data.reshape(-1))
    values, counts = np.unique(sample, return_counts=True)
    i = int(np.argmax(counts))
    if counts[i] >= SPIKE_SHARE * sample.size:
        return float(values[i]), True
    lo, hi = np.quantile(sample, [0.001, 0.999])
    if not hi > lo:
        return float(np.median(sample)), False
    hist, edges = np.histogram(sample, bins=HIST_BINS, range=(float(lo), float(hi)))
    hist = np.convolve(hist, np.ones(5) / 5.0, mode="same")
    j = int(np.argmax(hist))
    return float(0.5 * (edges[j] + edges[j + 1])), False


def density_levels(data: np.ndarray, voxel_size: float,
                   solvent: float | None = None) -> DensityLevels:
    """The solvent and molecule levels of a map on a grid of ``voxel_size`` Å.

    Args:
        solvent: the solvent level of a larger map this one is a region of. The lower of it and
            this map's own mode is taken: a mode is the solvent, or, where protein crowds the
            box and no solvent is left (a crop through a large complex), the protein's density;
            either way, not much below the solvent.

    Raises:
        ValueError: nothing rises above the solvent level (a flat or all-solvent map).
    """
    flat = data.reshape(-1).astype(np.float64, copy=False)
    mode, masked = solvent_level(data)
    if solvent is not None and solvent < mode:
        solvent, masked = float(solvent), False
    else:
        solvent = mode
    above = flat - solvent
    k = int(min(max(TOP_VOLUME / float(voxel_size) ** 3, 1.0), max(flat.size // 20, 1)))
    ranked = np.partition(above, [k - 1, flat.size - k])
    top, depth = float(ranked[flat.size - k]), -float(ranked[k - 1])
    if not top > 0:
        raise ValueError("no density rises above the solvent level")
    molecule = float(np.median(above[above > 0.5 * top]))
    below = above[above < 0]
    noise = float(np.sqrt(np.mean(below**2))) if below.size else 0.0
    return DensityLevels(solvent, molecule, top, depth, noise, masked, mode)


def normalize(data: np.ndarray, params: Mapping[str, object],
              voxel_size: float = 1.0, levels: DensityLevels | None = None) -> np.ndarray:
    """Normalise a density array as the sidecar's ``normalization`` entry says.

    Args:
        data: any-shape density array.
        params: ``{"method": "foreground" | "zscore", "clip": [lo, hi]}``. ``foreground``
            maps the solvent level to 0 and the molecule's density to 1 (see the module
            docstring); ``zscore`` subtracts the whole array's mean and divides by its
            standard deviation. ``clip`` (optional) then limits the values to ``[lo, hi]``.
        voxel_size: the array's voxel edge in Å (``foreground`` counts a fixed volume).
        levels: ``density_levels(data, voxel_size)`` when the caller has them already.

    Returns:
        float32 array of the same shape.

    Raises:
        ValueError: unknown method, bad clip, or a constant array.
    """
    method = params.get("method")
    if method not in METHODS:
        raise ValueError(f"unknown normalization method {method!r}; known: {', '.join(METHODS)}")
    if method == "foreground":
        if not np.ptp(data) > 0:
            raise ValueError("cannot normalise a constant array")
        levels = levels or density_levels(data, voxel_size)
        centre, scale = levels.solvent, levels.molecule
    else:
        centre = float(np.mean(data, dtype=np.float64))
        scale = float(np.std(data, dtype=np.float64))
        if not scale > 0:
            raise ValueError("cannot z-score a constant array")
    out = (data.astype(np.float32) - np.float32(centre)) / np.float32(scale)
    clip = params.get("clip")
    if clip is not None:
        lo, hi = check_clip(clip)
        np.clip(out, lo, hi, out=out)
    return out


def check_clip(clip: object) -> tuple[float, float]:
    """Return ``(lo, hi)`` from a sidecar clip entry, or raise ValueError."""
    try:
        lo, hi = (float(c) for c in clip)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"clip must be [lo, hi], got {clip!r}") from None
    if not lo < hi:
        raise ValueError(f"clip must have lo < hi, got {clip!r}")
    return lo, hi
