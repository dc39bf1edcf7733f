"""Make a labelled training set of simulated boxes plus copies of real map/model pairs.

    python scripts/real_label_mix.py COPIES OUTDIR [--sim /work/data/sim_v2]
        [--real /work/data/real_tuned]

OUTDIR gets symlinks to both sets' boxes and an index.json listing the simulated boxes as they
are (their train / val / test splits) and ``COPIES`` train entries of each real box, so that a
real box is drawn as often as ``COPIES`` simulated ones and each copy gets its own crowded and
filtered views (`train.sampling.load_training_box`). Real boxes come from
`deepssetracer data real`; both sets must share one voxel size.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("copies", type=int)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--sim", type=Path, default=Path("/work/data/sim_v2"))
    parser.add_argument("--real", type=Path, default=Path("/work/data/real_tuned"))
    args = parser.parse_args()
    sim = json.loads((args.sim / "index.json").read_text())
    real = json.loads((args.real / "index.json").read_text())
    if sim["voxel_size"] != real["voxel_size"]:
        raise SystemExit(f"voxel sizes differ: {sim['voxel_size']} and {real['voxel_size']}")
    args.outdir.mkdir(parents=True, exist_ok=True)
    for folder, index in ((args.sim, sim), (args.real, real)):
        for entry in index["boxes"]:
            link = args.outdir / entry["file"]
            if not link.exists():
                os.symlink(folder.resolve() / entry["file"], link)
    boxes = sim["boxes"] + [dict(e, split="train") for e in real["boxes"]
                            for _ in range(args.copies)]
    (args.outdir / "index.json").write_text(json.dumps(dict(sim, boxes=boxes)))
    print(f"{args.outdir}: {len(sim['boxes'])} simulated and {len(boxes) - len(sim['boxes'])} "
          f"real entries")


if __name__ == "__main__":
    main()
