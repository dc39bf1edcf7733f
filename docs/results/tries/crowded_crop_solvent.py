"""Crowded central crops: their own solvent level against the whole map's (`--around`).

    python docs/results/tries/crowded_crop_solvent.py > docs/results/tries/crowded_crop_solvent.txt

For each real pair (held out beyond ../shared, then ../shared; GroEL left out), the central
0.6 and 0.45 of each axis (`invariance.central_crop`), voxel F1 helix / sheet against the truth
of: the whole map's answer cut to the crop, the crop predicted with its own levels, and the
crop predicted with the whole map's solvent level (`prepare.solvent_of`, as `predict --around`
and the ChimeraX command do).
"""

from pathlib import Path

import numpy as np
from chimerax.deepssetracer.core import metrics
from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.core.predict import predict_map
from chimerax.deepssetracer.core.prepare import solvent_of
from chimerax.deepssetracer.train import invariance as inv
from chimerax.deepssetracer.train.evaluate import cases_from_pairs

FOLDERS = ("/work/data/heldout", "../shared/data/real")


def f1(labels: np.ndarray, truth: np.ndarray) -> str:
    """Voxel F1 helix / sheet ("–": the class neither true nor called)."""
    counts = metrics.voxel_counts(labels, truth)
    return " / ".join("–" if np.isnan(c.f1) else f"{c.f1:.3f}" for c in counts.values())


net, spec = load_network(None, "cpu", 2)
print("pair | crop | whole map cut | own level | whole map's solvent")
for folder in FOLDERS:
    for case in cases_from_pairs(Path(folder)):
        if "groel" in case.name:
            continue
        d = case.dmap
        whole = predict_map(d, net, spec).labels()
        solvent = solvent_of(d.data, d.voxel_size, spec.voxel_size)
        for frac in (0.6, 0.45):
            v = inv.central_crop(case, frac)
            own = predict_map(v.dmap, net, spec).labels()
            around = predict_map(v.dmap, net, spec, solvent=solvent).labels()
            print(f"{case.name} | {frac} | {f1(whole[v.reference], v.labels)} | "
                  f"{f1(own, v.labels)} | {f1(around, v.labels)}", flush=True)
