"""Sliding window: even tile starts, Gaussian weights with a floor, seamless blending."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core.errors import Cancelled
from chimerax.deepssetracer.core.tiling import (
    TilePlan,
    gaussian_weight,
    padded_size,
    predict_tiled,
    tile_starts,
)


def pointwise(batch: np.ndarray) -> np.ndarray:
    """A 'network' whose logits are a pure function of each voxel's value."""
    x = batch[:, 0]
    return np.stack([np.sin(3 * x), x * x - 1, 0.5 * x], axis=1).astype(np.float32)


def pointwise_probs(x: np.ndarray) -> np.ndarray:
    logits = pointwise(x[None, None])[0].astype(np.float64)
    e = np.exp(logits - logits.max(axis=0))
    return (e / e.sum(axis=0))[:2]


@pytest.mark.parametrize("size, tile", [(100, 32), (33, 32), (64, 32), (200, 96), (17, 16)])
def test_tile_starts_cover_evenly_with_half_overlap(size, tile):
    starts = tile_starts(size, tile)
    assert starts[0] == 0 and starts[-1] == size - tile
    steps = np.diff(starts)
    assert np.all(steps <= tile // 2) and np.all(steps > 0)
    assert steps.max() - steps.min() <= 1  # evenly spread


def test_single_tile_when_it_fits():
    assert tile_starts(30, 32) == [0]
    plan = TilePlan.make((20, 40, 7), tile_size=48, size_multiple=16)
    assert plan.padded == (32, 48, 16) and plan.tile == (32, 48, 16) and plan.n_tiles == 1
    assert plan.before == (6, 4, 4)
    assert padded_size(1, 16) == 16 and padded_size(33, 16) == 48


def test_tiles_shrink_when_that_needs_no_more_of_them():
    plan = TilePlan.make((100, 112, 240), tile_size=96, size_multiple=16)
    assert plan.padded == (112, 112, 240)
    assert plan.tile == (80, 80, 96)  # two 80s cover 112 with half overlap; 240 needs 96s
    assert [len(s) for s in plan.starts] == [2, 2, 4]


def test_plan_tiles_are_within_the_padded_volume():
    plan = TilePlan.make((70, 20, 50), tile_size=32, size_multiple=16)
    assert plan.tile == (32, 32, 32)
    tiles = plan.tiles()
    assert len(tiles) == plan.n_tiles == len(plan.starts[0]) * len(plan.starts[1]) * len(
        plan.starts[2])
    for sl in tiles:
        assert all(s.stop <= p for s, p in zip(sl, plan.padded))
    with pytest.raises(ValueError):
        TilePlan.make((10, 10, 10), tile_size=40, size_multiple=16)


def test_gaussian_weight_peaks_in_the_centre_and_is_never_zero():
    w = gaussian_weight((32, 16, 24))
    assert w.shape == (32, 16, 24) and w.dtype == np.float32
    assert w.max() == pytest.approx(1.0) and w.min() >= 1e-3
    assert w[15:17, 7:9, 11:13].min() == pytest.approx(w.max(), rel=0.01)
    np.testing.assert_allclose(w, w[::-1, ::-1, ::-1], rtol=1e-6)


@pytest.mark.parametrize("shape", [(50, 37, 61), (16, 16, 16), (5, 70, 9)])
def test_tiled_pointwise_prediction_has_no_seams(shape):
    vol = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    done = []
    out = predict_tiled(vol, pointwise, tile_size=16, size_multiple=16,
                        progress=lambda d, t: done.append((d, t)))
    assert out.shape == (2, *shape)
    np.testing.assert_allclose(out, pointwise_probs(vol), atol=1e-5)
    n = TilePlan.make(shape, 16, 16).n_tiles
    assert done == [(i + 1, n) for i in range(n)]


def test_constant_predictor_gives_a_constant_map():
    def constant(batch):
        n, _, *dims = batch.shape
        logits = np.zeros((n, 3, *dims), np.float32)
        logits[:, 0] = 1.0
        return logits

    vol = np.random.default_rng(1).standard_normal((40, 33, 21)).astype(np.float32)
    out = predict_tiled(vol, constant, tile_size=16, size_multiple=16)
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
        predict_tiled(np.zeros((40, 40, 40), np.float32), net, 16, 16,
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
