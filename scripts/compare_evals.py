"""Set `deepssetracer evaluate --json` results of several weights side by side, per pair.

    python scripts/compare_evals.py --reference SHIPPED.json [--name shipped] NAME=OTHER.json ...

Each pair's voxel F1 (helix / sheet) is the mean over its rows (as given and each low-pass
of ``--lowpass 6,8``); sheet only where a row holds at least 500 true sheet voxels, as the zoo
counts it. The last columns are each file's weighted voxel and residue F1 over all rows and the
largest fall of any pair's sheet F1 from the reference's: one map must not pay for the others.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from chimerax.deepssetracer.train.invariance import MIN_SHEET_VOXELS


def per_pair(path: Path) -> tuple[dict[str, tuple[float | None, float | None]], list[float]]:
    """``{pair: (helix F1, sheet F1)}`` averaged over its rows, and the weighted figures."""
    data = json.loads(path.read_text())
    rows: dict[str, list[tuple[float | None, float | None]]] = {}
    for m in data["maps"]:
        v = m["voxel"]
        rows.setdefault(re.sub(r"_lp\d+$", "", m["map"]), []).append(
            (v["helix"]["f1"] if v["helix"]["n_true"] else None,
             v["sheet"]["f1"] if v["sheet"]["n_true"] >= MIN_SHEET_VOXELS else None))

    def mean(values: list[float | None]) -> float | None:
        kept = [x for x in values if x is not None]
        return sum(kept) / len(kept) if kept else None

    out = {p: (mean([r[0] for r in rs]), mean([r[1] for r in rs])) for p, rs in rows.items()}
    s = data["summary"]
    return out, [s[k][c]["weighted_f1"] for k in ("voxel", "residue") for c in ("helix", "sheet")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", type=Path, required=True)
    ap.add_argument("--name", default="reference", help="what the table calls the reference")
    ap.add_argument("others", nargs="*", help="NAME=FILE.json")
    args = ap.parse_args()
    ref, ref_w = per_pair(args.reference)
    pairs = sorted(ref)
    print("| weights | " + " | ".join(pairs) + " | weighted voxel F1 | weighted residue F1 "
          "| worst sheet fall |")
    print("|---" * (len(pairs) + 4) + "|")

    def cell(h: float | None, s: float | None) -> str:
        return " / ".join("–" if x is None else f"{x:.3f}" for x in (h, s))

    for name, path in [(args.name, args.reference)] + [
            (o.split("=", 1)[0], Path(o.split("=", 1)[1])) for o in args.others]:
        got, w = (ref, ref_w) if path == args.reference else per_pair(path)
        falls = [got[p][1] - ref[p][1] for p in pairs
                 if p in got and got[p][1] is not None and ref[p][1] is not None]
        print(f"| {name} | " + " | ".join(cell(*got.get(p, (None, None))) for p in pairs)
              + f" | {w[0]:.3f} / {w[1]:.3f} | {w[2]:.3f} / {w[3]:.3f} | "
              f"{min(falls + [0.0]):+.3f} |")


if __name__ == "__main__":
    main()
