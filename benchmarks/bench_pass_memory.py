"""Peak memory of one onnxruntime pass of the shipped network, per input voxel.

Each size runs in its own process (peak RSS never falls, so one process measures one pass):
the peak after the pass less the peak before it (session loaded, input made), over the
voxels of the pass. `core/memory.py` plans tiles with `NETWORK_BYTES_PER_VOXEL` from these
figures.

    python benchmarks/bench_pass_memory.py 96 128 160 176
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys

import numpy as np


def one_pass(side: int, threads: int) -> float:
    """Bytes per voxel one pass of a ``side``^3 box adds to this process's peak."""
    from chimerax.deepssetracer.core.inference import load_network

    net, _ = load_network(device="cpu", threads=threads)
    x = np.random.default_rng(0).standard_normal((1, 1, side, side, side)).astype(np.float32)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    net(x)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return (after - before) / side**3


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("sides", type=int, nargs="+", help="box edges in voxels of the model grid")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # the child's run
    args = p.parse_args(argv)
    if args.one:
        print(f"{one_pass(args.sides[0], args.threads):.0f}")
        return 0
    for side in args.sides:
        out = subprocess.run([sys.executable, __file__, str(side), "--one", "--threads",
                              str(args.threads)], capture_output=True, text=True, check=True)
        print(f"{side}^3: {out.stdout.strip()} bytes per voxel")
    return 0


if __name__ == "__main__":
    sys.exit(main())
