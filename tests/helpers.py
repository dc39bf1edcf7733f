"""Test helpers other test modules import: a tiny ONNX "network" with a sidecar, small maps.

`write_tiny_onnx` builds, with the onnx helper API (a test dependency, not a runtime one), a
per-voxel model from ``density [N, 1, D, H, W]`` to ``logits [N, 3, D, H, W]``:
helix = a * x, sheet = -a * x, background = 0. Its output is a pure function of each voxel's
(normalised) value, so tiling and blending must not change it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from chimerax.deepssetracer.core.grid import DensityMap
from chimerax.deepssetracer.core.weights import ModelSpec, sha256_of


def write_tiny_onnx(dirpath: str | Path, *, a: float = 2.0, name: str = "tiny",
                    voxel_size: float = 1.0, tile_size: int = 32, size_multiple: int = 16,
                    normalization: dict | None = None, input_dims: list | None = None,
                    channels: int = 3, pool: bool = False) -> Path:
    """Write ``<dirpath>/<name>.onnx`` and its sidecar ``<name>.json``; return the .onnx path.

    `input_dims` (default ``[N, 1, D, H, W]``), `channels` (the first 1-3 of helix, sheet,
    background) and `pool` (a 2x max pool first, halving D, H, W) make broken networks.
    """
    import onnx
    from onnx import TensorProto, helper

    dirpath = Path(dirpath)
    dirpath.mkdir(parents=True, exist_ok=True)
    dims = input_dims or ["N", 1, "D", "H", "W"]
    x = helper.make_tensor_value_info("density", TensorProto.FLOAT, dims)
    out_dims = ["N", channels, *(["d", "h", "w"] if pool else dims[2:])]
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, out_dims)
    consts = [helper.make_tensor(n, TensorProto.FLOAT, [], [v])
              for n, v in (("a", a), ("minus_a", -a), ("zero", 0.0))]
    src = "pooled" if pool else "density"
    nodes = [helper.make_node("MaxPool", ["density"], ["pooled"], kernel_shape=[2, 2, 2],
                              strides=[2, 2, 2])] if pool else []
    nodes += [
        helper.make_node("Mul", [src, "a"], ["helix"]),
        helper.make_node("Mul", [src, "minus_a"], ["sheet"]),
        helper.make_node("Mul", [src, "zero"], ["background"]),
        helper.make_node("Concat", ["helix", "sheet", "background"][:channels], ["logits"],
                         axis=1),
    ]
    graph = helper.make_graph(nodes, "tiny", [x], [y], initializer=consts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx_path = dirpath / f"{name}.onnx"
    onnx.save(model, onnx_path)
    spec = ModelSpec(onnx=onnx_path.name, onnx_sha256=sha256_of(onnx_path),
                     voxel_size=voxel_size,
                     normalization=normalization or {"method": "zscore", "clip": [-4.0, 8.0]},
                     tile_size=tile_size, size_multiple=size_multiple,
                     network={"name": "tiny", "a": a})
    spec.save(onnx_path.with_suffix(".json"))
    return onnx_path


def tiny_expected(x: np.ndarray, a: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Helix and sheet probabilities of the tiny model for normalised values `x`."""
    logits = np.stack([a * x, -a * x, np.zeros_like(x)])
    e = np.exp(logits - logits.max(axis=0))
    p = e / e.sum(axis=0)
    return p[0], p[1]


def blob_map(shape=(24, 20, 28), voxel_size=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0),
             seed: int = 0) -> DensityMap:
    """A smooth random [z, y, x] density: a few Gaussian blobs plus a little noise, the blobs
    off the faces (a molecule in its box)."""
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in shape], indexing="ij")
    data = 0.05 * rng.standard_normal(shape).astype(np.float32)
    for _ in range(6):
        c = [rng.uniform(0.3 * n, 0.7 * n) for n in shape]  # inside the box, off its faces
        data += np.exp(-((zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2) / 18.0)
    return DensityMap(data.astype(np.float32), voxel_size, origin)


def write_mrc(path: str | Path, dmap: DensityMap, *, axes=(1, 2, 3), start_xyz=(0, 0, 0),
              header_origin=(0.0, 0.0, 0.0)) -> Path:
    """Write `dmap` with file axes ``MAPC, MAPR, MAPS = axes`` and the given NSTART and ORIGIN.

    Written independently of `mapio.write_map`, so reading it back tests `read_map`'s rules.
    The position the header means is up to the reader's rule, not `dmap.origin`.
    """
    import mrcfile

    # file array [section, row, column]; array axis d holds file axis 2 - d, whose spatial
    # axis (0 x, 1 y, 2 z) is axes[2 - d] - 1, which is axis 2 - that of the [z, y, x] array.
    order = tuple(2 - (axes[2 - d] - 1) for d in range(3))
    arr = np.ascontiguousarray(dmap.data.transpose(order), dtype=np.float32)
    nx, ny, nz = dmap.shape_xyz
    with mrcfile.new(path, overwrite=True) as m:
        m.set_data(arr)
        h = m.header
        h.mapc, h.mapr, h.maps = axes
        h.mx, h.my, h.mz = nx, ny, nz
        h.cella = tuple(v * n for v, n in zip(dmap.voxel_size, (nx, ny, nz)))
        h.nxstart, h.nystart, h.nzstart = (int(start_xyz[a - 1]) for a in axes)
        h.origin = tuple(header_origin)
    return Path(path)
