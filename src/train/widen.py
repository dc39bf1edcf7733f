"""Start a wider U-Net from a narrower one's weights, computing the same function.

More channels in the coarse levels cost little at inference (they run on 1/64 and 1/512 of
the voxels) but training them from scratch costs sessions. Widening keeps every trained
weight: each old tensor goes into the leading slice of the new one, the new channels keep their
random incoming weights, and every weight *from* a new channel into an old one is zero, so the
widened network's output equals the old one's until training moves those zeros (Net2Net's
function-preserving growth, with zero fan-out instead of split units).

The one layout that is not a leading slice is a merge block's first convolution: its input is
``cat([up(x), skip])``, so old input ``j`` maps to ``j`` below the old width and to
``new width + (j - old width)`` above it.
"""

from __future__ import annotations

import re

import torch

from ..model.unet import UNet3D

_MERGE_FIRST = re.compile(r"^merge\.(\d+)\.0\.weight$")
_TRANSPOSED = re.compile(r"^up\.\d+\.weight$")  # ConvTranspose3d: [in, out, k, k, k]


def _input_index(key: str, old_in: int, new_in: int) -> torch.Tensor:
    """Where each old input channel of ``key``'s weight sits among the new inputs."""
    j = torch.arange(old_in)
    if _MERGE_FIRST.match(key):
        half_old, half_new = old_in // 2, new_in // 2
        return torch.where(j < half_old, j, j - half_old + half_new)
    return j


def widen_into(net: UNet3D, old: dict[str, torch.Tensor]) -> None:
    """Load the narrower state dict ``old`` into ``net`` (same depth, widths >= old ones).

    Raises `ValueError` when a tensor is missing, or larger than or not shaped like its
    counterpart in ``net``.
    """
    new = net.state_dict()
    missing = sorted(set(new) ^ set(old))
    if missing:
        raise ValueError(f"cannot widen: the state dicts differ in {', '.join(missing[:3])}")
    out: dict[str, torch.Tensor] = {}
    for key, n in new.items():
        o = old[key]
        if o.ndim != n.ndim or any(a > b for a, b in zip(o.shape, n.shape)):
            raise ValueError(f"cannot widen {key}: {tuple(o.shape)} does not fit in "
                             f"{tuple(n.shape)}")
        if o.ndim == 0 or o.shape == n.shape:
            out[key] = o.clone()
            continue
        t = n.clone()
        if o.ndim == 1:  # BatchNorm statistics and affine terms, biases: per output channel
            t[: o.shape[0]] = o
        else:
            oi, ii = (0, 1) if not _TRANSPOSED.match(key) else (1, 0)
            n_out, n_in = o.shape[oi], o.shape[ii]
            idx = _input_index(key, n_in, n.shape[ii])
            t = t.movedim((oi, ii), (0, 1))
            o = o.movedim((oi, ii), (0, 1))
            t[:n_out] = 0.0  # old outputs ignore the new inputs ...
            t[:n_out, idx] = o  # ... and keep their trained weights from the old ones
            t = t.movedim((0, 1), (oi, ii))
        out[key] = t
    net.load_state_dict(out)
