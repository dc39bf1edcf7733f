"""What the DeepSSETracer panel does, without Qt, so it is tested against a real session.

The panel never calls the prediction itself: it writes the ``deepssetracer`` command that does
what the user chose and runs it with `chimerax.core.commands.run`, so every click is logged
and can be replayed from the log or a script. The command names the region explicitly when the
map is cropped, so the replay predicts the same voxels.
"""

from __future__ import annotations

from collections.abc import Callable

from chimerax.core.commands import quote_path_if_necessary, run
from chimerax.core.errors import UserError

from .cmd import PredictionJob, running_job

DEFAULT_LEVEL = 0.5


class PanelController:
    """Maps to choose from, the region they will use, and the Run / Cancel actions.

    Attributes:
        on_progress: called with the fraction done (0-1) while a prediction runs.
        on_finished: called with the final state (``finished``, ``cancelled`` or ``failed``)
            and a one-line message.
    """

    def __init__(self, session):
        self.session = session
        self.on_progress: Callable[[float], None] | None = None
        self.on_finished: Callable[[str, str], None] | None = None

    def maps(self) -> list:
        """The open density maps, in model-id order."""
        from chimerax.map import Volume

        return sorted(self.session.models.list(type=Volume), key=lambda v: v.id)

    def structures(self) -> list:
        """The open atomic models (what ``model`` can check), in model-id order."""
        from chimerax.atomic import AtomicStructure

        return sorted(self.session.models.list(type=AtomicStructure), key=lambda m: m.id)

    @staticmethod
    def map_label(v) -> str:
        return f"#{v.id_string} {v.name}"

    @staticmethod
    def describe_region(v) -> str:
        """The region a run would use, in voxels and Å (what the user cropped)."""
        ijk_min, ijk_max, step = v.region
        size = v.matrix_size()
        voxel = [s * t for s, t in zip(v.data.step, step)]
        extent = " x ".join(f"{n * s:.0f}" for n, s in zip(size, voxel))
        where = ("whole map" if _is_full(v) else
                 "region " + ",".join(str(int(i)) for i in (*ijk_min, *ijk_max)))
        return (f"{where}: {' x '.join(str(n) for n in size)} voxels of "
                f"{_voxel_text(voxel)} Å ({extent} Å)")

    @staticmethod
    def command(v, *, device: str = "auto", tta: bool = False, lowpass: float = 0.0,
                level: float = DEFAULT_LEVEL, weights: str = "", elements: bool = False,
                model=None) -> str:
        """The ``deepssetracer`` command line for `v`'s current region and these options.

        `lowpass` is a resolution in Å to filter the map to first (0: automatic); `weights` is
        an ONNX file to use instead of the bundled weights ("" for those); `elements` adds the
        helix axes and sheet patches; `model` is an atomic model to colour and check (None:
        none).
        """
        words = ["deepssetracer", f"#{v.id_string}"]
        ijk_min, ijk_max, step = v.region
        if not _is_full(v):
            words += ["subregion", ",".join(str(int(i)) for i in (*ijk_min, *ijk_max))]
        if tuple(step) != (1, 1, 1):
            words += ["step", ",".join(str(int(s)) for s in step) if len(set(step)) > 1
                      else str(int(step[0]))]
        if device != "auto":
            words += ["device", device]
        if tta:
            words += ["tta", "true"]
        if lowpass:
            words += ["lowpass", f"{lowpass:g}"]
        if level != DEFAULT_LEVEL:
            words += ["level", f"{level:g}"]
        if weights.strip():
            words += ["weights", quote_path_if_necessary(weights.strip())]
        if elements:
            words += ["elements", "true"]
        if model is not None:
            words += ["model", f"#{model.id_string}"]
        return " ".join(words)

    @property
    def job(self) -> PredictionJob | None:
        """The prediction running in the background, if any."""
        return running_job(self.session)

    def run(self, v, **options) -> str:
        """Run the command for `v` (logged); returns the command text.

        Without a GUI (or from a script) the command blocks and `on_finished` is called before
        this returns; in the GUI it returns at once and the callbacks follow the job.
        """
        text = self.command(v, **options)
        try:
            result = run(self.session, text)
        except UserError as err:
            self.session.logger.error(str(err))
            self._finished("failed", str(err))
            return text
        if isinstance(result, PredictionJob):
            result.progress_callbacks.append(lambda job: self._progress(job.fraction))
            result.finished_callbacks.append(lambda job: self._finished(job.state, job.message))
        else:
            ids = ", ".join(f"#{m.id_string}" for m in result)
            self._progress(1.0)
            self._finished("finished", f"added {ids}")
        return text

    def cancel(self) -> None:
        """Stop the running prediction (logged as ``deepssetracer cancel``)."""
        run(self.session, "deepssetracer cancel")

    def _progress(self, fraction: float) -> None:
        if self.on_progress is not None:
            self.on_progress(fraction)

    def _finished(self, state: str, message: str) -> None:
        if self.on_finished is not None:
            self.on_finished(state, message)


def _is_full(v) -> bool:
    ijk_min, ijk_max, _ = v.region
    return tuple(ijk_min) == (0, 0, 0) and tuple(ijk_max) == tuple(n - 1 for n in v.data.size)


def _voxel_text(voxel) -> str:
    if len({round(s, 3) for s in voxel}) == 1:
        return f"{voxel[0]:.3g}"
    return " x ".join(f"{s:.3g}" for s in voxel)
