"""Reading the dataset cache (docs/data.md, "Format"): ``index.json`` and one npz per box.

`train.dataset` writes it; the trainer and `deepssetracer evaluate` read it through here, so
scoring a dataset needs no torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def read_index(data_dir: Path) -> dict[str, Any]:
    index = data_dir / "index.json"
    try:
        return json.loads(index.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{index}: cannot read the dataset index ({e})") from e


def split_entries(data_dir: Path, split: str | None) -> list[dict[str, Any]]:
    """Index entries of ``split`` (all entries when ``split`` is None)."""
    boxes = read_index(data_dir).get("boxes", [])
    return [b for b in boxes if split is None or b.get("split") == split]


def load_npz(data_dir: Path, entry: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A box's density (float32) and labels (uint8)."""
    with np.load(data_dir / entry["file"]) as z:
        return z["density"].astype(np.float32), z["labels"].astype(np.uint8)
