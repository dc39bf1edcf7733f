"""Do rotations (TTA) steady the zoo's noisy crop, sharpened and Gaussian rows? Each row
scored as the zoo scores it, the reference predicted with the same TTA.

    .venv/bin/python docs/results/tries/noise_filter_tta.py ../shared/data/real NAME ...
    (output: noise_filter_tta.txt beside it; docs/zoo.md)
"""
import sys, numpy as np
from pathlib import Path
from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.core.predict import predict_map
from chimerax.deepssetracer.train.evaluate import cases_from_pairs
from chimerax.deepssetracer.train import invariance as inv
net, spec = load_network(None, threads=2)
print('# map, TTA rotations | noisy central 0.6 crop | sharpened B = -100 | Gaussian sd 1.5: '
      'ΔF1 helix, sheet, called volume ratio helix/sheet, holds')
for case in cases_from_pairs(Path(sys.argv[1])):
    if case.name not in sys.argv[2:]: continue
    for tta in (1, 4, 12):
        base = predict_map(case.dmap, net, spec, tta=tta)
        out=[]
        for v in [inv.central_crop(case, 0.6, noise=True), inv.sharpened(case), inv.gaussian(case)]:
            p = predict_map(v.dmap, net, spec, tta=tta)
            row = inv.compare(case.name, v.name, inv.Scored.of(base, case.labels, v.reference), inv.Scored.of(p, v.labels, v.region))
            d=row['delta']; vr=row['volume']
            out.append(f"h {d['helix']:+.3f} s {d['sheet']:+.3f} vol {vr['helix']['ratio']:.2f}/{vr['sheet']['ratio']:.2f} {'OK' if inv.zoo_holds(row) else 'x'}")
        print(case.name, tta, " | ".join(out), flush=True)
