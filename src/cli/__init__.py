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
    args = build_parser().parse_args(argv)
    return int(args._main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
