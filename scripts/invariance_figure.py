"""Plot the invariance tables of two weights side by side (``invariance_table.py --json``).

    python scripts/invariance_figure.py OLD.json NEW.json -o docs/figures/invariance.png
        [--labels "previous weights" "shipped weights"]

One panel per class, one dot per real map (simulated ``box_*`` rows are left out): the
voxel F1 of each variant minus that of the map as given; the grey band is the ±0.03 the
variants must stay within.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _deltas(path: Path, cls: str) -> tuple[list[str], dict[str, list[float]]]:
    rows = [r for r in json.loads(path.read_text())["rows"] if not r["map"].startswith("box_")]
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    out: dict[str, list[float]] = {}
    for r in rows:
        d = r["delta"][cls]
        if d is not None and not np.isnan(d) and r["before"][cls] is not None:
            out.setdefault(r["variant"], []).append(d)
    return variants, out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("-o", "--out", type=Path, required=True)
    p.add_argument("--labels", nargs=2, default=["previous weights", "shipped weights"])
    args = p.parse_args(argv)
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), sharey=True)
    for ax, cls in zip(axes, ("helix", "sheet")):
        variants, _ = _deltas(args.new, cls)
        y = np.arange(len(variants))
        for path, label, colour, dy in ((args.old, args.labels[0], "#d95f02", 0.17),
                                        (args.new, args.labels[1], "#1b9e77", -0.17)):
            _, deltas = _deltas(path, cls)
            for i, v in enumerate(variants):
                d = deltas.get(v, [])
                ax.scatter(d, [i + dy] * len(d), s=22, color=colour, alpha=0.8,
                           label=label if i == 0 else None)
        ax.axvspan(-0.03, 0.03, color="0.85", zorder=0)
        ax.axvline(0, color="0.4", lw=0.8)
        ax.set_yticks(y, variants, fontsize=10)
        ax.set_xlim(-0.8, 0.4)
        ax.invert_yaxis()
        ax.set_xlabel(f"{cls} voxel F1 change (variant − map as given)", fontsize=11)
        ax.set_title(f"{cls}: one dot per real map", fontsize=12)
    axes[0].legend(loc="upper left", fontsize=10)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
