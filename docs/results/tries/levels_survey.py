"""Where each map's and crop's mode lies against the whole map's solvent, in molecule densities
(issue 26, heldout.md): every real pair of ../shared and of the held-out folder, whole and cut to the
central 0.6 and 0.45 of each axis, with and without noise, low-passed to 6 A on the 2 A grid.
Columns: mode - whole map mode, then 1st, 5th, 10th percentiles, noise and depth, all over the molecule density.

    .venv/bin/python docs/results/tries/levels_survey.py   (output beside it)
"""
import numpy as np
from pathlib import Path
from chimerax.deepssetracer.core import prepare as P, normalize as N
from chimerax.deepssetracer.core.mapio import read_map
from chimerax.deepssetracer.core.lowpass import lowpass
from chimerax.deepssetracer.core.resample import resample
from chimerax.deepssetracer.train import invariance as inv
from chimerax.deepssetracer.train.evaluate import cases_from_pairs
def grid(d, vs):
    x = lowpass(d.astype(np.float32), vs, 6.0)
    return resample(x, vs, (2.0,)*3)
def stats(x):
    sol, masked = N.solvent_level(x)
    lv = N.density_levels(x, 2.0)
    p1, p5, p10 = np.percentile(x, [1, 5, 10])
    m = lv.molecule
    return sol, m, masked, (p1-sol)/m, (p5-sol)/m, (p10-sol)/m, lv.noise/m, lv.depth/m
cases = cases_from_pairs(Path('/work/shared/data/real')) + cases_from_pairs(Path('/work/data/heldout'))
seen=set()
print(f"{'map':40s} {'true_sol':>8s} | mode-true  p1  p5  p10  noise depth (in molecule units)")
for c in cases:
    if c.name in seen: continue
    seen.add(c.name)
    d = c.dmap
    whole = grid(d.data, d.voxel_size)
    sw, mw, *rest = stats(whole)
    print(f"{c.name:40s} {'':8s} | {0:+.2f} " + " ".join(f"{v:+.2f}" for v in rest[1:]) + f" masked={rest[0]}")
    for frac in (0.6, 0.45):
        for noise in (False, True):
            v = inv.central_crop(c, frac, noise=noise)
            x = grid(v.dmap.data, v.dmap.voxel_size)
            s, m, *r = stats(x)
            print(f"  crop {frac} noise={noise!s:5s}                  | {(s-sw)/mw:+.2f} " + " ".join(f"{q:+.2f}" for q in r[1:]) + f"  mol/true {m/mw:.2f}")
crop = read_map('/work/data/raw/deepssetracer_35448/cropped_35448.mrc'); whole = read_map('/work/data/raw/deepssetracer_35448/35448_8ihl.mrc')
sw, mw, *rest = stats(grid(whole.data, whole.voxel_size)); print("35448 whole", " ".join(f"{v:+.2f}" for v in rest[1:]))
s, m, *r = stats(grid(crop.data, crop.voxel_size)); print("35448 published crop", f"{(s-sw)/mw:+.2f}", " ".join(f"{q:+.2f}" for q in r[1:]), f"mol/true {m/mw:.2f}")
