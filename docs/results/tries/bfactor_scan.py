"""How the network's accuracy moves with a map's B factor: each pair's map as given, blurred
or sharpened by a known B (Å², `context.b_filtered`), voxel F1 helix/sheet against its truth,
beside the map's measured B (`bfactor_measure.bfit`).

    .venv/bin/python docs/results/tries/bfactor_scan.py ../shared/data/real /work/data/extra
    (output: bfactor_scan.txt beside it; docs/zoo.md)
"""
import sys
from pathlib import Path

import numpy as np
sys.path.insert(0, str(Path(__file__).parent))
from bfactor_measure import bfit
from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.core.predict import predict_map
from chimerax.deepssetracer.core.grid import DensityMap
from chimerax.deepssetracer.core import metrics
from chimerax.deepssetracer.train.evaluate import cases_from_pairs
from chimerax.deepssetracer.train.context import b_filtered
net, spec = load_network(None, threads=2)
DB = [-100, -50, 0, 50, 100, 180]
print('# map, measured B (Å², 20-8 Å), then voxel F1 helix/sheet at ΔB =', *DB, 'Å²')
for folder in sys.argv[1:]:
    for case in cases_from_pairs(Path(folder)):
        d = case.dmap
        b0 = bfit(d.data, d.voxel_size)
        row = []
        for db in DB:
            data = d.data if db == 0 else b_filtered(d.data, d.voxel_size, db)
            p = predict_map(DensityMap(data.astype(np.float32), d.voxel_size, d.origin), net, spec)
            v = metrics.voxel_counts(p.labels(), case.labels)
            row.append(f"{v['helix'].f1:.3f}/{v['sheet'].f1:.3f}")
        print(f"{case.name:24s} B {b0:5.0f} " + " ".join(row), flush=True)
