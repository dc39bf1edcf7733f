"""A pipeline try, not kept (issue 26, 2026-12-05): every prepared map's falloff set to one B.

Before normalising, the map on the network's grid has its power's falloff from 20 to 8 Å
(inside the molecule's envelope, faces tapered: `core.sharpness`) fitted as a B factor and is
then blurred or sharpened by exp(-(B0 - B) s²/4) to B0, so that a Gaussian filter or a
sharpening of the map as given would be undone. Run as a wrapper of the evaluate command:

    B0=300 .venv/bin/python docs/results/tries/falloff_equalisation.py evaluate \
        --pairs ../shared/data/real --lowpass 6,8 --threads 2 --json OUT.json

(`docs/results/tries/falloff_B{200,300,400}_eval_real.json`; the result is in docs/zoo.md.)
"""
import os, sys, runpy
import numpy as np
from chimerax.deepssetracer.core import prepare as P
from chimerax.deepssetracer.core import sharpness as S
from chimerax.deepssetracer.core.lowpass import frequency_grid

B0 = float(os.environ.get("B0", "300"))
LO, HI = float(os.environ.get("BLO", "20")), float(os.environ.get("BHI", "8"))
orig_norm = P.normalize
LOG = os.environ.get("BLOG")

def fit_b(grid, weight, vs):
    data = grid.astype(np.float32)
    window = S._window(data.shape) * weight
    centre = float(np.average(data, weights=window))
    power = np.abs(np.fft.rfftn((data - centre) * window)) ** 2
    s = frequency_grid(data.shape, (vs,) * 3)
    edges = np.linspace(1 / LO, 1 / HI, 9)
    s2, lp = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        sh = (s >= a) & (s < b)
        if sh.any() and power[sh].mean() > 0:
            s2.append((0.5 * (a + b)) ** 2); lp.append(np.log(power[sh].mean()))
    return -2.0 * float(np.polyfit(s2, lp, 1)[0])

def patched(grid, params, vs=1.0, levels=None):
    if levels is None:
        return orig_norm(grid, params, vs, levels)
    w = S.envelope_weight(grid, levels.solvent, levels.molecule, vs)
    b = fit_b(grid, w, vs)
    db = B0 - b
    f = np.fft.rfftn(grid)
    s = frequency_grid(grid.shape, (vs,) * 3)
    f *= np.exp(-db * np.minimum(s, 1 / 6.0) ** 2 / 4.0)
    g = np.fft.irfftn(f, grid.shape).astype(np.float32)
    lv = P.density_levels(g, vs)
    if LOG:
        with open(LOG, "a") as fh:
            fh.write(f"{grid.shape} B {b:.0f} dB {db:.0f}\n")
    return orig_norm(g, params, vs, lv)

P.normalize = patched
script = sys.argv[1]
sys.argv = sys.argv[1:]
if script == "evaluate":
    from chimerax.deepssetracer.cli import main
    sys.exit(main(["evaluate"] + sys.argv[1:]))
runpy.run_path(script, run_name="__main__")
