"""The weights sidecar: loading, field checks, sha256 of the ONNX file."""

from __future__ import annotations

import json

import pytest
from chimerax.deepssetracer.core.errors import InputError
from chimerax.deepssetracer.core.weights import (
    ModelSpec,
    default_weights_path,
    load_spec,
    sidecar_path,
)


def test_load_round_trip(tiny_onnx):
    onnx_path = tiny_onnx(voxel_size=1.5, tile_size=48)
    spec = load_spec(onnx_path)
    assert spec.voxel_size == 1.5 and spec.tile_size == 48 and spec.size_multiple == 16
    assert spec.classes == ["helix", "sheet", "background"]
    assert spec.path == sidecar_path(onnx_path)
    again = ModelSpec.load(spec.save(onnx_path.parent / "copy.json"))
    assert again == spec


def test_sha256_mismatch_is_refused(tiny_onnx):
    onnx_path = tiny_onnx()
    onnx_path.write_bytes(onnx_path.read_bytes() + b"\0")
    with pytest.raises(InputError, match="sha256"):
        load_spec(onnx_path)


@pytest.mark.parametrize("change, match", [
    ({"classes": ["sheet", "helix", "background"]}, "classes"),
    ({"voxel_size": -1}, "voxel_size"),
    ({"tile_size": 40}, "multiple"),
    ({"tile_size": 0}, "tile_size"),
    ({"normalization": {"method": "robust"}}, "normalization method"),
    ({"format": 2}, "format"),
    ({"onnx_sha256": None, "voxel_size": None, "__drop__": "voxel_size"}, "lacks voxel_size"),
])
def test_invalid_fields_are_named(tiny_onnx, change, match):
    json_path = sidecar_path(tiny_onnx())
    raw = json.loads(json_path.read_text())
    drop = change.pop("__drop__", None)
    raw.update(change)
    if drop:
        raw.pop(drop)
    json_path.write_text(json.dumps(raw))
    with pytest.raises(InputError, match=match) as err:
        ModelSpec.load(json_path)
    assert str(err.value).startswith(str(json_path))


def test_missing_and_broken_sidecar(tmp_path):
    with pytest.raises(InputError, match="sidecar not found"):
        ModelSpec.load(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="JSON"):
        ModelSpec.load(tmp_path / "bad.json")


def test_default_weights_live_in_the_package():
    path = default_weights_path()
    assert path.name == "deepssetracer.onnx" and path.parent.name == "weights"
    assert (path.parent.parent / "core" / "weights.py").is_file()
