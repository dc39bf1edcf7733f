"""Box-cropped cases as the paper: a central chain in full, its bounding box + 17 Å a side.

Every atom of every chain inside the box counts (its own complex's chains in place, and for
crowded boxes other structures packed around it, as inside a large assembly); the density
is cut at the box faces. Unmodelled density (ligand and glycan blobs, detergent belts,
nucleic-acid-like chains) is added as pseudo-atoms, labelled background.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from ..core.classes import OTHER
from .simulate import MARGIN
from .structures import ELEMENT_WEIGHT, Structure

PAD = 17
MAX_SIZE = 128
MIN_RESIDUES = 30
PROTEIN_ATOM_DENSITY = 0.058  # heavy atoms per Å³ inside a protein
# Atom B-factor groups (indices into SimParams.b_groups).
ORDERED, COIL, TERMINI, UNMODELLED = 0, 1, 2, 3


@dataclass
class Case:
    """One box: all atoms to simulate, the labelled residues and the box geometry."""

    origin: np.ndarray  # (x, y, z) Å of voxel [0, 0, 0]
    shape: tuple[int, int, int]  # [z, y, x]
    inner_lo: np.ndarray  # (x, y, z) voxel index of the first central-region voxel
    inner_hi: np.ndarray  # (x, y, z) voxel index one past the last
    xyz: np.ndarray
    weight: np.ndarray
    group: np.ndarray
    ca: np.ndarray  # Cα of every residue in the box
    ss: np.ndarray
    central_xyz: np.ndarray  # atoms of the central chain (for masks)
    n_central: int  # residues of the central chain
    n_neighbours: int  # packed structures
    extras: list[str]

    def inner_slices(self) -> tuple[slice, slice, slice]:
        lo, hi = self.inner_lo, self.inner_hi
        return slice(lo[2], hi[2]), slice(lo[1], hi[1]), slice(lo[0], hi[0])


def central_residues(s: Structure, chain: int, rng: np.random.Generator,
                     max_size: int = MAX_SIZE, pad: int = PAD) -> np.ndarray:
    """Residues of ``chain`` forming the box centre; a window around a random residue when
    the chain's box would exceed ``max_size`` voxels on an axis."""
    res = s.chain_residues(chain)
    res = res[np.isfinite(s.ca[res]).all(axis=1)]
    span = max_size - 2 * pad - 2
    lo, hi = np.full((s.n_residues, 3), np.inf), np.full((s.n_residues, 3), -np.inf)
    np.minimum.at(lo, s.atom_res, s.xyz)
    np.maximum.at(hi, s.atom_res, s.xyz)
    if len(res) and (hi[res].max(0) - lo[res].min(0)).max() <= span:
        return res
    centre = s.ca[rng.choice(res)]
    fits = ((lo[res] >= centre - span / 2) & (hi[res] <= centre + span / 2)).all(axis=1)
    return res[fits]


def box_around(xyz: np.ndarray, pad: int = PAD) -> tuple[np.ndarray, tuple, np.ndarray, np.ndarray]:
    """(origin, shape [z,y,x], inner_lo, inner_hi) of the 1 Å box: atoms' bbox + ``pad``."""
    lo = np.floor(xyz.min(axis=0))
    n_inner = (np.ceil(xyz.max(axis=0) - lo) + 1).astype(int)
    origin = lo - pad
    size = n_inner + 2 * pad
    return origin, (int(size[2]), int(size[1]), int(size[0])), np.full(3, pad), pad + n_inner


def protein_fraction(xyz: np.ndarray, origin: np.ndarray, shape, cell: float = 2.0) -> float:
    """Fraction of the box's volume inside protein: atom counts on a ``cell`` Å grid,
    smoothed, thresholded at half the interior atom density."""
    n = np.maximum(np.ceil(np.array(shape[::-1]) / cell).astype(int), 1)
    idx = np.floor((xyz - origin + 0.5) / cell).astype(int)
    ok = ((idx >= 0) & (idx < n)).all(axis=1)
    counts = np.zeros(tuple(n[::-1]), np.float32)
    np.add.at(counts, (idx[ok, 2], idx[ok, 1], idx[ok, 0]), 1.0)
    counts = ndimage.gaussian_filter(counts, 1.0, mode="constant")
    return float((counts > 0.5 * PROTEIN_ATOM_DENSITY * cell**3).mean())


def _inside(xyz: np.ndarray, origin: np.ndarray, shape, margin: float) -> np.ndarray:
    hi = origin + np.array(shape[::-1]) - 1
    return ((xyz >= origin - margin) & (xyz <= hi + margin)).all(axis=1)


def atom_groups(s: Structure, rng: np.random.Generator, drop_fraction: float) -> np.ndarray:
    """Per-atom B group: ordered (helix/sheet), coil, termini (5 residues at chain ends);
    a random share of coil segments is dropped (-1: disordered, no density)."""
    res_group = np.where(s.ss == OTHER, COIL, ORDERED)
    for c in range(len(s.chains)):
        r = s.chain_residues(c)
        k = int(rng.integers(3, 9))
        res_group[r[:k]] = TERMINI
        res_group[r[-k:]] = TERMINI
    coil = res_group == COIL
    starts = np.flatnonzero(coil & ~np.r_[False, coil[:-1]])
    for st in starts:
        if rng.random() < drop_fraction:
            end = st
            while end < len(coil) and coil[end]:
                end += 1
            res_group[st:end] = -1
    return res_group[s.atom_res]


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    return Rotation.random(random_state=rng).as_matrix()


def pack_neighbours(
    rng: np.random.Generator,
    parts: list[Structure],
    origin: np.ndarray,
    shape,
    target: float,
    draw: Callable[[np.random.Generator], Structure | None],
    max_tries: int = 400,
) -> list[Structure]:
    """Pack randomly rotated pieces of structures around ``parts`` until protein fills
    ``target`` of the box, as inside a crowded assembly.

    Whole globules placed without overlap jam at ~40 % of the volume, so each neighbour is a
    piece (residues within 8-25 Å of a random Cα) put at the emptiest of a few random points,
    and its residues whose Cα comes within 5 Å of a placed Cα are carved away: pieces fill
    the gaps as interdigitating chains of an assembly do, with no heavy clashes.
    """
    extent = np.array(shape[::-1], float)
    placed: list[Structure] = []
    ca = np.concatenate([p.ca[np.isfinite(p.ca).all(axis=1)] for p in parts])
    all_xyz = np.concatenate([p.xyz for p in parts])
    for k in range(max_tries):
        if k % 8 == 0 and protein_fraction(all_xyz, origin, shape) >= target:
            break
        nb = draw(rng)
        if nb is None:
            continue
        nb = _fragment(rng, nb, rng.uniform(8.0, 25.0))
        rot = random_rotation(rng)
        tree = cKDTree(ca)
        spots = origin + rng.random((24, 3)) * extent
        start = spots[np.argmax(tree.query(spots, k=1)[0])]
        nb = nb.transformed(rot, start - nb.xyz.mean(axis=0) @ rot.T)
        d = tree.query(nb.ca, k=1, distance_upper_bound=5.0)[0]
        keep = np.flatnonzero(~np.isfinite(d) & np.isfinite(nb.ca).all(axis=1))
        if len(keep) < 8:
            continue
        moved = nb.subset(keep)
        if not _inside(moved.xyz, origin, shape, 0.0).any():
            continue
        placed.append(moved)
        ca = np.concatenate([ca, moved.ca])
        all_xyz = np.concatenate([all_xyz, moved.xyz])
    return placed


def _fragment(rng: np.random.Generator, s: Structure, radius: float) -> Structure:
    """Residues of ``s`` whose Cα lies within ``radius`` Å of a random residue's Cα."""
    ok = np.flatnonzero(np.isfinite(s.ca).all(axis=1))
    centre = s.ca[ok[rng.integers(0, len(ok))]]
    return s.subset(ok[np.linalg.norm(s.ca[ok] - centre, axis=1) <= radius])


def unmodelled_atoms(rng: np.random.Generator, protein_xyz: np.ndarray, origin: np.ndarray,
                     shape) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Pseudo-atoms of density no model explains: ligands, glycans, a detergent belt, a
    nucleic-acid-like double strand; kept 3 Å off protein atoms."""
    pts, wts, kinds = [], [], []
    extent = np.array(shape[::-1], float)
    surface = protein_xyz[rng.integers(0, len(protein_xyz), 16)]
    if rng.random() < 0.4:  # ligand blobs: short random walks off the surface
        for _ in range(int(rng.integers(1, 5))):
            start = surface[rng.integers(0, len(surface))] + _unit(rng) * 4.0
            walk = start + np.cumsum(rng.normal(0, 1.0, (int(rng.integers(6, 35)), 3)), 0)
            pts.append(walk)
            wts.append(rng.choice([7.3, 7.9, 8.2, 15.0], len(walk), p=[0.6, 0.15, 0.2, 0.05]))
        kinds.append("ligand")
    if rng.random() < 0.15:  # glycans: chains of sugar rings
        for _ in range(int(rng.integers(1, 4))):
            c = surface[rng.integers(0, len(surface))] + _unit(rng) * 4.0
            d = _unit(rng)
            for _ in range(int(rng.integers(2, 9))):
                ring = c + rng.normal(0, 1.2, (11, 3))
                pts.append(ring)
                wts.append(np.where(rng.random(11) < 0.45, 8.2, 7.3))
                d = _unit_like(d + 0.7 * _unit(rng))
                c = c + 5.0 * d
        kinds.append("glycan")
    if rng.random() < 0.1:  # detergent/lipid belt: an annulus slab around the box centre
        centre = origin + (extent - 1) / 2.0
        axis = _unit(rng)
        radius = rng.uniform(0.2, 0.4) * extent.min() + 8.0
        n = int(0.025 * np.pi * ((radius + 7) ** 2 - (radius - 7) ** 2) * 30)
        r = np.sqrt(rng.uniform((radius - 7) ** 2, (radius + 7) ** 2, n))
        phi = rng.uniform(0, 2 * np.pi, n)
        h = rng.uniform(-15, 15, n)
        e1 = _unit_like(np.cross(axis, _unit(rng)))
        e2 = np.cross(axis, e1)
        pts.append(centre + np.outer(r * np.cos(phi), e1) + np.outer(r * np.sin(phi), e2)
                   + np.outer(h, axis))
        wts.append(np.full(n, 7.3))
        kinds.append("detergent")
    if rng.random() < 0.15:  # nucleic-acid-like duplex along a smooth curve
        pts_na, w_na = _duplex(rng, origin, extent)
        pts.append(pts_na)
        wts.append(w_na)
        kinds.append("nucleic")
    if not pts:
        return np.zeros((0, 3), np.float32), np.zeros(0, np.float32), kinds
    xyz = np.concatenate(pts)
    w = np.concatenate(wts)
    keep = _inside(xyz, origin, shape, MARGIN)
    if len(protein_xyz):
        d = cKDTree(protein_xyz).query(xyz, k=1, distance_upper_bound=3.0)[0]
        keep &= ~np.isfinite(d)
    return xyz[keep].astype(np.float32), w[keep].astype(np.float32), kinds


def _unit(rng: np.random.Generator) -> np.ndarray:
    return _unit_like(rng.normal(size=3))


def _unit_like(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v) or 1.0)


def _duplex(rng: np.random.Generator, origin: np.ndarray, extent: np.ndarray):
    """Two phosphate-heavy strands winding around a smooth random curve through the box."""
    n_bp = int(extent.max() * 1.5 / 3.4)
    p0 = origin + rng.uniform(0, 1, 3) * extent
    d = _unit(rng)
    axis = [p0]
    for _ in range(n_bp):
        d = _unit_like(d + rng.normal(0, 0.08, 3))
        axis.append(axis[-1] + 3.4 * d)
    axis = np.array(axis) - d * n_bp * 3.4 / 2
    pts, w = [], []
    for i, a in enumerate(axis[:-1]):
        t = _unit_like(axis[i + 1] - a)
        e1 = _unit_like(np.cross(t, [0.3, 0.5, 0.8]))
        e2 = np.cross(t, e1)
        for phase in (0.0, 2.4):
            ang = 2 * np.pi * i / 10.5 + phase
            rad = np.cos(ang) * e1 + np.sin(ang) * e2
            pts.append(a + 9.0 * rad)  # phosphate
            w.append(ELEMENT_WEIGHT["P"])
            pts += [a + 9.0 * rad + rng.normal(0, 1.0, 3) for _ in range(3)]  # phosphate O's
            w += [ELEMENT_WEIGHT["O"]] * 3
            pts += [a + rng.uniform(1.5, 7.0) * rad + rng.normal(0, 0.8, 3) for _ in range(9)]
            w += [7.5] * 9  # sugar and base
    return np.array(pts), np.array(w)


def build_case(
    rng: np.random.Generator,
    s: Structure,
    chain: int,
    partners: list[Structure],
    draw: Callable[[np.random.Generator], Structure | None],
    crowd_target: float,
    masked: bool,
) -> Case | None:
    """The box around ``chain`` of ``s`` with its complex partners (same frame) in place,
    packed neighbours up to ``crowd_target`` protein fraction (0: none), extra density.

    Returns None when the central chain has fewer than 30 residues in its window.
    """
    central = central_residues(s, chain, rng)
    if len(central) < MIN_RESIDUES:
        return None
    core = s.subset(central)
    origin, shape, lo, hi = box_around(core.xyz)
    others = np.setdiff1d(np.arange(s.n_residues), central)
    parts = [core] + ([s.subset(others)] if len(others) else []) + list(partners)
    packed = pack_neighbours(rng, parts, origin, shape, crowd_target, draw) if crowd_target else []
    drop = rng.uniform(0.0, 0.15)
    xyz, weight, group, ca, ss = [], [], [], [], []
    for part in parts + packed:
        g = atom_groups(part, rng, drop)
        keep = _inside(part.xyz, origin, shape, MARGIN) & (g >= 0)
        xyz.append(part.xyz[keep])
        weight.append(part.weight[keep])
        group.append(g[keep])
        ok = np.isfinite(part.ca).all(axis=1) & _inside(part.ca, origin, shape, 0.0)
        ca.append(part.ca[ok])
        ss.append(part.ss[ok])
    xyz_all = np.concatenate(xyz)
    ex_xyz, ex_w, kinds = unmodelled_atoms(rng, core.xyz, origin, shape)
    ca_all, ss_all = np.concatenate(ca), np.concatenate(ss)
    if masked:  # a masked map shows (and is labelled for) the central chain only
        ca_all, ss_all = core.ca, core.ss
        ex_xyz, ex_w = ex_xyz[:0], ex_w[:0]
    return Case(
        origin=origin, shape=shape, inner_lo=lo, inner_hi=hi,
        xyz=np.concatenate([xyz_all, ex_xyz]).astype(np.float32),
        weight=np.concatenate(weight + [ex_w]).astype(np.float32),
        group=np.concatenate(group + [np.full(len(ex_xyz), UNMODELLED)]).astype(np.int8),
        ca=ca_all.astype(np.float32), ss=ss_all.astype(np.uint8),
        central_xyz=core.xyz, n_central=len(central), n_neighbours=len(packed), extras=kinds,
    )

