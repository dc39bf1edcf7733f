"""How far from a crop's face the answer degrades: crop predictions against the whole map's.

    python scripts/face_depth.py --pairs ../shared/data/real [--crops 0.6 0.45] [--json OUT]
        [--only NAME ...] [--solvent own|whole] [--margin N]

Each real map (the held-out pairs and the out-of-range GroEL are left out, as everywhere we
tune) is cut to boxes of each fraction of its extent, centred and shifted a quarter of the
spare room towards each corner, so that the faces cut through the molecule. Each crop is
predicted as a user would give it; its labels are compared, voxel by voxel, with the whole
map's prediction of the same voxels, binned by the distance to the crop's nearest face. A bin's
agreement is over the voxels that either calls helix or sheet (background everywhere is no
evidence). The depth at which agreement reaches the interior's is what the faces cost.
``--margin N`` predicts the crops with an N-voxel mirrored margin (0: solvent at the faces)
instead of the shipped `predict.MARGIN` (the whole map keeps the shipped one).
``--solvent whole`` prepares each crop with the whole map's solvent level, as the ChimeraX
command prepares a region of a map (`core.prepare.solvent_of`); ``--only`` names the pairs
to run (held-out ones included: a check, not a tuning).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
from chimerax.deepssetracer.core import predict
from chimerax.deepssetracer.core.classes import BACKGROUND
from chimerax.deepssetracer.core.grid import DensityMap
from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.core.mapio import read_map
from chimerax.deepssetracer.core.predict import predict_map
from chimerax.deepssetracer.core.prepare import solvent_of
from chimerax.deepssetracer.train.invariance import HELD_OUT, OUTSIDE_RANGE

NOT_TUNED = HELD_OUT + OUTSIDE_RANGE  # the zoo's sections, never tuned on
BINS = (0.0, 4.0, 8.0, 12.0, 16.0, 24.0, 1e9)  # Å from the nearest face


def face_distance(shape: tuple[int, ...], voxel_size: tuple[float, ...]) -> np.ndarray:
    """Each voxel's distance (Å) to the nearest face of its box ([z, y, x], steps (x, y, z))."""
    out = np.full(shape, np.inf, np.float32)
    for axis, (n, step) in enumerate(zip(shape, voxel_size[::-1])):
        i = np.arange(n, dtype=np.float32)
        d = np.minimum(i, n - 1 - i) * step
        out = np.minimum(out, d.reshape([n if a == axis else 1 for a in range(3)]))
    return out


def crops(shape: tuple[int, ...], frac: float) -> list[tuple[slice, ...]]:
    """The centred crop of ``frac`` of each axis and the eight shifted a quarter of the room
    towards each corner."""
    sizes = [max(int(round(frac * n)), 8) for n in shape]
    out = []
    for signs in [(0, 0, 0)] + list(itertools.product((-1, 1), repeat=3)):
        box = []
        for n, w, s in zip(shape, sizes, signs):
            a = (n - w) // 2 + s * ((n - w) // 4)
            box.append(slice(a, a + w))
        out.append(tuple(box))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=Path, required=True)
    p.add_argument("--crops", type=float, nargs="+", default=[0.6, 0.45])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path)
    p.add_argument("--only", nargs="+", default=None)
    p.add_argument("--solvent", choices=("own", "whole"), default="own")
    p.add_argument("--margin", type=int, default=predict.MARGIN)
    args = p.parse_args(argv)
    shipped = predict.MARGIN
    net, spec = load_network(None, threads=args.threads)
    agree = np.zeros(len(BINS) - 1)
    total = np.zeros(len(BINS) - 1)
    for folder in sorted(args.pairs.iterdir()):
        if not (folder / "map.mrc").is_file() or (
                folder.name not in args.only if args.only else folder.name in NOT_TUNED):
            continue
        m = read_map(folder / "map.mrc")
        predict.MARGIN = shipped
        whole = predict_map(m, net, spec).labels(0.5)
        predict.MARGIN = args.margin
        solvent = (solvent_of(m.data, m.voxel_size, spec.voxel_size)
                   if args.solvent == "whole" else None)
        before = (agree.sum(), total.sum())
        for frac in args.crops:
            for box in crops(m.data.shape, frac):
                sub = DensityMap(np.ascontiguousarray(m.data[box]), m.voxel_size, m.origin)
                got = predict_map(sub, net, spec, solvent=solvent).labels(0.5)
                ref = whole[box]
                called = (got != BACKGROUND) | (ref != BACKGROUND)
                dist = face_distance(got.shape, m.voxel_size)
                idx = np.digitize(dist, BINS[1:-1])
                for b in range(len(BINS) - 1):
                    sel = called & (idx == b)
                    total[b] += sel.sum()
                    agree[b] += (got[sel] == ref[sel]).sum()
        a, t = agree.sum() - before[0], total.sum() - before[1]
        print(f"{folder.name}: agreement {a / t if t else float('nan'):.3f} over all depths",
              file=sys.stderr)
    rows = []
    print("| Å from the nearest face | class agreement with the whole map | voxels |")
    print("|---|---|---|")
    for b in range(len(BINS) - 1):
        hi = "∞" if BINS[b + 1] > 1e8 else f"{BINS[b + 1]:g}"
        frac = agree[b] / total[b] if total[b] else float("nan")
        rows.append({"from": BINS[b], "to": BINS[b + 1], "agreement": frac,
                     "voxels": int(total[b])})
        print(f"| {BINS[b]:g}–{hi} | {frac:.3f} | {int(total[b])} |")
    if args.json:
        args.json.write_text(json.dumps({"crops": args.crops, "solvent": args.solvent,
                                         "margin": args.margin,
                                         "only": args.only, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
