"""Print the five-loss study, FL_DL γ sweep and lr search as a table beside the paper's Table 1.

usage: python scripts/study_table.py RUNS_DIR   (holding study_<name>/metrics.json)

Figures are the validation voxel F1 of each run's selected (best) step, as the trainer
measured them: the simulated validation boxes and the real validation pairs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PAPER = {"CE": (61.7, 39.9), "FL": (62.9, 45.4), "DL": (61.8, 43.4), "CE_DL": (61.7, 46.0),
         "FL_DL": (62.0, 48.7)}


RUNS = [(loss, f"study_{loss.lower()}", PAPER[loss]) for loss in PAPER] + [
    (f"FL_DL γ {g}", f"study_fl_dl_gamma{g}", ("–", "–")) for g in (1, 5, 8)] + [
    (f"FL_DL lr {lr}", f"study_fl_dl_lr{lr}", ("–", "–")) for lr in ("3e-4", "3e-3")]


def main(runs: Path) -> None:
    print("| loss | paper helix | paper sheet | ours sim helix | ours sim sheet "
          "| ours real helix | ours real sheet | best step |")
    print("|---|---|---|---|---|---|---|---|")
    for loss, folder, (ph, ps) in RUNS:
        path = runs / folder / "metrics.json"
        if not path.exists():
            print(f"| {loss} | {ph} | {ps} | not run | | | | |")
            continue
        m = json.loads(path.read_text())
        best = next((v for v in m["val"] if v["step"] == m["best"]["step"]), None)
        if best is None:
            print(f"| {loss} | {ph} | {ps} | no validation yet | | | | |")
            continue
        sim, real = best["sim"], best["real"]
        print(f"| {loss} | {ph} | {ps} | {100 * sim['helix']:.1f} | {100 * sim['sheet']:.1f} "
              f"| {100 * real['helix']:.1f} | {100 * real['sheet']:.1f} | {best['step']} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
