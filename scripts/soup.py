"""Average fine-tunes of one network into one ("model soup") and export it as a run.

    python scripts/soup.py OUTDIR checkpoints/fl_dl_sheet2.pt:2 RUN_A/best.pt:1 RUN_B/best.pt:1

Each part is a checkpoint (its EMA weights where it holds them) and a relative weight (default
1). OUTDIR gets best.pt, deepssetracer.onnx and its sidecar (`train/soup.py`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from chimerax.deepssetracer.train.soup import make_soup, parse_part


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("parts", nargs="+", metavar="CHECKPOINT[:WEIGHT]")
    args = parser.parse_args()
    print(make_soup([parse_part(p) for p in args.parts], args.outdir))


if __name__ == "__main__":
    main()
