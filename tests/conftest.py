"""Shared fixtures: the data folder beside the checkout, the shipped network, and a tiny ONNX
model factory."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/helpers.py

from helpers import write_tiny_onnx  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout (real maps); the test skips when it is absent."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"shared data not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def shipped():
    """The shipped weights as ``(network, spec)`` on 2 threads; the test skips without them."""
    from chimerax.deepssetracer.core.inference import load_network
    from chimerax.deepssetracer.core.weights import default_weights_path

    if not default_weights_path().is_file():
        pytest.skip("no shipped weights")
    return load_network(None, device="cpu", threads=2)


@pytest.fixture
def tiny_onnx(tmp_path):
    """Factory: ``tiny_onnx(**kw) -> Path`` of an .onnx (+ .json sidecar) in a temporary folder.

    Keywords are those of `helpers.write_tiny_onnx` (a, voxel_size, tile_size, ...).
    """

    def make(**kw) -> Path:
        return write_tiny_onnx(tmp_path / "weights", **kw)

    return make
