"""A soup is the weighted mean of its parts' weights, exported as a run is."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from chimerax.deepssetracer.model.unet import UNet3D  # noqa: E402
from chimerax.deepssetracer.train.soup import average, make_soup, parse_part  # noqa: E402

CONFIG = {"data": "nowhere", "network": {"base": 4, "depth": 2}, "crop": 16, "tile_size": 16,
          "voxel_size": 2.0}


def _checkpoint(tmp_path: Path, name: str, seed: int, ema: bool = False) -> Path:
    torch.manual_seed(seed)
    state = UNet3D(**CONFIG["network"]).state_dict()
    saved = {"model": state, "step": 5, "score": 0.4, "config": CONFIG}
    if ema:  # the EMA is what a run validates and exports; the raw weights are not
        saved = {**saved, "model": {k: v * 0 for k, v in state.items()}, "ema": state}
    path = tmp_path / name
    torch.save(saved, path)
    return path


def test_parts_are_averaged_by_their_relative_weight(tmp_path):
    a, b = _checkpoint(tmp_path, "a.pt", 1), _checkpoint(tmp_path, "b.pt", 2, ema=True)
    sa = torch.load(a, weights_only=False)["model"]
    sb = torch.load(b, weights_only=False)["ema"]
    mix, config = average([(a, 3.0), (b, 1.0)])
    assert config == CONFIG
    for k, v in mix.items():
        if v.is_floating_point():
            np.testing.assert_allclose(v.numpy(), (0.75 * sa[k] + 0.25 * sb[k]).numpy(),
                                       rtol=1e-6, atol=1e-7)
        else:  # BatchNorm's batch count: the first part's
            assert torch.equal(v, sa[k])
    alone, _ = average([(a, 5.0)])
    assert all(torch.equal(alone[k], sa[k]) for k in sa)


def test_other_networks_and_bad_weights_are_refused(tmp_path):
    a = _checkpoint(tmp_path, "a.pt", 1)
    torch.manual_seed(0)
    other = tmp_path / "wide.pt"
    torch.save({"model": UNet3D(base=8, depth=2).state_dict(), "config": CONFIG}, other)
    with pytest.raises(ValueError, match="not the same network"):
        average([(a, 1.0), (other, 1.0)])
    with pytest.raises(ValueError, match="at least one"):
        average([])
    with pytest.raises(ValueError, match="must be > 0"):
        parse_part("a.pt:0")
    assert parse_part("a.pt") == (Path("a.pt"), 1.0)
    assert parse_part("runs/x/best.pt:2.5") == (Path("runs/x/best.pt"), 2.5)


def test_a_soup_is_exported_with_its_recipe(tmp_path):
    pytest.importorskip("onnx")
    a, b = _checkpoint(tmp_path, "a.pt", 1), _checkpoint(tmp_path, "b.pt", 2)
    sidecar = make_soup([(a, 1.0), (b, 1.0)], tmp_path / "soup")
    assert (tmp_path / "soup" / "deepssetracer.onnx").is_file()
    training = json.loads(Path(sidecar).read_text())["training"]
    assert training["data"] == "weight average (soup) of 0.5 x a.pt + 0.5 x b.pt"
