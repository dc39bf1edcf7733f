"""A crop through the molecule, zero-padded and then low-passed (the zoo's padded rows of the
spike NTD and the VP6 head): would recognising the padding mend it? Each variant predicted
as it is and cut back to the crop exactly (an oracle of the padding's extent), against the
crop low-passed unpadded, scored as the zoo scores them.

    .venv/bin/python docs/results/tries/padded_crop_oracle.py ../shared/data/real \
        emd21457_6vyb_ntd emd6272_3j9s_vp6head   (output: padded_crop_oracle.txt beside it)
"""
import sys, numpy as np
from pathlib import Path
from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.core.predict import predict_map
from chimerax.deepssetracer.core.grid import DensityMap
from chimerax.deepssetracer.train.evaluate import cases_from_pairs
from chimerax.deepssetracer.train import invariance as inv
net, spec = load_network(None, threads=2)
def fmt(row):
    d=row['delta']; vr=row['volume']
    return f"h {d['helix']:+.3f} s {d['sheet']:+.3f} vol {vr['helix']['ratio']:.2f}/{vr['sheet']['ratio']:.2f} {'OK' if inv.zoo_holds(row) else 'x'}"
for case in cases_from_pairs(Path(sys.argv[1])):
    if case.name not in sys.argv[2:]: continue
    for pad in (20.0, 60.0):
        v = inv.padded_lowpassed(case, pad)
        ref = predict_map(v.reference_map, net, spec)
        p = predict_map(v.dmap, net, spec)
        row = inv.compare(case.name, v.name, inv.Scored.of(ref, case.labels, v.reference), inv.Scored.of(p, v.labels, v.region))
        # oracle: the variant cut back to the crop
        reg = v.region
        d = v.dmap
        cut = np.ascontiguousarray(d.data[reg])
        origin = tuple(o + s.start * vs for o, s, vs in zip(d.origin, reg[::-1], d.voxel_size))
        pc = predict_map(DensityMap(cut, d.voxel_size, origin), net, spec)
        row2 = inv.compare(case.name, v.name, inv.Scored.of(ref, case.labels, v.reference), inv.Scored.of(pc, case.labels))
        print(case.name, pad, "as is:", fmt(row), "| cut to the crop:", fmt(row2), flush=True)
