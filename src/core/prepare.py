"""The map as the network sees it: every step between a user's map and the network's input.

Prediction, element tracing and training all call this module, so a fix lands once:

0. **Padding.** Face slabs that hold one exact value throughout (zero padding, the solvent of a
   masked map) carry no data. Where the molecule runs into the faces of the part that holds
   data (`data_region`), the map is a crop through the molecule that was padded: only that
   part is prepared, so its faces are continued as the molecule goes on (`predict.MARGIN`)
   and its statistics are the crop's, as they are when the user does not pad it. A masked
   map, its molecule clear of the padding, is prepared whole.
1. **Scale.** The values are divided by their largest magnitude, so no statistic below depends
   on the map's units (a map times any positive factor float32 holds gives the same answer).
2. **Outliers.** Voxels absurdly far from the rest (a corrupt 1e30) are clipped. The bounds come
   from the molecule, never from the solvent: :data:`OUTLIER_FACTOR` times the deviation from
   the median of the densest :data:`normalize.TOP_VOLUME` Å³. A masked map whose near-flat
   solvent has a spread of 1e-6 keeps its molecule whole.
3. **Low-pass and grid.** To `sharpness.AUTO_LOWPASS` (6 Å) by default, every map, so no
   estimate of the map's sharpness can switch the filter with the box; a user's resolution, or
   none. A map finer than the network's grid is filtered on its own grid before it is
   resampled (and, as every map, on the network's after): a sharpened map's amplified detail
   between the two grids' limits would otherwise fold into the 6-10 Å the network reads.
4. **Levels and checks.** The solvent and molecule levels (`normalize.density_levels`), the
   resolution estimate inside the molecule's envelope (`sharpness`) and the one-line warnings
   of `assess`. A check that doubts the map warns; it never blanks or refuses it.
5. **Normalisation** as the weights' sidecar names it.

`prepare` returns the network's input and a `Preparation`, the record of what was done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .assess import FACE_SHARE, assess_map, face_share
from .lowpass import lowpass as lowpass_filter
from .lowpass import nyquist_resolution
from .normalize import TOP_VOLUME, DensityLevels, density_levels, normalize
from .resample import resample
from .sharpness import AUTO_LOWPASS, envelope_weight, estimate_resolution
from .validate import MIN_EXTENT

AUTO = "auto"  # the ``lowpass`` argument for the default filter, `sharpness.AUTO_LOWPASS`
OUTLIER_FACTOR = 50.0  # times the densest volume's deviation: beyond it a voxel is not density
SAMPLE = 400_000  # voxels of the strided sample that decides whether the exact scan is needed
AROUND_VOXELS = 160**3  # a map read for its solvent level only is read coarser beyond this


@dataclass
class Preparation:
    """What was done to a map before the network saw it.

    Attributes:
        scale: the map was divided by this (its largest magnitude).
        clip: ``(lo, hi)`` in the map's own units the values were clipped to, or None.
        clipped: how many voxels that clip changed.
        lowpass: the resolution (Å) the map was low-passed to, or None.
        auto_lowpass: that low-pass is the default one, not asked for.
        resolution: the map's resolution as its spectrum shows it inside the molecule's
            envelope (Å), never finer than its own grid holds; None where not measured.
        levels: the solvent and molecule levels on the network's grid (scaled units).
        warnings: one-line signs that the map is wrong for the tool.
        faces: the share of the box faces' area in the molecule (`assess.face_share`; 0
            where the levels are unknown).
        region: the ``[z, y, x]`` slices of the map that were prepared (`data_region`); the
            whole map where nothing was left out.
        solvent_lift: where the solvent level of the map around it was taken (``prepare(
            solvent=...)``), how far its own mode lay above it, in molecule densities; else 0.
    """

    scale: float = 1.0
    clip: tuple[float, float] | None = None
    clipped: int = 0
    lowpass: float | None = None
    auto_lowpass: bool = False
    resolution: float | None = None
    levels: DensityLevels | None = None
    warnings: list[str] = field(default_factory=list)
    faces: float = 0.0
    region: tuple[slice, slice, slice] | None = None
    solvent_lift: float = 0.0


def data_region(data: np.ndarray, voxel_size: Sequence[float]
                ) -> tuple[slice, slice, slice]:
    """The ``[z, y, x]`` slices of the map inside its padding: the face slabs that hold
    nothing but the value of the map's corner, exactly (zero padding, a mask's solvent). A
    padded crop through the molecule is then the crop itself, not a molecule walled off by
    solvent. Each axis keeps at least `validate.MIN_EXTENT` Å. Only the padding and one slab
    a face are read."""
    corner = data[0, 0, 0]
    region = [slice(0, n) for n in data.shape]

    def constant(axis: int, i: int) -> bool:
        index = list(region)
        index[axis] = i
        return bool((data[tuple(index)] == corner).all())

    for axis, n in enumerate(data.shape):
        lo, hi = 0, n
        while lo < hi and constant(axis, lo):
            lo += 1
        while hi > lo and constant(axis, hi - 1):
            hi -= 1
        need = min(n, int(np.ceil(MIN_EXTENT / float(voxel_size[2 - axis]) - 1e-9)))
        if hi - lo < need:  # a few voxels of data: widen about them, inside the map
            lo = min(max((lo + hi - need) // 2, 0), n - need)
            hi = lo + need
        region[axis] = slice(lo, hi)
    return tuple(region)


def magnitude(data: np.ndarray) -> float:
    """The largest |value| of a finite, non-constant map (> 0)."""
    return float(max(abs(float(data.min())), abs(float(data.max()))))


def outlier_bounds(data: np.ndarray, voxel_size: Sequence[float]) -> tuple[float, float] | None:
    """``(lo, hi)`` beyond which voxels lie absurdly far from the molecule, or None if none do.

    The bounds are the median ± :data:`OUTLIER_FACTOR` times the deviation from the median of
    the :data:`normalize.TOP_VOLUME` Å³ furthest from it: the molecule's own density (or depth,
    for an inverted map). A strided sample tells whether the exact scan is needed at all.
    """
    flat = data.reshape(-1)
    n = flat.size
    k = int(min(max(TOP_VOLUME / float(np.prod(voxel_size)), 1.0), max(n // 20, 1)))
    sample = flat[:: max(1, n // SAMPLE)].astype(np.float64)
    median = float(np.median(sample))
    far = max(abs(float(flat.min()) - median), abs(float(flat.max()) - median))
    dev = np.abs(sample - median)
    ks = max(1, int(round(k * sample.size / n)))
    if far <= OUTLIER_FACTOR * float(np.partition(dev, dev.size - ks)[dev.size - ks]):
        return None  # the common case: no voxel is near the bounds, no full scan
    full = np.abs(flat.astype(np.float64) - median)
    top = float(np.partition(full, n - k)[n - k])
    del full
    if far <= OUTLIER_FACTOR * top:
        return None
    return median - OUTLIER_FACTOR * top, median + OUTLIER_FACTOR * top


def _clipped(data: np.ndarray, bounds: tuple[float, float]) -> tuple[np.ndarray, int]:
    """``(data clipped to bounds, voxels changed)``; ``data`` itself when none lie beyond."""
    lo, hi = bounds
    n = int(np.count_nonzero((data < lo) | (data > hi)))
    if not n:
        return data, 0
    return np.clip(data, lo, hi).astype(np.float32, copy=False), n


def _outlier_warning(n: int, bounds: tuple[float, float]) -> str:
    return (f"{n} voxel{'s' * (n != 1)} lie more than {OUTLIER_FACTOR:g} times the molecule's "
            f"density from the median (beyond {bounds[0]:.3g} to {bounds[1]:.3g}): outliers "
            "or a corrupt file; they were clipped, but check the map")


def effective_lowpass(lowpass: float | str | None) -> tuple[float | None, bool]:
    """``(resolution to filter to or None, is it the default)`` for a ``lowpass`` argument."""
    if lowpass == AUTO:
        return AUTO_LOWPASS, True
    return (None if lowpass is None else float(lowpass)), False


def prepare(data: np.ndarray, voxel_size: Sequence[float], model_voxel: float,
            normalization: Mapping[str, object], *, lowpass: float | str | None = AUTO,
            assess: bool = True, trim: bool = False, solvent: float | None = None
            ) -> tuple[np.ndarray, Preparation]:
    """The network's input for a map (``[z, y, x]``, steps ``voxel_size`` (x, y, z) Å) and the
    record of what was done (see the module docstring).

    Args:
        model_voxel: the network's voxel size (Å).
        normalization: the sidecar's ``normalization`` entry.
        lowpass: ``"auto"`` (the default filter), None (none) or a resolution in Å.
        assess: measure the resolution and run the checks (training boxes skip them).
        trim: where the molecule runs into the faces of the map's `data_region` (a padded
            crop through it), prepare that region only (the record's ``region``), whose grid
            the returned volume then covers; elsewhere (a masked map, its molecule clear of
            the padding) the whole map, as without.
        solvent: the solvent level in the map's own units of the larger map this one is a
            region of (`solvent_of`): the lower of it and this map's own mode is taken
            (`normalize.density_levels`); None: this map's own mode.

    Raises:
        ValueError: the normalisation cannot take the map (nothing above the solvent).
    """
    if trim:
        region = data_region(data, voxel_size)
        if any(r.stop - r.start < n for r, n in zip(region, data.shape)):
            try:
                volume, record = _prepared(data[region], voxel_size, model_voxel,
                                           normalization, lowpass, assess,
                                           "the faces of the crop inside the padding", solvent)
            except ValueError:  # the region alone cannot be prepared: the whole map is
                record = None
            if record is not None and record.faces > FACE_SHARE:  # a padded crop: the crop
                record.region = region
                return volume, record
    return _prepared(data, voxel_size, model_voxel, normalization, lowpass, assess,
                     "the box's faces", solvent)


def solvent_of(data: np.ndarray, voxel_size: Sequence[float], model_voxel: float,
               lowpass: float | str | None = AUTO) -> float | None:
    """The solvent level of a whole map, in its own units, as `prepare` finds it (its padding
    trimmed as there; None: nothing rises above it): what a region of the map is prepared with
    (``prepare(solvent=...)``), since a region crowded with protein has the protein, not the
    solvent, as its mode (on EMD-35448's crop that DeepSSETracer 1.1 ships as its sample: 0.48
    molecule densities too high, and a sixth of the crop called sheet). A map read coarsely
    for its level (`around_step`) is prepared on its own grid, not upsampled, and low-passed no
    finer than that grid holds."""
    model_voxel = max(float(model_voxel), *(float(v) for v in voxel_size))
    resolution, _ = effective_lowpass(lowpass)
    if resolution is not None:
        resolution = max(resolution, nyquist_resolution((model_voxel,) * 3))
    try:
        _, record = prepare(data, voxel_size, model_voxel, {"method": "foreground"},
                            lowpass=resolution, assess=False, trim=True)
    except ValueError:
        return None
    return record.levels.solvent * record.scale


def around_step(size: Sequence[int], voxel_size: Sequence[float],
                grid_spacing: float) -> tuple[int, ...]:
    """The step (per axis, in the order given) a whole map of ``size`` voxels is read at for
    `solvent_of`: the network's grid spacing, then coarser while more than `AROUND_VOXELS`
    would be read (a level, not a map, is wanted of it: the solvent's mode is its mean however
    the map is sampled)."""
    r = [max(1, int(grid_spacing / float(s) + 1e-6)) for s in voxel_size]
    while np.prod([-(-n // k) for n, k in zip(size, r)]) > AROUND_VOXELS:
        r = [k + 1 for k in r]
    return tuple(r)


def _prepared(data: np.ndarray, voxel_size: Sequence[float], model_voxel: float,
              normalization: Mapping[str, object], lowpass: float | str | None, assess: bool,
              faces_of: str, solvent: float | None = None) -> tuple[np.ndarray, Preparation]:
    """`prepare` of the whole of ``data``; ``faces_of`` names it in the faces warning."""
    record = Preparation(scale=magnitude(data))
    bounds = outlier_bounds(data, voxel_size)  # bounds scale with the map: found unscaled
    if bounds is not None:
        data, record.clipped = _clipped(data, bounds)
        record.clip = bounds
    step = (float(model_voxel),) * 3
    record.lowpass, record.auto_lowpass = effective_lowpass(lowpass)
    finer = record.lowpass is not None and min(voxel_size) < model_voxel * (1 - 1e-6)
    # unfiltered on the network's grid: the input itself, or (for the checks) the spectrum;
    # scaled as it is resampled, so a large map is never copied whole
    sharp = (resample(data, voxel_size, step, scale=record.scale) if assess or not finer
             else None)
    if finer:  # filtered on the map's own grid first: nothing aliases
        grid = resample(lowpass_filter(data, voxel_size, record.lowpass, scale=record.scale),
                        voxel_size, step)
    else:
        grid = sharp
    if record.lowpass is not None:
        grid = lowpass_filter(grid, step, record.lowpass)
    del data
    try:
        record.levels = density_levels(grid, model_voxel,
                                       None if solvent is None else solvent / record.scale)
        record.solvent_lift = ((record.levels.mode - record.levels.solvent)
                               / record.levels.molecule)
    except ValueError:
        record.levels = None  # `foreground` refuses such a map below; `zscore` does not need them
    else:
        record.faces = face_share(grid, record.levels)
    if assess:
        if record.levels is not None:
            weight = envelope_weight(sharp, record.levels.solvent, record.levels.molecule,
                                     model_voxel)
            estimate = estimate_resolution(sharp, model_voxel, weight)
            # inf: no power in the reference band, not measured (no "about inf Å" warning,
            # no Infinity in --json)
            record.resolution = (max(estimate, nyquist_resolution(voxel_size))
                                 if np.isfinite(estimate) else None)
        found = assess_map(grid, model_voxel, record.resolution, record.lowpass, record.levels,
                           map_voxel=voxel_size, faces=record.faces, faces_of=faces_of)
        record.warnings = found.warnings
    if record.clipped:
        record.warnings.insert(0, _outlier_warning(record.clipped, record.clip))
    del sharp
    volume = normalize(grid, normalization, model_voxel, record.levels)
    return volume, record


def density_as_seen(data: np.ndarray, voxel_size: Sequence[float],
                    record: Preparation) -> np.ndarray:
    """The map on its own grid as the network saw it: scaled, clipped and low-passed as
    `record` says (the low-pass no finer than this grid holds), for tracing elements. Where
    its padding was left out, the part inside is filtered alone, as the network saw it."""
    if record.region is not None:
        out = np.full(data.shape, data[0, 0, 0] / record.scale, np.float32)
        inner = replace(record, region=None)
        out[record.region] = density_as_seen(data[record.region], voxel_size, inner)
        return out
    out = np.divide(data, np.float32(record.scale), dtype=np.float32)
    if record.clip is not None:
        np.clip(out, record.clip[0] / record.scale, record.clip[1] / record.scale, out=out)
    if record.lowpass is not None:
        out = lowpass_filter(out, voxel_size, max(record.lowpass,
                                                  nyquist_resolution(voxel_size)))
    return out
