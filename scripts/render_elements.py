"""Render the ChimeraX figures of docs/elements.md: helix axes and sheet patches over a map, and
the fitted model coloured by the prediction.

    .venv-cx/bin/python scripts/render_elements.py [PAIR_DIR] [-o docs/figures]

Runs the headless ChimeraX of the venv (``chimerax --nogui --offscreen``: needs OSMesa,
``apt-get install libosmesa6``) on a map and its fitted model (default: EMD-8518 / 5U8S chain A
in ../shared/data/real) with the bundle's own commands, and writes ``elements_map.png`` and
``elements_model.png``; the ChimeraX log (agreement, disagreeing stretches) is printed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAIR = ROOT.parent / "shared" / "data" / "real" / "emd8518_5u8s_A"
WIDTH, HEIGHT = 900, 700
SIZE = f"width {WIDTH} height {HEIGHT} supersample 3"


def commands(pair: Path, out: Path) -> list[str]:
    """The ChimeraX commands: map #1, model #2, the prediction's parent #3."""
    return [
        f"open {pair / 'map.mrc'}", f"open {pair / 'model.pdb'}",
        "deepssetracer #1 elements true model #2",
        "set bgColor white", "lighting soft", "graphics silhouettes true",
        # the window at the picture's aspect before 'view' fits the scene to it, and a frame
        # drawn so the surfaces exist when it measures them (as scripts/chimerax_figure.py)
        f"windowsize {WIDTH} {HEIGHT}", "wait 1", "view #1", "turn x -60 center #1",
        # 1: the map a transparent grey surface, the probability surfaces hidden, the elements
        "hide #2 models", "hide #3.1 models", "hide #3.2 models",
        "volume #1 encloseVolume 30000 style surface color #b4b4b4 transparency 0.75",
        f"save {out / 'elements_map.png'} {SIZE}",
        # 2: the model as a cartoon coloured by the vote (helix yellow, sheet cyan, other grey)
        "hide #1,3 models", "show #2 models", "hide #2 atoms", "cartoon #2",
        f"save {out / 'elements_model.png'} {SIZE}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pair", nargs="?", type=Path, default=PAIR,
                        help="folder with map.mrc and model.pdb (default: EMD-8518 / 5U8S A)")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "docs" / "figures")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "chimerax.core", "--nogui", "--offscreen",
                           "--exit", "--cmd", "; ".join(commands(args.pair, args.out.resolve()))],
                          capture_output=True, encoding="utf-8", cwd=args.out)
    print(done.stdout, end="")
    if done.returncode != 0:
        print(done.stderr, end="", file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
