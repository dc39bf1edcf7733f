"""The ``deepssetracer`` command: helix and sheet probability maps of a density map's region.

It has the shape of ChimeraX's own map filters: take the current region (``v.region`` and its
step, or the ``subregion`` / ``step`` keywords), read it as a ``[z, y, x]`` array at step 1, hand
it to the core's `predict_map` as a `DensityMap`, and show the probabilities as two new volumes
on that region's own grid at its shown step, grouped under one parent model placed where the
input map is.

The shown step is for display only: ChimeraX shows big maps at step 2 or 3, and a network fed
every second or third voxel sees another map (on EMD-3488, step 3 called half the helix and 73
times the sheet of step 1 at the same points). So the whole region is read at step 1 and the
probabilities are shown at the grid points ChimeraX shows: the step-1 answer, subsampled, the
same at every step. Only a region whose step-1 read would not fit in memory is read at
`coarse_read_step` (a divisor of the shown step that still samples at least as finely as the
network's 2 Å grid), saying so in the log.

With ``elements true`` it also shows the helix axes and sheet patches the core extracts
(`elements_models`); with ``model #N`` it colours that fitted model's residues by their
predicted class and logs how they agree with ChimeraX's own assignment (`model_check`).

Long work never freezes the GUI: unless ``block`` is true (the default in scripts and without a
GUI) the network runs in a worker thread, progress goes to the status line, ``deepssetracer
cancel`` stops it, and the models are added on the UI thread through ``session.ui.thread_safe``.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from chimerax.atomic import AtomicStructureArg
from chimerax.core.commands import (
    BoolArg,
    CmdDesc,
    EnumOf,
    FloatArg,
    ModelIdArg,
    ModelsArg,
    OpenFileNameArg,
    Or,
    register,
)
from chimerax.core.errors import UserError
from chimerax.map.mapargs import MapRegionArg, MapStepArg

from .core.classes import COLORS
from .core.elements import Elements
from .core.errors import Cancelled, InputError
from .core.grid import DensityMap
from .core.inference import DEVICES, load_network
from .core.predict import Prediction, check_map, find_elements, grid_check, predict_map
from .core.prepare import around_step, solvent_of
from .core.weights import default_weights_path
from .elements_models import add_element_models, elements_message
from .model_check import check_message, colour_by_prediction
from .results import earlier_results, is_result, mark_result, result_parent, result_source

_jobs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # session -> running job


def deepssetracer(session, volume, subregion=None, step=None, device: str = "auto",
                  tta: bool = False, lowpass: float | str = "auto", level: float = 0.5,
                  block: bool | None = None, model_id: tuple[int, ...] | None = None,
                  weights: str | None = None, replace: bool = True,
                  molecule_check: bool = True, elements: bool = False, model=None):
    """Predict helix and sheet regions of `volume`'s current (or given) region.

    Args:
        volume: the density map (a ChimeraX ``Volume``).
        subregion: ``(ijk_min, ijk_max)``, ``"all"`` or ``"shown"`` (default None: the current
            region, what the user cropped).
        step: grid step the result is shown at, 1 or 3 positive integers (default None: the
            map's current step). The network reads the map at step 1 whatever this step
            (see `MapRequest.from_volume`).
        device: ``"auto"`` (CUDA when onnxruntime has it), ``"cpu"`` or ``"cuda"``.
        tta: average over 4 proper rotations (4x slower; default off).
        lowpass: filter the map to this resolution (Å) first; ``"off"``: never; ``"auto"``
            (default): to 6 Å, every map (a no-op on a 7–10 Å map).
        level: probability at which the surfaces are drawn, in (0, 1) (default 0.5).
        block: run in this thread (default None: true in scripts and without a GUI).
        model_id: id of the parent model (default None: the next free id).
        weights: an ONNX file with its JSON sidecar (default None: the bundled weights).
        replace: close the earlier result of this map when the new one is added, and give the
            new one its model id (default true, as ``molmap`` and ``surface`` do).
        molecule_check: warn when no molecule stands out of the noise (default true; the map
            is predicted either way).
        elements: also add the helix axes (markers) and sheet patches (a surface) under the
            result, extracted at probability 0.5 through the map's density, as ``predict
            --elements`` does (default false).
        model: a fitted atomic model to colour by the predicted class of each residue and
            check against its own secondary structure (default None).

    Returns:
        The helix and sheet volumes, then any element models, when blocking, else the running
        `PredictionJob`.
    """
    if not 0.0 < level < 1.0:
        raise UserError(f"level must lie between 0 and 1 (a probability), got {level:g}")
    if block is None:
        block = bool(session.in_script) or not session.ui.is_gui
    if running_job(session) is not None:
        raise UserError("a DeepSSETracer prediction is already running; wait for it or stop it "
                        "with 'deepssetracer cancel'")
    if model_id is not None:
        _check_model_id(session, volume, tuple(model_id), replace)
    if lowpass == "off":
        lowpass = None
    _check_step(step)
    net, spec = _network(weights, device)
    try:  # here, not in the job: a bad map is a UserError before a background job starts
        request = MapRequest.from_volume(volume, subregion, step, spec=spec)
        check_map(request.dmap, spec, lowpass=lowpass, name=request.name)
    except InputError as err:
        raise UserError(str(err)) from None
    if request.read_note:
        session.logger.warning(f"DeepSSETracer {request.name}: {request.read_note}")
    job = PredictionJob(session, request, net, spec, tta=tta, lowpass=lowpass, level=level,
                        model_id=model_id, replace=replace, molecule_check=molecule_check,
                        elements=elements, structure=model)
    if block:
        return job.run()
    job.start()
    return job


def deepssetracer_cancel(session) -> None:
    """Stop the running prediction of this session (its cancel is honoured between tiles)."""
    job = running_job(session)
    if job is None:
        session.logger.info("DeepSSETracer: no prediction is running")
        return
    job.cancel()
    session.logger.status("DeepSSETracer: cancelling…")


def running_job(session) -> PredictionJob | None:
    """The prediction running in the background for `session`, if any."""
    return _jobs.get(session)


def _check_step(step) -> None:
    """A ``step`` keyword of 0 or below is a user's mistake, said as one."""
    if step is None:
        return
    steps = (step,) * 3 if isinstance(step, int) else tuple(step)
    if any(int(s) < 1 for s in steps):
        raise UserError(f"step must be a positive whole number of voxels (1: every voxel, 2: "
                        f"every second one), got {_steps_text(steps)}")


def _check_model_id(session, volume, model_id: tuple[int, ...], replace: bool) -> None:
    """A ``modelId`` the result cannot take is a user's mistake, said as one.

    A result is a top-level model. Under the map it predicts it would be part of the map (which
    would then be refused as holding a result), under another model it would close and move
    with that model, and ChimeraX cannot add a model whose parent is not open. A top-level id in
    use is refused too, unless it is an earlier result of this map that the rerun replaces.
    """
    text = _id_text(model_id)
    used = {m.id[0] for m in session.models.list()}
    free = min(set(range(1, len(used) + 2)) - used)
    hint = f"a result is a top-level model: give one number not in use (e.g. modelId {free})"
    map_id = tuple(volume.id)
    if model_id[:len(map_id)] == map_id and model_id != map_id:
        raise UserError(f"modelId {text} lies inside {volume.name} #{volume.id_string}, the map "
                        f"being predicted; {hint}")
    if len(model_id) > 1:
        inside = [m for k in range(len(model_id) - 1, 0, -1)
                  for m in session.models.list(model_id=model_id[:k])][:1]
        if not inside:
            raise UserError(f"modelId {text}: model #{model_id[0]} does not exist; {hint}")
        (outer,) = inside
        if is_result(outer):
            top = result_parent(outer) or outer
            raise UserError(f"modelId {text} lies inside the DeepSSETracer result "
                            f"#{top.id_string}; {hint}")
        raise UserError(f"modelId {text} lies inside model {outer.name} #{outer.id_string}, "
                        f"which is not a DeepSSETracer result; {hint}")
    if session.models.have_id(model_id) and not (
            replace and model_id in {p.id for p in earlier_results(volume)}):
        raise UserError(f"model #{text} already exists; choose another modelId")


def coarse_read_step(shown_step, voxel_size, grid_spacing: float) -> tuple[int, int, int]:
    """The coarsest step a region shown at `shown_step` may be read at, per axis ``(x, y, z)``.

    The coarsest ``r`` that divides the shown step ``s`` (so the shown grid points are read
    points) with ``r`` times the map's largest voxel edge no coarser than the network's grid
    (`grid_spacing`, Å): 1 unless the map's voxels are at most half the network's. Not free: the
    core smooths a fine map as it resamples it to the network's grid, a map read at step 2
    not, so 1 Å maps shown at step 2 and read at step 2 agree with their step-1 answer in
    only 0.88-0.97 of the voxels either calls helix or sheet (four real maps). Only a region
    too large to read at step 1 is read so.
    """
    edge = max(float(v) for v in voxel_size)
    limit = grid_spacing * (1 + 1e-6)  # a header's rounding does not make 2 x 1 Å too coarse
    return tuple(max(r for r in range(1, int(s) + 1) if int(s) % r == 0
                     and (r == 1 or r * edge <= limit)) for s in shown_step)


@dataclass
class MapRequest:
    """What is predicted: the region's array as a `DensityMap`, and where the result goes.

    Attributes:
        dmap: the region's ``[z, y, x]`` float32 copy read at step 1 (at `coarse_read_step`
            when that would not fit in memory), its voxel size and corner in the map's own
            coordinates (Å).
        shown_origin, shown_voxel_size: the corner and voxel size ``(x, y, z)`` of the region
            at the step ChimeraX shows it at, the grid of the result models.
        every, shown_size: ``[z, y, x]``: the shown grid takes every ``every``-th point of
            `dmap`'s grid from its corner on, ``shown_size`` of them.
        name: how messages name the map (``"<name> #<id>"``).
        base_name: the map's name, for the new models' names.
        cell_angles, rotation: the map's grid axes, which the new grids keep.
        scene_position: where the map lay in the scene when asked (a ``Place``).
        volume: a weak reference to the map (None once it is closed).
        read_note: "" or, when the region was read coarser than step 1, a line saying so.
        around: for a region short of the whole map, the whole map read coarsely
            (`around_step`), whose solvent level the region is prepared with where it lies
            below the region's own mode (`core.prepare.solvent_of`): a region crowded with protein
            holds no solvent to find; None for the whole map.
    """

    dmap: DensityMap
    name: str
    base_name: str
    cell_angles: tuple
    rotation: tuple
    scene_position: object
    volume: Callable[[], object] = lambda: None
    shown_origin: tuple = (0.0, 0.0, 0.0)
    shown_voxel_size: tuple = (1.0, 1.0, 1.0)
    every: tuple = (1, 1, 1)
    shown_size: tuple = (1, 1, 1)
    read_note: str = ""
    around: DensityMap | None = None

    @classmethod
    def from_volume(cls, v, subregion=None, step=None, spec=None) -> MapRequest:
        """Read `v`'s region (current, or `subregion` / `step` as map_filter takes them).

        The shown grid is the region's: its corner ``v.region_origin_and_step(region)``, voxels
        of the map's times the step, and ``v.matrix_size(region=region)`` voxels, what ChimeraX
        shows (and gives the maps its own filters make) for that region at that step. The
        values read are the map's own samples of the whole region at step 1, from that corner
        on: the same box at every shown step, on which every shown point lies. With a `spec`,
        that read grid is checked (`predict.grid_check`: voxels, extent, memory) before it
        is read; when step 1 fails and `coarse_read_step` passes (a map too large for memory
        at step 1, a finer one than the network needs), the region is read at that step.

        Raises:
            InputError: the read grid fails `predict.grid_check` for `spec`, checked
                before it is read.
        """
        name = f"{v.name} #{v.id_string}"
        _check_axes(v, name)
        asked = v.subregion(step, subregion)
        grid = v.data.size
        ijk_step = tuple(int(t) for t in asked[2])
        # clamped to the grid as 'volume region' clamps (ChimeraX sizes a region with a
        # corner below 0 from the unclamped corner, one step too far for every missing step)
        corner = tuple(max(int(i), 0) for i in asked[0])
        top = tuple(min(int(i), n - 1) for i, n in zip(asked[1], grid))
        if any(a > b for a, b in zip(corner, top)):
            raise UserError(f"{name}: region {_region_text(asked)} is empty or lies outside "
                            f"the map's grid ({'x'.join(str(n) for n in grid)} voxels)")
        region = (corner, top, ijk_step)
        size = tuple(int(n) for n in v.matrix_size(region=region))
        # within the region: as many samples from its corner on as ChimeraX shows for it
        size = tuple(min(m, (b - a) // t + 1) for m, a, b, t in
                     zip(size, corner, top, ijk_step))
        last = tuple(i + (m - 1) * t for i, m, t in zip(corner, size, ijk_step))
        shown_origin, shown_voxel = v.region_origin_and_step((corner, last, ijk_step))
        r, note = (1, 1, 1), ""
        read_size, read_last, origin, voxel_size = _read_grid(v, corner, top, r)
        if spec is not None:  # before the read: a map too large must not fill the memory
            check = grid_check(spec, name, whole=True)  # the command holds it whole
            try:
                check(read_size[::-1], voxel_size)
            except InputError as step1_err:
                r = coarse_read_step(ijk_step, v.data.step, spec.voxel_size)
                if r == (1, 1, 1):
                    raise
                read_size, read_last, origin, voxel_size = _read_grid(v, corner, top, r)
                try:
                    check(read_size[::-1], voxel_size)
                except InputError:
                    raise step1_err from None
                note = (f"read at step {_steps_text(r)} ({_voxel_text(voxel_size)} Å voxels), "
                        f"not step 1 ({step1_err.problem}); the answer may differ a little "
                        "from the step-1 one")
        span = tuple(j - i + 1 for i, j in zip(corner, read_last))
        data = np.array(v.data.matrix(corner, span, r), dtype=np.float32)
        dmap = DensityMap(data, voxel_size, tuple(float(o) for o in origin))
        d = v.data
        every = tuple(t // s for t, s in zip(ijk_step, r))[::-1]
        around, end = None, tuple(n - 1 for n in d.size)
        if tuple(corner) != (0, 0, 0) or tuple(top) != end:
            a = around_step(d.size, d.step, spec.voxel_size if spec is not None else 2.0)
            whole = np.array(d.matrix((0, 0, 0), d.size, a), dtype=np.float32)
            _, _, whole_origin, whole_voxel = _read_grid(v, (0, 0, 0), end, a)
            around = DensityMap(whole, whole_voxel, whole_origin)
        return cls(dmap, name, v.name, d.cell_angles, d.rotation, v.scene_position,
                   weakref.ref(v), tuple(float(o) for o in shown_origin),
                   tuple(float(s) for s in shown_voxel), every, size[::-1], note, around)

    def shown(self, values: np.ndarray) -> np.ndarray:
        """`values` on `dmap`'s grid at the shown grid's points (float32, C-contiguous)."""
        return np.ascontiguousarray(values[tuple(slice(0, k * (n - 1) + 1, k) for k, n in
                                                 zip(self.every, self.shown_size))],
                                    dtype=np.float32)

    def live_volume(self):
        """The map, or None when it has been closed since."""
        v = self.volume()
        return None if v is None or v.deleted else v


def _check_axes(v, name: str) -> None:
    """Refuse a map whose grid axes are not at right angles, as the CLI refuses a skewed cell.

    The network reads the array as a cubic grid; a skewed one (crystallographic cell angles, read
    from CELLB or set in ChimeraX) would be predicted as another shape. ChimeraX has already
    taken invalid header angles for 90 degrees, as `core.mapio` does. A rotated grid is fine:
    the result keeps its axes.

    Raises:
        InputError: naming the map, with the message `core.mapio` gives for a skewed cell.
    """
    angles = tuple(float(a) for a in v.data.cell_angles)
    if max(abs(a - 90.0) for a in angles) > 1e-3:
        raise InputError(name, f"cell angles CELLB = {angles} are not 90 degrees (skewed grids "
                         "are not supported)")
    axes = np.array(v.data.ijk_to_xyz_transform.matrix, dtype=float)[:, :3]
    unit = axes / np.linalg.norm(axes, axis=0)
    between = tuple(round(float(np.degrees(np.arccos(np.clip(unit[:, a] @ unit[:, b], -1, 1)))),
                          3) for a, b in ((1, 2), (0, 2), (0, 1)))
    if max(abs(a - 90.0) for a in between) > 1e-3:
        raise InputError(name, f"grid axes at {between} degrees to each other (its rotation is "
                         "not a rotation): skewed grids are not supported")


def _read_grid(v, corner, top, r):
    """Size, last point (i, j, k), corner and voxel size (x, y, z; Å) of region `corner`-`top`
    read at step `r` from the corner on."""
    size = tuple((j - i) // t + 1 for i, j, t in zip(corner, top, r))
    last = tuple(i + (n - 1) * t for i, n, t in zip(corner, size, r))
    origin, voxel_size = v.region_origin_and_step((corner, last, r))
    return size, last, tuple(float(o) for o in origin), tuple(float(s) for s in voxel_size)


def _steps_text(steps) -> str:
    return ",".join(str(int(s)) for s in steps) if len(set(steps)) > 1 else str(int(steps[0]))


def _voxel_text(voxel) -> str:
    if len({round(s, 3) for s in voxel}) == 1:
        return f"{voxel[0]:.3g}"
    return " x ".join(f"{s:.3g}" for s in voxel)


class PredictionJob:
    """One prediction: run here (`run`) or in a worker thread (`start`), cancellable.

    Progress and finished callbacks are called on the UI thread with the job, so a panel can
    show `fraction` and `state` (``running``, ``finished``, ``cancelled`` or ``failed``).
    The request must have passed `core.predict.check_map` (as `deepssetracer` does): the job
    does not check it again.
    """

    def __init__(self, session, request: MapRequest, net, spec, *, tta: bool = False,
                 lowpass: float | None = None, level: float = 0.5,
                 model_id: tuple[int, ...] | None = None, replace: bool = True,
                 molecule_check: bool = True, elements: bool = False, structure=None):
        self.session = session
        self.elements = elements
        self.found: Elements | None = None  # the extracted elements, once predicted
        self.structure = None if structure is None else weakref.ref(structure)
        self.molecule_check = molecule_check
        self.request = request
        self.net, self.spec = net, spec
        self.tta, self.lowpass, self.level, self.model_id = tta, lowpass, level, model_id
        self.replace = replace
        self.state = "pending"
        self.fraction = 0.0
        self.models: list = []
        self.message = ""
        self.progress_callbacks: list[Callable[[PredictionJob], None]] = []
        self.finished_callbacks: list[Callable[[PredictionJob], None]] = []
        self._cancel = threading.Event()
        self._started = 0.0
        self._last_percent = -1
        self._closed_handler = None

    @property
    def device(self) -> str:
        return getattr(self.net, "device", "cpu")

    def cancel(self) -> None:
        """Ask the worker to stop before its next network pass."""
        self._cancel.set()

    def run(self) -> list:
        """Predict in this thread and add the models; returns the helix and sheet volumes."""
        self._begin()
        try:
            prediction = self._predict(self._progress)
        except InputError as err:
            self._end("failed", str(err))
            raise UserError(str(err)) from None
        except Cancelled:
            self._end("cancelled", "DeepSSETracer: cancelled")
            raise UserError("DeepSSETracer: cancelled") from None
        except BaseException:
            self._end("failed", "DeepSSETracer: failed")
            raise
        return self._finish(prediction)

    def start(self) -> None:
        """Predict in a worker thread; the models are added on the UI thread when it ends."""
        from chimerax.core.models import REMOVE_MODELS

        self._begin()
        _jobs[self.session] = self
        self._closed_handler = self.session.triggers.add_handler(REMOVE_MODELS,
                                                                 self._models_closed)
        threading.Thread(target=self._work, name="DeepSSETracer", daemon=True).start()

    def _models_closed(self, trigger_name, models) -> None:
        if self.request.live_volume() is None:  # its map is gone: stop, add nothing
            self._cancel.set()

    # -- worker thread -------------------------------------------------------------------

    def _work(self) -> None:
        ui = self.session.ui

        def progress(done: int, total: int) -> None:
            ui.thread_safe(self._progress, done, total)

        try:
            outcome = ("ok", self._predict(progress))
        except Cancelled:
            outcome = ("cancelled", "DeepSSETracer: cancelled")
        except InputError as err:
            outcome = ("error", str(err))
        except BaseException:
            outcome = ("bug", sys.exc_info())
        ui.thread_safe(self._done, *outcome)

    def _predict(self, progress) -> Prediction:
        around = self.request.around
        solvent = (solvent_of(around.data, around.voxel_size, self.spec.voxel_size,
                              self.lowpass) if around is not None else None)
        prediction = predict_map(self.request.dmap, self.net, self.spec, tta=self.tta,
                                 lowpass=self.lowpass, progress=progress,
                                 cancel=self._cancel.is_set, name=self.request.name,
                                 checked=True,  # `deepssetracer` checked it
                                 molecule_check=self.molecule_check, solvent=solvent)
        if self.elements:  # here, in the worker: it is numpy work, seconds on a large map
            self.found = find_elements(self.request.dmap, prediction)
        return prediction

    # -- UI thread -----------------------------------------------------------------------

    def _begin(self) -> None:
        self.state = "running"
        self._started = time.perf_counter()
        self.session.logger.status(f"DeepSSETracer: predicting {self.request.name}…")

    def _progress(self, done: int, total: int) -> None:
        self.fraction = done / total if total else 1.0
        percent = int(100 * self.fraction)
        if percent == self._last_percent:
            return
        self._last_percent = percent
        self.session.logger.status(f"DeepSSETracer {self.request.name}: {percent}% "
                                   f"({done}/{total} network passes)")
        for cb in list(self.progress_callbacks):
            cb(self)

    def _done(self, kind: str, value) -> None:
        _jobs.pop(self.session, None)
        if self._closed_handler is not None:
            self.session.triggers.remove_handler(self._closed_handler)
            self._closed_handler = None
        logger = self.session.logger
        if self.request.live_volume() is None and kind != "bug":
            kind, value = "cancelled", (f"DeepSSETracer: {self.request.name} was closed before "
                                        "its prediction ended; the result is dropped")
        if kind == "ok":
            try:
                self._finish(value)
                return
            except Exception:
                kind, value = "bug", sys.exc_info()
        if kind == "cancelled":
            logger.info(value)
            self._end("cancelled", value)
        elif kind == "error":
            logger.error(value)
            self._end("failed", value)
        else:
            self._end("failed", "DeepSSETracer: failed")
            logger.report_exception(preface="DeepSSETracer failed", exc_info=value)

    def _finish(self, prediction: Prediction) -> list:
        volume = self.request.live_volume()
        replaced = []
        if self.replace and volume is not None:
            replaced = earlier_results(volume)
        model_id = self.model_id
        if model_id is None and replaced:
            model_id = replaced[0].id  # the new result takes the place of the one it replaces
        replaced_ids = [f"#{m.id_string}" for m in replaced]
        if replaced:
            self.session.models.close(replaced)
        self.models = add_prediction_models(self.session, self.request, prediction,
                                            level=self.level, model_id=model_id)
        vol = prediction.volumes_A3(self.level)
        seconds = time.perf_counter() - self._started
        parent = self.models[0].parent
        done = [prediction.preprocessing()]
        if replaced_ids:
            done.append(f"replaced the earlier result {', '.join(replaced_ids)}")
        if prediction.rotations > 1:
            done.append(f"averaged over {prediction.rotations} rotations")
        message = (f"DeepSSETracer {self.request.name} → #{parent.id_string}: helix "
                   f"{vol['helix']:.0f} Å³, sheet {vol['sheet']:.0f} Å³ at level "
                   f"{self.level:g}; " + "".join(f"{d}; " for d in done if d)
                   + f"{seconds:.1f} s on {self.device}")
        for warning in prediction.warnings:
            self.session.logger.warning(f"DeepSSETracer {self.request.name}: {warning}")
        self.session.logger.info(message)
        self._add_extras(prediction)
        self._end("finished", message)
        return self.models

    def _add_extras(self, prediction: Prediction) -> None:
        """The element models and the model check, each logged on its own line."""
        helix, logger = self.models[0], self.session.logger
        if self.found is not None:
            added = add_element_models(self.session, helix.parent, self.found, helix,
                                       self.request.base_name)
            self.models += added
            logger.info(f"DeepSSETracer {self.request.name}: "
                        f"{elements_message(self.found, added)}")
        if self.structure is not None:
            structure = self.structure()
            if structure is None or structure.deleted:
                logger.warning(f"DeepSSETracer {self.request.name}: the model to check was "
                               "closed before the prediction ended")
                return
            check = colour_by_prediction(structure, prediction, helix)
            for line in check_message(structure, check, self.request.name):
                logger.info(line)

    def _end(self, state: str, message: str) -> None:
        self.state, self.message = state, message
        if state == "finished":
            self.fraction = 1.0
        self.session.logger.status("" if state == "finished" else message)
        for cb in list(self.finished_callbacks):
            cb(self)


def add_prediction_models(session, request: MapRequest, prediction: Prediction, *,
                          level: float = 0.5, model_id: tuple[int, ...] | None = None) -> list:
    """Add ``"<map> helix"`` and ``"<map> sheet"`` under one parent placed with the map.

    Each is a transparent surface at `level` on the region's own grid at its shown step (voxel
    size, corner and axes of the region that was predicted; `prediction`, on the grid read,
    taken at the shown points). Returns ``[helix, sheet]``.
    """
    from chimerax.core.models import Model
    from chimerax.map import volume_from_grid_data
    from chimerax.map_data import ArrayGridData

    parent = Model(f"{request.base_name} DeepSSETracer", session)
    source = request.live_volume()
    mark_result(parent, source)  # kept in session files (`results.ResultLinks`)
    if model_id is not None:
        if session.models.have_id(model_id):  # taken while the prediction ran
            session.logger.warning(f"DeepSSETracer: model #{_id_text(model_id)} exists now; "
                                   "using the next free id")
        else:
            parent.id = tuple(model_id)
    volumes = []
    for cls in ("helix", "sheet"):
        grid = ArrayGridData(request.shown(getattr(prediction, cls)), request.shown_origin,
                             request.shown_voxel_size, request.cell_angles, request.rotation,
                             name=f"{request.base_name} {cls}")
        v = volume_from_grid_data(grid, session, style="surface", open_model=False,
                                  show_dialog=False)
        v.set_parameters(surface_levels=[level], surface_colors=[COLORS[cls]])
        v.show(style="surface")
        mark_result(v, source)
        volumes.append(v)
    parent.add(volumes)
    session.models.add([parent])
    # where the map is now (it may have moved while the prediction ran)
    parent.scene_position = (source.scene_position if source is not None
                             else request.scene_position)
    return volumes


@functools.lru_cache(maxsize=2)
def _load_network_cached(path: str, mtime_ns: int, device: str):
    return load_network(path, device=device)


def _network(weights: str | None, device: str):
    """The network for `weights` on `device`; reloaded only when the file changes."""
    path = Path(weights).expanduser() if weights else default_weights_path()
    if not path.is_file():
        if weights:
            raise UserError(f"{path}: weights file not found")
        raise UserError("no trained weights are installed with DeepSSETracer; give an ONNX "
                        "file (with its .json sidecar beside it) with 'weights PATH'")
    try:
        net, spec = _load_network_cached(str(path.resolve()), os.stat(path).st_mtime_ns, device)
    except InputError as err:
        raise UserError(str(err)) from None
    return net, spec


def _id_text(model_id) -> str:
    return ".".join(str(i) for i in model_id)


def _region_text(region) -> str:
    ijk_min, ijk_max, ijk_step = region
    text = ",".join(str(int(i)) for i in (*ijk_min, *ijk_max))
    steps = sorted(set(ijk_step))
    return f"{text} step {','.join(str(s) for s in ijk_step) if len(steps) > 1 else steps[0]}"


class SourceMapArg(ModelsArg):
    """One density map to predict, with a message saying what was wrong otherwise.

    ChimeraX's ``MapArg`` says only "Must specify one map, got N" for a spec naming no model, an
    atomic model, or a parent of several maps; this says which, and refuses DeepSSETracer's own
    results (predicting a probability map gives "helix helix"), naming the map they came from.
    """

    name = "a density map specifier"

    @classmethod
    def parse(cls, text, session):
        from chimerax.map import Volume

        models, used, rest = super().parse(text, session)
        spec = used.strip() or text.strip()
        maps = [m for m in models if isinstance(m, Volume)]
        results = [m for m in maps if result_source(m)[0]]
        if results:
            raise UserError(_result_message(spec, results))
        if len(maps) == 1:
            return maps[0], used, rest
        if maps:
            raise UserError(f"{spec} names {len(maps)} maps ({_ids(maps)}); DeepSSETracer "
                            "predicts one map at a time: give one of them")
        open_maps = sorted(session.models.list(type=Volume), key=lambda m: m.id)
        hint = (f"open maps: {_ids(open_maps)}" if open_maps
                else "no density map is open")
        if not models:
            raise UserError(f"{spec}: no such model is open; give one density map ({hint})")
        first = sorted(models, key=lambda m: m.id)[0]
        raise UserError(f"{spec} is {_kind(first)}, not a density map; give one density map "
                        f"({hint})")


def _result_message(spec: str, results: list) -> str:
    _, source = result_source(results[0])
    what = (f"{spec} is a DeepSSETracer result" if len(results) == 1 else
            f"{spec} holds DeepSSETracer results ({_ids(results)})")
    if source is None:
        return (f"{what}, a probability map, not a density map; run deepssetracer on the map "
                "it came from (it has been closed)")
    return (f"{what}, a probability map, not a density map; run it on the map it came from: "
            f"deepssetracer #{source.id_string}")


def _ids(models) -> str:
    return ", ".join(f"#{m.id_string}" for m in models)


def _kind(model) -> str:
    try:
        from chimerax.atomic import Structure
    except ImportError:  # pragma: no cover - the atomic bundle is part of every ChimeraX
        Structure = ()
    if isinstance(model, Structure):
        return f"an atomic model ({model.name})"
    return f"{model.name!r} ({type(model).__name__}, #{model.id_string})"


def register_command(name: str, logger) -> None:
    """Register ``deepssetracer`` and ``deepssetracer cancel`` (called by the bundle API)."""
    desc = CmdDesc(
        required=[("volume", SourceMapArg)],
        keyword=[
            ("subregion", MapRegionArg),
            ("step", MapStepArg),
            ("device", EnumOf(DEVICES)),
            ("tta", BoolArg),
            ("lowpass", Or(EnumOf(("auto", "off")), FloatArg)),
            ("level", FloatArg),
            ("block", BoolArg),
            ("model_id", ModelIdArg),
            ("weights", OpenFileNameArg),
            ("replace", BoolArg),
            ("molecule_check", BoolArg),
            ("elements", BoolArg),
            ("model", AtomicStructureArg),
        ],
        synopsis="label helix and sheet regions of a density map",
    )
    register(name, desc, deepssetracer, logger=logger)
    register(f"{name} cancel", CmdDesc(synopsis="stop the running DeepSSETracer prediction"),
             deepssetracer_cancel, logger=logger)
