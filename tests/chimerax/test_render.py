"""An offscreen picture of a real map with its helix and sheet surfaces.

Rendered by ``chimerax --nogui --offscreen`` in a fresh process, as a user would make one; needs
OSMesa (``apt-get install libosmesa6``) and skips without it. (In the long-lived test session,
supersampled pictures taken after some earlier tests lost their transparent surfaces.) With
``DEEPSSETRACER_WRITE_FIGURES=1`` the picture is also saved as docs/figures/chimerax_example.png
for the README (regenerate it with the trained weights installed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

FIGURE = Path(__file__).resolve().parents[2] / "docs" / "figures" / "chimerax_example.png"


def pixels(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def share(rgb: np.ndarray, color: str) -> float:
    """Fraction of pixels that are clearly yellow or clearly cyan."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    if color == "yellow":
        hit = (r > 120) & (g > 120) & (b < 0.6 * np.minimum(r, g))
    else:
        hit = (g > 120) & (b > 120) & (r < 0.6 * np.minimum(g, b))
    return float(hit.mean())


def test_render_map_with_helix_and_sheet_surfaces(cx_session, example_map, weights_kw,
                                                   tmp_path):
    if not cx_session.ui.has_graphics:
        pytest.skip("offscreen rendering is not available (apt-get install libosmesa6)")
    both, helix, sheet = (tmp_path / f"{n}.png" for n in ("both", "helix", "sheet"))
    commands = [
        f"open {example_map}", "volume #1 style mesh color #909090",
        f"deepssetracer #1{weights_kw}",
        "view", "zoom 0.85", "set bgColor white", "lighting soft", "graphics silhouettes true",
        f"save {both} width 800 height 600 supersample 3",
        # each class alone at a level enclosing 2000 Å^3, so the check is of drawing, not of
        # how much the weights predict at level 0.5
        "volume #2.1 encloseVolume 2000", "volume #2.2 encloseVolume 2000",
        "hide #2.2 models", f"save {helix} width 200 height 150",
        "show #2.2 models", "hide #2.1 models", f"save {sheet} width 200 height 150",
    ]
    done = subprocess.run([sys.executable, "-m", "chimerax.core", "--nogui", "--offscreen",
                           "--exit", "--cmd", "; ".join(commands)], cwd=tmp_path,
                          capture_output=True, encoding="utf-8", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    picture = pixels(both)
    assert picture.shape == (600, 800, 3)
    assert max(share(picture, "yellow"), share(picture, "cyan")) > 0.001  # surfaces drawn
    helix_only, sheet_only = pixels(helix), pixels(sheet)
    assert share(helix_only, "yellow") > 0.001 and share(helix_only, "cyan") == 0.0
    assert share(sheet_only, "cyan") > 0.001 and share(sheet_only, "yellow") == 0.0

    if os.environ.get("DEEPSSETRACER_WRITE_FIGURES") == "1":
        FIGURE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(both, FIGURE)


def test_render_elements_figures(cx_session, tmp_path):
    """scripts/render_elements.py: cylinders and patches over the map, the model coloured."""
    if not cx_session.ui.has_graphics:
        pytest.skip("offscreen rendering is not available (apt-get install libosmesa6)")
    script = FIGURE.parents[2] / "scripts" / "render_elements.py"
    pair = FIGURE.parents[3] / "shared" / "data" / "real" / "emd8518_5u8s_A"
    if not (pair / "model.pdb").is_file():
        pytest.skip(f"no real map and model at {pair} (../shared is absent)")
    done = subprocess.run([sys.executable, str(script), str(pair), "-o", str(tmp_path)],
                          capture_output=True, encoding="utf-8", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "agreement with ChimeraX's secondary structure" in done.stdout
    elements, model = pixels(tmp_path / "elements_map.png"), pixels(tmp_path / "elements_model.png")
    assert share(elements, "yellow") > 0.01 and share(elements, "cyan") > 0.001
    assert share(model, "yellow") > 0.01 and share(model, "cyan") > 0.0001
    r, g, b = model[..., 0], model[..., 1], model[..., 2]
    grey = (abs(r - 170) < 40) & (abs(g - r) < 8) & (abs(b - r) < 8)
    assert grey.mean() > 0.005  # residues voted "other"
