"""predict_map end to end: seams, rotations, and predictions landing at the same places in space.

The tiny ONNX model is a pure function of each voxel's normalised value, so every difference
between layouts of the same density comes from geometry handling (axes, origin, resampling).
"""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core import predict, tiling
from chimerax.deepssetracer.core.errors import Cancelled, InputError
from chimerax.deepssetracer.core.grid import DensityMap
from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.core.lowpass import lowpass
from chimerax.deepssetracer.core.mapio import read_map, write_map
from chimerax.deepssetracer.core.normalize import normalize
from chimerax.deepssetracer.core.predict import Prediction, predict_map, rotation_set
from chimerax.deepssetracer.core.resample import resample
from helpers import blob_map, tiny_expected, write_mrc

A = 2.0


@pytest.fixture
def tiny(tiny_onnx):
    return load_network(tiny_onnx(a=A, tile_size=16), device="cpu", threads=1)


def _expected(dmap: DensityMap, spec) -> tuple[np.ndarray, np.ndarray]:
    return tiny_expected(normalize(dmap.data, spec.normalization), a=A)


def test_tiled_equals_the_function_of_the_whole_map(tiny, monkeypatch):
    """Tiles come from the memory budget (`memory.tile_voxels`): a small one cuts the map."""
    net, spec = tiny
    monkeypatch.setattr(predict, "tile_voxels", lambda *a: 32**3)
    monkeypatch.setattr(tiling, "HALO", 16)  # the tiny network sees one voxel
    dmap = blob_map((40, 37, 52))
    seen = []
    pred = predict_map(dmap, net, spec, lowpass=None,  # the function of the map as given
                       progress=lambda d, t: seen.append((d, t)))
    assert pred.tiles > 1 and seen[-1] == (pred.tiles, pred.tiles)
    h, s = _expected(dmap, spec)
    np.testing.assert_allclose(pred.helix, h, atol=1e-5)
    np.testing.assert_allclose(pred.sheet, s, atol=1e-5)
    assert pred.helix.dtype == np.float32 and pred.helix.shape == dmap.data.shape
    assert pred.voxel_size == dmap.voxel_size and pred.origin == dmap.origin


def test_progress_counts_every_rotation_on_one_bar(tiny):
    """Rotations of a non-cubic map permute its axes: each gets its own plan, one bar."""
    net, spec = tiny
    seen = []
    pred = predict_map(blob_map((40, 21, 52)), net, spec, tta=12,
                       progress=lambda d, t: seen.append((d, t)))
    total = pred.tiles * pred.rotations
    assert pred.rotations == 12 and seen == [(i + 1, total) for i in range(total)]


@pytest.mark.parametrize("tta", [True, 12, 24])
def test_rotations_of_a_pointwise_model_change_nothing(tiny, tta):
    net, spec = tiny
    dmap = blob_map((18, 21, 26))  # non-cubic: rotations transpose it
    plain = predict_map(dmap, net, spec)
    rotated = predict_map(dmap, net, spec, tta=tta)
    assert rotated.rotations == len(rotation_set(tta))
    np.testing.assert_allclose(rotated.helix, plain.helix, atol=1e-5)
    np.testing.assert_allclose(rotated.sheet, plain.sheet, atol=1e-5)


def test_rotation_sets():
    assert len(rotation_set(False)) == 1 and len(rotation_set(True)) == 4
    with pytest.raises(ValueError):
        rotation_set(5)


def test_tta_undoes_each_rotation(tiny_onnx):
    """A position-dependent network: TTA must map each rotated answer back before averaging."""
    _, spec = load_network(tiny_onnx(tile_size=64))

    def ramp(batch):  # helix logit grows along x of the *network input*
        n, _, d, h, w = batch.shape
        logits = np.zeros((n, 3, d, h, w), np.float32)
        logits[:, 0] = np.linspace(-3, 3, w, dtype=np.float32)
        return logits

    dmap = blob_map((32, 32, 32))
    plain = predict_map(dmap, ramp, spec)
    tta = predict_map(dmap, ramp, spec, tta=4)
    # half turns about z and y reverse x: averaged back, the answer is symmetric in x
    profile, tta_profile = plain.helix.mean(axis=(0, 1)), tta.helix.mean(axis=(0, 1))
    assert profile[-1] - profile[0] > 0.5
    np.testing.assert_allclose(tta_profile, tta_profile[::-1], atol=1e-6)
    np.testing.assert_allclose(tta.helix, (plain.helix + plain.helix[..., ::-1]) / 2, atol=1e-6)


def test_cancel(tiny):
    net, spec = tiny
    with pytest.raises(Cancelled):
        predict_map(blob_map((40, 40, 40)), net, spec, cancel=lambda: True)


def test_invalid_map_is_refused_with_its_name(tiny):
    net, spec = tiny
    with pytest.raises(InputError, match="^crop.mrc: .*constant"):
        predict_map(DensityMap(np.zeros((12, 12, 12), np.float32), 1.0), net, spec,
                    name="crop.mrc")


def test_lowpass_filters_what_the_network_sees(tiny):
    """A pointwise network: with ``lowpass`` its answer is that of the filtered map."""
    net, spec = tiny
    rng = np.random.default_rng(2)
    dmap = blob_map((30, 28, 32))
    dmap = DensityMap(dmap.data + 0.3 * rng.standard_normal(dmap.data.shape).astype(np.float32),
                      dmap.voxel_size, dmap.origin)
    filtered = DensityMap(lowpass(dmap.data, dmap.voxel_size, 8.0), dmap.voxel_size, dmap.origin)
    pred = predict_map(dmap, net, spec, lowpass=8.0)
    h, _ = _expected(filtered, spec)
    np.testing.assert_allclose(pred.helix, h, atol=1e-5)
    assert np.abs(pred.helix - predict_map(dmap, net, spec).helix).max() > 0.01
    calls = []
    with pytest.raises(InputError, match="^m.mrc: low-pass resolution must be at least 2"):
        predict_map(dmap, lambda b: calls.append(b), spec, lowpass=1.0, name="m.mrc")
    assert not calls  # refused before any network pass


def test_small_and_coarse_maps_are_padded_and_resampled(tiny):
    net, spec = tiny
    dmap = blob_map((4, 3, 5), voxel_size=(4.0, 3.5, 3.0), origin=(5, 6, 7))
    pred = predict_map(dmap, net, spec)
    assert pred.helix.shape == (4, 3, 5) and pred.origin == (5.0, 6.0, 7.0)
    assert 0 <= pred.helix.min() and pred.helix.max() <= 1


def test_labels_and_volumes():
    h = np.array([[[0.6, 0.2, 0.1, 0.48]]], np.float32)
    s = np.array([[[0.3, 0.7, 0.1, 0.1]]], np.float32)
    p = Prediction(h, s, voxel_size=(2.0, 1.0, 1.5))
    np.testing.assert_array_equal(p.labels(), [[[0, 1, 2, 0]]])  # argmax; bg = 1 - h - s
    np.testing.assert_array_equal(p.labels(level=0.5), [[[0, 1, 2, 2]]])
    assert p.labels().dtype == np.uint8
    assert p.volumes_A3(0.5) == {"helix": 3.0, "sheet": 3.0}
    assert p.volume_A3("helix", 0.45) == 6.0


# --- geometry: the same density stored differently -----------------------------------------


def _com(pred: Prediction, dmap: DensityMap) -> np.ndarray:
    """Probability-weighted centre of mass of the helix map, in Å (x, y, z)."""
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in dmap.data.shape], indexing="ij"), -1)
    w = pred.helix.astype(np.float64) ** 4  # emphasise the confident core
    return (dmap.xyz(idx) * w[..., None]).sum(axis=(0, 1, 2)) / w.sum()


@pytest.fixture
def real_map(shared_dir):
    return read_map(shared_dir / "data/real/emd8518_5u8s_A/map.mrc")


def test_shared_nstart_and_origin_give_identical_predictions(shared_dir, tiny, tmp_path):
    net, spec = tiny
    d = shared_dir / "data/real/emd21457_6vyb_ntd"
    a, b = read_map(d / "map.mrc"), read_map(d / "map_nstart.mrc")
    pa, pb = predict_map(a, net, spec), predict_map(b, net, spec)
    np.testing.assert_array_equal(pa.helix, pb.helix)
    assert pa.origin == pytest.approx(pb.origin, abs=1e-3)
    out = read_map(write_map(tmp_path / "h.mrc", pb.maps()["helix"]))
    assert out.origin == pytest.approx(a.origin, abs=1e-3)
    np.testing.assert_array_equal(out.data, pa.helix)


def test_shared_permuted_axes_with_nstart(real_map, tiny, tmp_path):
    net, spec = tiny
    start = (7, -3, 12)
    path = write_mrc(tmp_path / "perm.mrc", real_map, axes=(3, 2, 1), start_xyz=start)
    perm = read_map(path)
    np.testing.assert_array_equal(perm.data, real_map.data)
    assert perm.origin == pytest.approx(start)  # 1 Å voxels
    p0, p1 = predict_map(real_map, net, spec), predict_map(perm, net, spec)
    np.testing.assert_array_equal(p0.helix, p1.helix)
    # the same density, moved: the same prediction, moved by the same amount
    shift = np.subtract(perm.origin, real_map.origin)
    np.testing.assert_allclose(_com(p1, perm) - _com(p0, real_map), shift, atol=1e-6)


def test_shared_noncubic_resampling_keeps_places(real_map, tiny, tmp_path):
    net, spec = tiny
    step = (0.8, 1.15, 0.9)
    data = resample(real_map.data, real_map.voxel_size, step)
    noncubic = read_map(write_map(tmp_path / "nc.mrc", DensityMap(data, step, real_map.origin)))
    assert noncubic.voxel_size == pytest.approx(step)
    p0, p1 = predict_map(real_map, net, spec), predict_map(noncubic, net, spec)
    assert p1.helix.shape == noncubic.data.shape
    np.testing.assert_allclose(_com(p1, noncubic), _com(p0, real_map), atol=0.5)
    # sampled at the non-cubic grid's points, the 1 Å prediction agrees voxel by voxel
    there = resample(p0.helix, real_map.voxel_size, step, shape=p1.helix.shape)
    inner = tuple(slice(2, n - 2) for n in p1.helix.shape)
    assert np.corrcoef(there[inner].ravel(), p1.helix[inner].ravel())[0, 1] > 0.97


def test_example_runs_with_trained_weights_if_present(shipped):
    from pathlib import Path

    net, spec = shipped
    dmap = read_map(Path(__file__).resolve().parents[1] / "examples/emd8518_5u8s_A.mrc")
    pred = predict_map(dmap, net, spec)
    assert pred.helix.shape == dmap.data.shape
    assert 0 <= pred.helix.min() and pred.sheet.max() <= 1


def test_every_map_is_low_passed_by_default(tiny):
    """'auto' filters every map to 6 Å, whatever its spectrum (white noise holds detail to the
    grid's limit, a blurred map none past 8 Å), so no estimate decides the answer; None never
    filters."""
    net, spec = tiny
    rng = np.random.default_rng(7)
    dmap = DensityMap(rng.standard_normal((30, 30, 30)).astype(np.float32), 1.0)
    auto = predict_map(dmap, net, spec)
    assert auto.lowpass == 6.0 and auto.auto_lowpass and auto.resolution < 4.5
    assert "low-passed to 6 Å (the default; its spectrum reaches" in auto.preprocessing()
    filtered = DensityMap(lowpass(dmap.data, dmap.voxel_size, 6.0), 1.0)
    np.testing.assert_allclose(auto.helix, predict_map(filtered, net, spec, lowpass=None).helix,
                               atol=1e-5)
    off = predict_map(dmap, net, spec, lowpass=None)
    assert off.lowpass is None and off.preprocessing() == ""
    assert any("sharper than" in w for w in off.warnings)
    asked = predict_map(dmap, net, spec, lowpass=8.0)
    assert not asked.auto_lowpass and asked.preprocessing() == "low-passed to 8 Å"
    blurred = predict_map(DensityMap(lowpass(dmap.data, dmap.voxel_size, 9.0), 1.0), net, spec)
    assert blurred.lowpass == 6.0 and blurred.auto_lowpass and blurred.resolution > 6.0
    assert blurred.preprocessing() == "low-passed to 6 Å (the default)"
    assert not any("sharper than" in w for w in blurred.warnings)


def test_nothing_above_the_solvent_is_one_input_error(tiny_onnx):
    net, spec = load_network(tiny_onnx(normalization={"method": "foreground"}), device="cpu",
                             threads=1)
    z, y, x = np.mgrid[:40, :40, :40]
    # masked and inverted: nothing above the exact-zero solvent
    data = np.where((z - 20) ** 2 + (y - 20) ** 2 + (x - 20) ** 2 <= 144, -1.0, 0.0
                    ).astype(np.float32)
    with pytest.raises(InputError, match="^inv.mrc: no density rises above the solvent"):
        predict_map(DensityMap(data, 1.0), net, spec, lowpass=None, name="inv.mrc")


def test_noise_is_predicted_with_a_warning_unless_asked(tiny):
    """Smooth noise: predicted, with the no-molecule warning; ``molecule_check=False`` leaves
    the warning out. No map is blanked (a noisy crowded crop looks the same)."""
    from scipy.ndimage import gaussian_filter
    net, spec = tiny
    noise = gaussian_filter(np.random.default_rng(9).normal(size=(40, 40, 40)), 2.0)
    dmap = DensityMap(noise.astype(np.float32), 2.0)
    calls = []
    warned = predict_map(dmap, lambda b: calls.append(b) or net(b), spec)
    assert calls and warned.tiles > 0 and warned.helix.max() > 0
    assert any("no molecule" in w for w in warned.warnings)
    quiet = predict_map(dmap, net, spec, molecule_check=False)
    assert not any("no molecule" in w for w in quiet.warnings)
    np.testing.assert_array_equal(quiet.helix, warned.helix)


def test_a_grid_prediction_in_slabs_is_the_whole_prediction(tiny):
    """`predict_file` writes from the network's grid a slab at a time: rows, volumes and
    label slabs equal the whole `Prediction`'s, on a map finer than the network's grid."""
    net, spec = tiny
    dmap = blob_map((30, 26, 34))
    dmap.voxel_size = (0.7, 0.7, 0.7)  # the tiny network's grid is 1 Å: outputs upsampled
    grid = predict.predict_grid(dmap, net, spec)
    whole = grid.whole()
    assert grid.helix.shape != whole.helix.shape == dmap.data.shape
    slabs = [(a, min(a + 7, 30)) for a in range(0, 30, 7)]
    for kind in ("helix", "sheet"):
        stacked = np.concatenate([grid.rows(kind, a, b) for a, b in slabs])
        np.testing.assert_array_equal(stacked, getattr(whole, kind))
    tally = {}
    maps = grid.maps(tally=tally)
    for kind in ("helix", "sheet"):
        for a, b in slabs:
            maps[kind].rows(a, b)
    voxel = float(np.prod(dmap.voxel_size))
    assert {k: v * voxel for k, v in tally.items()} == whole.volumes_A3(0.5)
    labels = grid.maps(labels=True)["labels"]
    np.testing.assert_array_equal(labels.rows(5, 19), whole.labels()[5:19])
    np.testing.assert_array_equal(predict_map(dmap, net, spec).helix, whole.helix)


@pytest.mark.slow
def test_a_zero_padded_crop_gets_the_crops_own_answer(shared_dir, shipped):
    """The spike NTD segment runs into its faces: zero-padded by 20 Å it is answered exactly as
    given (the padding left out, the crop's faces continued), and nothing in the padding; its
    warnings are the crop's, the faces named as the crop's inside the padding."""
    net, spec = shipped
    m = read_map(shared_dir / "data/real/emd21457_6vyb_ntd/map.mrc")
    pad = 19  # voxels of 1.05 Å
    padded = DensityMap(np.pad(m.data, pad), m.voxel_size,
                        tuple(o - pad * v for o, v in zip(m.origin, m.voxel_size)))
    given, again = predict_map(m, net, spec), predict_map(padded, net, spec)
    inner = (slice(pad, -pad),) * 3
    for kind in ("helix", "sheet"):
        out = getattr(again, kind)
        assert np.array_equal(out[inner], getattr(given, kind))
        out[inner] = 0
        assert not out.any()
    assert again.warnings == [w.replace("the box's faces",
                                        "the faces of the crop inside the padding")
                              for w in given.warnings]
    assert any("faces of the crop inside the padding" in w for w in again.warnings)
    assert again.preprocessing() == ("its padding left out (the crop inside, 48 x 40 x 47 voxels, "
                                     "predicted as given); " + given.preprocessing())
    assert again.preparation.region == tuple(slice(pad, pad + n) for n in m.data.shape)


def test_read_solvent_gives_the_level_of_the_map_read_at_its_step(tmp_path, shipped):
    """`read_solvent` (the CLI's ``--around``): the level `solvent_of` finds in the map read
    at `around_step`; a map with nothing above its solvent is refused in one line."""
    from chimerax.deepssetracer.core.prepare import around_step, solvent_of

    _, spec = shipped
    m = blob_map((40, 36, 44), voxel_size=(1.0, 1.0, 1.0))
    path = write_map(tmp_path / "whole.mrc", m)
    step = around_step(m.data.shape[::-1], m.voxel_size, spec.voxel_size)
    assert step == (2, 2, 2)
    expected = solvent_of(np.ascontiguousarray(m.data[::2, ::2, ::2]), (2.0,) * 3,
                          spec.voxel_size)
    assert predict.read_solvent(path, spec) == pytest.approx(expected)
    flat = write_map(tmp_path / "flat.mrc", DensityMap(np.zeros((20, 20, 20), np.float32),
                                                       (1.0,) * 3, (0.0,) * 3))
    with pytest.raises(InputError, match="constant"):
        predict.read_solvent(flat, spec)
