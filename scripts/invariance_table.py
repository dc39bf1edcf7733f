"""Print the invariance table: how a prediction's voxel F1 changes when only the box changes.

    python scripts/invariance_table.py --pairs ../shared/data/real [--dataset DIR --n 8]
        [--weights ONNX] [--json OUT.json] [--threads 2]

Rows: each real pair (and, with --dataset, simulated test boxes) under each variant of
`train.invariance.standard_variants`; "holds" is |ΔF1| <= 0.03 for helix and sheet.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.train import invariance
from chimerax.deepssetracer.train.evaluate import cases_from_dataset, cases_from_pairs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=Path, help="folder of map.mrc + model.pdb subfolders")
    p.add_argument("--dataset", type=Path, help="simulated dataset folder (test split)")
    p.add_argument("--n", type=int, default=8, help="simulated boxes to use (default 8)")
    p.add_argument("--weights", type=Path, default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    net, spec = load_network(args.weights, threads=args.threads)
    cases = cases_from_pairs(args.pairs) if args.pairs else []
    if args.dataset:
        cases += cases_from_dataset(args.dataset, "test")[: args.n]
    rows = []
    for case in cases:
        rows += invariance.check_case(case, net, spec)
        print(f"{case.name}: done", file=sys.stderr)
    print(invariance.format_rows(rows))
    held = sum(invariance.holds(r) for r in rows)
    print(f"\n{held} of {len(rows)} variants within {invariance.TOLERANCE} voxel F1 "
          f"(weights {net.path.name}, {spec.onnx_sha256[:12]})")
    if args.json:
        args.json.write_text(json.dumps({"weights": str(net.path), "rows": rows}, indent=1,
                                        default=float) + "\n")
    return 0 if held == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
