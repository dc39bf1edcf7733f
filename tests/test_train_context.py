"""Training crops beyond the box, solvent noise and pure-noise boxes."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.train.context import Context, noise_box, smooth_noise
from chimerax.deepssetracer.train.sampling import Box, CropSampler, make_noise_boxes

NORM = {"method": "foreground", "clip": [-3.0, 5.0]}


def _box(noise: float = 0.0) -> Box:
    rng = np.random.default_rng(0)
    density = rng.random((20, 20, 20)).astype(np.float16)
    labels = np.full((20, 20, 20), 2, np.uint8)
    labels[8:12, 8:12, 8:12] = 0
    centres = {0: np.argwhere(labels == 0).astype(np.int32), 1: np.zeros((0, 3), np.int32)}
    return Box("b", density, labels, centres, noise)


def test_unknown_or_bad_keys_are_refused():
    assert Context.from_dict(None) is None
    with pytest.raises(ValueError, match="unknown config context keys: margins"):
        Context.from_dict({"margins": 3})
    with pytest.raises(ValueError, match="noise_fill"):
        Context.from_dict({"noise_fill": 2})


def test_crops_beyond_the_box_are_labelled_background():
    ctx = Context(margin=80.0, outside_fraction=1.0, noise_fill=0.0, noise_boxes=0)
    s = CropSampler([_box()], 16, 0.0, 0.0, ctx, [], voxel_size=2.0)
    rng = np.random.default_rng(1)
    crops = [s.sample(rng) for _ in range(50)]
    assert all(not (y == 255).any() for _, y in crops)
    assert any((y == 2).all() and (x == 0).all() for x, y in crops)  # all exact solvent


def test_without_context_outside_is_ignored():
    s = CropSampler([_box()], 16, 0.0, 0.0)
    rng = np.random.default_rng(2)
    assert any((s.sample(rng)[1] == 255).any() for _ in range(20))


def test_noise_fill_uses_the_box_solvent_noise():
    ctx = Context(margin=80.0, outside_fraction=1.0, noise_fill=1.0, noise_boxes=0)
    s = CropSampler([_box(noise=0.2)], 16, 0.0, 0.0, ctx, [], voxel_size=2.0)
    rng = np.random.default_rng(3)
    outside = [x for x, y in (s.sample(rng) for _ in range(60)) if (y == 2).all()]
    assert outside and np.std(np.concatenate([x.ravel() for x in outside])) == pytest.approx(
        0.2, rel=0.3)


def test_noise_boxes_are_background_and_normalised():
    ctx = Context(noise_boxes=3, noise_box_size=16)
    boxes = make_noise_boxes(ctx, NORM, 2.0, np.random.default_rng(4))
    assert len(boxes) == 3
    for b in boxes:
        assert (b.labels == 2).all() and np.isfinite(b.density).all()
        assert -3.0 <= float(b.density.min()) and float(b.density.max()) <= 5.0


def test_smooth_noise_has_unit_spread():
    x = smooth_noise(np.random.default_rng(5), (24, 24, 24), 1.5)
    assert x.std() == pytest.approx(1.0, rel=1e-3)
    assert noise_box(np.random.default_rng(6), 16, 2.0, NORM).shape == (16, 16, 16)


def test_a_noise_box_with_nothing_above_solvent_is_drawn_again(monkeypatch):
    from chimerax.deepssetracer.train import context
    calls = []
    real = context._noise_box

    def flaky(*args):
        calls.append(1)
        if len(calls) < 3:
            raise ValueError("no density rises above the solvent level")
        return real(*args)

    monkeypatch.setattr(context, "_noise_box", flaky)
    assert noise_box(np.random.default_rng(6), 16, 2.0, NORM).shape == (16, 16, 16)
    assert len(calls) == 3
    monkeypatch.setattr(context, "_noise_box", lambda *a: (_ for _ in ()).throw(ValueError("x")))
    with pytest.raises(ValueError):
        noise_box(np.random.default_rng(6), 16, 2.0, NORM)


def test_tight_cuts_lie_just_beyond_the_outermost_helix_or_sheet():
    from chimerax.deepssetracer.core.classes import BACKGROUND, HELIX, SHEET
    from chimerax.deepssetracer.train.context import TIGHT_BEYOND, cut_tight

    labels = np.full((32, 32, 32), BACKGROUND, np.uint8)
    labels[10:20, 12:18, 14:22] = HELIX
    labels[20:22, 12:18, 14:22] = SHEET
    cut_any = np.zeros(3, bool)
    for seed in range(20):
        x = np.ones((32, 32, 32), np.float32)
        cut_tight(np.random.default_rng(seed), x, labels, np.zeros_like(x), 1.0, (HELIX, SHEET))
        assert np.all(x[labels != BACKGROUND] == 1)  # no helix or sheet is cut away
        g = int(TIGHT_BEYOND[0])
        assert np.all(x[10 - g:22 + g, 12 - g:18 + g, 14 - g:22 + g] == 1)  # cuts lie beyond
        cut_any |= [x[0].min() == 0, x[:, 0].min() == 0, x[:, :, -1].min() == 0]
    assert cut_any.all()
    x = np.ones((32, 32, 32), np.float32)
    cut_tight(np.random.default_rng(0), x, np.full_like(labels, BACKGROUND), np.zeros_like(x),
              1.0, (HELIX, SHEET))
    assert np.all(x == 1)  # nothing to be tight around: left whole


def test_noisy_crops_get_smooth_noise_over_the_whole_crop_and_keep_their_labels():
    """``noisy_fraction`` 1: every crop differs from the box by noise of at most ``noisy_sd``;
    the labels are the box's, as the molecule under the noise is unchanged."""
    box = _box()
    clean = CropSampler([box], 16, 1.0, 0.0, Context(outside_fraction=0.0, noise_fraction=0.0),
                        [], voxel_size=2.0)
    noisy = CropSampler([box], 16, 1.0, 0.0,
                        Context(outside_fraction=0.0, noise_fraction=0.0, noisy_fraction=1.0,
                                noisy_sd=0.5), [], voxel_size=2.0)
    spreads = []
    for seed in range(10):
        xc, yc = clean.sample(np.random.default_rng(seed))
        xn, yn = noisy.sample(np.random.default_rng(seed))
        np.testing.assert_array_equal(yn, yc)
        spreads.append(float((xn - xc).std()))
    assert max(spreads) <= 0.5 + 1e-3 and max(spreads) > 0.05
    with pytest.raises(ValueError, match="noisy_sd"):
        Context.from_dict({"noisy_sd": -1.0})


def test_a_crowded_view_is_a_noisy_sub_box_with_its_own_labels():
    """The view is a 0.45-0.75 (at least 40 Å) sub-box, labels cut with it, noise only added."""
    from chimerax.deepssetracer.train.context import CROWDED_MIN, crowded_view
    rng = np.random.default_rng(7)
    density = rng.standard_normal((60, 50, 40)).astype(np.float32)
    labels = (np.arange(density.size) % 3).astype(np.uint8).reshape(density.shape)
    x, y, start = crowded_view(rng, density, labels, 2.0, 6.0, sd=0.0)
    assert x.shape == y.shape
    assert all(CROWDED_MIN / 2.0 <= s <= n for s, n in zip(x.shape, density.shape))
    # the view is found in the box at one offset, density and labels alike
    hits = [(i, j, k) for i in range(61 - x.shape[0]) for j in range(51 - x.shape[1])
            for k in range(41 - x.shape[2])
            if np.array_equal(density[i:i + x.shape[0], j:j + x.shape[1], k:k + x.shape[2]], x)]
    assert len(hits) == 1
    i, j, k = hits[0]
    assert start == (i, j, k)
    assert np.array_equal(labels[i:i + x.shape[0], j:j + x.shape[1], k:k + x.shape[2]], y)
    noisy, _, _ = crowded_view(np.random.default_rng(8), density, labels, 2.0, 6.0, sd=1.0)
    assert not any(np.array_equal(noisy, density[a:a + noisy.shape[0], b:b + noisy.shape[1],
                                                 c:c + noisy.shape[2]])
                   for a in range(61 - noisy.shape[0]) for b in range(51 - noisy.shape[1])
                   for c in range(41 - noisy.shape[2]))


def test_crowded_fraction_one_gives_every_box_a_prepared_view(tmp_path):
    from chimerax.deepssetracer.train.sampling import load_training_box
    rng = np.random.default_rng(9)
    z, y, x = np.mgrid[:64, :64, :64].astype(np.float32)  # 64 Å: a view is 40-48 Å a side
    density = np.exp(-((y - 32) ** 2 + (x - 32) ** 2) / 8.0).astype(np.float32)
    labels = np.where(density > 0.5, 0, 2).astype(np.uint8)
    np.savez_compressed(tmp_path / "b.npz", density=density, labels=labels)
    ctx = Context(crowded_fraction=1.0, crowded_sd=0.5)
    whole, view = load_training_box(tmp_path, {"file": "b.npz"}, NORM, rng, 1.0, 1.0, ctx)
    assert view.name == "b.npz:crowded" and view.density.shape == view.labels.shape
    assert view.density.size < whole.density.size and np.isfinite(view.density).all()
    assert len(load_training_box(tmp_path, {"file": "b.npz"}, NORM, rng, 1.0, 1.0,
                                 Context())) == 1
    # several views of one box (a consistency pool of a few real maps): each its own crop
    boxes = load_training_box(tmp_path, {"file": "b.npz"}, NORM, rng, 1.0, 1.0, ctx, views=4)
    assert len(boxes) == 5 and all(b.view_of is boxes[0] for b in boxes[1:])
    assert len({b.offset for b in boxes[1:]}) > 1


def test_b_filtered_blurs_sharpens_and_leaves_b0_alone():
    """B = 0 is the map itself; B > 0 lowers and B < 0 raises the fine detail, the mean kept."""
    from chimerax.deepssetracer.train.context import b_filtered
    rng = np.random.default_rng(3)
    x = smooth_noise(rng, (32, 30, 28), 1.0) + 2.0
    assert np.allclose(b_filtered(x, (2.0,) * 3, 0.0), x, atol=1e-5)
    detail = [float(np.abs(np.diff(b_filtered(x, (2.0,) * 3, b), axis=0)).mean())
              for b in (100.0, 0.0, -100.0)]
    assert detail[0] < detail[1] < detail[2]
    assert abs(float(b_filtered(x, (2.0,) * 3, 100.0).mean()) - float(x.mean())) < 1e-4


def test_filtered_fraction_one_gives_every_box_a_filtered_view(tmp_path):
    from chimerax.deepssetracer.train.sampling import load_training_box
    rng = np.random.default_rng(9)
    z, y, x = np.mgrid[:40, :40, :40].astype(np.float32)
    density = np.exp(-((y - 20) ** 2 + (x - 20) ** 2) / 8.0).astype(np.float32)
    labels = np.where(density > 0.5, 0, 2).astype(np.uint8)
    np.savez_compressed(tmp_path / "b.npz", density=density, labels=labels)
    ctx = Context.from_dict({"filtered_fraction": 1.0, "filtered_b": [150.0, 150.0]})
    whole, view = load_training_box(tmp_path, {"file": "b.npz"}, NORM, rng, 1.0, 1.0, ctx)
    assert view.name == "b.npz:filtered" and np.array_equal(view.labels, whole.labels)
    assert not np.array_equal(view.density, whole.density) and np.isfinite(view.density).all()
    for bad in ([10.0, -10.0], 5.0, [float("nan"), 1.0]):
        with pytest.raises(ValueError, match="filtered_b"):
            Context.from_dict({"filtered_b": bad})
