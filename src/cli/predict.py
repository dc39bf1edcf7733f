"""``deepssetracer predict MAP -o OUTDIR``: helix and sheet probability maps of a density map.

Writes ``OUTDIR/<map stem>_helix.mrc`` and ``<stem>_sheet.mrc`` (probabilities 0-1 on the input
map's own grid: same size, voxel size and origin) and, with ``--labels``, ``<stem>_labels.mrc``
(int8: 0 helix, 1 sheet, 2 background, the most probable class of each voxel), with
``--elements`` ``<stem>_elements.json`` and ``_elements.pdb`` (helix axes, sheet patches; see
docs/elements.md), with ``--model MODEL`` ``<stem>_residues.csv`` (each residue's voted class
and the model's own). Prints one
summary line on stdout; on bad input prints one ``deepssetracer: error: FILE: PROBLEM`` line on
stderr, writes nothing and exits with 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT; SIGTERM gives 143


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
    parser.add_argument("map", type=Path, help="input map (.mrc, .map or .ccp4)")
    parser.add_argument("-o", "--outdir", type=Path, default=Path("."),
                        help="folder for the outputs (created if missing; default: .)")
    parser.add_argument("--weights", type=Path, default=None,
                        help="ONNX weights with their .json sidecar beside them "
                             "(default: the weights shipped with the package)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where to run the network (default: auto, CUDA when available)")
    parser.add_argument("--threads", type=_positive_int, default=None,
                        help="CPU threads for the network (default: all cores)")
    parser.add_argument("--tta", type=int, nargs="?", const=4, default=1, choices=(1, 4, 12, 24),
                        metavar="N",
                        help="average over N proper rotations (4, 12 or 24; N times the run "
                             "time; --tta alone means 4; default: off)")
    parser.add_argument("--lowpass", type=_lowpass, default="auto", metavar="auto|off|A",
                        help="low-pass filter the map first: 'auto' (default) filters it to "
                             "6 Å when its power spectrum shows it sharper than 4.5 Å (the "
                             "network learnt 5-10 Å maps); 'off' never; a number filters to "
                             "that many Å (up to 15)")
    parser.add_argument("--labels", action="store_true",
                        help="also write <stem>_labels.mrc (0 helix, 1 sheet, 2 background)")
    parser.add_argument("--elements", action="store_true",
                        help="also write <stem>_elements.json and <stem>_elements.pdb: helix "
                             "axes and sheet patches (Å, the map's frame)")
    parser.add_argument("--model", type=Path, default=None, metavar="MODEL.pdb|.cif",
                        help="also write <stem>_residues.csv: each protein residue's predicted "
                             "class (the vote residue F1 uses) against the model's own HELIX/"
                             "SHEET assignment (needs gemmi)")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    from ..core.errors import InputError, terminate_as_interrupt
    from ..core.predict import predict_file

    threads = args.threads
    if threads is not None and threads > cpu_cores():
        threads = cpu_cores()  # more threads than cores only contend (70x slower at 1000)
        print(f"deepssetracer: note: --threads {args.threads} capped at the {threads} CPU "
              f"cores available", file=sys.stderr)
    try:
        model = None
        if args.model is not None:  # read first: a bad model costs no prediction
            from .models import read_model

            model = read_model(args.model)
        with terminate_as_interrupt():  # kill: clean up as for Ctrl-C
            result = predict_file(args.map, args.outdir, weights=args.weights,
                                  device=args.device, threads=threads, tta=args.tta,
                                  lowpass=args.lowpass, labels=args.labels, force=args.force,
                                  quiet=args.quiet, elements=args.elements, model=model)
    except InputError as err:
        return _fail(str(err), EXIT_INPUT)
    except MemoryError:
        return _fail(f"{args.map}: out of memory (try a smaller box)", EXIT_INPUT)
    except OSError as err:
        return _fail(f"{err.filename or args.map}: {err.strerror or err}", 1)
    except KeyboardInterrupt as err:
        signum = getattr(err, "signum", None)
        return _fail(f"{args.map}: interrupted", 128 + signum if signum else EXIT_INTERRUPTED)
    for warning in result.warnings:
        print(f"warning: {result.map_path.name}: {warning}", file=sys.stderr)
    print(result.summary())
    return 0


def _fail(message: str, code: int) -> int:
    print(f"deepssetracer: error: {message}", file=sys.stderr)
    return code
