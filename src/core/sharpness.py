"""How sharp a map is, from its own power spectrum, and the automatic low-pass that follows.

The network learnt 5–10 Å maps; a 3–4 Å map (side chains showing) is labelled poorly as it is
and well once low-passed to 6 Å. Users should not need to know that, so both prediction and
training measure each map on the model grid and filter the sharp ones the same way.

The estimate is the resolution at which the spherically averaged power has fallen
:data:`DROP` decades below its level at 8–12 Å. It is a spectral falloff, not an FSC: it tells
a 3 Å map from a 6 Å one, which is all the decision needs.
"""

from __future__ import annotations

import numpy as np

from .lowpass import frequency_grid

SHARP_LIMIT = 4.5  # Å: maps estimated sharper than this are low-passed
AUTO_LOWPASS = 6.0  # Å: to this resolution
DROP = 2.0  # decades of power below the 8-12 Å level
REFERENCE = (12.0, 8.0)  # Å: the band the falloff is measured from
SHELLS = 24


def _window(shape: tuple[int, ...]) -> np.ndarray:
    """A separable sqrt-Hann window, so the box faces add no power of their own."""
    w = np.ones(shape, np.float32)
    for axis, n in enumerate(shape):
        h = np.sqrt(np.hanning(n)).astype(np.float32) if n > 8 else np.ones(n, np.float32)
        w *= h.reshape([n if a == axis else 1 for a in range(len(shape))])
    return w


def estimate_resolution(grid: np.ndarray, voxel_size: float) -> float:
    """The map's effective resolution (Å) on a cubic grid of ``voxel_size`` Å.

    Returns the grid's Nyquist resolution (twice the step) when the power has not fallen by
    :data:`DROP` decades by then: the map is at least that sharp. Returns ``inf`` for a
    map with no power in the reference band (a box too small to hold 12 Å).
    """
    data = grid.astype(np.float32, copy=False)
    power = np.abs(np.fft.rfftn((data - data.mean()) * _window(data.shape))) ** 2
    s = frequency_grid(data.shape, (voxel_size,) * 3)
    ref = (s >= 1.0 / REFERENCE[0]) & (s < 1.0 / REFERENCE[1])
    if not ref.any() or not power[ref].mean() > 0:
        return float("inf")
    level = float(power[ref].mean()) * 10.0 ** (-DROP)
    nyquist = 0.5 / voxel_size
    edges = np.linspace(1.0 / REFERENCE[1], nyquist, SHELLS + 1)
    for lo, hi in zip(edges[:-1], edges[1:]):
        shell = (s >= lo) & (s < hi)
        if shell.any() and power[shell].mean() < level:
            return float(1.0 / lo)
    return float(1.0 / nyquist)


def auto_lowpass(grid: np.ndarray, voxel_size: float) -> tuple[float, float | None]:
    """``(estimated resolution, low-pass to apply or None)`` for a map on the model grid."""
    resolution = estimate_resolution(grid, voxel_size)
    return resolution, (AUTO_LOWPASS if resolution < SHARP_LIMIT else None)
