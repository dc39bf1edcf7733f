"""Same molecule, same answer: metamorphic checks of a prediction against its box.

Each variant changes what surrounds a molecule (zero or noise padding, a tighter crop, a soft
mask) or how its map is stored (voxel size, scale, offset), never the molecule. The map and its
truth labels are transformed together, and both predictions are scored on the part of the box
they share, so the F1 of a variant should equal the F1 of the map as given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.ndimage import distance_transform_edt

from ..core import metrics
from ..core.classes import IGNORE
from ..core.grid import DensityMap
from ..core.normalize import density_levels
from ..core.predict import predict_map
from ..core.resample import resample
from ..core.weights import ModelSpec
from .context import noise_sigma, smooth_noise
from .evaluate import Case
from .labels import resample_labels

TOLERANCE = 0.03  # voxel F1 a variant may differ by


@dataclass
class Variant:
    """A transformed map with its truth, and where each is scored.

    ``region`` is the part of the variant's grid scored, ``reference`` the same part of the
    original grid (None: the whole grid).
    """

    name: str
    dmap: DensityMap
    labels: np.ndarray
    region: tuple[slice, ...] | None = None
    reference: tuple[slice, ...] | None = None


def padded(case: Case, pad: float, noise: bool = False, seed: int = 0) -> Variant:
    """The map inside ``pad`` Å more box a side: exact zeros, or smooth solvent-like noise
    (at the map's own solvent noise, or 5 % of its molecule density when the solvent is
    flat); the origin moves so the molecule stays where it is."""
    d = case.dmap
    n = [int(round(pad / v)) for v in d.voxel_size[::-1]]  # [z, y, x]
    data = np.pad(d.data, [(k, k) for k in n])
    inner = tuple(slice(k, k + s) for k, s in zip(n, d.data.shape))
    if noise:
        levels = density_levels(d.data, float(min(d.voxel_size)))
        sd = levels.noise or 0.05 * levels.molecule
        rng = np.random.default_rng(seed)
        sigma = noise_sigma(case.resolution or 6.0, float(min(d.voxel_size)))
        field = levels.solvent + sd * smooth_noise(rng, data.shape, sigma)
        field[inner] = d.data
        data = field
    labels = np.pad(case.labels, [(k, k) for k in n], constant_values=IGNORE)
    origin = tuple(o - k * v for o, k, v in zip(d.origin, n[::-1], d.voxel_size))
    kind = "noise" if noise else "zero"
    return Variant(f"{kind}-padded {pad:g} Å", DensityMap(data, d.voxel_size, origin), labels,
                   region=inner)


def _ca_voxels(case: Case) -> np.ndarray:
    """Cα positions as fractional [z, y, x] indices of the case's grid."""
    d = case.dmap
    xyz = (np.asarray(case.ca_xyz, np.float64) - np.asarray(d.origin)) / np.asarray(d.voxel_size)
    return xyz[:, ::-1]


def cropped(case: Case, margin: float) -> Variant:
    """The box cut to ``margin`` Å beyond the outermost Cα (both scored on that crop)."""
    d = case.dmap
    zyx = _ca_voxels(case)
    steps = np.asarray(d.voxel_size[::-1])
    lo = np.maximum(np.floor(zyx.min(axis=0) - margin / steps).astype(int), 0)
    hi = np.minimum(np.ceil(zyx.max(axis=0) + margin / steps).astype(int) + 1, d.data.shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    origin = tuple(o + int(a) * v for o, a, v in zip(d.origin, lo[::-1], d.voxel_size))
    return Variant(f"cropped to {margin:g} Å beyond the Cα", DensityMap(
        np.ascontiguousarray(d.data[box]), d.voxel_size, origin), case.labels[box],
        reference=box)


def masked(case: Case, radius: float = 8.0, edge: float = 4.0) -> Variant:
    """The map times a soft mask around the model: 1 within ``radius`` Å of a Cα, falling
    to 0 over ``edge`` Å (zeros beyond), as masked deposited maps are."""
    d = case.dmap
    seeds = np.zeros(d.data.shape, bool)
    idx = np.rint(_ca_voxels(case)).astype(int)
    ok = np.all((idx >= 0) & (idx < d.data.shape), axis=1)
    seeds[tuple(idx[ok].T)] = True
    dist = distance_transform_edt(~seeds, sampling=d.voxel_size[::-1])
    mask = np.clip((radius + edge - dist) / edge, 0.0, 1.0)
    mask = 0.5 - 0.5 * np.cos(np.pi * mask)
    return Variant(f"soft-masked ({radius:g}+{edge:g} Å around the model)",
                   DensityMap((d.data * mask).astype(np.float32), d.voxel_size, d.origin),
                   case.labels)


def resampled(case: Case, voxel: float) -> Variant:
    """The map on a ``voxel`` Å grid over the same box (labels by nearest voxel)."""
    d = case.dmap
    if not np.allclose(d.voxel_size, d.voxel_size[0]):
        raise ValueError("resampled() expects cubic voxels")
    data = resample(d.data, d.voxel_size, (voxel,) * 3)
    labels = resample_labels(case.labels, voxel / d.voxel_size[0], data.shape)
    return Variant(f"resampled to {voxel:g} Å voxels", DensityMap(data, (voxel,) * 3, d.origin),
                   labels)


def affine(case: Case, scale: float = 1.0, offset: float = 0.0) -> Variant:
    """The map's values times ``scale`` plus ``offset`` molecule densities."""
    d = case.dmap
    shift = offset * density_levels(d.data, float(min(d.voxel_size))).molecule * scale
    name = f"scaled by {scale:g}" if offset == 0 else f"offset by {offset:g} molecule densities"
    return Variant(name, DensityMap((d.data * scale + shift).astype(np.float32), d.voxel_size,
                                    d.origin), case.labels)


def standard_variants(case: Case) -> list[Variant]:
    """The issue's table: padding 20/40/80 Å, noise padding, crops, mask, voxels, scale."""
    out = [padded(case, p) for p in (20.0, 40.0, 80.0)]
    out += [padded(case, 40.0, noise=True)]
    out += [cropped(case, m) for m in (10.0, 5.0)]
    out += [masked(case)]
    out += [resampled(case, v) for v in (0.8, 1.2, 1.5)]
    out += [affine(case, scale=s) for s in (1e-3, 1e3)]
    out += [affine(case, offset=3.0)]
    return out


def _labels(dmap: DensityMap, net, spec: ModelSpec, tta: int) -> np.ndarray:
    return predict_map(dmap, net, spec, tta=tta).labels()


def _f1(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {k: c.f1 for k, c in metrics.voxel_counts(pred, truth).items()}


def check_case(case: Case, net, spec: ModelSpec, tta: int = 1,
               variants: Callable[[Case], Iterable[Variant]] = standard_variants
               ) -> list[dict[str, Any]]:
    """One row per variant: F1 of the map as given and of the variant, on the shared part."""
    base = _labels(case.dmap, net, spec, tta)
    rows = []
    for v in variants(case):
        ref = v.reference or (slice(None),) * 3
        region = v.region or (slice(None),) * 3
        before = _f1(base[ref], case.labels[ref])
        after = _f1(_labels(v.dmap, net, spec, tta)[region], v.labels[region])
        rows.append({"map": case.name, "variant": v.name, "before": before, "after": after,
                     "delta": {k: after[k] - before[k] for k in before}})
    return rows


def holds(row: dict[str, Any], tolerance: float = TOLERANCE) -> bool:
    """The variant's F1 is within ``tolerance`` of the original's for both classes (a class
    absent from the truth counts as holding)."""
    return all(not abs(d) > tolerance for d in row["delta"].values())


def format_rows(rows: list[dict[str, Any]]) -> str:
    """A markdown table: before, after and the change per class; ✗ where it exceeds the
    tolerance."""
    def f(x: float) -> str:
        return "–" if np.isnan(x) else f"{x:.3f}"
    lines = ["| map | variant | helix F1 | Δ | sheet F1 | Δ | holds |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        b, a, d = r["before"], r["after"], r["delta"]
        lines.append(f"| {r['map']} | {r['variant']} | {f(b['helix'])} → {f(a['helix'])} | "
                     f"{f(d['helix'])} | {f(b['sheet'])} → {f(a['sheet'])} | {f(d['sheet'])} | "
                     f"{'✓' if holds(r) else '✗'} |")
    return "\n".join(lines)
