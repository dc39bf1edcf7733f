"""`predict_map`: the one entry point of the CLI and the ChimeraX command; `predict_file` for files.

Steps: validate; the map as the network sees it (`prepare`: scaled, outliers clipped, on the
network's grid, low-passed, checked, normalised once); tiled inference (optionally averaged
over proper rotations); probabilities resampled back onto the input grid.

Test-time augmentation (``tta``) runs the network once per rotation, so it costs that many
times the plain prediction: ``True`` means the 4 rotations of `rotations.SUBGROUPS` (identity
and three half turns), an int picks 1, 4, 12 or 24.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .assess import NO_MOLECULE
from .classes import BACKGROUND, HELIX, SHEET
from .elements import Elements, extract_elements
from .errors import InputError, OutputExists
from .grid import DensityMap, SlabMap
from .inference import Network, load_network
from .mapio import map_stem, read_map, write_maps
from .memory import tile_voxels
from .outputs import check_names, check_space, output_lock, prepare_outdir
from .prepare import AUTO, Preparation, around_step, density_as_seen, prepare, solvent_of
from .progress import StderrProgress
from .resample import resample
from .residues import ModelResidues, check_residues
from .rotations import SUBGROUPS, rotate, unrotate
from .tiling import TilePlan, predict_tiled
from .validate import validate_grid, validate_lowpass, validate_values
from .weights import ModelSpec

log = logging.getLogger(__name__)

TTA_DEFAULT = 4
# A margin added a side before the network: its convolutions treat the tile's edge unlike the
# map, so without it a small box answers differently from the same box padded. Mirrored, not
# solvent: a masked or padded map's faces are solvent either way, while a crop through the
# molecule is continued as the molecule goes on rather than walled off (the VP6 head's tight
# crop: helix 0.204 -> 0.256, sheet 0.380 -> 0.425 voxel F1; docs/crops.md).
MARGIN = 4  # voxels of the model grid (8 Å)
SOLVENT_NOTE = 0.05  # molecule densities: a region's own mode this far above the level taken

TEXT_BYTES = 1 << 20  # room check: the most an elements file can take (bytes)
RESIDUE_BYTES = 64  # and a row of the residues CSV
MODEL_OFF_MAP = ("no residue of the model lies on the map: its residues CSV holds no vote (the "
                 "model of another map, or placed in another frame?)")
OUTPUT_SUFFIXES = {"helix": "_helix.mrc", "sheet": "_sheet.mrc", "labels": "_labels.mrc",
                   "elements": "_elements.json", "elements_pdb": "_elements.pdb",
                   "residues": "_residues.csv"}


@dataclass(kw_only=True)
class PredictionInfo:
    """How a prediction was made: the input grid, the network passes, the map's preparation.

    Attributes:
        voxel_size, origin: the input map's ``(x, y, z)`` grid, in Å.
        tiles: network passes per rotation; rotations: rotations averaged.
        preparation: the record of what was done to the map (`prepare.Preparation`); its
            ``lowpass``, ``resolution``, ``auto_lowpass`` and ``warnings`` read through.
    """

    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    tiles: int = 1
    rotations: int = 1
    preparation: Preparation = field(default_factory=Preparation)

    @property
    def lowpass(self) -> float | None:
        """The resolution (Å) the map was low-passed to first, or None."""
        return self.preparation.lowpass

    @property
    def resolution(self) -> float | None:
        """The map's resolution as its spectrum shows it (Å), or None."""
        return self.preparation.resolution

    @property
    def auto_lowpass(self) -> bool:
        """The low-pass is the default one (`sharpness.AUTO_LOWPASS`), not asked for."""
        return self.preparation.auto_lowpass

    @property
    def warnings(self) -> list[str]:
        """One-line signs that the map is wrong for the tool (`assess.assess_map`); none of
        them stops the prediction."""
        return self.preparation.warnings

    def preprocessing(self) -> str:
        """What was done to the map before the network saw it, for result lines ("" if
        nothing)."""
        region = self.preparation.region
        padding = ("" if region is None else "its padding left out (the crop inside, "
                   f"{' x '.join(str(r.stop - r.start) for r in region[::-1])} voxels, "
                   "predicted as given)")
        if self.lowpass is None:
            filtered = ""
        elif not self.auto_lowpass:
            filtered = f"low-passed to {self.lowpass:g} Å"
        elif self.resolution is None or self.resolution >= self.lowpass:
            filtered = f"low-passed to {self.lowpass:g} Å (the default)"
        else:
            filtered = (f"low-passed to {self.lowpass:g} Å (the default; its spectrum reaches "
                        f"{self.resolution:.1f} Å, the network learnt 5–10 Å maps)")
        lift = self.preparation.solvent_lift
        solvent = ("" if lift < SOLVENT_NOTE else "the whole map's solvent level (the region's "
                   f"own mode, {lift:.2f} molecule densities higher, is protein)")
        return "; ".join(x for x in (padding, filtered, solvent) if x)


def class_labels(helix: np.ndarray, sheet: np.ndarray, level: float | None = None
                 ) -> np.ndarray:
    """uint8 labels (0 helix, 1 sheet, 2 background) of helix and sheet probabilities.

    Args:
        level: None (default) for the most probable class of each voxel; a probability for
            helix or sheet only where that class reaches `level` (and beats the other one).
    """
    h, s = helix, sheet
    if level is None:
        background = 1.0 - h - s
        is_helix = (h >= s) & (h >= background)
        is_sheet = ~is_helix & (s >= background)
    else:
        is_helix = (h >= level) & (h >= s)
        is_sheet = ~is_helix & (s >= level)
    out = np.full(h.shape, BACKGROUND, dtype=np.uint8)
    out[is_sheet] = SHEET
    out[is_helix] = HELIX
    return out


@dataclass
class Prediction(PredictionInfo):
    """Helix and sheet probabilities (float32, 0-1) on the input grid; background is the rest.

    Attributes:
        helix, sheet: ``[z, y, x]`` arrays of the input map's shape.
    """

    helix: np.ndarray
    sheet: np.ndarray

    def labels(self, level: float | None = None) -> np.ndarray:
        """uint8 labels: 0 helix, 1 sheet, 2 background (`class_labels`)."""
        return class_labels(self.helix, self.sheet, level)

    def volume_A3(self, cls: str, level: float = 0.5) -> float:  # noqa: N802 (Å^3 unit)
        """Volume in Å^3 of the voxels where class `cls` ("helix" or "sheet") reaches `level`."""
        probs = {"helix": self.helix, "sheet": self.sheet}[cls]
        return float(np.count_nonzero(probs >= level)) * float(np.prod(self.voxel_size))

    def volumes_A3(self, level: float = 0.5) -> dict[str, float]:  # noqa: N802
        """``{"helix": Å^3, "sheet": Å^3}`` at probability `level`."""
        return {cls: self.volume_A3(cls, level) for cls in ("helix", "sheet")}

    def maps(self, labels: bool = False) -> dict[str, DensityMap]:
        """The probability (and, if asked, label) maps on the input grid."""
        out = {"helix": DensityMap(self.helix, self.voxel_size, self.origin),
               "sheet": DensityMap(self.sheet, self.voxel_size, self.origin)}
        if labels:
            out["labels"] = DensityMap(self.labels(), self.voxel_size, self.origin)
        return out


@dataclass
class GridPrediction(PredictionInfo):
    """The network's probabilities on its own grid, put on the input grid a slab of rows at a
    time: `predict_file` writes a map's outputs from it without ever holding them whole, so a
    large map costs its network grid and a slab, not two maps of its own size.

    Attributes:
        helix, sheet: probabilities on the network's grid (step ``model_step`` Å), cut to the
            part of the map that was prepared (the preparation's ``region``: all of it but
            constant padding), which is 0 for both classes.
        shape: the input grid's ``[z, y, x]`` size.
    """

    helix: np.ndarray
    sheet: np.ndarray
    model_step: float
    shape: tuple[int, int, int]

    def rows(self, kind: str, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of the ``kind`` ("helix" or "sheet") probabilities on the
        input grid, as `whole` holds them."""
        region = self.preparation.region
        if region is None:
            return _clipped(resample(getattr(self, kind), (self.model_step,) * 3,
                                     self.voxel_size, shape=self.shape, rows=(start, stop)))
        out = np.zeros((stop - start,) + self.shape[1:], np.float32)
        z = region[0]
        a, b = max(start, z.start), min(stop, z.stop)
        if a < b:
            out[(slice(a - start, b - start),) + region[1:]] = _clipped(resample(
                getattr(self, kind), (self.model_step,) * 3, self.voxel_size,
                shape=tuple(r.stop - r.start for r in region), rows=(a - z.start, b - z.start)))
        return out

    def whole(self) -> Prediction:
        """The `Prediction`: both classes on the whole input grid."""
        helix, sheet = (self.rows(k, 0, self.shape[0]) for k in ("helix", "sheet"))
        return Prediction(helix, sheet, voxel_size=self.voxel_size, origin=self.origin,
                          tiles=self.tiles, rotations=self.rotations,
                          preparation=self.preparation)

    def maps(self, labels: bool = False, tally: dict[str, int] | None = None
             ) -> dict[str, SlabMap]:
        """`Prediction.maps`, each made a slab at a time as it is written. With ``tally``,
        each class's voxels at p >= 0.5 are counted into ``tally[class]`` as its rows are
        made, so writing the maps once gives `Prediction.volumes_A3` without a second pass."""
        def of(kind: str) -> SlabMap:
            def rows(a: int, b: int) -> np.ndarray:
                out = self.rows(kind, a, b)
                if tally is not None:
                    tally[kind] = tally.get(kind, 0) + int(np.count_nonzero(out >= 0.5))
                return out
            return SlabMap(self.shape, rows, self.voxel_size, self.origin)
        out = {"helix": of("helix"), "sheet": of("sheet")}
        if labels:
            out["labels"] = SlabMap(self.shape, lambda a, b: class_labels(
                self.rows("helix", a, b), self.rows("sheet", a, b)), self.voxel_size,
                self.origin)
        return out


def rotation_set(tta: bool | int) -> tuple[int, ...]:
    """Indices into `rotations.ROTATIONS` for a ``tta`` argument."""
    n = TTA_DEFAULT if tta is True else max(1, int(tta))
    if n not in SUBGROUPS:
        raise ValueError(f"tta must be one of {sorted(SUBGROUPS)} rotations, got {tta!r}")
    return SUBGROUPS[n]


def check_map(dmap: DensityMap, spec: ModelSpec, *, lowpass: float | str | None = AUTO,
              name: str = "map") -> None:
    """Raise `InputError` naming `name` if `predict_map` would refuse `dmap` with `spec` and
    `lowpass`: `validate.validate_grid` (voxels, size, memory), `validate.validate_values`
    and, for an asked low-pass, `validate.validate_lowpass`. Callers that must refuse early
    (the ChimeraX command, before its background job) call this and pass ``checked=True`` to
    `predict_map`; for a file, `read_checked` runs the same checks."""
    grid_check(spec, name, whole=True)(dmap.data.shape, dmap.voxel_size)
    _check_data(dmap, spec, lowpass, name)


def read_checked(path: str | os.PathLike[str], spec: ModelSpec, *,
                 lowpass: float | str | None = AUTO,
                 elements: bool = False, residues: bool = False) -> DensityMap:
    """`mapio.read_map` with `check_map`'s checks, ready for ``predict_map(checked=True)``.

    The checks of the grid alone (voxel size, extent, memory) run on the header, before the
    data are read, so memory is checked once, with the whole prediction's estimate (which holds
    the read, and with `elements` / `residues` what they add), and a map too large is refused
    before it fills the memory.
    """
    name = str(path)
    dmap = read_map(path, check_grid=grid_check(spec, name, elements=elements,
                                                 residues=residues))
    _check_data(dmap, spec, lowpass, name)
    return dmap


def grid_check(spec: ModelSpec, name: str, *, whole: bool = False, elements: bool = False,
                residues: bool = False) -> Callable[[Sequence[int], Sequence[float]], None]:
    """`validate.validate_grid` for `spec`'s grid and tiles (and what else is held: the
    whole prediction for `predict_map`, the extra outputs asked): the check of a grid before
    it is read, here and in the ChimeraX command."""
    return lambda shape_zyx, voxel_size: validate_grid(
        shape_zyx, voxel_size, name, model_voxel_size=spec.voxel_size, tile_size=spec.tile_size,
        whole=whole, elements=elements, residues=residues)


def _check_data(dmap: DensityMap, spec: ModelSpec, lowpass: float | str | None,
                name: str) -> None:
    """The rest of `check_map`: the values and an asked low-pass."""
    validate_values(dmap.data, name)
    if lowpass != AUTO:
        validate_lowpass(lowpass, spec.voxel_size, name)


def read_solvent(path: str | os.PathLike[str], spec: ModelSpec,
                 lowpass: float | str | None = AUTO) -> float:
    """The solvent level, in its own units, of the map a crop was cut from (the CLI's
    ``--around``): a crop crowded with protein has the protein's density as its mode, and
    ``predict_map(solvent=...)`` takes the lower of this and that, as the ChimeraX command does
    for a region of an open map. The map is read at `prepare.around_step`.

    Raises:
        InputError: the file cannot be read as a map, its values cannot be normalised, or
            nothing in it rises above its solvent level.
    """
    dmap = read_map(path)
    validate_values(dmap.data, path)
    step = around_step(dmap.data.shape[::-1], dmap.voxel_size, spec.voxel_size)
    data = np.ascontiguousarray(dmap.data[::step[2], ::step[1], ::step[0]], dtype=np.float32)
    voxel_size = tuple(v * k for v, k in zip(dmap.voxel_size, step))
    del dmap  # the read step's copy is all that is needed
    level = solvent_of(data, voxel_size, spec.voxel_size, lowpass)
    if level is None:
        raise InputError(path, "nothing rises above its solvent level: it cannot give the "
                               "solvent level of a map cut from it")
    return level


def predict_map(dmap: DensityMap, net: Network, spec: ModelSpec, *, tta: bool | int = False,
                lowpass: float | str | None = AUTO,
                progress: Callable[[int, int], None] | None = None,
                cancel: Callable[[], bool] | None = None, name: str = "map",
                checked: bool = False, molecule_check: bool = True,
                solvent: float | None = None) -> Prediction:
    """Helix and sheet probabilities of a map, on its own grid: `predict_grid`'s, whole."""
    return predict_grid(dmap, net, spec, tta=tta, lowpass=lowpass, progress=progress,
                        cancel=cancel, name=name, checked=checked,
                        molecule_check=molecule_check, solvent=solvent).whole()


def predict_grid(dmap: DensityMap, net: Network, spec: ModelSpec, *, tta: bool | int = False,
                 lowpass: float | str | None = AUTO,
                 progress: Callable[[int, int], None] | None = None,
                 cancel: Callable[[], bool] | None = None, name: str = "map",
                 checked: bool = False, molecule_check: bool = True,
                 solvent: float | None = None) -> GridPrediction:
    """Helix and sheet probabilities of a map on the network's grid, ready to be put on the
    map's own grid (`GridPrediction`).

    Args:
        dmap: the density (any voxel size up to 4 Å, any box of at least 10 Å).
        net: the network (`OnnxNetwork` or any `Network`).
        spec: its sidecar (voxel size, normalisation, tile size, size multiple).
        tta: rotation test-time augmentation (see the module docstring; default off).
        lowpass: filter the map to this resolution (Å) first; None: never; ``"auto"`` (the
            default): to `sharpness.AUTO_LOWPASS`, whatever the map (see `sharpness`).
        progress: ``progress(done, total)`` after each network pass.
        cancel: polled before each network pass; true raises `errors.Cancelled`.
        name: what error messages call the map (default "map").
        checked: the caller has already run `check_map` with this `spec`, `lowpass` and
            `name` (default False: `predict_map` runs it).
        molecule_check: warn when no molecule stands out of the noise (`assess.assess_map`;
            the map is predicted either way); False leaves that warning out.
        solvent: the solvent level (the map's units) of the larger map `dmap` is a region of
            (`prepare.solvent_of`), for a region that may hold no solvent; None: its own.

    Raises:
        InputError: the map fails `check_map` (`validate_map`, or `lowpass` is finer than the
            network's grid holds or coarser than 15 Å), or nothing in the map rises above its
            solvent.
        Cancelled: `cancel` returned true.
    """
    if not checked:
        check_map(dmap, spec, lowpass=lowpass, name=name)
    ks = rotation_set(tta)
    try:
        volume, record = prepare(dmap.data, dmap.voxel_size, spec.voxel_size,
                                 spec.normalization, lowpass=lowpass, trim=True,
                                 solvent=solvent)
    except ValueError as err:
        raise InputError(name, f"{err} (is the map inverted, protein darker than solvent?)"
                         ) from None
    if not molecule_check:
        record.warnings = [w for w in record.warnings if not w.startswith(NO_MOLECULE)]
    m = MARGIN
    if max(volume.shape) <= spec.tile_size:  # a map that fits one pass keeps one pass
        m = max(min(m, (spec.tile_size - max(volume.shape)) // 2), 0)
    shape = volume.shape
    volume = np.pad(volume, m, mode="reflect")
    # Tiles as large as memory allows (one pass where the box fits); one plan per rotated
    # shape (a rotation permutes the axes, never the number of tiles).
    budget = tile_voxels(dmap.data.shape, dmap.voxel_size, spec.voxel_size, spec.tile_size)
    plans = {volume.shape: TilePlan.make(volume.shape, spec.tile_size, spec.size_multiple,
                                         max_voxels=budget)}
    tiles = plans[volume.shape].n_tiles
    acc = None
    for i, k in enumerate(ks):
        rotated = np.ascontiguousarray(rotate(volume, k))  # no copy for the identity
        if rotated.shape not in plans:
            plans[rotated.shape] = TilePlan.make(rotated.shape, spec.tile_size,
                                                 spec.size_multiple, max_voxels=budget)
        probs = unrotate(predict_tiled(rotated, net, spec.tile_size, spec.size_multiple,
                                       progress=_offset(progress, i * tiles, tiles * len(ks)),
                                       cancel=cancel, plan=plans[rotated.shape]), k)
        del rotated
        if acc is None:
            acc = probs  # a view of a fresh array: safe to add into
        else:
            acc += probs
    if len(ks) > 1:
        acc /= len(ks)
    del volume
    inner = (slice(None),) + tuple(slice(m, m + n) for n in shape)
    helix, sheet = (np.ascontiguousarray(p) for p in acc[inner])
    del acc
    return GridPrediction(helix, sheet, spec.voxel_size, tuple(dmap.data.shape),
                          voxel_size=dmap.voxel_size, origin=dmap.origin, tiles=tiles,
                          rotations=len(ks), preparation=record)


def find_elements(dmap: DensityMap, pred: Prediction) -> Elements:
    """The helix axes and sheet patches of `pred`, a prediction of `dmap`: traced through the
    density as the network saw it (`prepare.density_as_seen`, on the map's own grid)."""
    density = density_as_seen(dmap.data, dmap.voxel_size, pred.preparation)
    return extract_elements(pred.helix, pred.sheet, pred.voxel_size, pred.origin,
                            density=density)


def _offset(progress: Callable[[int, int], None] | None, done_before: int,
            total: int) -> Callable[[int, int], None] | None:
    """`progress` for one rotation's tiles, counted on the bar of all of them."""
    if progress is None:
        return None
    return lambda done, _: progress(done_before + done, total)


def _clipped(probs: np.ndarray) -> np.ndarray:
    """Probabilities limited to [0, 1] in place (trilinear values can overshoot by rounding)."""
    return np.clip(probs, 0.0, 1.0, out=probs)


@dataclass
class FileResult:
    """What `predict_file` wrote, how, and how long it took (the result line and ``--json``)."""

    map_path: Path
    outputs: list[Path]
    volumes: dict[str, float]
    seconds: float
    device: str
    tiles: int
    rotations: int
    preprocessing: str = ""
    warnings: list[str] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)  # an earlier run's labels (--force)
    lowpass: float | None = None  # applied, Å
    auto_lowpass: bool = False
    resolution: float | None = None  # the spectrum's estimate, Å
    weights: Path | None = None
    weights_sha256: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step
    notes: list[str] = field(default_factory=list)  # elements found, model agreement
    # with a model: residues, voted (Cα on the grid), compared (also assigned by the model),
    # agreement (fraction of compared, None where none was)
    model_check: dict[str, float | int | None] | None = None
    threads: int | None = None  # CPU threads the network runs on (`OnnxNetwork.threads`)

    def summary(self) -> str:
        """One line for stdout: volumes, what was done to the map, the elements and model
        agreement (`notes`), time, where the files went."""
        done = f"; {self.preprocessing}" if self.preprocessing else ""
        if self.rotations > 1:
            done += f"; TTA: mean of {self.rotations} rotations"
        done += "".join(f"; {n}" for n in self.notes if n)
        removed = "".join(f"; removed the earlier {p.name}" for p in self.removed)
        folder = self.outputs[0].parent if self.outputs else Path(".")
        runs = f"{self.tiles} tile{'s' * (self.tiles != 1)}"
        return (f"{self.map_path.name}: helix {self.volumes['helix']:.0f} Å³, sheet "
                f"{self.volumes['sheet']:.0f} Å³ at p >= 0.5{done}; {self.seconds:.1f} s on "
                f"{self.device} ({runs}); wrote "
                f"{', '.join(p.name for p in self.outputs)} in {folder}{os.sep}{removed}")


NetworkLoader = Callable[[], tuple[Network, ModelSpec]]


def output_paths(map_path: str | os.PathLike[str], outdir: str | os.PathLike[str],
                 labels: bool = False, elements: bool = False,
                 residues: bool = False, stem: str | None = None) -> dict[str, Path]:
    """``OUTDIR/<map stem>_helix.mrc``, ``_sheet.mrc`` and, if asked, ``_labels.mrc``,
    ``_elements.json`` + ``_elements.pdb`` and ``_residues.csv``.

    The stem drops ``.gz`` too: ``emd_1234.map.gz`` gives ``emd_1234_helix.mrc``; `stem`,
    when given, names the outputs instead (``predict --name-from parent``).
    """
    stem = map_stem(map_path) if stem is None else stem
    kinds = ["helix", "sheet"] + ["labels"] * labels + ["elements", "elements_pdb"] * elements \
        + ["residues"] * residues
    return {k: Path(outdir) / f"{stem}{OUTPUT_SUFFIXES[k]}" for k in kinds}


def predict_file(map_path: str | os.PathLike[str], outdir: str | os.PathLike[str], *,
                 weights: str | os.PathLike[str] | None = None, device: str = "auto",
                 threads: int | None = None, tta: bool | int = False,
                 lowpass: float | str | None = AUTO, labels: bool = False, force: bool = False,
                 quiet: bool = False, network: NetworkLoader | None = None,
                 elements: bool = False, model: ModelResidues | None = None,
                 molecule_check: bool = True, stem: str | None = None,
                 tool: str = "DeepSSETracer", solvent: float | None = None) -> FileResult:
    """Predict a map file and write its probability maps into `outdir` (the CLI's work).

    Each map's header labels name `tool` (the CLI: with its version), the class and the
    weights' sha256 (`header_labels`).

    `stem` names the outputs (default: the map's, `mapio.map_stem`; see `output_paths`).
    `solvent`: the solvent level of the map this one was cut from (`read_solvent`), taken
    where it lies below the map's own mode (`predict_map`).

    With ``elements`` also writes the helix axes and sheet patches (`find_elements`)
    as ``_elements.json`` and ``_elements.pdb``; with ``model`` (its residues, read by the
    caller) the per-residue vote against it as ``_residues.csv``.

    Every check (output folder, names, free space, existing outputs, weights, map) runs before
    the network does; the weights are loaded before the map is read, because their sidecar sets
    the map's checks (`read_checked`: the grid's, memory included, from the header). The output
    names are one set: without `labels`, an earlier run's ``<stem>_labels.mrc`` is refused, or
    with `force` removed in the same atomic swap, so no labels map is left beside a pair it was
    not made from. All this runs under a lock on this map stem's outputs in `outdir`
    (`outputs`), so two runs cannot mix or delete each other's files. On any error nothing is
    written (a folder this call created is removed again); all the outputs, maps and text files
    alike, change together, atomically (`mapio.write_maps`); the input is only read. `network`,
    when given, is called for the network instead of `load_network`, once the output checks have
    passed (a CLI run over several maps loads it once).

    Raises:
        OutputExists: without `force`, an output (or the earlier labels map) is there; an
            `InputError` whose message leaves the way round it to the caller.
        InputError: any problem with the map, the weights or the output folder, or a
            prediction that is not finite.
    """
    start = time.perf_counter()
    map_path, outdir = Path(map_path), Path(outdir)
    stem = map_stem(map_path) if stem is None else stem
    paths = output_paths(map_path, outdir, labels, elements, model is not None, stem=stem)
    stale = [] if labels else [output_paths(map_path, outdir, labels=True, stem=stem)["labels"]]
    created = prepare_outdir(outdir)
    try:
        with output_lock(outdir, stem, paths["helix"]):
            check_names(paths.values())
            if not force:
                for p in paths.values():
                    if os.path.lexists(p):  # a dangling symbolic link is a user's file too
                        raise OutputExists(p)
                for p in stale:  # it would sit beside a pair it does not belong to
                    if os.path.lexists(p):
                        raise OutputExists(p, stale=True)
            clock = _Clock()
            net, spec = (network() if network is not None  # its sidecar, for the map's checks
                         else load_network(weights, device=device, threads=threads))
            clock.lap("network")
            dmap = read_checked(map_path, spec, lowpass=lowpass, elements=elements,
                                residues=model is not None)
            text_bytes = TEXT_BYTES * 2 * elements + RESIDUE_BYTES * len(model or [])
            check_space(outdir, dmap.data.size * (8 + labels) + 4096 * len(paths) + text_bytes)
            clock.lap("read")
            progress = None if quiet else StderrProgress(f"predicting {map_path.name}",
                                                         rotations=len(rotation_set(tta)))
            pred = predict_grid(dmap, net, spec, tta=tta, lowpass=lowpass, progress=progress,
                                molecule_check=molecule_check, name=str(map_path),
                                checked=True, solvent=solvent)
            for kind in ("helix", "sheet"):  # on the network's grid: what the outputs are from
                bad = int(np.count_nonzero(~np.isfinite(getattr(pred, kind))))
                if bad:
                    raise InputError(map_path, f"the {kind} prediction holds {bad} NaN or Inf "
                                               "values; nothing was written")
            clock.lap("predict")
            outputs: dict[Path, DensityMap | SlabMap | str] = {}
            tally: dict[str, int] = {}  # voxels at p >= 0.5, counted as the maps are made
            for k, m in pred.maps(labels, tally).items():  # slab by slab as they are written
                m.labels = header_labels(tool, k, spec.onnx_sha256, map_path.name)
                outputs[paths[k]] = m
            whole = pred.whole() if elements or model is not None else None
            texts, notes, model_check = _text_outputs(dmap, whole, elements, model, clock)
            del whole
            warnings = pred.warnings + [MODEL_OFF_MAP] * (model_check is not None
                                                          and not model_check["voted"])
            outputs.update((paths[k], text) for k, text in texts.items())
            removed = [p for p in stale if os.path.lexists(p) and not p.is_dir()]
            written = write_maps(outputs, overwrite=force, remove=removed)
            clock.lap("write")
    finally:
        if created and not any(outdir.iterdir()):
            outdir.rmdir()
    path = getattr(net, "path", None)
    voxel = float(np.prod(pred.voxel_size))
    volumes = {k: voxel * tally.get(k, 0) for k in ("helix", "sheet")}
    return FileResult(map_path, written, volumes, time.perf_counter() - start,
                      getattr(net, "device", "cpu"), pred.tiles, pred.rotations,
                      pred.preprocessing(), warnings, removed, pred.lowpass,
                      pred.auto_lowpass, pred.resolution, Path(path) if path else None,
                      spec.onnx_sha256, clock.laps, notes, model_check,
                      getattr(net, "threads", threads))


HEADER_WHAT = {"helix": "helix probability", "sheet": "sheet probability",
               "labels": "labels 0 helix 1 sheet 2 background"}


def header_labels(tool: str, kind: str, weights_sha256: str, map_name: str) -> tuple[str, ...]:
    """The MRC header labels of an output map: ``"DeepSSETracer 0.1.0 helix probability,
    weights 1a2b3c4d5e6f"`` (the weights' sha256, short) and ``"from emd_1234.map"``
    (`mapio` makes them ASCII and cuts them at 80 characters)."""
    sha = f", weights {weights_sha256[:12]}" if weights_sha256 else ""
    return (f"{tool} {HEADER_WHAT.get(kind, kind)}{sha}", f"from {map_name}")


class _Clock:
    """Seconds per named step, for `FileResult.timings`."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self._last
        self._last = now


def _text_outputs(dmap: DensityMap, pred: Prediction | None, elements: bool,
                  model: ModelResidues | None,
                  clock: _Clock) -> tuple[dict[str, str], list[str], dict | None]:
    """The elements and residue files' contents, a note on each for the summary line and
    the model's figures for ``--json`` (`FileResult.model_check`); each step timed as
    ``elements`` / ``residues``. `pred` is None only when neither is asked."""
    texts, notes, model_check = {}, [], None
    if elements:
        found = find_elements(dmap, pred)
        texts.update(elements=found.to_json(), elements_pdb=found.to_pdb())
        notes.append(found.summary())
        clock.lap("elements")
    if model is not None:
        check = check_residues(pred.labels(), pred.voxel_size, pred.origin, model)
        texts["residues"] = check.to_csv()
        notes.append(check.summary())
        frac, compared = check.agreement()
        model_check = {"residues": len(model),
                       "voted": sum(p != "" for p in check.predicted),
                       "compared": compared,
                       "agreement": round(frac, 4) if compared else None}
        clock.lap("residues")
    return texts, notes, model_check
