"""Realistic, varied density simulation from atoms, vectorised in Fourier space.

Atoms are put on the grid as weighted point masses (trilinear weights, ``np.bincount``), one
grid per B-factor group; each group is Fourier transformed once, blurred by its B-factor,
summed, and multiplied by a resolution transfer function. Two kinds of transfer:

- ``gaussian``: molmap-like Gaussian of σ = f × resolution (f ≈ 0.225), no cut-off;
- ``cutoff``: a B-factor envelope (with random sharpening or blurring) times a sharp low-pass
  at 1/resolution: what filtered, resampled or post-processed maps look like.

On top: local resolution (two transfers blended by a smooth random weight field), coloured
noise (power-law spectrum, band-limited) at a random SNR or none (smooth maps), bulk-solvent
contrast, random scale and offset, and an optional soft mask around the central chain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from ..core.lowpass import frequency_grid, raised_cosine

MARGIN = 6  # Å simulated beyond the box faces, so density is cut at the faces as a crop cuts it
WRAP_PAD = 12  # Å of zeros against FFT wrap-around


@dataclass
class SimParams:
    """Everything random about one simulated map (stored in index.json)."""

    resolution: float
    filter: str  # "gaussian" | "cutoff"
    noise: str  # "coloured" | "smooth"
    sigma_factor: float  # gaussian kind: σ = sigma_factor × resolution
    b_envelope: float  # cutoff kind: B of the signal envelope before sharpening
    b_sharpen: float  # added B (negative sharpens), exp(-B s²/4)
    cutoff_edge: float  # relative width of the low-pass cosine edge
    local_res_ratio: float  # second resolution / resolution; 1 = uniform resolution
    snr: float  # signal std (protein) / noise std; 0 for smooth maps
    noise_alpha: float  # noise power ∝ s^-alpha
    noise_band: float  # noise band limit in 1/Å
    b_groups: tuple[float, ...]  # B per atom group: ordered, coil, termini, unmodelled
    solvent_contrast: float  # fraction of the mean protein density taken off by bulk solvent
    scale: float
    offset: float  # in units of the signal std
    masked: bool

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def sample_params(rng: np.random.Generator, masked_fraction: float = 0.2) -> SimParams:
    """Random parameters: resolution 80 % in 5-10 Å, 10 % in 3-5, 10 % in 10-12; ~25 % smooth."""
    u = rng.random()
    if u < 0.8:
        res = rng.uniform(5.0, 10.0)
    elif u < 0.9:
        res = rng.uniform(3.0, 5.0)
    else:
        res = rng.uniform(10.0, 12.0)
    smooth = rng.random() < 0.25
    filt = "cutoff" if smooth or rng.random() < 0.5 else "gaussian"
    b_core = rng.uniform(0.0, 30.0)
    return SimParams(
        resolution=float(res),
        filter=filt,
        noise="smooth" if smooth else "coloured",
        sigma_factor=float(rng.uniform(0.19, 0.26)),
        b_envelope=float(rng.uniform(0.3, 1.0) * 4.0 * res**2),
        b_sharpen=float(rng.uniform(-100.0, 150.0)),
        cutoff_edge=float(rng.uniform(0.02, 0.15)),
        local_res_ratio=float(rng.uniform(1.15, 1.7)) if rng.random() < 0.5 else 1.0,
        snr=0.0 if smooth else float(np.exp(rng.uniform(np.log(0.5), np.log(6.0)))),
        noise_alpha=float(rng.uniform(0.0, 2.0)),
        noise_band=float(rng.uniform(1.0, 2.0) / res),
        b_groups=(b_core, b_core + rng.uniform(10, 60), b_core + rng.uniform(40, 150),
                  rng.uniform(0, 80)),
        solvent_contrast=float(rng.uniform(0.0, 0.5)),
        scale=float(np.exp(rng.uniform(np.log(0.02), np.log(50.0)))),
        offset=float(rng.normal(0.0, 0.5)),
        masked=bool(rng.random() < masked_fraction),
    )


def transfer(s: np.ndarray, p: SimParams, resolution: float | None = None) -> np.ndarray:
    """The signal transfer function of ``p`` at frequencies ``s`` (1/Å)."""
    res = p.resolution if resolution is None else resolution
    s2 = s.astype(np.float32) ** 2
    if p.filter == "gaussian":
        sigma = p.sigma_factor * res
        # Sharpening is bounded so a gaussian-kind map is never sharper than 0.6 of its B.
        b = max(8 * np.pi**2 * sigma**2 + p.b_sharpen, 0.6 * 8 * np.pi**2 * sigma**2)
        return np.exp(-b * s2 / 4.0)
    b = max(p.b_envelope * (res / p.resolution) ** 2 + p.b_sharpen, 5.0)
    return np.exp(-b * s2 / 4.0) * raised_cosine(s, 1.0 / res, p.cutoff_edge)


def splat(xyz: np.ndarray, weight: np.ndarray, origin: np.ndarray, shape) -> np.ndarray:
    """Weighted point masses on a 1 Å [z, y, x] grid by trilinear weights (no Gaussians)."""
    grid = np.zeros(int(np.prod(shape)), dtype=np.float64)
    f = np.asarray(xyz, np.float64) - origin
    i0 = np.floor(f).astype(np.int64)
    t = f - i0
    nz, ny, nx = shape
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                ix, iy, iz = i0[:, 0] + dx, i0[:, 1] + dy, i0[:, 2] + dz
                w = (weight * (t[:, 0] if dx else 1 - t[:, 0]) * (t[:, 1] if dy else 1 - t[:, 1])
                     * (t[:, 2] if dz else 1 - t[:, 2]))
                ok = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny) & (iz >= 0) & (iz < nz)
                grid += np.bincount((iz[ok] * ny + iy[ok]) * nx + ix[ok], w[ok], grid.size)
    return grid.reshape(shape).astype(np.float32)


def _gridding_correction(shape) -> np.ndarray:
    """1 / (trilinear splat transfer): undoes the sinc² blur of trilinear point masses."""
    fz = np.sinc(sfft.fftfreq(shape[0]))[:, None, None] ** 2
    fy = np.sinc(sfft.fftfreq(shape[1]))[None, :, None] ** 2
    fx = np.sinc(sfft.rfftfreq(shape[2]))[None, None, :] ** 2
    return (1.0 / np.maximum(fz * fy * fx, 0.25)).astype(np.float32)


def smooth_field(rng: np.random.Generator, shape, cells: int = 4) -> np.ndarray:
    """A smooth random field in [0, 1] varying over ~shape/cells voxels."""
    coarse = rng.normal(size=(cells, cells, cells))
    field = ndimage.zoom(coarse, [n / cells for n in shape], order=1, mode="nearest",
                         grid_mode=True)
    field = field[: shape[0], : shape[1], : shape[2]]
    return (1.0 / (1.0 + np.exp(-2.0 * field))).astype(np.float32)


def soft_mask(xyz: np.ndarray, origin: np.ndarray, shape, radius: float,
              width: float) -> np.ndarray:
    """1 within ``radius`` Å of any atom, raised-cosine fall-off to 0 over ``width`` Å."""
    occ = np.zeros(shape, dtype=bool)
    idx = np.rint(np.asarray(xyz, np.float64) - origin).astype(np.int64)
    ok = ((idx >= 0) & (idx < np.array(shape[::-1]))).all(axis=1)
    occ[idx[ok, 2], idx[ok, 1], idx[ok, 0]] = True
    dist = ndimage.distance_transform_edt(~occ)
    t = np.clip((dist - radius) / width, 0.0, 1.0)
    return (0.5 * (1.0 + np.cos(np.pi * t))).astype(np.float32)


def simulate_map(
    xyz: np.ndarray,
    weight: np.ndarray,
    group: np.ndarray,
    origin: np.ndarray,
    shape: tuple[int, int, int],
    p: SimParams,
    rng: np.random.Generator,
    protein_mask: np.ndarray | None = None,
    mask_xyz: np.ndarray | None = None,
) -> np.ndarray:
    """Density on the box (``shape`` [z, y, x], 1 Å, voxel [0,0,0] centre at ``origin``).

    Args:
        xyz: (N, 3) atom coordinates (x, y, z) Å, including atoms beyond the faces.
        weight: (N,) scattering weights.
        group: (N,) B-factor group index into ``p.b_groups``.
        origin: (x, y, z) Å of the box's voxel [0, 0, 0].
        shape: box shape [z, y, x].
        p: simulation parameters.
        rng: noise source.
        protein_mask: bool [z, y, x] of the box where protein is (SNR is measured there).
        mask_xyz: atoms to mask around when ``p.masked``.

    Returns:
        float32 [z, y, x] density, not normalised.
    """
    origin = np.asarray(origin, np.float64)
    inner = np.array(shape) + 2 * MARGIN
    fshape = tuple(sfft.next_fast_len(int(n + WRAP_PAD), real=True) for n in inner)
    gorigin = origin - MARGIN
    s = frequency_grid(fshape)
    corr = _gridding_correction(fshape)
    s2 = s**2
    f_total, f_all = _structure_factors(xyz, weight, group, p.b_groups, gorigin, fshape, s2)
    # Bulk solvent: the protein displaces solvent, lowering its low-resolution contrast.
    f_total -= p.solvent_contrast * f_all * np.exp(-400.0 * s2 / 4.0)
    f_total *= corr
    box = (slice(MARGIN, MARGIN + shape[0]), slice(MARGIN, MARGIN + shape[1]),
           slice(MARGIN, MARGIN + shape[2]))
    m = sfft.irfftn(f_total * transfer(s, p), fshape, workers=1)[box]
    if p.local_res_ratio > 1.0:
        m2 = sfft.irfftn(f_total * transfer(s, p, p.resolution * p.local_res_ratio), fshape,
                         workers=1)[box]
        w = smooth_field(rng, shape, cells=int(rng.integers(2, 5)))
        m = w * m + (1.0 - w) * m2
    m = m.astype(np.float32)
    ref = m[protein_mask] if protein_mask is not None and protein_mask.any() else m
    sig_std = float(ref.std()) or 1.0
    if p.noise == "coloured":
        m += (sig_std / p.snr) * coloured_noise(rng, fshape, s, p)[box]
    if p.masked and mask_xyz is not None and len(mask_xyz):
        mask = soft_mask(mask_xyz, origin, shape, rng.uniform(2.0, 4.5), rng.uniform(2.0, 6.0))
        m *= mask
    else:
        m += p.offset * sig_std
    return (m * p.scale).astype(np.float32)


def _structure_factors(xyz: np.ndarray, weight: np.ndarray, group: np.ndarray,
                       b_groups, gorigin: np.ndarray, fshape: tuple[int, ...],
                       s2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fourier transforms of the splatted atoms: each B-factor group blurred by its own B, summed
    (``f_total``), and unblurred (``f_all``, for the bulk-solvent term).

    Raises:
        ValueError: no atom belongs to any group.
    """
    f_total = None
    f_all = None
    for g, b in enumerate(b_groups):
        sel = group == g
        if not sel.any():
            continue
        fg = sfft.rfftn(splat(xyz[sel], weight[sel], gorigin, fshape), workers=1)
        f_all = fg if f_all is None else f_all + fg
        fg = fg * np.exp(-b * s2 / 4.0)
        f_total = fg if f_total is None else f_total + fg
    if f_total is None:
        raise ValueError("no atoms to simulate")
    return f_total, f_all


def coloured_noise(rng: np.random.Generator, fshape, s: np.ndarray, p: SimParams) -> np.ndarray:
    """Unit-std noise with power ∝ s^-alpha, band-limited (filtered like the signal if cutoff)."""
    spec = rng.normal(size=s.shape).astype(np.float32) + 1j * rng.normal(size=s.shape).astype(
        np.float32)
    env = np.power(np.maximum(s, 0.01), -p.noise_alpha / 2.0)
    if p.filter == "cutoff":
        env = env * raised_cosine(s, 1.0 / p.resolution, p.cutoff_edge)
        env = env * np.exp(-min(p.b_sharpen, 0.0) * s**2 / 4.0)  # sharpening lifts noise too
    else:
        env = env * raised_cosine(s, p.noise_band, 0.3)
    n = sfft.irfftn(spec * env, fshape, workers=1)
    return (n / (n.std() or 1.0)).astype(np.float32)


def radial_power(density: np.ndarray, n_bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Rotationally averaged power spectrum of a 1 Å map: (s in 1/Å bin centres, power).

    A bin that no frequency of the box falls in is NaN, not 0: a box under 80 Å along an axis
    samples s more coarsely than the bins are wide (1/80 Å⁻¹ for 40 bins), so some of its
    lowest bins hold no measurement at all.
    """
    d = np.asarray(density, np.float64)
    d = d - d.mean()
    f = np.abs(sfft.rfftn(d)) ** 2
    s = frequency_grid(d.shape)
    edges = np.linspace(0.0, 0.5, n_bins + 1)
    which = np.digitize(s.ravel(), edges) - 1
    ok = (which >= 0) & (which < n_bins)
    counts = np.bincount(which[ok], minlength=n_bins)
    sums = np.bincount(which[ok], f.ravel()[ok], n_bins)
    power = np.full(n_bins, np.nan)
    np.divide(sums, counts, out=power, where=counts > 0)
    return 0.5 * (edges[1:] + edges[:-1]), power
