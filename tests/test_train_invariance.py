"""Same molecule, same answer: the invariance variants, and the shipped weights under them."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core.grid import DensityMap
from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.core.predict import predict_map
from chimerax.deepssetracer.train import invariance
from chimerax.deepssetracer.train.evaluate import Case, case_from_pair
from scipy.ndimage import gaussian_filter


def _case() -> Case:
    rng = np.random.default_rng(0)
    data = gaussian_filter(rng.random((20, 24, 28)), 2).astype(np.float32)
    labels = np.full(data.shape, 2, np.uint8)
    labels[5:10, 5:10, 5:10] = 0
    ca = np.array([[18.0, 27.0, 36.0], [28.0, 35.0, 42.0]])  # (x, y, z) Å, in the box
    return Case("toy", DensityMap(data, (1.0, 1.0, 1.0), (10.0, 20.0, 30.0)), labels, ca,
                np.array([0, 2], np.uint8))


def test_padding_keeps_the_molecule_in_place():
    c = _case()
    v = invariance.padded(c, 20.0)
    assert v.dmap.origin == (-10.0, 0.0, 10.0)
    np.testing.assert_array_equal(v.dmap.data[v.region], c.dmap.data)
    np.testing.assert_array_equal(v.labels[v.region], c.labels)
    assert (v.dmap.data == 0).sum() == v.dmap.data.size - c.dmap.data.size
    noisy = invariance.padded(c, 20.0, noise=True)
    np.testing.assert_array_equal(noisy.dmap.data[noisy.region], c.dmap.data)
    assert (noisy.dmap.data != 0).all()


def test_crop_is_scored_on_the_same_voxels():
    c = _case()
    v = invariance.cropped(c, 3.0)
    np.testing.assert_array_equal(v.dmap.data, c.dmap.data[v.reference])
    assert v.dmap.origin == tuple(o + s.start for o, s in zip(c.dmap.origin,
                                                               v.reference[::-1]))
    assert v.dmap.data.shape == (13, 15, 17)  # Cα extent plus 3 Å a side, clipped to the box


def test_mask_resample_and_affine():
    c = _case()
    m = invariance.masked(c, radius=3.0, edge=2.0)
    assert m.dmap.data[0, 0, 0] == 0
    assert m.dmap.data[6, 7, 10] == pytest.approx(c.dmap.data[6, 7, 10])
    r = invariance.resampled(c, 1.5)
    assert r.dmap.voxel_size == (1.5,) * 3 and r.labels.shape == r.dmap.data.shape
    a = invariance.affine(c, scale=1e3)
    np.testing.assert_allclose(a.dmap.data, c.dmap.data * 1e3, rtol=1e-6)
    assert len(invariance.standard_variants(c)) == 13


def test_holds_ignores_absent_classes():
    row = {"delta": {"helix": 0.02, "sheet": float("nan")}}
    assert invariance.holds(row) and not invariance.holds({"delta": {"helix": -0.05}})


@pytest.fixture(scope="module")
def shipped():
    return load_network(None, device="cpu", threads=2)


def test_no_molecule_means_no_answer(shipped):
    """Smooth noise (no molecule): under 1 % of the box is called helix or sheet."""
    net, spec = shipped
    rng = np.random.default_rng(11)
    for sigma in (1.5, 2.5):
        noise = gaussian_filter(rng.standard_normal((100, 100, 100)), sigma).astype(np.float32)
        labels = predict_map(DensityMap(noise, 1.0), net, spec).labels()
        assert np.mean(labels != 2) < 0.01


VARIANTS = [lambda c: invariance.padded(c, 20.0), lambda c: invariance.padded(c, 40.0),
            lambda c: invariance.padded(c, 80.0), lambda c: invariance.padded(c, 40.0, True),
            lambda c: invariance.masked(c),
            lambda c: invariance.affine(c, scale=1e-3), lambda c: invariance.affine(c, offset=3.0)]


@pytest.fixture(scope="module")
def emd8518_rows(shared_dir, shipped):
    """EMD-8518's rows for `VARIANTS` and, last, its crop to 5 Å beyond the Cα: the map read
    and predicted as given once for both tests."""
    net, spec = shipped
    folder = shared_dir / "data" / "real" / "emd8518_5u8s_A"
    case = case_from_pair(folder / "map.mrc", folder / "model.pdb", "emd8518")
    return invariance.check_case(
        case, net, spec, variants=lambda c: [f(c) for f in VARIANTS] + [invariance.cropped(c, 5.0)])


@pytest.mark.slow
def test_emd8518_answer_does_not_depend_on_the_box(emd8518_rows):
    """The bundled example's pair: padding, noise, a mask, scale and offset."""
    bad = [r for r in emd8518_rows[:-1] if not invariance.holds(r)]
    assert not bad, invariance.format_rows(bad)


@pytest.mark.slow
def test_emd8518_cut_to_its_atoms(emd8518_rows):
    """Cut to 5 Å beyond the Cα, helix holds within 0.03; the sheet, 767 voxels (8 residues),
    within 0.06: the shipped stage-4 weights find 0.04 more of it in the tight box (model card,
    invariance), a known limit kept from growing."""
    row = emd8518_rows[-1]
    assert row["variant"].startswith("cropped to 5")
    assert abs(row["delta"]["helix"]) <= 0.03, invariance.format_rows([row])
    assert abs(row["delta"]["sheet"]) <= 0.06, invariance.format_rows([row])


@pytest.mark.slow
def test_sharp_hemoglobin_as_deposited(shared_dir, shipped):
    """A 3.2 Å map with no flags: filtered automatically, its helices found."""
    from chimerax.deepssetracer.train.evaluate import score
    net, spec = shipped
    folder = shared_dir / "data" / "real" / "emd3488_5me2"
    case = case_from_pair(folder / "map.mrc", folder / "model.pdb", "5me2")
    pred = predict_map(case.dmap, net, spec)
    assert pred.auto_lowpass and pred.lowpass == 6.0
    assert score(case, net, spec)["voxel"]["helix"]["f1"] >= 0.6
