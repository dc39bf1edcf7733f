"""Render the ChimeraX figures of docs/elements.md: helix axes and sheet patches over a map, and
the fitted model coloured by the prediction, each with a key beside it.

    .venv-cx/bin/python scripts/render_elements.py [PAIR_DIR] [-o docs/figures]

Runs the headless ChimeraX of the venv (``chimerax --nogui --offscreen``: needs OSMesa,
``apt-get install libosmesa6``) on a map and its fitted model (default: EMD-8518 / 5U8S chain A
in ../shared/data/real) with the bundle's own commands, and writes ``elements_map.png`` and
``elements_model.png``; the ChimeraX log (agreement, disagreeing stretches) is printed. Each
scene is framed on what it shows (``view`` after the last change to it, then ``zoom``), and
the key is drawn beside the render with matplotlib afterwards, as scripts/chimerax_figure.py
does, because the headless ChimeraX has no ``2dlabels``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # its sibling chimerax_figure draws the keys
PAIR = ROOT.parent / "shared" / "data" / "real" / "emd8518_5u8s_A"
WIDTH, HEIGHT = 560, 700  # the render; the molecule stands upright after the turn
KEY_WIDTH = 340  # pixels beside it
ZOOM = 1.5  # on top of 'view', which fits the bounding sphere: wide margins
SIZE = f"width {WIDTH} height {HEIGHT} supersample 3"
ENCLOSE = 30000  # Å³ the map's surface encloses
TITLE = "EMD-8518 (6.1 Å)\nchain A of PDB 5U8S"
MAP_GREY = "#b4b4b4"


def commands(pair: Path, out: Path) -> list[str]:
    """The ChimeraX commands: map #1, model #2, the prediction's parent #3; the two scenes are
    saved as ``out/map_scene.png`` and ``out/model_scene.png``."""
    frame = ["wait 1", "view", f"zoom {ZOOM}"]  # a frame drawn, so 'view' measures the surfaces
    return [
        f"open {pair / 'map.mrc'}", f"open {pair / 'model.pdb'}",
        "deepssetracer #1 elements true model #2",
        "set bgColor white", "lighting soft", "graphics silhouettes true",
        # the window at the picture's aspect before 'view' fits the scene to it
        f"windowsize {WIDTH} {HEIGHT}", "turn x -60 center #1",
        # 1: the map a transparent grey surface, the probability surfaces hidden, the elements
        "hide #2 models", "hide #3.1 models", "hide #3.2 models",
        f"volume #1 encloseVolume {ENCLOSE} style surface color {MAP_GREY} transparency 0.75",
        *frame, f"save {out / 'map_scene.png'} {SIZE}",
        # 2: the model as a cartoon coloured by the vote (helix yellow, sheet cyan, other grey)
        "hide #1,3 models", "show #2 models", "hide #2 atoms", "cartoon #2",
        *frame, f"save {out / 'model_scene.png'} {SIZE}",
    ]


def keys() -> dict[str, tuple[str, list[tuple[str, tuple, str, str]]]]:
    """Per figure: the key's heading and entries (label, face RGB, edge colour, hatch)."""
    from chimerax.deepssetracer.model_check import CLASS_RGBA

    rgb = {k: tuple(c / 255 for c in v[:3]) for k, v in CLASS_RGBA.items()}
    grey = tuple(int(MAP_GREY[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return {
        "elements_map.png": ("predicted elements", [
            ("α-helix axis (rod)", rgb["helix"], "black", ""),
            ("β-sheet patch", rgb["sheet"], "black", ""),
            (f"cryo-EM density\n(surface enclosing {ENCLOSE:,} Å³)", grey, "0.4", "")]),
        "elements_model.png": ("model residues, coloured\nby the prediction's vote", [
            ("voted helix", rgb["helix"], "black", ""),
            ("voted sheet", rgb["sheet"], "black", ""),
            ("neither (other)", rgb["other"], "black", "")]),
    }


def add_key(render_png: Path, out: Path, heading: str,
            entries: list[tuple[str, tuple, str, str]], title: str = TITLE) -> Path:
    """`render_png` at its own pixel size with a key of ``(label, face, edge, hatch)``
    `entries` on its right, saved as `out` (`chimerax_figure.keyed_figure`)."""
    from chimerax_figure import keyed_figure
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=face, edgecolor=edge, hatch=hatch)
               for _, face, edge, hatch in entries]
    return keyed_figure(render_png, out, title, heading, handles, [e[0] for e in entries],
                        "DeepSSETracer, shipped weights;\nrendered in ChimeraX", KEY_WIDTH)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pair", nargs="?", type=Path, default=PAIR,
                        help="folder with map.mrc and model.pdb (default: EMD-8518 / 5U8S A)")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "docs" / "figures")
    parser.add_argument("--title", default=TITLE, help="the keys' heading (default: EMD-8518's)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        done = subprocess.run([sys.executable, "-m", "chimerax.core", "--nogui", "--offscreen",
                               "--exit", "--cmd", "; ".join(commands(args.pair.resolve(), tmp))],
                              capture_output=True, encoding="utf-8", cwd=tmp)
        print(done.stdout, end="")
        if done.returncode != 0:
            print(done.stderr, end="", file=sys.stderr)
            return done.returncode
        for (name, (heading, entries)), scene in zip(keys().items(),
                                                     ("map_scene.png", "model_scene.png")):
            print(add_key(tmp / scene, args.out / name, heading, entries, args.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
