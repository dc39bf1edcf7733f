"""How sharp a map is, from its own power spectrum, and the low-pass every map gets.

The network learnt 5–10 Å maps; a 3–4 Å map (side chains showing) is labelled poorly as it is
and well once low-passed to 6 Å. Users should not need to know that, so prediction and
training both filter every map to :data:`AUTO_LOWPASS` on the model grid (a no-op on a 7–10 Å
map). Filtering only the maps estimated sharper than some limit made the answer depend on
the box: masking, padding or cropping one map moved its estimate across the limit (4.0–4.6 Å
for one masked 5 Å chain) and its helix F1 by up to 0.6. The estimate now only decides the
warning that a map is far sharper than the network learnt.

The estimate is the coarser of two readings of the spherically averaged power, measured inside
the molecule's envelope (`envelope_weight`) with the box faces tapered, so that neither a mask's
edge nor a crop's faces read as detail:

- where the power has fallen :data:`DROP` decades below its level at 8–12 Å (tells a 3 Å map
  from a 6 Å one, but reads a coarse map's slow tail as detail: GroEL filtered to about
  11.5 Å reads 5.6 Å);
- the falloff from 20 to 8 Å as a B-factor, turned into a resolution by the relation of the
  simulated training boxes, whose resolution is known (:data:`B_PER_A2`, :data:`B_OFFSET`:
  80 boxes of 5-12 Å, correlation 0.82, so about ±2 Å): GroEL reads 9.3 Å.

It is a spectral falloff, not an FSC: good enough for a warning, never for a decision.
"""

from __future__ import annotations

import numpy as np

from .lowpass import frequency_grid, lowpass

SHARP_LIMIT = 4.5  # Å: a map estimated sharper than this and not low-passed gets a warning
AUTO_LOWPASS = 6.0  # Å: what every map is low-passed to unless the user says otherwise
DROP = 2.0  # decades of power below the 8-12 Å level
REFERENCE = (12.0, 8.0)  # Å: the band the falloff is measured from
SHELLS = 24
B_BAND = (20.0, 8.0)  # Å: the band the B-factor is fitted over
B_PER_A2 = 9.1  # Å^-2 ... B = B_PER_A2 * R^2 - B_OFFSET on simulated boxes of known R
B_OFFSET = 35.0
SUPPORT = 0.02  # of the molecule's density: further from the solvent level is not solvent
TAPER = 12.0  # Å: the envelope weight's edge


def _window(shape: tuple[int, ...]) -> np.ndarray:
    """A separable sqrt-Hann window, so the box faces add no power of their own."""
    w = np.ones(shape, np.float32)
    for axis, n in enumerate(shape):
        h = np.sqrt(np.hanning(n)).astype(np.float32) if n > 8 else np.ones(n, np.float32)
        w *= h.reshape([n if a == axis else 1 for a in range(len(shape))])
    return w


def envelope_weight(grid: np.ndarray, solvent: float, molecule: float,
                    voxel_size: float) -> np.ndarray:
    """A smooth weight, 0 outside what is not solvent and rising to 1 over :data:`TAPER` Å
    inside it: a mask's edge, where density steps to the exact solvent value, then adds no
    power of its own. An unmasked map, whose solvent is noise, is weighted 1 throughout."""
    support = (np.abs(grid - np.float32(solvent)) > SUPPORT * molecule).astype(np.float32)
    if support.all():
        return support
    smooth = lowpass(support, (voxel_size,) * 3, max(TAPER, 2.0 * voxel_size))
    return np.clip(2.0 * smooth - 1.0, 0.0, 1.0).astype(np.float32)


def estimate_resolution(grid: np.ndarray, voxel_size: float,
                        weight: np.ndarray | None = None) -> float:
    """The map's effective resolution (Å) on a cubic grid of ``voxel_size`` Å: the coarser of
    the power's drop and its B-factor (module docstring).

    ``weight`` (`envelope_weight`) confines the measure to the molecule's envelope; the box's
    faces are tapered in any case. Returns the grid's Nyquist resolution (twice the step) when
    the power has not fallen by then and the B-factor reads finer; ``inf`` for a map with no
    power in the reference band (a box too small to hold 12 Å).
    """
    data = grid.astype(np.float32, copy=False)
    window = _window(data.shape) if weight is None else _window(data.shape) * weight
    if not window.any():
        return float("inf")
    centre = float(np.average(data, weights=window))
    power = np.abs(np.fft.rfftn((data - np.float32(centre)) * window)) ** 2
    s = frequency_grid(data.shape, (voxel_size,) * 3)
    ref = (s >= 1.0 / REFERENCE[0]) & (s < 1.0 / REFERENCE[1])
    if not ref.any() or not power[ref].mean() > 0:
        return float("inf")
    return max(_drop_resolution(power, s, float(power[ref].mean()), voxel_size),
               _b_resolution(power, s))


def _drop_resolution(power: np.ndarray, s: np.ndarray, reference: float,
                     voxel_size: float) -> float:
    """Where the shells' power first falls :data:`DROP` decades below ``reference``."""
    level = reference * 10.0 ** (-DROP)
    nyquist = 0.5 / voxel_size
    edges = np.linspace(1.0 / REFERENCE[1], nyquist, SHELLS + 1)
    for lo, hi in zip(edges[:-1], edges[1:]):
        shell = (s >= lo) & (s < hi)
        if shell.any() and power[shell].mean() < level:
            return float(1.0 / lo)
    return float(1.0 / nyquist)


def _b_resolution(power: np.ndarray, s: np.ndarray) -> float:
    """The resolution whose simulated maps fall off from 20 to 8 Å as this one does (0 where
    the falloff is flatter than any of them)."""
    edges = np.linspace(1.0 / B_BAND[0], 1.0 / B_BAND[1], 9)
    s2, logp = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        shell = (s >= lo) & (s < hi)
        if shell.any() and power[shell].mean() > 0:
            s2.append((0.5 * (lo + hi)) ** 2)
            logp.append(np.log(power[shell].mean()))
    if len(s2) < 3:
        return 0.0
    b = -2.0 * float(np.polyfit(s2, logp, 1)[0])
    return float(np.sqrt(max(b + B_OFFSET, 0.0) / B_PER_A2))
