"""``deepssetracer predict MAP [MAP ...] -o OUTDIR``: helix and sheet probability maps.

Writes ``OUTDIR/<map stem>_helix.mrc`` and ``<stem>_sheet.mrc`` (probabilities 0-1 on the input
map's own grid: same size, voxel size and origin) and, with ``--labels``, ``<stem>_labels.mrc``
(int8: 0 helix, 1 sheet, 2 background, the most probable class of each voxel), with
``--elements`` ``<stem>_elements.json`` and ``_elements.pdb`` (helix axes, sheet patches; see
docs/elements.md), with ``--model MODEL`` ``<stem>_residues.csv`` (each residue's voted class
and the model's own; the one model is read once and checked against every map), for each map.
Prints one summary line per map on stdout; a bad map gets one ``deepssetracer: error: FILE:
PROBLEM`` line on stderr and nothing written, the other maps still run, and the exit code is 2
if any map failed. The network is loaded once, at the first map that passes its checks.

Before anything is read, the whole run is refused (one line, exit 2, nothing written, also with
``--force``) when a file it would write (or, as an earlier run's labels, remove), ``--json``
included, is one of its inputs or another of its outputs (through links too), or when a folder
or other special file sits at an output name. A signal during a map's commit waits until the
map is reported done (`atomic.SignalHold`). Printed names are escaped (`errors.printable`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..core.devices import DEVICES

if TYPE_CHECKING:  # numpy: not for --help
    from ..core.residues import ModelResidues

EXIT_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT; SIGTERM gives 143
TTA_CHOICES = (1, 4, 12, 24)
NAME_FROM = ("stem", "parent")  # sorted(rotations.SUBGROUPS), not imported: --help stays light


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _lowpass(text: str) -> float | str | None:
    if text in ("auto", "off"):
        return None if text == "off" else text
    try:
        return float(text)  # inf, nan and 1000 are refused by the core, in one line
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be auto, off or a resolution in Å, got "
                                         f"{text!r}") from None


def cpu_cores() -> int:
    """CPU cores this process may run on (its affinity where the system says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("map", type=Path, nargs="+", metavar="MAP",
                        help="input maps (.mrc, .map or .ccp4, or gzipped as EMDB serves them: "
                             ".map.gz, .mrc.gz; outputs drop both suffixes); several run one "
                             "after another with the network loaded once, a bad one skipped "
                             "with its error line (exit code 2 at the end); two whose outputs "
                             "would have the same name are refused (see --name-from)")
    parser.add_argument("-o", "--outdir", type=Path, default=Path("."),
                        help="folder for the outputs (created if missing; default: .)")
    parser.add_argument("--name-from", choices=NAME_FROM, default="stem",
                        help="what each map's outputs are named after: 'stem' (default), the "
                             "file's name without its suffixes (emd_1234.map.gz gives "
                             "emd_1234_helix.mrc); 'parent', its folder's name, for one folder "
                             "per map (data/emd_1234/map.mrc gives emd_1234_helix.mrc)")
    parser.add_argument("--weights", type=Path, default=None,
                        help="ONNX weights with their .json sidecar beside them "
                             "(default: the weights shipped with the package)")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where to run the network (default: auto, CUDA when available)")
    parser.add_argument("--threads", type=_positive_int, default=None,
                        help="CPU threads for the network (default: all cores)")
    parser.add_argument("--tta", type=int, nargs="?", const=4, default=1, choices=TTA_CHOICES,
                        metavar="N",
                        help="average over N proper rotations, N one of "
                             f"{', '.join(map(str, TTA_CHOICES))} (1 is off; N times the run "
                             "time; --tta alone means 4; default: 1)")
    parser.add_argument("--lowpass", type=_lowpass, default="auto", metavar="auto|off|A",
                        help="low-pass filter the map first: 'auto' (default) filters every "
                             "map to 6 Å (the network learnt 5-10 Å maps; a 7-10 Å map is left "
                             "as it is); 'off' never; a number filters to that many Å (up to "
                             "15)")
    parser.add_argument("--no-molecule-check", dest="molecule_check", action="store_false",
                        help="leave out the warning that no molecule stands out of the noise "
                             "(such a map is predicted either way)")
    parser.add_argument("--around", type=Path, default=None, metavar="WHOLE_MAP",
                        help="the map the input maps were cut from (the same file's units): "
                             "its solvent level is taken where it lies below a crop's own "
                             "mode, as the ChimeraX command does for a region of an open map. "
                             "A crop crowded with protein holds no solvent, and its mode (the "
                             "protein's density) otherwise passes for the solvent; read once, "
                             "before any map, at 2 Å or coarser")
    parser.add_argument("--labels", action="store_true",
                        help="also write <stem>_labels.mrc (0 helix, 1 sheet, 2 background)")
    parser.add_argument("--elements", action="store_true",
                        help="also write <stem>_elements.json and <stem>_elements.pdb: helix "
                             "axes and sheet patches (Å, the map's frame)")
    parser.add_argument("--model", type=Path, default=None, metavar="MODEL.pdb|.cif",
                        help="also write <stem>_residues.csv: each protein residue's predicted "
                             "class (the vote residue F1 uses) against the model's own HELIX/"
                             "SHEET assignment (needs gemmi); read once, before any map, and "
                             "with several maps checked against each of them (maps of one "
                             "structure: half maps, sharpenings)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite existing outputs; without --labels an earlier run's "
                             "<stem>_labels.mrc is removed with them, in the same atomic swap "
                             "(without --force it is refused), so no stale labels stay beside "
                             "the new pair; never an input of the run, nor a folder")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE",
                        help="also write, for scripts, the working folder, each map's "
                             "input, outputs (absolute paths; the elements and residue files "
                             "too), volumes (Å³ at p 0.5), settings (weights sha256, device, "
                             "threads used, TTA, low-pass asked and "
                             "applied, resolution estimate), timings, warnings, notes "
                             "(elements found, model agreement) and the model's figures, or "
                             "its error; written atomically at the end")


def main(args: argparse.Namespace) -> int:
    from ..core.atomic import SignalHold
    from ..core.errors import InputError, printable, terminate_as_interrupt
    from ..core.outputs import make_outdir, remove_created
    from . import report  # numpy, mrcfile, onnxruntime: not for --help

    _load_onnxruntime()

    threads = _capped_threads(args.threads)
    maps: list[Path] = list(args.map)
    try:
        _check_stems(maps, args.outdir, args.name_from)
        if args.json is not None:
            report.check_target(args.json)
        _check_targets(maps, args)
        model = None
        if args.model is not None:  # read first: a bad model costs no prediction
            from .models import read_model

            model = read_model(args.model)
        solvent = _around_solvent(args)  # also before any map: a bad file costs no prediction
        created = make_outdir(args.outdir)  # its new levels go again if nothing is written
    except InputError as err:
        return _fail(str(err), EXIT_INPUT)
    network = _NetworkOnce(args.weights, args.device, threads)
    records: list[dict] = []
    code, path = 0, maps[0]
    # From a map's commit (`mapio.write_maps`) until its result is printed and recorded, a
    # signal waits: the map is reported done with its new set, and the signal stops the batch
    # before the next map. After the last map nothing is left to stop: one that comes then is
    # dropped, and the report is still written (no traceback after it).
    hold = SignalHold()
    with terminate_as_interrupt():  # kill: clean up as for Ctrl-C
        try:
            with hold.over_commits():
                for i, path in enumerate(maps):
                    hold.release()  # delivers a signal held over the previous map's commit
                    message, status = _predict_one(path, args, threads, network, model,
                                                   records, solvent)
                    if status:
                        code = max(code, status)
                        _fail(message, status)
                    if network.error is not None:  # the weights: every other map fails alike
                        records += [report.failure_record(p, network.error)
                                    for p in maps[i + 1:]]
                        break
        except KeyboardInterrupt as err:
            hold.take()
            signum = getattr(err, "signum", None)
            if len(records) == maps.index(path):  # not recorded yet (records[i] is map i's)
                records.append(report.failure_record(path, "interrupted"))
            code = _fail(f"{path}: interrupted", 128 + signum if signum else EXIT_INTERRUPTED)
        except Exception as err:  # a bug: its traceback follows the report, written below
            if len(records) == maps.index(path):
                records.append(report.failure_record(
                    path, f"{printable(path)}: internal error ({type(err).__name__})"))
            code = 1
            raise
        finally:  # also after a bug's exception: the report of the maps done is written
            hold.take()
            try:
                if args.json is not None:
                    try:
                        report.write_report(args.json, records, interrupted=code >= 128)
                    except InputError as err:
                        code = max(code, _fail(str(err), EXIT_INPUT))
                remove_created(created)  # the levels still empty: nothing was written there
            finally:
                hold.release(deliver=False)
    return code


def _around_solvent(args: argparse.Namespace) -> float | None:
    """The ``--around`` map's solvent level (`core.predict.read_solvent`), or None.

    Raises:
        InputError: the map or the weights' sidecar (whose grid it is read for) is unusable.
    """
    if args.around is None:
        return None
    from ..core.predict import read_solvent
    from ..core.weights import default_weights_path, load_spec

    weights = args.weights if args.weights is not None else default_weights_path()
    return read_solvent(args.around, load_spec(weights), args.lowpass)


def _predict_one(path: Path, args: argparse.Namespace, threads: int | None,
                 network: _NetworkOnce, model: ModelResidues | None,
                 records: list[dict], solvent: float | None = None) -> tuple[str, int]:
    """Predict one map (with ``--elements`` / ``--model`` outputs as asked, and the
    ``--around`` map's `solvent` level), print its lines and add its record; ``(error line,
    exit code)``."""
    from ..core.errors import InputError, OutputExists
    from ..core.predict import predict_file
    from . import report

    try:
        result = predict_file(path, args.outdir, stem=output_stem(path, args.name_from),
                              tool=f"DeepSSETracer {__version__}",
                              weights=args.weights, device=args.device,
                              threads=threads, tta=args.tta, lowpass=args.lowpass,
                              labels=args.labels, force=args.force, quiet=args.quiet,
                              network=network, elements=args.elements, model=model,
                              molecule_check=args.molecule_check, solvent=solvent)
    except OutputExists as err:  # the core's message is neutral: the flag is the CLI's
        hint = ("pass --force to replace the set: it is then removed" if err.stale
                else "pass --force to overwrite")
        message, status = f"{err} ({hint})", EXIT_INPUT
    except InputError as err:
        message, status = str(err), EXIT_INPUT
    except MemoryError:
        message, status = f"{path}: out of memory (try a smaller box)", EXIT_INPUT
    except OSError as err:
        message, status = f"{err.filename or path}: {err.strerror or err}", 1
    else:
        name = result.map_path.name if args.name_from == "stem" else result.map_path
        for warning in result.warnings:  # with --name-from parent, names alike: the path
            _say(f"warning: {name}: {warning}", sys.stderr)
        _say(result.summary(), sys.stdout)
        records.append(report.map_record(result, lowpass_asked=args.lowpass, threads=threads,
                                         model=args.model, around=args.around))
        return "", 0
    records.append(report.failure_record(path, message))
    return message, status


class _NetworkOnce:
    """The network, loaded at the first map whose outputs pass their checks, then shared.

    A weights error is kept (`error`), so the run stops there instead of repeating it per map.
    """

    def __init__(self, weights: Path | None, device: str, threads: int | None):
        self.weights, self.device, self.threads = weights, device, threads
        self.loaded = None
        self.error: str | None = None

    def __call__(self):
        from ..core.errors import InputError
        from ..core.inference import load_network

        if self.loaded is None:
            try:
                self.loaded = load_network(self.weights, device=self.device, threads=self.threads)
            except InputError as err:
                self.error = str(err)
                raise
        return self.loaded


def _load_onnxruntime() -> None:
    """Import onnxruntime now, after numpy (whose OpenBLAS, loaded second under a tight
    ``ulimit -v``, would exit from C): a library that cannot load is one line before any map
    (`cli.load_failure`), not an error at the first map's network."""
    import onnxruntime  # noqa: F401


def _capped_threads(threads: int | None) -> int | None:
    """`threads`, at most the CPU cores (more only contend: 70x slower at 1000), with a note."""
    if threads is not None and threads > cpu_cores():
        print(f"deepssetracer: note: --threads {threads} capped at the {cpu_cores()} CPU "
              f"cores available", file=sys.stderr)
        return cpu_cores()
    return threads


def output_stem(path: Path, name_from: str = "stem") -> str:
    """What `path`'s outputs are named after: its stem (`mapio.map_stem`), or with
    ``name_from="parent"`` the name of its folder (``data/emd_1234/map.mrc``: ``emd_1234``).

    Raises:
        InputError: the folder has no name (the file system's root).
    """
    from ..core.errors import InputError
    from ..core.mapio import map_stem

    if name_from == "stem":
        return map_stem(path)
    parent = Path(os.path.abspath(path)).parent.name
    if not parent:
        raise InputError(path, "--name-from parent: the map's folder has no name (it is the "
                               "root); use --name-from stem")
    return parent


def _check_stems(maps: list[Path], outdir: Path, name_from: str = "stem") -> None:
    """Refuse, before any work, two maps whose outputs would have the same names.

    Raises:
        InputError: naming the second map and the first.
    """
    from ..core.errors import InputError

    seen: dict[str, Path] = {}
    for path in maps:
        stem = output_stem(path, name_from)
        if stem in seen:
            first = seen[stem]
            folders = {Path(os.path.abspath(p)).parent.name for p in (path, first)}
            hint = ("give them different -o folders (one run each) or rename one" if
                    name_from == "parent" or len(folders) == 1 or "" in folders else
                    "name the outputs after their folders (--name-from parent), give them "
                    "different -o folders (one run each) or rename one")
            what = "stem" if name_from == "stem" else "folder name"
            raise InputError(path, f"has the same {what} {stem!r} as {first}: both would "
                                   f"write {outdir / (stem + '_helix.mrc')}; {hint}")
        seen[stem] = path


def _fail(message: str, code: int) -> int:
    """Print the one error line; `code` back, for ``return _fail(...)``."""
    _say(f"deepssetracer: error: {message}", sys.stderr)
    return code


def _say(line: str, stream) -> None:
    """Print one line of names and figures as one line that `stream` can encode: a file name's
    undecodable bytes and control characters (a newline) come out as backslash escapes
    (`errors.printable`)."""
    from ..core.errors import printable

    line = printable(line)
    try:
        print(line, file=stream, flush=True)
    except UnicodeEncodeError:  # an ASCII-only stream: Å³ and the like escaped too
        encoding = getattr(stream, "encoding", None) or "ascii"
        print(line.encode(encoding, "backslashreplace").decode(encoding), file=stream,
              flush=True)


def _check_targets(maps: list[Path], args: argparse.Namespace) -> None:
    """Refuse, before anything is read, a run that would write over (or, as an earlier run's
    labels, remove) one of its own inputs (maps, ``--model``, weights and their sidecar), or
    write one file twice (``--json`` naming an output, say), or replace a folder or another
    special file: `outputs.file_keys` tells one file by its resolved path and its inode, so
    symbolic and hard links count. ``--force`` changes none of this.

    Raises:
        InputError: naming the output (or ``--json``) file and what it clashes with.
    """
    from ..core.errors import InputError
    from ..core.mapio import special_kind
    from ..core.outputs import file_keys
    from ..core.predict import output_paths
    from ..core.weights import default_weights_path, sidecar_path

    weights = args.weights if args.weights is not None else default_weights_path()
    inputs = [(m, f"the input map {m}") for m in maps]
    if args.model is not None:
        inputs.append((args.model, f"the --model file {args.model}"))
    if args.around is not None:
        inputs.append((args.around, f"the --around map {args.around}"))
    inputs += [(weights, f"the weights {weights}"),
               (sidecar_path(weights), f"the weights sidecar {sidecar_path(weights)}")]
    seen: dict = {}
    for path, what in inputs:
        for key in file_keys(path):
            seen.setdefault(key, what)
    rename = "choose another -o folder or rename the map"
    move = "move it or choose another -o folder"
    targets = []  # (path, what it is, what the run would do to a clashing file, how to avoid)
    for m in maps:
        stem = output_stem(m, args.name_from)
        paths = output_paths(m, args.outdir, args.labels, args.elements, args.model is not None,
                             stem=stem)
        targets += [(p, f"an output of {m}", (f"an output of {m} would overwrite", ""),
                     (rename, move)) for p in paths.values()]
        if not args.labels:
            targets.append((output_paths(m, args.outdir, labels=True, stem=stem)["labels"],
                            f"the earlier labels map that the run of {m} removes",
                            (f"the run of {m}, which writes no labels, would remove",
                             " as an earlier run's labels map"), (rename, move)))
    if args.json is not None:
        targets.append((args.json, "the --json report", ("the --json report would overwrite", ""),
                        ("give --json another name",) * 2))
    for path, what, (verb, tail), (hint, special_hint) in targets:
        kind = special_kind(path)
        if kind and not (kind.endswith("folder") and tail):  # the labels' name: a folder is kept
            raise InputError(path, f"is {kind}, at the name of {what}; it is never replaced "
                                   f"or moved, even with --force ({special_hint})")
        keys = file_keys(path)
        clash = next((seen[k] for k in keys if k in seen), None)
        if clash is not None:
            raise InputError(path, f"{verb} {clash}{tail} (the same file); refused, even with "
                                   f"--force ({hint})")
        for key in keys:
            seen.setdefault(key, what)
