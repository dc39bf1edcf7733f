from __future__ import annotations

import numpy as np
from chimerax.deepssetracer.core.classes import HELIX, OTHER, SHEET
from chimerax.deepssetracer.train import boxes
from chimerax.deepssetracer.train.structures import Structure


def _chain(n_res: int, seed: int = 0, step: float = 3.8, name: str = "TEST") -> Structure:
    """A random-walk Cα chain with 4 atoms per residue (Cα and three around it)."""
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n_res, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    ca = np.cumsum(d * step * 0.6, axis=0)
    xyz = np.repeat(ca, 4, axis=0) + np.r_[[[0, 0, 0]], rng.normal(0, 1.2, (3, 3))][
        np.tile(np.arange(4), n_res)]
    ss = rng.choice([HELIX, SHEET, OTHER], n_res).astype(np.uint8)
    return Structure(name, xyz.astype(np.float32), np.full(len(xyz), 7.0, np.float32),
                     np.repeat(np.arange(n_res), 4).astype(np.int32), ca.astype(np.float32), ss,
                     np.zeros(n_res, np.int32), ["A"])


def test_box_holds_central_chain_with_17A_padding():
    s = _chain(80)
    origin, shape, lo, hi = boxes.box_around(s.xyz)
    rel = s.xyz - origin
    size_xyz = np.array(shape[::-1])
    assert (rel >= lo - 0.5).all() and (rel <= hi - 0.5).all()  # inside the central region
    assert (rel >= 17).all() and (size_xyz - 1 - rel >= 17 - 1).all()
    assert np.all(lo == 17) and np.all(size_xyz - hi == 17)


def test_long_chain_is_windowed_to_max_box():
    s = _chain(2000, step=6.0)
    res = boxes.central_residues(s, 0, np.random.default_rng(0), max_size=100)
    assert 0 < len(res) < 2000
    _, shape, _, _ = boxes.box_around(s.subset(res).xyz)
    assert max(shape) <= 100


def test_protein_fraction_empty_and_full():
    origin, shape = np.zeros(3), (30, 30, 30)
    assert boxes.protein_fraction(np.zeros((0, 3)), origin, shape) == 0.0
    rng = np.random.default_rng(0)
    dense = rng.uniform(-2, 32, (int(34**3 * boxes.PROTEIN_ATOM_DENSITY), 3))
    assert boxes.protein_fraction(dense, origin, shape) > 0.9


def test_packing_fills_the_box_without_heavy_clashes():
    centre = _chain(60, seed=1)
    origin, shape, _, _ = boxes.box_around(centre.xyz)
    pool = [_chain(150, seed=k) for k in range(2, 6)]
    before = boxes.protein_fraction(centre.xyz, origin, shape)
    placed = boxes.pack_neighbours(np.random.default_rng(0), [centre], origin, shape, 0.5,
                                   lambda r: pool[r.integers(len(pool))], max_tries=80)
    assert placed
    allxyz = np.concatenate([centre.xyz] + [p.xyz for p in placed])
    assert boxes.protein_fraction(allxyz, origin, shape) > before + 0.1
    placed_ca = [centre.ca]
    for p in placed:  # each piece keeps >= 5 Å Cα-Cα from everything placed before it
        prev = np.concatenate(placed_ca)
        d = np.linalg.norm(p.ca[:, None] - prev[None], axis=2).min()
        assert d >= 5.0
        placed_ca.append(p.ca)


def test_build_case_labels_central_and_masks_neighbours():
    rng = np.random.default_rng(0)
    s = _chain(60, seed=3)
    partner = _chain(60, seed=4, name="PART")
    partner = partner.transformed(np.eye(3), s.ca.mean(0) - partner.ca.mean(0) + 6.0)
    case = boxes.build_case(rng, s, 0, [partner], lambda r: None, 0.0, masked=False)
    assert case is not None and case.n_central == 60
    assert len(case.ca) > 60  # partner residues inside the box are labelled too
    masked = boxes.build_case(np.random.default_rng(0), s, 0, [partner], lambda r: None, 0.0,
                              masked=True)
    assert len(masked.ca) == 60  # a masked map is labelled for its chain only
    assert (case.group >= 0).all() and set(np.unique(case.group)) <= {0, 1, 2, 3}


def test_short_chain_is_refused():
    assert boxes.build_case(np.random.default_rng(0), _chain(20), 0, [], lambda r: None, 0.0,
                            False) is None


def test_unmodelled_density_keeps_off_protein():
    s = _chain(100, seed=7)
    origin, shape, _, _ = boxes.box_around(s.xyz)
    for seed in range(10):
        xyz, w, kinds = boxes.unmodelled_atoms(np.random.default_rng(seed), s.xyz, origin, shape)
        assert len(xyz) == len(w)
        if len(xyz):
            d = np.linalg.norm(xyz[:, None] - s.xyz[None], axis=2).min()
            assert d >= 3.0
