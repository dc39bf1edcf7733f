"""Called helix of three masked chains with the shipped weights and with another run's
(model card, try X3b): voxel F1 and voxels at p >= 0.5, beside the truth's.

    .venv/bin/python docs/results/tries/helix_called.py RUN/deepssetracer.onnx
    (outputs: helix_called_X3b.txt, _X4, _X5, _X_crowded, _X_filtered beside it)
"""
import sys
from pathlib import Path

from chimerax.deepssetracer.core import metrics
from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.core.predict import predict_map
from chimerax.deepssetracer.train.evaluate import cases_from_pairs

nets = {"shipped": load_network(None, threads=2), "run": load_network(sys.argv[1], threads=2)}
for case in cases_from_pairs(Path("../shared/data/real")):
    if case.name not in ("emd3491_5mdx_L", "emd3491_5mdx_X", "emd8518_5u8s_A"):
        continue
    for name, (net, spec) in nets.items():
        p = predict_map(case.dmap, net, spec)
        v = metrics.voxel_counts(p.labels(), case.labels)
        print(f"{case.name} {name}: helix F1 {v['helix'].f1:.3f}, called "
              f"{int((p.helix >= 0.5).sum())} voxels, true {int((case.labels == 0).sum())}")
