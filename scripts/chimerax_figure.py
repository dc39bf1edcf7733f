"""docs/figures/chimerax_example.png: a map in ChimeraX with its helix and sheet surfaces, keyed.

    .venv-cx/bin/python scripts/chimerax_figure.py [--map MAP] [--weights ONNX] [-o OUT.png]

Run with the ChimeraX of ``scripts/setup_chimerax.sh`` (offscreen pictures need libosmesa6). The
scene is rendered by ``chimerax --nogui --offscreen`` in a fresh process, as a user would make
it; the colour key is drawn beside it afterwards with matplotlib, because the headless ChimeraX
has no ``2dlabels``. The key's volumes are the ones the command logs.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "emd8518_5u8s_A.mrc"
FIGURE = ROOT / "docs" / "figures" / "chimerax_example.png"
TITLE = "EMD-8518 (6.1 Å)\nchain A of PDB 5U8S"
RENDER_SIZE = (460, 660)  # width, height in pixels: the example stands upright
KEY_WIDTH = 330  # pixels beside the render
MAP_COLOR = "#909090"
VOLUMES = re.compile(r"helix ([\d.]+) Å³, sheet ([\d.]+) Å³ at level ([\d.]+)")


def chimerax_commands(map_path: Path, png: Path, weights: str | None = None,
                      size: tuple[int, int] = RENDER_SIZE) -> list[str]:
    """The ChimeraX commands that open `map_path`, predict, frame the scene and save `png`.

    ``windowsize`` first: ``view`` fits the scene to the window, and a picture saved at another
    aspect would cut its top and bottom off; ``wait 1`` draws a frame, so the surfaces exist
    when ``view`` measures them.
    """
    w, h = size
    return [f"open {map_path}", f"volume #1 style mesh color {MAP_COLOR}",
            "deepssetracer #1" + (f" weights {weights}" if weights else ""),
            f"windowsize {w} {h}", "wait 1", "view", "zoom 0.95", "set bgColor white",
            "lighting soft", "graphics silhouettes true",
            f"save {png} width {w} height {h} supersample 3"]


def render(commands: list[str], cwd: Path) -> str:
    """Run `commands` in a fresh headless ChimeraX; its log.

    Raises:
        RuntimeError: ChimeraX failed (its log in the message).
    """
    done = subprocess.run([sys.executable, "-m", "chimerax.core", "--nogui", "--offscreen",
                           "--exit", "--cmd", "; ".join(commands)], cwd=cwd,
                          capture_output=True, encoding="utf-8", timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"ChimeraX exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def logged_volumes(log: str) -> tuple[float, float, float] | None:
    """(helix Å³, sheet Å³, level) from the command's log line, or None without one."""
    found = VOLUMES.search(log)
    return tuple(float(g) for g in found.groups()) if found else None


def keyed_figure(render_png: Path, out: Path, title: str, heading: str, handles: list,
                 labels: list[str], footer: str, key_width: int = KEY_WIDTH) -> Path:
    """`render_png` at its own pixel size with a key of `handles` and `labels` on its right
    (`key_width` pixels, under `title` and `heading`, `footer` at its foot), saved as `out`.
    scripts/render_elements.py draws its keys with it too."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image = plt.imread(render_png)
    h, w = image.shape[:2]
    dpi = 100
    fig = plt.figure(figsize=((w + key_width) / dpi, h / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, w / (w + key_width), 1))
    ax.imshow(image, interpolation="none")
    ax.set_axis_off()
    key = fig.add_axes((w / (w + key_width), 0, key_width / (w + key_width), 1))
    key.set_axis_off()
    key.text(0.06, 0.8, title, fontsize=15, va="bottom", transform=key.transAxes)
    key.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.02, 0.78), fontsize=13,
               frameon=False, handlelength=1.6, handleheight=1.6, labelspacing=1.0,
               title=heading, title_fontsize=11, alignment="left")
    key.text(0.06, 0.12, footer, fontsize=10, color="0.35", transform=key.transAxes)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, facecolor="white")
    plt.close(fig)
    return out


def add_key(render_png: Path, out: Path, title: str,
            volumes: tuple[float, float, float] | None = None,
            weights: str = "shipped weights") -> Path:
    """`render_png` with the helix, sheet and map colour key on its right, saved as `out`."""
    from chimerax.deepssetracer.core.classes import COLORS
    from matplotlib.patches import Patch

    level = f" ≥ {volumes[2]:g}" if volumes else ""
    labels = [f"α-helix{f': {volumes[0]:,.0f} Å³' if volumes else ''}",
              f"β-sheet{f': {volumes[1]:,.0f} Å³' if volumes else ''}",
              "cryo-EM density (mesh)"]
    handles = [Patch(facecolor=COLORS["helix"][:3], edgecolor="black"),
               Patch(facecolor=COLORS["sheet"][:3], edgecolor="black"),
               Patch(facecolor="white", edgecolor=MAP_COLOR, hatch="++")]
    return keyed_figure(render_png, out, title, f"predicted where probability"
                        f"{level or ' is high'}", handles, labels,
                        f"DeepSSETracer, {weights};\nrendered in ChimeraX")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", type=Path, default=EXAMPLE, help="map (default: the example)")
    parser.add_argument("--weights", help="ONNX weights (default: the bundle's shipped ones)")
    parser.add_argument("--title", default=TITLE, help="the key's heading (default: EMD-8518's)")
    parser.add_argument("-o", "--out", type=Path, default=FIGURE,
                        help=f"PNG to write (default: {FIGURE.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        scene = Path(tmp) / "scene.png"
        log = render(chimerax_commands(args.map.resolve(), scene, args.weights), Path(tmp))
        add_key(scene, args.out, args.title, logged_volumes(log),
                Path(args.weights).name if args.weights else "shipped weights")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
