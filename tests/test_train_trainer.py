"""A real few-step training on a tiny dataset written here: log, metrics, resume, export."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from chimerax.deepssetracer.cli import train as train_cli  # noqa: E402
from chimerax.deepssetracer.core.inference import OnnxNetwork  # noqa: E402
from chimerax.deepssetracer.core.weights import load_spec  # noqa: E402
from chimerax.deepssetracer.train.sampling import CropSampler, load_training_box  # noqa: E402

SIDE = 40


def cli_main(argv: list[str]) -> int:
    """`deepssetracer train ...` through its own parser (independent of the other subcommands)."""
    parser = argparse.ArgumentParser()
    train_cli.add_args(parser)
    return train_cli.main(parser.parse_args(argv[1:]))


def _box(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A 40^3 box: a helix-like rod and a sheet-like slab of density, 6-voxel ignore padding."""
    z, y, x = np.mgrid[:SIDE, :SIDE, :SIDE].astype(np.float32)
    c = rng.uniform(14, 26, size=2)
    rod = np.exp(-((y - c[0]) ** 2 + (x - c[1]) ** 2) / 8.0)
    slab_z = rng.uniform(10, 30)
    slab = np.exp(-((z - slab_z) ** 2) / 2.0) * (x > 20)
    density = (rod + 0.7 * slab + 0.05 * rng.standard_normal(rod.shape)).astype(np.float32)
    labels = np.full(density.shape, 2, dtype=np.uint8)
    labels[rod > 0.5] = 0
    labels[slab > 0.5] = 1
    labels[:6] = labels[-6:] = 255
    return density, labels


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    boxes = []
    for i, split in enumerate(["train", "train", "train", "val"]):
        density, labels = _box(rng)
        np.savez_compressed(root / f"b{i}.npz", density=density, labels=labels,
                            ca_xyz=np.zeros((0, 3), np.float32), ca_class=np.zeros(0, np.uint8))
        boxes.append({"file": f"b{i}.npz", "complex": f"C{i:03d}", "split": split,
                      "resolution": 6.0})
    (root / "index.json").write_text(json.dumps({"version": 1, "seed": 0, "voxel_size": 1.0,
                                                 "boxes": boxes}))
    return root


def _config(tmp_path: Path, data: Path, steps: int, **extra) -> Path:
    cfg = {"data": str(data), "real_val": str(data), "network": {"base": 4, "depth": 2},
           "loss": {"name": "FL_DL", "gamma": 2.0}, "lr": 1e-3, "steps": steps, "batch": 2,
           "crop": 24, "tile_size": 40, "val_every": 2, "ckpt_every": 2, "log_every": 1,
           "max_val_boxes": 1, "seed": 3, "threads": 1, **extra}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(cfg))
    return path


def test_crops_are_cubes_with_sheet_bias(dataset):
    rng = np.random.default_rng(0)
    entry = {"file": "b0.npz"}
    box, = load_training_box(dataset, entry, {"method": "zscore", "clip": [-4.0, 8.0]}, rng)
    sampler = CropSampler([box], crop=24, sheet_fraction=1.0, helix_fraction=0.0)
    x, y = sampler.batch(rng, 4)
    assert x.shape == (4, 1, 24, 24, 24) and x.dtype == torch.float32
    assert y.shape == (4, 24, 24, 24) and y.dtype == torch.int64
    # every crop is centred (within the jitter) near a sheet voxel, so each holds sheet labels
    assert all((y[i] == 1).any() for i in range(4))


def test_sheet_crops_come_only_from_boxes_in_the_sheet_resolution_range(dataset):
    """With ``sheet_resolution`` a sheet-centred crop never comes from a box outside it."""
    rng = np.random.default_rng(1)
    norm = {"method": "zscore", "clip": [-4.0, 8.0]}
    boxes = [load_training_box(dataset, {"file": f"b{i}.npz", "resolution": r}, norm, rng)[0]
             for i, r in ((0, 11.0), (1, 6.0))]
    sampler = CropSampler(boxes, crop=24, sheet_fraction=1.0, helix_fraction=0.0,
                          sheet_resolution=(5.0, 9.0))
    assert [sampler._centre(rng)[0].resolution for _ in range(20)] == [6.0] * 20
    unrestricted = CropSampler(boxes, crop=24, sheet_fraction=1.0, helix_fraction=0.0)
    assert {unrestricted._centre(rng)[0].resolution for _ in range(40)} == {6.0, 11.0}


def test_sheet_resolution_is_checked_up_front(tmp_path, dataset):
    from chimerax.deepssetracer.train.config import TrainConfig

    for bad in ([9.0, 5.0], [5.0], [0.0, 9.0]):
        with pytest.raises(ValueError, match="sheet_resolution must be"):
            TrainConfig.load(_config(tmp_path, dataset, steps=1, sheet_resolution=bad))
    good = _config(tmp_path, dataset, steps=1, sheet_resolution=[5.0, 9.0])
    assert list(TrainConfig.load(good).sheet_resolution) == [5.0, 9.0]


def test_lowpass_of_the_training_boxes(tmp_path, dataset):
    """``lowpass`` is core.prepare's: "auto" (6 Å) by default, null leaves a box unfiltered,
    a resolution filters to it; anything else is refused up front."""
    from chimerax.deepssetracer.train.config import TrainConfig

    for bad in ("6", 0, -3.0, True, float("nan")):
        with pytest.raises(ValueError, match="lowpass must be"):
            TrainConfig.load(_config(tmp_path, dataset, steps=1, lowpass=bad))
    for bad in (1.5, 20.0):  # finer than the 1 Å grid holds, coarser than core.lowpass takes
        with pytest.raises(ValueError, match="lowpass must be a resolution the 1 Å grid holds"):
            TrainConfig.load(_config(tmp_path, dataset, steps=1, lowpass=bad))
    assert TrainConfig.load(_config(tmp_path, dataset, steps=1)).lowpass == "auto"
    assert TrainConfig.load(_config(tmp_path, dataset, steps=1, lowpass=None)).lowpass is None
    norm = {"method": "zscore", "clip": [-4.0, 8.0]}
    boxes = {lp: load_training_box(dataset, {"file": "b0.npz"}, norm, np.random.default_rng(0),
                                   lowpass=lp)[0].density.astype(np.float32)
             for lp in ("auto", None, 6.0, 9.0)}
    assert np.array_equal(boxes["auto"], boxes[6.0])
    # a sharp rod: the filter smooths it, so neighbours differ less than unfiltered
    roughness = {lp: np.abs(np.diff(x, axis=0)).mean() for lp, x in boxes.items()}
    assert roughness[None] > roughness[6.0] > roughness[9.0]


def test_pairs_cut_one_crop_from_a_view_and_from_its_box(tmp_path):
    """A crowded view's crop is the same place in its box (offset by where the view was cut),
    rotated alike; ``inside`` marks the voxels the view holds."""
    from chimerax.deepssetracer.train.context import Context

    rng = np.random.default_rng(5)
    density = np.concatenate([_box(rng)[0] for _ in range(2)], axis=2)[:, :, :64]
    density = np.concatenate([density, density[:24]], axis=0)  # 64 x 40 x 64 voxels of 1 Å
    labels = np.where(density > 0.5, 0, 2).astype(np.uint8)
    np.savez_compressed(tmp_path / "big.npz", density=density, labels=labels)
    norm = {"method": "zscore", "clip": [-4.0, 8.0]}
    ctx = Context(crowded_fraction=1.0, crowded_sd=0.0)  # no noise: the views hold the box's data
    whole, view = load_training_box(tmp_path, {"file": "big.npz"}, norm,  # unfiltered: a
                                    np.random.default_rng(2), context=ctx,  # filter's reach
                                    lowpass=None)  # would differ at the view's faces
    assert view.view_of is whole and view.offset[0] != view.offset[2]  # z, x told apart
    sampler = CropSampler([whole, view], crop=24, sheet_fraction=0.0, helix_fraction=0.5)
    xv, xb, inside = sampler.pairs(np.random.default_rng(4), 8)
    assert xv.shape == xb.shape == (8, 1, 24, 24, 24) and inside.shape == (8, 24, 24, 24)
    assert not inside.all()  # some crop reaches beyond the view's faces
    for a, b, m in zip(xv[:, 0].numpy(), xb[:, 0].numpy(), inside.numpy()):
        # the same raw values, normalised apart: inside the view one affine map joins them
        inner = m & (a > -4) & (a < 8) & (b > -4) & (b < 8)  # clipped in neither
        slope, icpt = np.polyfit(b[inner], a[inner], 1)
        assert np.allclose(a[inner], slope * b[inner] + icpt, atol=0.05) and slope > 0
        assert (a[~m] == 0).all() and m.sum() == np.count_nonzero(a != 0)  # padding outside
    # a filtered view is the whole box: at offset 0 it holds every voxel the box does
    ctx = Context(filtered_fraction=1.0, filtered_b=(100.0, 100.0))
    whole, view = load_training_box(tmp_path, {"file": "big.npz"}, norm,
                                    np.random.default_rng(2), context=ctx, lowpass=None)
    assert view.view_of is whole and view.offset == (0, 0, 0)
    xv, xb, inside = CropSampler([whole, view], crop=24, sheet_fraction=0.0,
                                 helix_fraction=0.5).pairs(np.random.default_rng(4), 4)
    assert torch.equal(inside, (xb[:, 0] != 0)) and not torch.equal(xv, xb)
    # identity pairs: the box is its own view
    xv, xb, inside = CropSampler([whole, view], crop=24, sheet_fraction=0.0,
                                 helix_fraction=0.5).pairs(np.random.default_rng(4), 4, 1.0)
    assert torch.equal(xv, xb) and torch.equal(inside, xb[:, 0] != 0)
    with pytest.raises(ValueError, match="consistency needs views"):
        CropSampler([whole], crop=24, sheet_fraction=0.5, helix_fraction=0.2).pairs(rng, 1)


def test_pairs_from_a_second_dataset_never_read_its_labels():
    """``pair_boxes`` (real maps) serve a ``pair_share`` of the pairs, centred anywhere: boxes
    whose labels say nothing (all ignored, no class centres) are drawn all the same."""
    from chimerax.deepssetracer.train.sampling import Box

    def box(value: float) -> Box:
        empty = {k: np.zeros((0, 3), np.int32) for k in (0, 1)}
        return Box(f"v{value}", np.full((30, 30, 30), value, np.float16),
                   np.full((30, 30, 30), 255, np.uint8), empty)

    own, own_view, real, view = box(-1.0), box(-2.0), box(7.0), box(3.0)
    own_view.view_of, view.view_of = own, real
    rng = np.random.default_rng(5)
    for share, seen in ((0.0, {-1.0, -2.0}), (1.0, {7.0, 3.0}), (0.5, {-1.0, -2.0, 7.0, 3.0})):
        sampler = CropSampler([own, own_view], crop=16, sheet_fraction=0.5, helix_fraction=0.5,
                              pair_boxes=[real, view], pair_share=share)
        xv, xb, inside = sampler.pairs(rng, 40, identity=0.5)
        values = {float(x[m].flat[0]) for x, m in zip(xv[:, 0].numpy(), inside.numpy())}
        assert values == seen
        for x, b, m in zip(xv[:, 0].numpy(), xb[:, 0].numpy(), inside.numpy()):
            shown = {3.0: 7.0, -2.0: -1.0}.get(float(x[m].flat[0]))
            if shown is not None:  # a view's pair is cut from the box it shows
                assert (b[m] == shown).all()


def test_misleveled_views_are_their_box_with_wrong_levels_inside():
    """A crop with no solvent has its levels set wrong (its mode is protein): such views are
    the box's own crop, ``(x - offset) / scale`` inside the box, the padding left at 0."""
    from chimerax.deepssetracer.train.sampling import Box

    empty = {k: np.zeros((0, 3), np.int32) for k in (0, 1)}
    box = Box("b", np.full((20, 20, 20), 1.0, np.float16), np.full((20, 20, 20), 2, np.uint8),
              empty)
    sampler = CropSampler([box], crop=24, sheet_fraction=0.0, helix_fraction=0.0,
                          levels=(1.0, (0.4, 0.4), (0.5, 0.5), None))
    xv, xb, inside = sampler.pairs(np.random.default_rng(0), 6, identity=1.0)
    m = inside.numpy()
    assert (~m).any() and m.any()  # a 24-voxel crop of a 20-voxel box reaches beyond it
    assert np.allclose(xv[:, 0].numpy()[m], (1.0 - 0.4) / 0.5)  # the view's levels are wrong
    assert (xb[:, 0].numpy()[m] == 1.0).all()  # the teacher sees the box as prepared
    assert (xv[:, 0].numpy()[~m] == 0).all() and (xb[:, 0].numpy()[~m] == 0).all()
    clipped = CropSampler([box], crop=24, sheet_fraction=0.0, helix_fraction=0.0,
                          levels=(1.0, (-2.0, -2.0), (0.5, 0.5), (-3.0, 5.0)))
    xv, _, _ = clipped.pairs(np.random.default_rng(0), 2, identity=1.0)
    assert xv.max() == 5.0  # (1 + 2) / 0.5 = 6, clipped as the normalisation clips


def test_consistency_is_checked_up_front(tmp_path, dataset):
    from chimerax.deepssetracer.train.config import TrainConfig

    ctx = {"crowded_fraction": 1.0, "crowded_sd": 0.5}
    for bad, match in (({"weight": 1.0}, "consistency needs views"),
                       ({"weight": 0.0}, "weight must be > 0"),
                       ({"labels": -1.0}, "labels and foreground >= 0"),
                       ({"foreground": -1.0}, "labels and foreground >= 0"),
                       ({"pairs": 0}, "pairs must be an integer"),
                       ({"views": 0}, "views must be an integer"),
                       ({"teacher": "mean"}, "teacher must be one of ema, init"),
                       ({"identity": 2.0}, "identity must lie in"),
                       ({"data_share": 0.5}, "data_share must lie in"),
                       ({"levels": 1.5}, "levels must lie in"),
                       ({"levels": 0.5, "scale": [0.0, 1.0]}, "scale above 0"),
                       ({"offset": [0.5, 0.0]}, "offset must have lo <= hi"),
                       ({"offset": 0.5}, "offset must be"),
                       ({"data": "real", "data_share": 0.0}, "above 0 exactly when data"),
                       ({"data": "real", "data_share": 1.5}, "data_share must lie in"),
                       ({"wieght": 1.0}, "unknown"),
                       (1.0, "must be an object")):
        extra = {"context": ctx, "ema_decay": 0.9} if match != "consistency needs views" else {}
        with pytest.raises(ValueError, match=match):
            TrainConfig.load(_config(tmp_path, dataset, steps=1, consistency=bad, **extra))
    with pytest.raises(ValueError, match="needs ema_decay"):
        TrainConfig.load(_config(tmp_path, dataset, steps=1, consistency={}, context=ctx))
    with pytest.raises(ValueError, match="needs init_from"):
        TrainConfig.load(_config(tmp_path, dataset, steps=1, consistency={"teacher": "init"},
                                 context=ctx))
    # every pair a box itself: no views needed
    TrainConfig.load(_config(tmp_path, dataset, steps=1, ema_decay=0.9,
                             consistency={"identity": 1.0}))


def test_consistency_trains_against_either_teacher(tmp_path, dataset):
    """The averaged weights teach with the labels; the frozen init_from weights teach alone
    (no label batch), and stay as they were."""
    ctx = {"crowded_fraction": 1.0, "crowded_sd": 0.5, "filtered_fraction": 1.0}
    config = _config(tmp_path, dataset, steps=2, context=ctx, ema_decay=0.9,
                     consistency={"weight": 1.0, "pairs": 2})
    run = tmp_path / "consistent"
    assert cli_main(["train", str(config), "--out", str(run), "--device", "cpu"]) == 0
    hist = json.loads((run / "metrics.json").read_text())
    assert [r["step"] for r in hist["train"]] == [1, 2]
    assert all(np.isfinite(r["loss"]) and np.isfinite(r["consistency"]) for r in hist["train"])
    assert " consistency " in (run / "train.log").read_text()

    from chimerax.deepssetracer.train.config import TrainConfig
    from chimerax.deepssetracer.train.trainer import Trainer
    init = str(run / "best.pt")
    cfg = TrainConfig.load(_config(tmp_path, dataset, steps=2, context=ctx, init_from=init,
                                   consistency={"teacher": "init", "labels": 0.0,
                                                "identity": 0.5, "pairs": 2,
                                                "data": str(dataset), "data_share": 0.5,
                                                "levels": 0.25}))
    trainer = Trainer(cfg, tmp_path / "distilled", device="cpu")
    before = {k: v.clone() for k, v in trainer.teacher.state_dict().items()}
    trainer.run()
    after = trainer.teacher.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the teacher never learns
    conv = next(k for k in after if k.endswith("weight"))
    assert not torch.equal(trainer.net.state_dict()[conv], after[conv])  # the student does
    assert all(np.isfinite(r["consistency"]) for r in trainer.history["train"])


def test_training_box_on_a_coarser_grid(dataset):
    """A 2 Å network trains on boxes resampled as predict resamples maps, labels alongside."""
    norm = {"method": "zscore", "clip": [-4.0, 8.0]}
    rng = np.random.default_rng(0)
    fine = load_training_box(dataset, {"file": "b0.npz"}, norm, rng)[0]
    coarse, = load_training_box(dataset, {"file": "b0.npz"}, norm, rng, 1.0, 2.0)
    assert coarse.density.shape == coarse.labels.shape == (21, 21, 21)
    assert np.array_equal(coarse.labels[:20, :20, :20], fine.labels[::2, ::2, ::2])
    # the rod (helix) is still where its density is, on the coarse grid
    helix = coarse.labels == 0
    assert helix.any() and coarse.density[helix].mean() > coarse.density[coarse.labels == 2].mean()


def test_train_resume_export(tmp_path, dataset):
    run = tmp_path / "run"
    config = _config(tmp_path, dataset, steps=2)
    assert cli_main(["train", str(config), "--out", str(run), "--device", "cpu"]) == 0

    log_lines = (run / "train.log").read_text().splitlines()
    assert any(line.startswith("step 2 loss") for line in log_lines)
    hist = json.loads((run / "metrics.json").read_text())
    assert [r["step"] for r in hist["train"]] == [1, 2]
    assert all(np.isfinite(r["loss"]) for r in hist["train"])
    assert hist["val"][-1]["step"] == 2 and 0 <= hist["val"][-1]["sim"]["helix"] <= 1
    assert hist["val"][-1]["real"]  # the real-val folder was scored too
    assert torch.load(run / "checkpoint.pt", weights_only=False)["step"] == 2
    assert (run / "best.pt").exists() and (run / "curves.png").stat().st_size > 0

    # a second run without --resume refuses to overwrite; --resume continues from step 2
    assert cli_main(["train", str(config), "--out", str(run), "--device", "cpu"]) == 1
    assert cli_main(["train", str(config), "--out", str(run), "--resume", "--steps", "3",
                     "--device", "cpu"]) == 0
    assert "resumed at step 2" in (run / "train.log").read_text()
    hist = json.loads((run / "metrics.json").read_text())
    assert [r["step"] for r in hist["train"]] == [1, 2, 3]

    onnx = run / "deepssetracer.onnx"
    spec = load_spec(onnx)
    assert spec.size_multiple == 2 and spec.network["base"] == 4
    assert spec.training["loss"] == "FL_DL" and spec.training["config"] == str(config)
    out = OnnxNetwork(onnx, spec, device="cpu", threads=1)(np.zeros((1, 1, 8, 8, 8), np.float32))
    assert out.shape == (1, 3, 8, 8, 8)


def test_coarse_grid_run_records_its_voxel_size(tmp_path, dataset):
    run = tmp_path / "run2"
    config = _config(tmp_path, dataset, steps=1, voxel_size=2.0, crop=16, tile_size=24)
    assert cli_main(["train", str(config), "--out", str(run), "--device", "cpu"]) == 0
    assert load_spec(run / "deepssetracer.onnx").voxel_size == 2.0


def test_resume_is_exact(tmp_path, dataset):
    """Three steps in one go equal two steps, a checkpoint, and one resumed step."""
    config = _config(tmp_path, dataset, steps=3, lr_schedule="constant")  # lr not tied to --steps
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert cli_main(["train", str(config), "--out", str(straight), "--device", "cpu"]) == 0
    assert cli_main(["train", str(config), "--out", str(split), "--steps", "2",
                     "--device", "cpu"]) == 0
    assert cli_main(["train", str(config), "--out", str(split), "--resume", "--device", "cpu"]) == 0
    a = torch.load(straight / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(split / "checkpoint.pt", weights_only=False)["model"]
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-6), k


def test_ema_tracks_the_weights_and_resumes_exactly(tmp_path, dataset):
    """The average is what best.pt and the export hold, and it survives a resume bit for bit."""
    config = _config(tmp_path, dataset, steps=3, lr_schedule="constant", ema_decay=0.9,
                     val_every=3)  # straight run: one validation, at the last step
    straight, split = tmp_path / "ema_straight", tmp_path / "ema_split"
    assert cli_main(["train", str(config), "--out", str(straight), "--device", "cpu"]) == 0
    assert cli_main(["train", str(config), "--out", str(split), "--steps", "2",
                     "--device", "cpu"]) == 0
    assert cli_main(["train", str(config), "--out", str(split), "--resume", "--device", "cpu"]) == 0
    a = torch.load(straight / "checkpoint.pt", weights_only=False)
    b = torch.load(split / "checkpoint.pt", weights_only=False)
    for k in a["ema"]:
        assert torch.allclose(a["ema"][k].float(), b["ema"][k].float(), atol=1e-6), k
    # the average lags the live weights, so after three steps they differ
    conv = next(k for k in a["model"] if k.endswith("weight"))
    assert not torch.allclose(a["ema"][conv], a["model"][conv])
    best = torch.load(straight / "best.pt", weights_only=False)
    assert best["step"] == 3 and torch.equal(best["model"][conv], a["ema"][conv])
    assert load_spec(straight / "deepssetracer.onnx").training["ema_decay"] == 0.9


def test_update_ema_ramps_then_averages():
    from chimerax.deepssetracer.train.trainer import update_ema

    ema, net = torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        ema.weight.fill_(0.0)
        net.weight.fill_(1.0)
    update_ema(ema, net, decay=0.99, step=0)  # d = min(0.99, 1/10): mostly the live weights
    assert ema.weight.item() == pytest.approx(0.9)
    update_ema(ema, net, decay=0.5, step=1000)  # d = 0.5
    assert ema.weight.item() == pytest.approx(0.95)


def test_init_from_starts_at_earlier_weights(tmp_path, dataset):
    first = tmp_path / "first"
    assert cli_main(["train", str(_config(tmp_path, dataset, steps=1)), "--out", str(first),
                     "--device", "cpu"]) == 0
    from chimerax.deepssetracer.train.config import TrainConfig
    from chimerax.deepssetracer.train.trainer import Trainer

    cfg = TrainConfig.load(_config(tmp_path, dataset, steps=1,
                                   init_from=str(first / "best.pt")))
    start = torch.load(first / "best.pt", weights_only=False)["model"]
    trainer = Trainer(cfg, tmp_path / "second", device="cpu")
    for k, v in trainer.net.state_dict().items():
        assert torch.equal(v, start[k]), k
    wrong = _config(tmp_path, dataset, steps=1, init_from=str(first / "best.pt"),
                    network={"base": 8, "depth": 2})
    with pytest.raises(ValueError, match="do not fit"):
        Trainer(TrainConfig.load(wrong), tmp_path / "third", device="cpu")
    wide = _config(tmp_path, dataset, steps=1, init_from=str(first / "best.pt"),
                   init_widen=True, network={"base": 4, "depth": 2, "widths": [4, 12]})
    trainer = Trainer(TrainConfig.load(wide), tmp_path / "fourth", device="cpu")
    w = trainer.net.down[1][0].weight  # 4 -> 12 channels, of which the first 8 were trained
    assert w.shape[0] == 12 and torch.equal(w[:8], start["down.1.0.weight"])


def test_freeze_batchnorm_keeps_the_start_statistics(tmp_path, dataset):
    first = tmp_path / "first"
    assert cli_main(["train", str(_config(tmp_path, dataset, steps=1)), "--out", str(first),
                     "--device", "cpu"]) == 0
    start = torch.load(first / "best.pt", weights_only=False)["model"]
    runs = {}
    for frozen in (False, True):
        out = tmp_path / f"frozen_{frozen}"
        cfg = _config(tmp_path, dataset, steps=2, init_from=str(first / "best.pt"),
                      freeze_batchnorm=frozen)
        assert cli_main(["train", str(cfg), "--out", str(out), "--device", "cpu"]) == 0
        runs[frozen] = torch.load(out / "checkpoint.pt", weights_only=False)["model"]
    stats = [k for k in start if "running_" in k]
    assert stats
    assert all(torch.equal(runs[True][k], start[k]) for k in stats)
    assert not all(torch.equal(runs[False][k], start[k]) for k in stats)
    learnt = [k for k in start if k.endswith(".weight")]
    assert not all(torch.equal(runs[True][k], start[k]) for k in learnt)
    from chimerax.deepssetracer.train.config import TrainConfig
    with pytest.raises(ValueError, match="freeze_batchnorm needs init_from"):
        TrainConfig.load(_config(tmp_path, dataset, steps=1, freeze_batchnorm=True))


def test_unknown_network_key_is_one_clear_error(tmp_path, dataset):
    """A typo in ``network`` is a ValueError naming it, not a TypeError from UNet3D."""
    from chimerax.deepssetracer.train.config import TrainConfig

    bad = _config(tmp_path, dataset, steps=1, network={"base": 4, "depht": 2})
    with pytest.raises(ValueError, match="unknown config network keys: depht"):
        TrainConfig.load(bad)
    assert cli_main(["train", str(bad), "--out", str(tmp_path / "run")]) == 1


def test_loss_settings_are_checked_up_front(tmp_path, dataset):
    """An unknown or bad ``loss`` setting is refused when the config is read, not mid-run."""
    from chimerax.deepssetracer.train.config import TrainConfig

    typo = _config(tmp_path, dataset, steps=1, loss={"name": "FL_DL", "class_weight": [1, 2, 1]})
    with pytest.raises(ValueError, match="unknown config loss keys: class_weight "):
        TrainConfig.load(typo)
    nameless = _config(tmp_path, dataset, steps=1, loss={"gamma": 2.0})
    with pytest.raises(ValueError, match="config loss needs a name"):
        TrainConfig.load(nameless)
    bad = _config(tmp_path, dataset, steps=1, loss={"name": "FL_DL", "class_weights": [1, 2]})
    with pytest.raises(ValueError, match="three positive"):
        TrainConfig.load(bad)
    good = _config(tmp_path, dataset, steps=1,
                   loss={"name": "FL_DL", "class_weights": [1, 2, 1], "focal_weight": 2.0})
    assert TrainConfig.load(good).make_loss().weights == (2.0, 1.0)


def test_unknown_keys_have_one_message_form():
    from chimerax.deepssetracer.train.config import TrainConfig

    for d, where in [({"data": "d", "stesp": 3}, "config"),
                     ({"data": "d", "network": {"bsae": 8}}, "config network"),
                     ({"data": "d", "loss": {"name": "FL", "gama": 2}}, "config loss"),
                     ({"data": "d", "context": {"margn": 8}}, "config context")]:
        with pytest.raises(ValueError, match=rf"^unknown {where} keys: \w+ \(known: "):
            TrainConfig.from_dict(d)
    assert TrainConfig.from_dict({"data": "d", "comment": "why"}).data == "d"


def test_gamma_has_one_default():
    from chimerax.deepssetracer.train import losses
    from chimerax.deepssetracer.train.config import TrainConfig

    cfg = TrainConfig.from_dict({"data": "d", "loss": {"name": "FL"}})
    assert cfg.gamma == losses.DEFAULT_GAMMA == TrainConfig(data="d").loss["gamma"]
    assert losses.make_loss("FL").gamma == losses.DEFAULT_GAMMA


def test_checkpoint_keys_are_unchanged(tmp_path, dataset):
    """A run started before the trainer's split resumes: checkpoint.pt keeps its keys."""
    run = tmp_path / "run"
    assert cli_main(["train", str(_config(tmp_path, dataset, steps=2)), "--out", str(run),
                     "--device", "cpu"]) == 0
    s = torch.load(run / "checkpoint.pt", weights_only=False)
    assert set(s) == {"step", "model", "optimizer", "scheduler", "history", "ema", "config",
                      "rng"}
    assert set(s["rng"]) == {"numpy_data", "numpy", "python", "torch", "cuda"}
    assert set(torch.load(run / "best.pt", weights_only=False)) == {"model", "step", "score",
                                                                     "config"}
