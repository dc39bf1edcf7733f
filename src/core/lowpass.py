"""Fourier low-pass filtering of a map to a chosen resolution (numpy only).

The network learnt 5–10 Å maps. A sharper map (3–4 Å, side chains visible) looks unlike
anything it saw and is labelled poorly; filtered to 6–8 Å it is labelled as well as a map
of that resolution. The same filter makes the low-passed real maps of ``evaluate --lowpass``.

The map is padded by mirroring before the transform so that opposite faces, which FFT treats
as neighbours, do not bleed into each other.

Hand-written on numpy.fft, not scipy.ndimage or a filtering package: the runtime needs only
numpy, mrcfile and onnxruntime.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

EDGE = 0.1  # relative width of the raised-cosine roll-off below the cutoff


def raised_cosine(s: np.ndarray, cutoff: float, edge: float = EDGE) -> np.ndarray:
    """1 below ``cutoff × (1 - edge)``, 0 above ``cutoff``, a raised cosine between (1/Å)."""
    lo = cutoff * (1.0 - edge)
    t = np.clip((s - lo) / max(cutoff - lo, 1e-6), 0.0, 1.0)
    return (0.5 * (1.0 + np.cos(np.pi * t))).astype(np.float32)


def nyquist_resolution(voxel_size: Sequence[float]) -> float:
    """The finest resolution a grid holds (Å): twice its coarsest step."""
    return 2.0 * max(float(v) for v in voxel_size)


COARSEST = 15.0  # Å: a low-pass beyond this leaves no secondary structure to find


def check_resolution(resolution: float, voxel_size: Sequence[float]) -> None:
    """Raise ValueError unless a grid of ``voxel_size`` (Å) can hold ``resolution`` (Å) and
    the tool can still find secondary structure at it."""
    finest = nyquist_resolution(voxel_size)
    if not resolution <= COARSEST:
        raise ValueError(f"low-pass resolution must be at most {COARSEST:g} Å (helices and "
                         f"sheets vanish beyond it), got {resolution:g}")
    if not resolution >= finest:
        raise ValueError(f"low-pass resolution must be at least {finest:g} Å (twice the "
                         f"{max(voxel_size):g} Å grid it filters), got {resolution:g}")


def frequency_grid(shape: Sequence[int],
                   voxel_size: Sequence[float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """|s| in 1/Å (float32) on the rfftn half grid of a [z, y, x] array of ``shape`` whose
    ``(x, y, z)`` steps are ``voxel_size`` Å."""
    vx, vy, vz = (float(v) for v in voxel_size)
    fz = np.fft.fftfreq(shape[0], vz)[:, None, None]
    fy = np.fft.fftfreq(shape[1], vy)[None, :, None]
    fx = np.fft.rfftfreq(shape[2], vx)[None, None, :]
    return np.sqrt(fz**2 + fy**2 + fx**2).astype(np.float32)


FAST_FROM = 128  # voxels: shorter axes keep their length (their FFT is cheap either way)


def fast_length(n: int) -> int:
    """The smallest length >= n with no prime factor above 5 (a 157-voxel FFT takes 2.5 times
    a 160-voxel one)."""
    m = max(int(n), 1)
    while True:
        k = m
        for f in (2, 3, 5):
            while k % f == 0:
                k //= f
        if k == 1:
            return m
        m += 1


def lowpass(data: np.ndarray, voxel_size: Sequence[float], resolution: float,
            edge: float = EDGE) -> np.ndarray:
    """``data`` ([z, y, x], steps ``voxel_size`` (x, y, z) in Å) without detail finer than
    ``resolution`` Å; float32, same shape, mean kept.

    Raises:
        ValueError: ``resolution`` is finer than the grid can hold (twice its coarsest step).
    """
    check_resolution(resolution, voxel_size)
    steps = [float(v) for v in voxel_size[::-1]]  # [z, y, x] order
    pads = [min(n - 1, math.ceil(resolution / d)) for n, d in zip(data.shape, steps)]
    widths = []  # mirrored a side; past FAST_FROM, evenly more up to a length FFT is fast for
    for n, p in zip(data.shape, pads):
        extra = fast_length(n + 2 * p) - n - 2 * p if n + 2 * p > FAST_FROM else 0
        lo, hi = p + extra // 2, p + extra - extra // 2
        widths.append((lo, hi) if hi <= n - 1 else (p, p))
    padded = np.pad(data.astype(np.float32, copy=False), widths, mode="reflect")
    f = np.fft.rfftn(padded)
    f *= raised_cosine(frequency_grid(padded.shape, voxel_size), 1.0 / resolution, edge)
    out = np.fft.irfftn(f, padded.shape, axes=(0, 1, 2))
    inner = tuple(slice(w[0], w[0] + n) for w, n in zip(widths, data.shape))
    return out[inner].astype(np.float32)
