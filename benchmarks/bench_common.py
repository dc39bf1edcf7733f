"""Helpers shared by the benchmark scripts: real-density boxes, child processes, FLOPs, memory.

Nothing here imports torch: the orchestrator and the engine worker stay as light as
`deepssetracer predict` itself, and torch runs only in the published-network worker.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger("bench")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared"
CACHE = Path(os.environ.get("DEEPSSETRACER_BENCH_CACHE",
                            Path.home() / ".cache" / "deepssetracer-bench"))
CCPEM = "ccpem-utils==0.0.1.dev35"
EMD11007_MEMBER = "ccpem_utils_tests/test_data/emd_11007.map"
BOX_VOXEL = 1.0  # Å: the boxes are stamped on the network grid, so no resampling is timed


# ---------------------------------------------------------------------------------------------
# Real density


@dataclass
class Source:
    """A real map used as raw material for the benchmark boxes."""

    name: str
    data: np.ndarray  # [z, y, x] float32
    voxel_size: tuple[float, float, float]
    path: Path


def fetch_emd11007(cache: Path = CACHE, download: bool = True) -> Path | None:
    """EMD-11007 (240^3, mapc/mapr/maps 3,2,1) from the ccpem-utils test data, cached outside
    the repository; None (with a warning) when it is absent and cannot be fetched."""
    target = cache / "emd_11007.map"
    if target.is_file():
        return target
    if not download:
        return None
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", CCPEM,
           "-d", str(cache)]
    try:
        subprocess.run(cmd, check=True, timeout=600, capture_output=True, text=True)
        wheel = next(cache.glob("ccpem_utils-*.whl"))
        with zipfile.ZipFile(wheel) as z, open(target.with_suffix(".tmp"), "wb") as out:
            out.write(z.read(EMD11007_MEMBER))
        target.with_suffix(".tmp").replace(target)
        wheel.unlink()
    except (OSError, subprocess.SubprocessError, StopIteration, KeyError) as err:
        log.warning("EMD-11007 unavailable (%s): %s; boxes fall back to EMD-3488",
                    " ".join(cmd), str(err).splitlines()[0] if str(err) else type(err).__name__)
        return None
    return target


def real_sources(download: bool = True) -> list[Source]:
    """The real maps the boxes are cut from, largest first (read through `core.mapio`)."""
    from chimerax.deepssetracer.core.mapio import read_map

    paths = [("EMD-11007", fetch_emd11007(download=download)),
             ("EMD-3488", SHARED / "data" / "real" / "emd3488_5me2" / "map.mrc")]
    sources = []
    for name, path in paths:
        if path is not None and path.is_file():
            m = read_map(path)
            sources.append(Source(name, m.data, m.voxel_size, path))
    if not sources:
        raise SystemExit(f"no real map found: neither EMD-11007 ({CCPEM}) nor {paths[1][1]}")
    return sorted(sources, key=lambda s: -s.data.size)


def build_box(data: np.ndarray, side: int) -> tuple[np.ndarray, str]:
    """A ``side``^3 box of real density: a centred crop where the map is big enough, else the
    map tiled periodically (each added slab is a real crop from the opposite face).

    Returns the box (float32, C-order) and how it was made.
    """
    out = data
    how = []
    for axis, n in enumerate(data.shape):
        if n >= side:
            start = (n - side) // 2
            out = np.take(out, np.arange(start, start + side), axis=axis)
            how.append("crop" if n > side else "whole")
        else:
            before = (side - n) // 2
            width = [(0, 0)] * 3
            width[axis] = (before, side - n - before)
            out = np.pad(out, width, mode="wrap")
            how.append("tiled")
    kinds = sorted(set(how))
    text = {"whole": "whole map", "crop": "centred crop", "tiled": "periodic tiling"}
    return np.ascontiguousarray(out, dtype=np.float32), " + ".join(text[k] for k in kinds)


# ---------------------------------------------------------------------------------------------
# Child processes and memory


@dataclass
class ChildResult:
    """What one child process cost: wall time, CPU time and its own peak RSS."""

    returncode: int
    wall_s: float
    cpu_s: float
    maxrss_mb: float
    log: str


def run_child(cmd: Sequence[str], log_path: Path, timeout: float | None = None,
              env: dict[str, str] | None = None) -> ChildResult:
    """Run ``cmd`` and report its own ``ru_maxrss`` (``os.wait4``, so earlier or larger
    children do not leak into the figure as they do with ``RUSAGE_CHILDREN``)."""
    with open(log_path, "w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT, env=env)
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildResult(proc.returncode, wall, usage.ru_utime + usage.ru_stime,
                       usage.ru_maxrss / 1024.0, log_path.read_text(errors="replace")[-2000:])


def rss_mb() -> float:
    """Resident set size of this process now (Linux /proc; ru_maxrss elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class RssSampler:
    """Highest RSS seen while the block runs, sampled every ``interval`` seconds in a thread
    (catches onnxruntime's arena and other native memory that tracemalloc does not see)."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, rss_mb())
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.peak_mb = rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, rss_mb())


def timed_repeats(fn, repeat: int, budget_s: float) -> list[float]:
    """Run ``fn`` up to ``repeat`` times (at least once), stopping once ``budget_s`` is spent."""
    times: list[float] = []
    while len(times) < max(1, repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if sum(times) > budget_s:
            break
    return times


def pin_cpus(threads: int) -> list[int] | None:
    """Restrict this process (and its children) to ``threads`` CPUs when the machine has more,
    so a run on a big machine still measures two cores. Returns the CPUs or None."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) <= threads:
        return None
    os.sched_setaffinity(0, cpus[:threads])
    return cpus[:threads]


# ---------------------------------------------------------------------------------------------
# Work and peak


MATMUL_CODE = """
import json, sys, time, numpy as np
n = int(sys.argv[1])
rng = np.random.default_rng(0)
a = rng.random((n, n), dtype=np.float32)
b = rng.random((n, n), dtype=np.float32)
a @ b
best = float("inf")
for _ in range(5):
    t = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - t)
print(json.dumps({"gflops": 2 * n**3 / best / 1e9}))
"""


def matmul_peak(threads: int, n: int = 2048) -> float:
    """Best-of-5 GFLOP/s of a numpy float32 ``n``^2 matmul on ``threads`` BLAS threads (a
    fresh process, since OpenBLAS reads its thread count at start-up)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", MATMUL_CODE, str(n)], env=env, check=True,
                         capture_output=True, text=True, timeout=300)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["gflops"])


def onnx_flops_per_voxel(onnx_path: str | os.PathLike[str], side: int = 64) -> float:
    """Multiply-add FLOPs (2 per MAC) per input voxel of an ONNX network, counted from its
    Conv and ConvTranspose nodes at a ``side``^3 input (biases, ReLU, pooling and concat are
    left out; they are well under 1 % of the work). Shapes come from ONNX shape inference."""
    import onnx
    from onnx import shape_inference

    model = onnx.load(str(onnx_path))
    graph_input = model.graph.input[0]
    for dim, value in zip(graph_input.type.tensor_type.shape.dim, (1, 1, side, side, side)):
        dim.Clear()
        dim.dim_value = value
    for out in model.graph.output:
        for dim in out.type.tensor_type.shape.dim:
            dim.Clear()
    model = shape_inference.infer_shapes(model)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in [*model.graph.input, *model.graph.value_info, *model.graph.output]}
    shapes.update({t.name: list(t.dims) for t in model.graph.initializer})
    for node in model.graph.node:
        if node.op_type == "Constant":
            shapes[node.output[0]] = list(node.attribute[0].t.dims)
    macs = 0
    for node in model.graph.node:
        if node.op_type not in ("Conv", "ConvTranspose"):
            continue
        weight = shapes[node.input[1]]
        per_point = int(np.prod(weight[1:], dtype=np.int64))  # (C_in or C_out)/groups x kernel
        # Conv: every output point sums C_in/g x k^3 products; ConvTranspose: every input point
        # scatters into C_out/g x k^3 outputs.
        points = shapes[node.output[0] if node.op_type == "Conv" else node.input[0]]
        if not points or min(points) <= 0:
            raise ValueError(f"{onnx_path}: no inferred shape for node {node.name!r}")
        macs += int(np.prod(points, dtype=np.int64)) * per_point
    return 2.0 * macs / side**3
