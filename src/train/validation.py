"""Validation during training: whole boxes through `core.predict.predict_map` (the shipping
predict path), the torch module behind a `core.inference.Network` adapter, scored by voxel F1."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core import metrics
from ..core.grid import DensityMap
from ..core.predict import predict_map
from ..core.weights import ModelSpec
from .cache import load_npz, split_entries
from .torchnet import TorchNetwork


@dataclass
class ValBox:
    name: str
    dmap: DensityMap
    labels: np.ndarray


def load_val_boxes(data_dir: Path, split: str | None, limit: int | None) -> list[ValBox]:
    """The listed boxes with their truth; unlabelled ones (a consistency pool's maps with no
    model, `dataset.prepare_real`) have none to score and are left out."""
    entries = [e for e in split_entries(data_dir, split) if e.get("labelled", True)][:limit]
    out = []
    for e in entries:
        density, labels = load_npz(data_dir, e)
        vs = float(e.get("voxel_size", 1.0))
        vs3 = tuple(e["voxel_size"]) if isinstance(e.get("voxel_size"), list) else (vs, vs, vs)
        origin = tuple(e.get("origin", (0.0, 0.0, 0.0)))
        out.append(ValBox(e.get("name", e["file"]), DensityMap(density, vs3, origin), labels))
    return out


def validate(net: torch.nn.Module, device: torch.device, spec: ModelSpec,
             boxes: list[ValBox]) -> dict[str, Any]:
    """Weighted voxel F1 (helix, sheet, their mean) over ``boxes`` via predict_map."""
    if not boxes:
        return {}
    adapter = TorchNetwork(net, device)
    per_map = {"helix": [], "sheet": []}
    for b in boxes:
        pred = predict_map(b.dmap, adapter, spec, molecule_check=False).labels()
        for cls, c in metrics.voxel_counts(pred, b.labels).items():
            per_map[cls].append(c)
    out = {cls: metrics.weighted_f1(cs) for cls, cs in per_map.items()}
    out["n_true"] = {cls: sum(c.n_true for c in cs) for cls, cs in per_map.items()}
    out["mean"] = float(np.nanmean([out["helix"], out["sheet"]]))
    return out
