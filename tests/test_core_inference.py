"""ONNX Runtime behind the Network protocol, with a tiny ONNX model built in the test."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core.errors import InputError
from chimerax.deepssetracer.core.inference import Network, OnnxNetwork, load_network, softmax
from chimerax.deepssetracer.core.weights import default_weights_path, load_spec
from helpers import tiny_expected


def test_tiny_onnx_runs_any_shape_and_batch(tiny_onnx):
    net, spec = load_network(tiny_onnx(a=1.5), device="cpu", threads=1)
    assert isinstance(net, Network) and net.device == "cpu"
    x = np.random.default_rng(0).standard_normal((2, 1, 16, 32, 8)).astype(np.float32)
    logits = net(x)
    assert logits.shape == (2, 3, 16, 32, 8)
    np.testing.assert_allclose(logits[:, 0], 1.5 * x[:, 0], rtol=1e-6)
    np.testing.assert_allclose(logits[:, 1], -1.5 * x[:, 0], rtol=1e-6)
    np.testing.assert_array_equal(logits[:, 2], 0)
    p = softmax(logits.copy())
    h, s = tiny_expected(x[:, 0], a=1.5)
    np.testing.assert_allclose(p[:, 0], h, rtol=1e-5)
    np.testing.assert_allclose(p[:, 1], s, rtol=1e-5)


def test_softmax_is_stable_and_sums_to_one():
    logits = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]], np.float32).T[None]
    p = softmax(logits.copy(), axis=1)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    assert p[0, 0, 0] == pytest.approx(1.0)


def test_auto_device_falls_back_to_cpu(tiny_onnx):
    import onnxruntime as ort

    net, _ = load_network(tiny_onnx(), device="auto")
    has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    assert net.device == ("cuda" if has_cuda else "cpu")


def test_cuda_without_provider_is_a_clear_error(tiny_onnx):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    with pytest.raises(InputError, match="no CUDA provider"):
        load_network(tiny_onnx(), device="cuda")


def test_bad_arguments(tiny_onnx):
    path = tiny_onnx()
    spec = load_spec(path)
    with pytest.raises(ValueError, match="device"):
        OnnxNetwork(path, spec, device="tpu")
    with pytest.raises(ValueError, match="threads"):
        OnnxNetwork(path, spec, threads=0)


def test_not_an_onnx_file(tiny_onnx):
    path = tiny_onnx()
    spec = load_spec(path)
    path.write_bytes(b"garbage")
    with pytest.raises(InputError, match="cannot load the ONNX model"):
        OnnxNetwork(path, spec)


def test_wrong_tensor_names(tiny_onnx):
    path = tiny_onnx()
    spec = load_spec(path)
    spec.input_name = "map"
    with pytest.raises(InputError, match="sidecar names"):
        OnnxNetwork(path, spec)


def test_missing_weights(tmp_path):
    with pytest.raises(InputError, match="weights file not found"):
        load_network(tmp_path / "none.onnx")
    if not default_weights_path().is_file():
        with pytest.raises(InputError, match="no trained weights"):
            load_network()


# --- issue 15: a graph that cannot serve is refused at load; run failures are one line --------


@pytest.mark.parametrize("kw, match", [
    ({"input_dims": [1, 1, 16, 16, 16]}, r"fixed shape \[1, 1, 16, 16, 16\]"),
    ({"input_dims": ["N", 1, "H", "W"]}, r"5-D \[N, 1, D, H, W\] tensor is needed"),
    ({"channels": 2}, "has 2 channels; 3 are needed"),
])
def test_wrong_signatures_are_refused_at_load(tiny_onnx, kw, match):
    with pytest.raises(InputError, match=match):
        load_network(tiny_onnx(**kw), device="cpu")


def test_pooled_output_is_one_line(tiny_onnx):
    net, _ = load_network(tiny_onnx(pool=True), device="cpu")
    with pytest.raises(InputError, match=r"shape \[1, 3, 8, 8, 8\] for input \[1, 1, 16, 16, 16\]"):
        net(np.zeros((1, 1, 16, 16, 16), np.float32))


def test_nan_logits_are_refused(tiny_onnx):
    net, _ = load_network(tiny_onnx(a=float("nan")), device="cpu")
    with pytest.raises(InputError, match="NaN or Inf logits .*weights are broken"):
        net(np.ones((1, 1, 16, 16, 16), np.float32))


def test_onnxruntime_failures_become_one_line(tiny_onnx, monkeypatch):
    import onnxruntime as ort

    net, _ = load_network(tiny_onnx(), device="cpu")
    x = np.zeros((1, 1, 16, 16, 16), np.float32)
    for text, error in (("Non-zero status code returned while running Conv node. "
                         "std::bad_alloc", MemoryError),
                        ("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : bad\nsecond line",
                         InputError)):
        def fail(*args, text=text, **kw):
            raise RuntimeError(text)

        monkeypatch.setattr(ort.InferenceSession, "run", fail)
        with pytest.raises(error) as err:
            net(x)
        assert "\n" not in str(err.value)
