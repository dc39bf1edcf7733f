"""A crowded crop misreads its levels (issue 26, heldout.md): DeepSSETracer 1.1's sample crop of EMD-35448
predicted with its own levels and with those of the 90x91x87 box it was cut from (an oracle).

    .venv/bin/python docs/results/tries/crop_levels_oracle.py   (files: docs/heldout.md; output beside it)
"""
import numpy as np
from chimerax.deepssetracer.core import prepare as P, metrics
from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.core.mapio import read_map
from chimerax.deepssetracer.core.predict import predict_map
from chimerax.deepssetracer.train.evaluate import read_model
from chimerax.deepssetracer.train.labels import label_grid
crop = read_map('/work/data/raw/deepssetracer_35448/cropped_35448.mrc')
whole = read_map('/work/data/raw/deepssetracer_35448/35448_8ihl.mrc')
s = read_model('/work/data/raw/deepssetracer_35448/35448_8ihl.cif'); ok=np.isfinite(s.ca).all(1)
truth = label_grid(crop.data.shape, crop.origin, crop.voxel_size, s.ca[ok], s.ss[ok])
net, spec = load_network(None, threads=2)
orig = P.density_levels; P.magnitude = lambda d: 1.0
fixed = {}
P.density_levels = lambda g, vs, solvent=None: fixed.get("lv") or orig(g, vs, solvent)
pw = predict_map(whole, net, spec); print("whole levels", pw.preparation.levels)
pc = predict_map(crop, net, spec); print("crop levels", pc.preparation.levels)
for name, lv in (("own", None), ("whole's", pw.preparation.levels)):
    fixed.clear()
    if lv: fixed["lv"] = lv
    p = predict_map(crop, net, spec)
    v = metrics.voxel_counts(p.labels(), truth)
    print(name, round(v['helix'].f1,3), round(v['sheet'].f1,3), int((p.helix>=.5).sum()), int((p.sheet>=.5).sum()))
