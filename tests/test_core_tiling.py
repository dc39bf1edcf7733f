"""Halo tiles: least-work plans under a voxel budget, cropped cores that give the one pass."""

from __future__ import annotations

import math

import numpy as np
import pytest
from chimerax.deepssetracer.core.errors import Cancelled
from chimerax.deepssetracer.core.tiling import (
    HALO,
    TilePlan,
    axis_tiles,
    core_cuts,
    padded_size,
    predict_tiled,
)


def pointwise(batch: np.ndarray) -> np.ndarray:
    """A 'network' whose logits are a pure function of each voxel's value."""
    x = batch[:, 0]
    return np.stack([np.sin(3 * x), x * x - 1, 0.5 * x], axis=1).astype(np.float32)


def pointwise_probs(x: np.ndarray) -> np.ndarray:
    logits = pointwise(x[None, None])[0].astype(np.float64)
    e = np.exp(logits - logits.max(axis=0))
    return (e / e.sum(axis=0))[:2]


def box_mean(radius: int):
    """A 'network' with a field of view: logits from the mean over a (2r+1)^3 box, zero
    beyond the input (as a convolution's padding)."""
    def net(batch: np.ndarray) -> np.ndarray:
        x = np.pad(batch[0, 0].astype(np.float64), radius + 1)
        c = x.cumsum(0).cumsum(1).cumsum(2)
        k = 2 * radius + 1
        s = (c[k:, k:, k:] - c[:-k, k:, k:] - c[k:, :-k, k:] - c[k:, k:, :-k]
             + c[:-k, :-k, k:] + c[:-k, k:, :-k] + c[k:, :-k, :-k] - c[:-k, :-k, :-k])
        m = s[:batch.shape[2], :batch.shape[3], :batch.shape[4]] / k**3
        return pointwise(m[None, None].astype(np.float32))
    return net


def test_padding_and_cuts():
    assert padded_size(1, 16) == 16 and padded_size(33, 16) == 48
    assert core_cuts(160, 2, 8) == (0, 80, 160)
    assert core_cuts(136, 3, 8) == (0, 48, 88, 136)  # as even as multiples of 8 allow
    assert axis_tiles((0, 80, 160), 40) == [(0, 120), (40, 160)]
    with pytest.raises(ValueError):
        core_cuts(32, 5, 8)


def test_one_pass_when_the_box_fits_the_budget():
    plan = TilePlan.make((20, 40, 7), tile_size=48, size_multiple=16)
    assert plan.padded == (32, 48, 16) and plan.tile == (32, 48, 16) and plan.n_tiles == 1
    assert plan.before == (6, 4, 4)
    # a tile may be larger than the sidecar's tile_size when the budget allows
    big = TilePlan.make((159, 159, 159), 128, 8, max_voxels=5_000_000)
    assert big.n_tiles == 1 and big.tile == (160, 160, 160)
    assert big.overhead == pytest.approx(160**3 / 159**3)


def test_the_plan_is_the_least_work_under_the_budget():
    """A 160^3 box under 3.1 M voxels: two 120x160x160 slabs (1.5x the work), not eight
    cubes; every tile within the budget, on the pooling grid, cores covering the box once."""
    plan = TilePlan.make((160, 160, 160), 128, 8, max_voxels=3_100_000)
    assert plan.n_tiles == 2 and sorted(plan.tile) == [120, 160, 160]
    assert plan.computed_voxels == 2 * 120 * 160 * 160
    owned = np.zeros(plan.padded, np.int32)
    for read, keep, core in plan.tiles():
        assert math.prod(s.stop - s.start for s in read) <= 3_100_000
        assert all(s.start % 8 == 0 and s.stop % 8 == 0 for s in (*read, *keep))
        owned[keep] += 1
        for r, k, c in zip(read, keep, core):
            assert r.start <= k.start and k.stop <= r.stop and c.start == k.start - r.start
            assert k.start == 0 or k.start - r.start == HALO
            assert k.stop == plan.padded[0] or r.stop - k.stop == HALO
    assert (owned == 1).all()


def test_a_budget_below_every_plan_gets_the_smallest_tiles():
    plan = TilePlan.make((300, 300, 300), 128, 8, max_voxels=1000)
    assert max(plan.tile) <= 2 * HALO + 3 * 8 and plan.n_tiles > 1


def test_halo_is_rounded_to_the_size_multiple():
    assert TilePlan.make((64, 64, 64), 16, 16).halo == 48


@pytest.mark.parametrize("shape", [(50, 37, 61), (16, 16, 16), (5, 70, 9)])
def test_tiled_pointwise_prediction_has_no_seams(shape):
    vol = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    plan = TilePlan.make(shape, 16, 16, halo=16)
    done = []
    out = predict_tiled(vol, pointwise, 16, 16, plan=plan,
                        progress=lambda d, t: done.append((d, t)))
    assert out.shape == (2, *shape) and out.dtype == np.float32
    np.testing.assert_allclose(out, pointwise_probs(vol), atol=1e-5)
    assert done == [(i + 1, plan.n_tiles) for i in range(plan.n_tiles)]


def test_a_halo_as_wide_as_the_field_of_view_gives_the_one_pass():
    """A network that sees 5 voxels around each: tiles with a halo of 8 stitch to exactly the
    one pass; with no halo the cuts show."""
    vol = np.random.default_rng(3).standard_normal((61, 45, 70)).astype(np.float32)
    net = box_mean(5)
    whole = predict_tiled(vol, net, 8, 8, plan=TilePlan.make(vol.shape, 8, 8,
                                                               max_voxels=10**9))
    plan = TilePlan.make(vol.shape, 8, 8, max_voxels=40 * 40 * 40, halo=8)
    assert plan.n_tiles > 4
    np.testing.assert_allclose(predict_tiled(vol, net, 8, 8, plan=plan), whole, atol=1e-6)
    no_halo = TilePlan.make(vol.shape, 8, 8, max_voxels=40 * 40 * 40, halo=0)
    assert np.abs(predict_tiled(vol, net, 8, 8, plan=no_halo) - whole).max() > 1e-3


def test_constant_predictor_gives_a_constant_map():
    def constant(batch):
        n, _, *dims = batch.shape
        logits = np.zeros((n, 3, *dims), np.float32)
        logits[:, 0] = 1.0
        return logits

    vol = np.random.default_rng(1).standard_normal((40, 33, 21)).astype(np.float32)
    out = predict_tiled(vol, constant, 16, 16, plan=TilePlan.make(vol.shape, 16, 16, halo=16))
    e = np.exp([1.0, 0.0, 0.0])
    np.testing.assert_allclose(out[0], e[0] / e.sum(), rtol=1e-5)
    np.testing.assert_allclose(out[1], e[1] / e.sum(), rtol=1e-5)


def test_one_pass_gets_the_whole_padded_volume():
    shapes = []

    def spy(batch):
        shapes.append(batch.shape)
        return pointwise(batch)

    predict_tiled(np.zeros((20, 33, 9), np.float32), spy, tile_size=96, size_multiple=16)
    assert shapes == [(1, 1, 32, 48, 16)]


def test_cancel_stops_before_the_next_tile():
    calls = []

    def net(batch):
        calls.append(1)
        return pointwise(batch)

    with pytest.raises(Cancelled):
        predict_tiled(np.zeros((40, 40, 40), np.float32), net, 8, 8,
                      plan=TilePlan.make((40, 40, 40), 8, 8, max_voxels=24**3, halo=8),
                      cancel=lambda: len(calls) >= 2)
    assert len(calls) == 2


def test_wrong_logits_shape_is_reported():
    with pytest.raises(ValueError, match="logits of shape"):
        predict_tiled(np.zeros((8, 8, 8), np.float32), lambda b: b, 16, 16)


def test_a_given_plan_is_used_and_must_fit():
    vol = np.random.default_rng(2).standard_normal((40, 23, 30)).astype(np.float32)
    plan = TilePlan.make(vol.shape, 16, 16)
    np.testing.assert_array_equal(predict_tiled(vol, pointwise, 16, 16, plan=plan),
                                  predict_tiled(vol, pointwise, 16, 16))
    with pytest.raises(ValueError, match="tile plan for shape"):
        predict_tiled(vol[:, :, :20], pointwise, 16, 16, plan=plan)


@pytest.mark.shared
@pytest.mark.slow
def test_shipped_network_tiles_give_its_one_pass(shared_dir, shipped):
    """The halo is the shipped network's field of view: GroEL (EMD-1080, 270 Å) on the 2 Å
    grid, cut through the middle on two axes into four tiles, within 1e-3 of one pass."""
    from chimerax.deepssetracer.core.mapio import read_map
    from chimerax.deepssetracer.core.predict import MARGIN
    from chimerax.deepssetracer.core.prepare import prepare
    net, spec = shipped
    dmap = read_map(shared_dir / "data" / "real" / "emd1080_groel14" / "map.mrc")
    volume, _ = prepare(dmap.data, dmap.voxel_size, spec.voxel_size, spec.normalization)
    volume = np.pad(volume, MARGIN, mode="reflect")
    one = TilePlan.make(volume.shape, spec.tile_size, spec.size_multiple, max_voxels=10**9)
    p = one.padded
    tiled = TilePlan(one.shape, p, one.before,
                     (core_cuts(p[0], 2, 8), (0, p[1]), core_cuts(p[2], 2, 8)))
    assert tiled.n_tiles == 4 and tiled.tile[0] < p[0] and tiled.tile[2] < p[2]
    whole = predict_tiled(volume, net, spec.tile_size, spec.size_multiple, plan=one)
    stitched = predict_tiled(volume, net, spec.tile_size, spec.size_multiple, plan=tiled)
    assert np.abs(stitched - whole).max() <= 1e-3
