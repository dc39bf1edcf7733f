"""Are noisy crowded crops lost by the pipeline's statistics or by the network? (issue 26)

Each zoo crop with noise (central 0.6 and 0.45 of each axis, noise at the map's sd) is predicted
with its own solvent and molecule levels, and again with the levels of the same crop without
noise (an oracle no user has); both scored as the zoo scores them, against the whole map's
answer on the crop. The map's scale is fixed at 1 so the levels carry between the two.

    .venv/bin/python docs/results/tries/noise_oracle_levels.py

(output: docs/results/tries/noise_oracle_levels.txt; read in docs/zoo.md)
"""
import sys
from pathlib import Path
import numpy as np
from chimerax.deepssetracer.core import prepare as P
from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.core.predict import predict_map
from chimerax.deepssetracer.train import invariance as inv
from chimerax.deepssetracer.train.evaluate import cases_from_pairs

net, spec = load_network(threads=2)
cases = cases_from_pairs(Path(__file__).resolve().parents[4] / "shared" / "data" / "real")
orig_levels = P.density_levels
P.magnitude = lambda d: 1.0
fixed = {}
def patched(grid, vs):
    return fixed.get("lv") or orig_levels(grid, vs)
P.density_levels = patched
for case in cases:
    if "groel" in case.name: continue
    for frac in (0.6, 0.45):
        clean = inv.central_crop(case, frac)
        noisy = inv.central_crop(case, frac, noise=True)
        fixed.clear()
        ref = predict_map(case.dmap, net, spec)
        sref = inv.Scored.of(ref, case.labels, noisy.reference)
        pc = predict_map(clean.dmap, net, spec)
        lc = pc.preparation.levels
        pn = predict_map(noisy.dmap, net, spec)
        ln = pn.preparation.levels
        fixed["lv"] = lc
        po = predict_map(noisy.dmap, net, spec)
        out = []
        for nm, p, v in (("clean", pc, clean), ("noisy", pn, noisy), ("noisy+cleanlv", po, noisy)):
            r = inv.compare(case.name, nm, sref, inv.Scored.of(p, v.labels, v.region))
            out.append(f"{nm}: dH {r['delta']['helix']:+.3f} dE {r['delta']['sheet']:+.3f} vH {r['volume']['helix']['ratio']:.2f} vE {r['volume']['sheet']['ratio']:.2f}")
        print(case.name, frac, f"clean lv sol {lc.solvent:.3g} mol {lc.molecule:.3g} | noisy sol {ln.solvent:.3g} mol {ln.molecule:.3g} noise {ln.noise:.3g}", " | ".join(out), flush=True)
