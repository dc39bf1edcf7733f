"""The validation checks of several training runs on one page (their ``metrics.json``).

    python scripts/tries_figure.py docs/results/train_fl_dl_sheet2_metrics.json ... \
        --labels A C ... -o docs/figures/sheet_tries.png

Four panels (simulated validation helix and sheet, real validation helix and sheet), one line
per run against its step: the tries of issue 13 start from the same weights, so their lines
start together, and how far consecutive checks of one run swing shows what a difference
between runs must exceed to mean anything.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PANELS = (("sim", "helix"), ("sim", "sheet"), ("real", "helix"), ("real", "sheet"))


def plot(runs: list[Path], labels: list[str], out: Path) -> Path:
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
    for path, label in zip(runs, labels):
        val = json.loads(path.read_text())["val"]
        for ax, (kind, cls) in zip(axes, PANELS):
            pts = [(r["step"], r[kind][cls]) for r in val if r.get(kind)]
            if pts:
                ax.plot(*zip(*pts), "o-", ms=3, lw=1.2, label=label)
    for ax, (kind, cls) in zip(axes, PANELS):
        name = "simulated" if kind == "sim" else "real"
        ax.set(title=f"{name} validation: {cls}", xlabel="step", ylabel="voxel F1")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="metrics.json of each run")
    parser.add_argument("--labels", nargs="+", help="one label per run (default: file stems)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="PNG to write")
    args = parser.parse_args(argv)
    labels = args.labels or [p.stem for p in args.runs]
    if len(labels) != len(args.runs):
        parser.error(f"{len(args.runs)} runs but {len(labels)} labels")
    print(plot(args.runs, labels, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
