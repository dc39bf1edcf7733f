"""An offscreen picture of a real map with its helix and sheet surfaces, framed and keyed.

Rendered by ``chimerax --nogui --offscreen`` in a fresh process, as a user would make one, with
the commands of scripts/chimerax_figure.py (which makes docs/figures/chimerax_example.png);
needs OSMesa (``apt-get install libosmesa6``) and skips without it. (In the long-lived test
session, supersampled pictures taken after some earlier tests lost their transparent surfaces.)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "chimerax_figure.py"


def _figure_script():
    spec = importlib.util.spec_from_file_location("chimerax_figure", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    fig = _figure_script()
    both, helix, sheet = (tmp_path / f"{n}.png" for n in ("both", "helix", "sheet"))
    weights = weights_kw.split()[1] if weights_kw else None
    commands = fig.chimerax_commands(example_map, both, weights) + [
        # each class alone at a level enclosing 2000 Å^3, so the check is of drawing, not of
        # how much the weights predict at level 0.5
        "volume #2.1 encloseVolume 2000", "volume #2.2 encloseVolume 2000",
        "hide #2.2 models", f"save {helix} width 230 height 330",
        "show #2.2 models", "hide #2.1 models", f"save {sheet} width 230 height 330",
    ]
    log = fig.render(commands, tmp_path)
    picture = pixels(both)
    w, h = fig.RENDER_SIZE
    assert picture.shape == (h, w, 3)
    assert max(share(picture, "yellow"), share(picture, "cyan")) > 0.001  # surfaces drawn
    edge = np.concatenate([picture[:4].reshape(-1, 3), picture[-4:].reshape(-1, 3),
                           picture[:, :4].reshape(-1, 3), picture[:, -4:].reshape(-1, 3)])
    assert (edge > 240).all(), "the scene runs off the picture's edge"
    helix_only, sheet_only = pixels(helix), pixels(sheet)
    assert share(helix_only, "yellow") > 0.001 and share(helix_only, "cyan") == 0.0
    assert share(sheet_only, "cyan") > 0.001 and share(sheet_only, "yellow") == 0.0

    volumes = fig.logged_volumes(log)
    assert volumes is not None and volumes[2] == 0.5
    keyed = pixels(fig.add_key(both, tmp_path / "keyed.png", fig.TITLE, volumes))
    assert keyed.shape == (h, w + fig.KEY_WIDTH, 3)
    np.testing.assert_array_equal(keyed[:, :w], picture)  # the scene at its own pixels
    key = keyed[:, w:]
    assert share(key, "yellow") > 0.001 and share(key, "cyan") > 0.001  # both swatches


def test_render_elements_figures(cx_session, tmp_path):
    """scripts/render_elements.py: cylinders and patches over the map, the model coloured."""
    import subprocess
    import sys

    if not cx_session.ui.has_graphics:
        pytest.skip("offscreen rendering is not available (apt-get install libosmesa6)")
    pair = SCRIPT.parents[2] / "shared" / "data" / "real" / "emd8518_5u8s_A"
    if not (pair / "model.pdb").is_file():
        pytest.skip(f"no real map and model at {pair} (../shared is absent)")
    done = subprocess.run([sys.executable, str(SCRIPT.parent / "render_elements.py"), str(pair),
                           "-o", str(tmp_path)], capture_output=True, encoding="utf-8",
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "agreement with ChimeraX's secondary structure" in done.stdout
    elements, model = pixels(tmp_path / "elements_map.png"), pixels(tmp_path / "elements_model.png")
    assert share(elements, "yellow") > 0.01 and share(model, "yellow") > 0.01
    for picture in (elements, model):  # cyan, if seen through the map's grey surface
        r, g, b = picture[..., 0], picture[..., 1], picture[..., 2]
        assert ((g > 150) & (b > 150) & (r < np.minimum(g, b) - 40)).mean() > 0.0003
    r, g, b = model[..., 0], model[..., 1], model[..., 2]
    grey = (abs(r - 170) < 40) & (abs(g - r) < 8) & (abs(b - r) < 8)
    assert grey.mean() > 0.005  # residues voted "other"
    for picture in (elements, model):
        edge = np.concatenate([picture[:4].reshape(-1, 3), picture[-4:].reshape(-1, 3),
                               picture[:, :4].reshape(-1, 3), picture[:, -4:].reshape(-1, 3)])
        assert (edge > 240).all(), "the scene runs off the picture's edge"
