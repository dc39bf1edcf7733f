"""The `deepssetracer` console script: one entry point, one module per subcommand.

Each subcommand module defines ``add_args(parser)`` and ``main(args) -> int`` and imports its
heavy dependencies (torch, gemmi, mdtraj) inside ``main`` only, so ``deepssetracer predict``
never loads them.

Printing never fails on the stream's encoding: on a stream that is not UTF-8 (``LANG=C`` with
UTF-8 mode off, ``PYTHONIOENCODING=ascii`` or ``latin-1``), a character it cannot hold is
written as its ASCII look-alike (``Å`` as ``A``, ``³`` as ``3``, ``–`` as ``-``) or, failing
that, as a backslash escape (`ascii_fallback`), help pages included.
"""

from __future__ import annotations

import argparse
import codecs
import importlib
import os
import re
import sys
from collections.abc import Sequence

from .. import __version__

SUBCOMMANDS = {
    "predict": "label helix and sheet voxels of a map (writes *_helix.mrc, *_sheet.mrc)",
    "evaluate": "score predictions against atomic models (voxel and residue F1; needs the "
                "'eval' extra)",
    "train": "train a network from a JSON config (needs the 'train' extra)",
    "data": "build the simulated training dataset (needs the 'train' extra)",
}

# What a stream that cannot hold a character prints instead (then a backslash escape).
ASCII_LOOKALIKES = {"Å": "A", "³": "3", "²": "2", "–": "-", "—": "-", "≥": ">=", "≤": "<=",
                    "±": "+/-", "×": "x", "µ": "u", "°": " deg", "→": "->", "≈": "~",
                    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "…": "..."}
FALLBACK_ERRORS = "deepssetracer-ascii"


def _lookalike(err: UnicodeError) -> tuple[str, int]:
    """Codec error handler: ASCII look-alikes, else backslash escapes (surrogates included)."""
    if not isinstance(err, UnicodeEncodeError):
        raise err
    text = err.object[err.start:err.end]
    out = []
    for c in text:
        alike = ASCII_LOOKALIKES.get(c)
        out.append(alike if alike is not None
                   else c.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
                   if "\udc80" <= c <= "\udcff" else c.encode("ascii", "backslashreplace")
                   .decode("ascii"))
    return "".join(out), err.end


codecs.register_error(FALLBACK_ERRORS, _lookalike)


def ascii_fallback(*streams) -> None:
    """Make each text stream (default: stdout and stderr) print what its encoding cannot hold
    as `ASCII_LOOKALIKES` or backslash escapes instead of raising ``UnicodeEncodeError``.
    Streams that are UTF-8 (or cannot be reconfigured) are left as they are."""
    for stream in streams or (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
        if encoding in ("utf-8", "utf8") or not hasattr(stream, "reconfigure"):
            continue
        try:
            stream.reconfigure(errors=FALLBACK_ERRORS)
        except (ValueError, OSError):  # closed, or a stream that does not take it
            pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepssetracer",
        description="Find alpha-helix and beta-sheet regions in 5-10 A cryo-EM density maps.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in SUBCOMMANDS.items():
        module = importlib.import_module(f"{__name__}.{name}")
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_args(p)
        p.set_defaults(_main=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    ascii_fallback()
    args = build_parser().parse_args(argv)  # standard library only: numerics come in _main
    too_small = address_space_too_small()
    if too_small:  # OpenBLAS would exit(1) from C while numpy loads, past any except clause
        print(f"deepssetracer: error: {too_small}", file=sys.stderr)
        return 2
    try:
        return int(args._main(args) or 0)
    except (MemoryError, ImportError) as err:  # numpy, onnxruntime under a small ulimit -v
        print(f"deepssetracer: error: {load_failure(err)}", file=sys.stderr)
        return 2


MEMORY_SIGNS = ("failed to map segment", "cannot allocate memory", "bad_alloc",
                "out of memory", "memory allocation")


def load_failure(err: BaseException) -> str:
    """One line for a library (numpy, onnxruntime) that could not be loaded, or memory that ran
    out: the module, the reason (an import error's own, often pages long, cut to its last
    line) and, when memory is the cause, the address-space limit (``ulimit -v``) if one is set.
    """
    chain, seen = [], err
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    reasons = [line.strip() for e in chain for line in str(e).splitlines() if line.strip()]
    packages = [m.group(1) for r in reasons
                for m in [re.search(r"site-packages[/\\]([A-Za-z0-9_]+)", r)] if m]
    module = next(iter(packages), None) or next(
        (e.name.split(".")[0] for e in chain if isinstance(e, ImportError) and e.name), None)
    memory = isinstance(err, MemoryError) or any(
        sign in r.lower() for r in reasons for sign in MEMORY_SIGNS)
    reason = next((r for r in reversed(reasons)
                   if any(sign in r.lower() for sign in MEMORY_SIGNS)), None) if memory \
        else (reasons[-1] if reasons else type(err).__name__)
    if reason:
        reason = reason.rsplit(": ", 1)[-1] if ".so" in reason else reason  # no long path
    where = f"loading {module}" if module else "loading its libraries"
    if not memory:
        return f"cannot import {module or 'a library'} ({reason}); reinstall the package"
    limit = _address_space_limit()
    hint = (f"; the address-space limit (ulimit -v) is {limit // 2**20} MiB: raise it"
            if limit else "; free some memory")
    return f"out of memory {where}{f' ({reason})' if reason else ''}{hint}"


# Address space that loading numpy (OpenBLAS: a buffer and a stack per thread) and onnxruntime
# takes, at the least: below it numpy's OpenBLAS prints its own line and exits while loading
# (measured with ``ulimit -v``: 1 thread fails under ~130 MiB, 2 under ~175 MiB; the whole
# of a small prediction needs ~200 and ~240 MiB).
LOAD_BASE_MIB, LOAD_PER_BLAS_THREAD_MIB = 100, 40
OPENBLAS_MAX_THREADS = 64  # numpy's wheels build OpenBLAS for at most 64


def blas_threads() -> int:
    """Threads numpy's OpenBLAS starts with: its environment variables, else the CPUs this
    process may run on."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        try:
            n = int(os.environ.get(name, "").split(",")[0])
        except ValueError:
            continue
        if n > 0:
            return min(n, OPENBLAS_MAX_THREADS)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return min(cores, OPENBLAS_MAX_THREADS)


def address_space_too_small() -> str | None:
    """The one-line reason why the address-space limit (``ulimit -v``) cannot even hold the
    libraries, checked before any of them loads; None when there is room (or no limit)."""
    limit = _address_space_limit()
    threads = blas_threads()
    floor = (LOAD_BASE_MIB + LOAD_PER_BLAS_THREAD_MIB * threads) * 2**20
    if limit is None or limit >= floor:
        return None
    hint = (f"raise it, or set OPENBLAS_NUM_THREADS=1 ({threads} BLAS threads now)"
            if threads > 1 else "raise it")
    return (f"the address-space limit (ulimit -v) of {limit // 2**20} MiB is below the "
            f"{floor // 2**20} MiB that loading numpy and onnxruntime takes here; {hint}")


def _address_space_limit() -> int | None:
    """``RLIMIT_AS`` in bytes, or None when there is none (or the system does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft in (resource.RLIM_INFINITY, -1) else soft


if __name__ == "__main__":
    sys.exit(main())
