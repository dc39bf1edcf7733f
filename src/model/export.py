"""Export a trained U-Net to ONNX (opset 17) with its JSON sidecar, then check parity.

What ships is the ONNX file plus the sidecar (architecture.md, "Weights sidecar"): the
preprocessing facts travel with the weights, so inference never needs torch or the config.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core.atomic import atomic_path
from ..core.classes import NAMES
from ..core.weights import ModelSpec, sha256_of, sidecar_path
from .unet import UNet3D, count_parameters

log = logging.getLogger(__name__)

INPUT_NAME = "density"
OUTPUT_NAME = "logits"
OPSET = 17


def export_onnx(net: UNet3D, path: Path | str) -> Path:
    """Write ``net`` (in eval mode, BatchNorm folded by the exporter) as ONNX at ``path``.

    Input ``density`` [N, 1, D, H, W] and output ``logits`` [N, 3, D, H, W], with N, D, H, W
    dynamic (D, H, W multiples of ``net.size_multiple``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = net.cpu().eval()
    side = 2 * net.size_multiple
    dummy = torch.zeros(1, 1, side, side, side)
    axes = {0: "n", 2: "d", 3: "h", 4: "w"}
    with atomic_path(path, suffix=".onnx") as tmp, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about the shape checks in forward()
        torch.onnx.export(net, dummy, tmp, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes},
                          opset_version=OPSET, do_constant_folding=True, dynamo=False)
    return path


def check_parity(net: UNet3D, onnx_path: Path | str, side: int | None = None,
                 seed: int = 0) -> float:
    """Max absolute logit difference between torch and onnxruntime on a random box."""
    import onnxruntime as ort

    net = net.cpu().eval()
    side = side or 2 * net.size_multiple
    x = np.random.default_rng(seed).standard_normal((1, 1, side, side + net.size_multiple, side),
                                                    dtype=np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    out = sess.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
    return float(np.abs(out - ref).max())


def build_spec(net: UNet3D, onnx_path: Path | None, normalization: dict[str, Any],
               tile_size: int, training: dict[str, Any], voxel_size: float = 1.0) -> ModelSpec:
    """The sidecar of ``net`` (exported at ``onnx_path``; None: not exported yet, no sha256).

    ``voxel_size`` is the grid (Å) the network was trained on; predict resamples maps to it.
    """
    spec = ModelSpec(
        onnx=onnx_path.name if onnx_path else "",
        onnx_sha256=sha256_of(onnx_path) if onnx_path else "",
        voxel_size=float(voxel_size),
        normalization=dict(normalization),
        tile_size=int(tile_size),
        size_multiple=int(net.size_multiple),
        classes=list(NAMES),
        input_name=INPUT_NAME,
        output_name=OUTPUT_NAME,
        network={"name": "unet3d", "base": net.base, "depth": net.depth, "widths": net.widths,
                 "params": count_parameters(net)},
        training=dict(training),
    )
    spec.check()
    return spec


def export_with_sidecar(net: UNet3D, onnx_path: Path | str, normalization: dict[str, Any],
                        tile_size: int, training: dict[str, Any], tol: float = 1e-4,
                        voxel_size: float = 1.0) -> Path:
    """Export, verify parity with torch (``tol`` max abs logit difference), write the sidecar.

    Returns the sidecar path (``onnx_path`` with ``.json``).
    """
    onnx_path = export_onnx(net, onnx_path)
    diff = check_parity(net, onnx_path)
    if diff > tol:
        raise RuntimeError(f"{onnx_path}: ONNX logits differ from torch by {diff:.2e} > {tol:.0e}")
    json_path = build_spec(net, onnx_path, normalization, tile_size, training, voxel_size).save(
        sidecar_path(onnx_path))
    log.info("exported %s (parity %.1e) and %s", onnx_path, diff, json_path.name)
    return json_path
