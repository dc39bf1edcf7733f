from __future__ import annotations

import dataclasses

import numpy as np
from chimerax.deepssetracer.train import simulate

SHAPE = (48, 48, 48)
ORIGIN = np.zeros(3)


def _params(**kw) -> simulate.SimParams:
    base = dict(resolution=6.0, filter="gaussian", noise="smooth", sigma_factor=0.225,
                b_envelope=0.0, b_sharpen=0.0, cutoff_edge=0.05, local_res_ratio=1.0, snr=0.0,
                noise_alpha=1.0, noise_band=0.25, b_groups=(0.0, 0.0, 0.0, 0.0),
                solvent_contrast=0.0, scale=1.0, offset=0.0, masked=False)
    base.update(kw)
    return simulate.SimParams(**base)


def _point_map(p: simulate.SimParams, seed: int = 0) -> np.ndarray:
    """One atom at a voxel centre: its spectrum is the transfer function alone."""
    xyz = np.array([[24.0, 24.0, 24.0]])
    return simulate.simulate_map(xyz, np.ones(1), np.zeros(1, int), ORIGIN, SHAPE, p,
                                 np.random.default_rng(seed))


def _atoms(rng, n=300):
    return rng.normal(24.0, 5.0, (n, 3)), rng.uniform(6, 9, n), rng.integers(0, 4, n)


def _cloud_power(p: simulate.SimParams, n: int = 40, repeats: int = 6):
    """Radial power of sparse random atoms, averaged over clouds: their own spectrum is flat
    on average (for s above 1/30 Å), so the map's spectrum is the transfer's squared."""
    rng = np.random.default_rng(11)
    total = 0.0
    for _ in range(repeats):
        xyz = rng.uniform(8.0, 40.0, (n, 3))
        m = simulate.simulate_map(xyz, np.ones(n), np.zeros(n, int), ORIGIN, SHAPE, p,
                                  np.random.default_rng(0))
        s, power = simulate.radial_power(m)
        total = total + power
    return s, total / repeats


def test_gaussian_kind_falls_off_as_specified():
    p = _params(resolution=6.0, sigma_factor=0.225)
    s, power = _cloud_power(p)
    expected = np.exp(-4 * np.pi**2 * (0.225 * 6.0) ** 2 * s**2)  # power = transfer squared
    ok = (s > 0.06) & (s < 1.2 / 6.0)
    ratio = power[ok] / expected[ok]
    ratio /= np.median(ratio)
    assert np.all(np.abs(np.log(ratio)) < 0.3), ratio
    # and not the fall-off of another resolution
    other = np.exp(-4 * np.pi**2 * (0.225 * 8.0) ** 2 * s**2)
    wrong = power[ok] / other[ok]
    assert wrong[-1] / wrong[0] > 5


def test_cutoff_kind_has_no_power_beyond_the_resolution():
    res = 5.0
    p = _params(filter="cutoff", resolution=res, b_envelope=50.0, cutoff_edge=0.05)
    s, power = _cloud_power(p)
    below = power[(s > 0.06) & (s < 0.9 / res)].mean()
    beyond = power[s > 1.05 / res].max()
    assert beyond < 1e-2 * below  # what leaks is the crop's cut through the ringing


def test_sharpening_lifts_high_frequencies():
    base = _params(filter="cutoff", resolution=4.0, b_envelope=100.0)
    s, p0 = simulate.radial_power(_point_map(base))
    _, p1 = simulate.radial_power(_point_map(dataclasses.replace(base, b_sharpen=-80.0)))
    band = (s > 0.15) & (s < 0.22)
    assert (p1[band] / p1[1]).mean() > 3 * (p0[band] / p0[1]).mean()


def test_same_seed_same_map_and_other_seed_differs():
    rng = np.random.default_rng(5)
    xyz, w, g = _atoms(rng)
    p = _params(noise="coloured", snr=1.0, local_res_ratio=1.4)
    a = simulate.simulate_map(xyz, w, g, ORIGIN, SHAPE, p, np.random.default_rng(1))
    b = simulate.simulate_map(xyz, w, g, ORIGIN, SHAPE, p, np.random.default_rng(1))
    c = simulate.simulate_map(xyz, w, g, ORIGIN, SHAPE, p, np.random.default_rng(2))
    assert a.dtype == np.float32 and a.shape == SHAPE
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_noise_level_follows_snr():
    rng = np.random.default_rng(0)
    xyz, w, g = _atoms(rng)
    clean = simulate.simulate_map(xyz, w, g, ORIGIN, SHAPE, _params(), np.random.default_rng(0))
    noisy = simulate.simulate_map(xyz, w, g, ORIGIN, SHAPE, _params(noise="coloured", snr=0.5),
                                  np.random.default_rng(0))
    ratio = (noisy - clean).std() / clean.std()
    assert 1.5 < ratio < 2.5


def test_heavier_atoms_give_more_density():
    p = _params()
    xyz = np.array([[16.0, 24.0, 24.0], [32.0, 24.0, 24.0]])
    m = simulate.simulate_map(xyz, np.array([6.0, 16.0]), np.zeros(2, int), ORIGIN, SHAPE, p,
                              np.random.default_rng(0))
    assert m[24, 24, 32] > 2.0 * m[24, 24, 16] > 0


def test_mask_zeroes_density_far_from_the_chain():
    rng = np.random.default_rng(3)
    xyz, w, g = _atoms(rng)
    p = _params(noise="coloured", snr=1.0, masked=True, offset=2.0)
    m = simulate.simulate_map(xyz, w, g, ORIGIN, SHAPE, p, rng, mask_xyz=xyz[:20])
    far = simulate.soft_mask(xyz[:20], ORIGIN, SHAPE, 10.0, 0.1) == 0
    assert far.any() and np.all(m[far] == 0)


def test_sampled_parameters_cover_the_ranges():
    rng = np.random.default_rng(0)
    ps = [simulate.sample_params(rng) for _ in range(2000)]
    res = np.array([p.resolution for p in ps])
    assert res.min() >= 3.0 and res.max() <= 12.0
    assert 0.75 < np.mean((res >= 5) & (res <= 10)) < 0.85
    assert 0.2 < np.mean([p.noise == "smooth" for p in ps]) < 0.3
    assert all(p.filter == "cutoff" for p in ps if p.noise == "smooth")
    assert 0.15 < np.mean([p.masked for p in ps]) < 0.25
    sharpen = np.array([p.b_sharpen for p in ps])
    assert sharpen.min() < -80 and sharpen.max() > 130
