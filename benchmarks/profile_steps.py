"""Share of `deepssetracer predict`'s time in each step around the network, under cProfile.

Issue 27 asks that no whole-map step (reading, outlier scan, resampling, low-pass, levels,
resolution estimate, normalisation, writing) take more than 10 % of a 300³ map's run. The map
is a box of real density (`bench_common.build_box`, 1 Å voxels); the table is markdown.

    python benchmarks/profile_steps.py --side 300
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import build_box, real_sources  # noqa: E402

STEPS = [  # (row, function name, part of its file path)
    ("read", "read_map", "core/mapio"), ("outlier scan", "outlier_bounds", "core/prepare"),
    ("scale", "magnitude", "core/prepare"), ("resampling (all)", "resample", "core/resample"),
    ("low-pass (all)", "lowpass", "core/lowpass"),
    ("levels", "density_levels", "core/normalize"),
    ("resolution estimate", "estimate_resolution", "core/sharpness"),
    ("envelope for it", "envelope_weight", "core/sharpness"),
    ("checks", "assess_map", "core/assess"), ("normalisation", "normalize", "core/normalize"),
    ("network", "predict_tiled", "core/tiling"),
    ("writing (with the outputs' resampling)", "write_maps", "core/mapio"),
    ("the outputs' resampling", "rows", "core/predict"),
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--side", type=int, default=300, help="cube edge in 1 Å voxels (300)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    from chimerax.deepssetracer.cli import main as cli
    from chimerax.deepssetracer.core.grid import DensityMap
    from chimerax.deepssetracer.core.mapio import write_map

    with tempfile.TemporaryDirectory(prefix="dsst-profile-") as tmp:
        box, how = build_box(real_sources(download=False)[0].data, args.side)
        path = write_map(Path(tmp) / "box.mrc", DensityMap(box, (1.0,) * 3))
        del box
        prof = cProfile.Profile()
        prof.runcall(cli, ["predict", str(path), "-o", str(Path(tmp) / "out"), "-q",
                           "--threads", str(args.threads)])
    stats = pstats.Stats(prof).stats
    total = sum(tt for (_, _, _), (_, _, tt, _, _) in stats.items())
    print(f"{args.side}^3 ({how}), {total:.2f} s under cProfile\n")
    print("| step | s | share |\n|---|---|---|")
    times = {}
    for row, name, where in STEPS:
        times[row] = t = sum(ct for (f, _, n), (_, _, _, ct, _) in stats.items()
                             if n == name and where in f.replace("\\", "/"))
        print(f"| {row} | {t:.2f} | {100 * t / total:.1f} % |")
    t = times[STEPS[-2][0]] - times[STEPS[-1][0]]
    print(f"| writing itself (the two rows above, less) | {t:.2f} | {100 * t / total:.1f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
