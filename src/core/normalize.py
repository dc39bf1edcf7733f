"""The one global intensity normalisation, named in the weights sidecar.

Training imports this same function, so the network sees the same statistics at both times.
It is applied once to the whole map on the model grid, never per tile (per-tile statistics
made tile borders visible in DeepSSETracer 1.1).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

METHODS = ("zscore",)


def normalize(data: np.ndarray, params: Mapping[str, object]) -> np.ndarray:
    """Normalise a density array as the sidecar's ``normalization`` entry says.

    Args:
        data: any-shape density array.
        params: ``{"method": "zscore", "clip": [lo, hi]}``. ``zscore`` subtracts the mean and
            divides by the standard deviation of the whole array; ``clip`` (optional, default
            none) then limits the values to ``[lo, hi]`` standard deviations.

    Returns:
        float32 array of the same shape.

    Raises:
        ValueError: unknown method, bad clip, or a constant array.
    """
    method = params.get("method")
    if method not in METHODS:
        raise ValueError(f"unknown normalization method {method!r}; known: {', '.join(METHODS)}")
    mean = float(np.mean(data, dtype=np.float64))
    std = float(np.std(data, dtype=np.float64))
    if not std > 0:
        raise ValueError("cannot z-score a constant array")
    out = (data.astype(np.float32) - np.float32(mean)) / np.float32(std)
    clip = params.get("clip")
    if clip is not None:
        lo, hi = check_clip(clip)
        np.clip(out, lo, hi, out=out)
    return out


def check_clip(clip: object) -> tuple[float, float]:
    """Return ``(lo, hi)`` from a sidecar clip entry, or raise ValueError."""
    try:
        lo, hi = (float(c) for c in clip)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"clip must be [lo, hi], got {clip!r}") from None
    if not lo < hi:
        raise ValueError(f"clip must have lo < hi, got {clip!r}")
    return lo, hi
