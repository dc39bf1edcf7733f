"""The validation checks of several training runs on one page (their ``metrics.json``).

    python scripts/tries_figure.py docs/results/train_fl_dl_sheet2_metrics.json ... \
        -o docs/figures/sheet_tries.png

Four panels (simulated validation helix and sheet, real validation helix and sheet), one line
per run against its step: the tries of issue 13 start from the same weights, so their lines
start together, and how far consecutive checks of one run swing shows what a difference
between runs must exceed to mean anything. Each run is keyed by what the try changed
(`TRIES`, from docs/model_card.md and the configs; ``--labels`` overrides). Every F1 axis
runs from 0 to `F1_TOP`, the same in all panels, so a 0.01 difference looks as small as it is.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PANELS = (("sim", "helix"), ("sim", "sheet"), ("real", "helix"), ("real", "sheet"))
F1_TOP = 0.8  # every F1 here is under it; the axes start at 0
# what each try of issue 13 was (docs/model_card.md, "Sheets"; its configs/fl_dl_*.json), by
# the stem of its metrics file
TRIES = {
    "train_fl_dl_sheet2_metrics": "A: sheet 2×, 45 % sheet crops (shipped)",
    "train_fl_dl_sheet3_metrics": "B: sheet 3×, focal term 3×",
    "train_fl_dl_sheetres_metrics": "C: A, sheet crops from 5–9 Å boxes only",
    "train_fl_dl_crop48_metrics": "D: A, 96 Å crops (stopped at 1,700)",
    "train_fl_dl_sheetres3_metrics": "E: C with sheet 3×",
    "train_fl_dl_sheetres3_helix_metrics": "F: E with helix 1.5×",
    "train_fl_dl_wide_metrics": "G: F on a wider U-Net (16-32-96-192)",
    "train_fl_dl_wide_tight_metrics": "I: G with 15 % tight crops",
}
NOTE = ("F1 axes from 0: between consecutive checks of one run, real sheet F1 swings by "
        "±0.03–0.05, more than most differences between tries")


def label_of(path: Path) -> str:
    """What the run of ``path`` was (`TRIES`), or the file's stem for a run not listed."""
    return TRIES.get(path.stem, path.stem)


def draw(runs: list[Path], labels: list[str]):
    """The figure (not saved): four panels, a key of the runs and the note below them."""
    fig, axes = plt.subplots(1, 4, figsize=(15, 5.2), sharey=True)
    for path, label in zip(runs, labels):
        val = json.loads(path.read_text())["val"]
        for ax, (kind, cls) in zip(axes, PANELS):
            pts = [(r["step"], r[kind][cls]) for r in val if r.get(kind)]
            if pts:
                ax.plot(*zip(*pts), "o-", ms=3, lw=1.2, label=label)
    for ax, (kind, cls) in zip(axes, PANELS):
        name = "simulated" if kind == "sim" else "real"
        ax.set(title=f"{name} validation: {cls}", xlabel="step", ylim=(0.0, F1_TOP))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("voxel F1")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=4, frameon=False, fontsize=10,
               bbox_to_anchor=(0.5, 0.06))
    fig.text(0.5, 0.01, NOTE, ha="center", fontsize=10, style="italic")
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    return fig


def plot(runs: list[Path], labels: list[str], out: Path) -> Path:
    fig = draw(runs, labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="metrics.json of each run")
    parser.add_argument("--labels", nargs="+",
                        help="one label per run (default: what the try was, from TRIES, or the "
                             "file stem)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="PNG to write")
    args = parser.parse_args(argv)
    labels = args.labels or [label_of(p) for p in args.runs]
    if len(labels) != len(args.runs):
        parser.error(f"{len(args.runs)} runs but {len(labels)} labels")
    print(plot(args.runs, labels, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
