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


def _pad_widths(shape: Sequence[int], steps: Sequence[float],
                resolution: float) -> list[tuple[int, int]]:
    """Mirrored padding a side of each axis (steps in the array's own axis order): a
    resolution's reach, and past `FAST_FROM` evenly more, up to a length FFT is fast for."""
    widths = []
    for n, d in zip(shape, steps):
        p = min(n - 1, math.ceil(resolution / d))
        extra = fast_length(n + 2 * p) - n - 2 * p if n + 2 * p > FAST_FROM else 0
        lo, hi = p + extra // 2, p + extra - extra // 2
        widths.append((lo, hi) if hi <= n - 1 else (p, p))
    return widths


def lowpass(data: np.ndarray, voxel_size: Sequence[float], resolution: float,
            edge: float = EDGE, *, scale: float = 1.0) -> np.ndarray:
    """``data`` ([z, y, x], steps ``voxel_size`` (x, y, z) in Å) without detail finer than
    ``resolution`` Å, divided by ``scale``; float32, same shape, mean kept.

    The 3-D transform runs one axis at a time, each slab by slab, and keeps only the
    frequencies the filter passes before the next axis: a 6 Å filter of a 1 Å map transforms
    the second axis on a third of the data and the third on a ninth, and no temporary is as
    large as the map (the result equals the whole padded map's ``rfftn``, filter, ``irfftn``).

    Raises:
        ValueError: ``resolution`` is finer than the grid can hold (twice its coarsest step).
    """
    check_resolution(resolution, voxel_size)
    steps = [float(v) for v in voxel_size[::-1]]  # [z, y, x] order
    widths = _pad_widths(data.shape, steps, resolution)
    lengths = [n + lo + hi for n, (lo, hi) in zip(data.shape, widths)]
    cutoff = 1.0 / resolution
    freqs = [np.fft.fftfreq(lengths[0], steps[0]), np.fft.fftfreq(lengths[1], steps[1]),
             np.fft.rfftfreq(lengths[2], steps[2])]
    keep = [np.flatnonzero(np.abs(f) <= cutoff) for f in freqs]
    nz, ny, _ = data.shape
    rows = max(1, SLAB_VOXELS // max(1, ny * lengths[2]))

    def pad(part: np.ndarray, axis: int) -> np.ndarray:
        width = [(0, 0)] * part.ndim
        width[axis] = widths[axis]
        return np.pad(part, width, mode="reflect")

    # forward: x (rfft) and y slab by slab over z, each cut to the kept frequencies; then z
    spec = np.empty((nz, len(keep[1]), len(keep[2])), np.complex64)
    for z0 in range(0, nz, rows):
        part = np.asarray(data[z0:z0 + rows], dtype=np.float32)
        if scale != 1.0:
            part = part / np.float32(scale)
        f = np.fft.rfft(pad(part, 2), axis=2)[:, :, keep[2]]
        spec[z0:z0 + rows] = np.fft.fft(pad(f, 1), axis=1)[:, keep[1], :]
    spec = np.fft.fft(pad(spec, 0), axis=0)[keep[0]]
    s2 = (freqs[0][keep[0], None, None] ** 2 + freqs[1][None, keep[1], None] ** 2
          + freqs[2][None, None, keep[2]] ** 2)
    spec *= raised_cosine(np.sqrt(s2).astype(np.float32), cutoff, edge)
    # inverse: z whole (the cut spectrum is small), then y and x slab by slab
    full = np.zeros((lengths[0],) + spec.shape[1:], np.complex64)
    full[keep[0]] = spec
    spec = np.fft.ifft(full, axis=0)[widths[0][0]:widths[0][0] + nz].astype(np.complex64)
    del full
    out = np.empty(data.shape, np.float32)
    for z0 in range(0, nz, rows):
        part = spec[z0:z0 + rows]
        full = np.zeros((part.shape[0], lengths[1], part.shape[2]), np.complex64)
        full[:, keep[1]] = part
        lines = np.fft.ifft(full, axis=1)[:, widths[1][0]:widths[1][0] + ny]
        full = np.zeros(lines.shape[:2] + (lengths[2] // 2 + 1,), np.complex64)
        full[:, :, keep[2]] = lines
        x = np.fft.irfft(full, lengths[2], axis=2)
        out[z0:z0 + rows] = x[:, :, widths[2][0]:widths[2][0] + data.shape[2]]
    return out


SLAB_VOXELS = 1 << 21  # voxels of a padded slab transformed at once (temporaries ~50 MB)
