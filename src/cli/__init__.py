"""The `deepssetracer` console script: one entry point, one module per subcommand.

Each subcommand module defines ``add_args(parser)`` and ``main(args) -> int`` and imports its
heavy dependencies (torch, gemmi, mdtraj) inside ``main`` only, so ``deepssetracer predict``
never loads them.
"""

from __future__ import annotations

import argparse
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
    args = build_parser().parse_args(argv)
    return int(args._main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
