"""What surrounds the molecule in training crops: empty margins, solvent noise, no molecule.

Users bring whole deposited boxes, masked maps with exact-zero solvent and loose crops; the
simulated boxes are tight. With `core.normalize`'s ``foreground`` method the molecule's
normalised values do not depend on the box, so the box itself need not be padded: a crop may
reach up to ``margin`` Å beyond the box, and what lies there is solvent (label background),
either exact (0, the normalised solvent level, as masked or zero-padded maps have) or smooth
noise at the box's own solvent noise level. Pure-noise boxes (label background, normalised by
the same function) teach that no molecule means no answer. Tight crops (a ChimeraX zone or
box a few Å beyond the model) cut the molecule itself at the faces: a share of the crops has
some faces cut just beyond their outermost helix or sheet voxel, solvent beyond. Crowded
views (`crowded_view`) are what a user's crop of a noisy map is: a sub-box with protein to its
faces and noise over it, prepared on its own, so its levels come from the crop as at inference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter

from ..core.lowpass import frequency_grid
from ..core.prepare import AUTO, prepare
from .keys import refuse_unknown


@dataclass(frozen=True)
class Context:
    """Settings of the config's ``context`` entry.

    Attributes:
        margin: how far (Å) a crop centre may lie beyond the box.
        outside_fraction: share of the random (not class-centred) crops centred up to
            ``margin`` beyond the box rather than inside it.
        noise_fill: share of the crops reaching beyond an unmasked box that find solvent
            noise there rather than exact solvent.
        noise_boxes: how many pure-noise boxes to make.
        noise_fraction: share of all crops taken from pure-noise boxes.
        noise_box_size: their edge in voxels of the model grid.
        tight_fraction: share of the crops cut like a tight crop (`cut_tight`).
        noisy_fraction: share of the crops given smooth noise over the whole crop, as a noisy
            map (or a noisy crop crowded with protein) brings it.
        noisy_sd: that noise's standard deviation is drawn up to this, in molecule densities.
        crowded_fraction: share of the boxes that also give a `crowded_view`.
        crowded_sd: its noise's standard deviation is drawn up to this, in the view's own
            standard deviations.
        filtered_fraction: share of the boxes that also give a `filtered_view` (the box
            blurred or sharpened, as `volume gaussian` or a sharpened deposition brings it).
        filtered_b: the range its B factor (Å²; negative sharpens) is drawn from.
    """

    margin: float = 80.0
    outside_fraction: float = 0.5
    noise_fill: float = 0.5
    noise_boxes: int = 64
    noise_fraction: float = 0.06
    noise_box_size: int = 48
    tight_fraction: float = 0.0
    noisy_fraction: float = 0.0
    noisy_sd: float = 0.0
    crowded_fraction: float = 0.0
    crowded_sd: float = 1.0
    filtered_fraction: float = 0.0
    filtered_b: tuple[float, float] = (-100.0, 180.0)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Context | None:
        """None (context augmentation off) for a missing entry; unknown keys are refused."""
        if d is None:
            return None
        refuse_unknown(d, cls.__dataclass_fields__, "config context")
        try:
            ctx = cls(**{k: tuple(float(b) for b in v) if k == "filtered_b" else v
                         for k, v in d.items()})
        except TypeError:
            raise ValueError(f"context filtered_b must be [low, high], got "
                             f"{d.get('filtered_b')!r}") from None
        for name in ("outside_fraction", "noise_fill", "noise_fraction", "tight_fraction",
                     "noisy_fraction", "crowded_fraction", "filtered_fraction"):
            if not 0 <= getattr(ctx, name) <= 1:
                raise ValueError(f"context {name} must lie in [0, 1], got {getattr(ctx, name)}")
        if (ctx.margin < 0 or ctx.noise_boxes < 0 or ctx.noise_box_size < 8 or ctx.noisy_sd < 0
                or ctx.crowded_sd < 0):
            raise ValueError("context margin, noise_boxes, noisy_sd and crowded_sd must be >= 0, "
                             "noise_box_size >= 8")
        if len(ctx.filtered_b) != 2 or not ctx.filtered_b[0] <= ctx.filtered_b[1]:
            raise ValueError(f"context filtered_b must be [low, high], got {list(ctx.filtered_b)}")
        return ctx


TIGHT_BEYOND = (1.0, 7.0)  # Å beyond the outermost helix/sheet voxel (3 Å past its Cα) a cut lies


def cut_tight(rng: np.random.Generator, x: np.ndarray, labels: np.ndarray, fill: np.ndarray,
              voxel_size: float, sse: tuple[int, ...]) -> None:
    """Cut the crop ``x`` in place as a tight crop cuts a map: each face, with chance 1/2,
    just beyond the crop's outermost ``sse``-labelled voxel along its axis (4-10 Å past the
    Cα), with ``fill`` (solvent) beyond. No helix or sheet label lies beyond a cut, so the
    labels stand; crops without such voxels stay whole."""
    mask = np.isin(labels, sse)
    if not mask.any():
        return
    for axis in range(3):
        present = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis)))
        for side in (0, 1):
            if rng.random() < 0.5:
                continue
            gap = int(round(rng.uniform(*TIGHT_BEYOND) / voxel_size))
            cut = [slice(None)] * 3
            cut[axis] = (slice(0, max(present[0] - gap, 0)) if side == 0
                         else slice(present[-1] + 1 + gap, None))
            x[tuple(cut)] = fill[tuple(cut)]


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Gaussian-smoothed white noise of unit standard deviation (float32)."""
    field = gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma, mode="wrap")
    return (field / max(float(field.std()), 1e-12)).astype(np.float32)


def noise_sigma(resolution: float, voxel_size: float) -> float:
    """Smoothing (voxels) that gives noise the grain of a map of ``resolution`` Å."""
    return max(0.2 * float(resolution) / float(voxel_size), 0.5)


NOISE_DRAWS = 20  # a masked blob comes out all negative now and then; never 20 times running


CROWDED_SHARE = (0.45, 0.75)  # a crowded view's edge, as a share of the box's along each axis
CROWDED_MIN = 40.0  # Å: no view edge shorter (the zoo's crops keep at least 40 Å a side)


def crowded_view(rng: np.random.Generator, density: np.ndarray, labels: np.ndarray,
                 voxel_size: float, resolution: float, sd: float
                 ) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    """``(density, labels, start)`` of a random sub-box of a raw (unprepared) box, 0.45-0.75
    of each axis, with smooth noise at the map's grain of up to ``sd`` times the view's own
    standard deviation added: a crowded crop of a noisy map, to be prepared as a user's map
    is. ``start`` is its first voxel's ``[z, y, x]`` index in the box."""
    cut = []
    for n in density.shape:
        size = min(n, max(int(round(rng.uniform(*CROWDED_SHARE) * n)),
                          int(np.ceil(CROWDED_MIN / voxel_size))))
        start = int(rng.integers(0, n - size + 1))
        cut.append(slice(start, start + size))
    x = density[tuple(cut)].astype(np.float32)
    level = np.float32(rng.uniform(0.0, sd) * float(x.std()))
    x += level * smooth_noise(rng, x.shape, noise_sigma(resolution, voxel_size))
    return x, labels[tuple(cut)], (cut[0].start, cut[1].start, cut[2].start)


def b_filtered(data: np.ndarray, voxel_size: tuple[float, ...], b_factor: float) -> np.ndarray:
    """``data`` ([z, y, x]; ``voxel_size`` x, y, z in Å) with its transform times
    exp(-B s²/4), s in 1/Å taken no further than the grid's Nyquist frequency (the corners of
    the transform get the Nyquist gain, not more): B > 0 blurs, B < 0 sharpens."""
    s = frequency_grid(data.shape, voxel_size)
    s = np.minimum(s, 0.5 / max(float(v) for v in voxel_size))
    f = np.fft.rfftn(data.astype(np.float32))
    f *= np.exp(-b_factor * s.astype(np.float64) ** 2 / 4.0)
    return np.fft.irfftn(f, data.shape, axes=(0, 1, 2)).astype(np.float32)


def filtered_view(rng: np.random.Generator, density: np.ndarray, voxel_size: float,
                  b_range: tuple[float, float]) -> np.ndarray:
    """A raw (unprepared) box blurred or sharpened by a B factor drawn from ``b_range``: one
    molecule as different filters show it, to be prepared as a user's map is."""
    return b_filtered(density, (voxel_size,) * 3, float(rng.uniform(*b_range)))


def noise_box(rng: np.random.Generator, size: int, voxel_size: float,
              norm: Mapping[str, Any], lowpass: float | str | None = AUTO) -> np.ndarray:
    """A box with no molecule, prepared as a user's map is: smooth noise at a 4-12 Å grain,
    half of the boxes with a slow gradient added, a third cut to a soft blob with exact zeros
    around (masked junk). A draw with nothing above its solvent level (a blob that came out
    all negative) is drawn again, up to `NOISE_DRAWS` times."""
    for _ in range(NOISE_DRAWS - 1):
        try:
            return _noise_box(rng, size, voxel_size, norm, lowpass)
        except ValueError:
            continue
    return _noise_box(rng, size, voxel_size, norm, lowpass)


def _noise_box(rng: np.random.Generator, size: int, voxel_size: float,
               norm: Mapping[str, Any], lowpass: float | str | None) -> np.ndarray:
    shape = (size,) * 3
    x = smooth_noise(rng, shape, noise_sigma(rng.uniform(4.0, 12.0), voxel_size))
    if rng.random() < 0.5:
        x += rng.uniform(0.5, 2.0) * smooth_noise(rng, shape, size / 4.0)
    if rng.random() < 0.33:
        axes = np.meshgrid(*(np.linspace(-1, 1, size),) * 3, indexing="ij")
        radii = rng.uniform(0.3, 0.9, 3)
        r2 = sum((a / r) ** 2 for a, r in zip(axes, radii))
        x *= np.clip(1.5 - r2, 0.0, 1.0).astype(np.float32)
    return prepare(x * np.float32(rng.uniform(0.01, 100.0)), (voxel_size,) * 3, voxel_size, norm,
                   lowpass=lowpass, assess=False)[0]
