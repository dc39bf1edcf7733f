"""ONNX export: parity with torch, dynamic sizes, a sidecar the core accepts."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from chimerax.deepssetracer.core.inference import OnnxNetwork  # noqa: E402
from chimerax.deepssetracer.core.weights import load_spec  # noqa: E402
from chimerax.deepssetracer.model.export import check_parity, export_with_sidecar  # noqa: E402
from chimerax.deepssetracer.model.unet import UNet3D  # noqa: E402


def _trained_looking(base: int = 4, depth: int = 3) -> UNet3D:
    """A net whose BatchNorm statistics are not the identity, so folding them is tested."""
    torch.manual_seed(0)
    net = UNet3D(base, depth)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return net.eval()


def test_export_parity_and_sidecar(tmp_path):
    net = _trained_looking()
    training = {"loss": "FL_DL", "gamma": 2.0, "learning_rate": 1e-3, "steps": 0}
    json_path = export_with_sidecar(net, tmp_path / "w.onnx", {"method": "zscore"}, 32, training)
    onnx_path = tmp_path / "w.onnx"
    assert json_path == tmp_path / "w.json"
    assert check_parity(net, onnx_path, side=16, seed=1) <= 1e-4
    spec = load_spec(onnx_path)  # checks the sha256 too
    assert spec.size_multiple == 4 and spec.tile_size == 32
    assert spec.network == {"name": "unet3d", "base": 4, "depth": 3, "widths": [4, 8, 16],
                            "params": sum(p.numel() for p in net.parameters())}
    assert spec.training["loss"] == "FL_DL"

    # dynamic batch and sides: a non-cubic batch of two through the core's runtime
    x = np.random.default_rng(2).standard_normal((2, 1, 8, 12, 16), dtype=np.float32)
    out = OnnxNetwork(onnx_path, spec, device="cpu", threads=1)(x)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    assert out.shape == (2, 3, 8, 12, 16)
    assert np.abs(out - ref).max() <= 1e-4


def test_bad_tile_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match="tile_size"):
        export_with_sidecar(_trained_looking(), tmp_path / "w.onnx", {"method": "zscore"}, 30, {})
