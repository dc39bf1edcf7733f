"""Speed and memory of ``deepssetracer predict`` on real density, against the published network.

For each cubic box (default 64^3, 112^3, 160^3, 240^3 and a 300^3 whole map) cut or tiled from
a real map, this measures, each in a fresh process on ``--threads`` cores:

* end to end: the ``deepssetracer`` console script (start-up, read, predict, write);
* the engine: ``core.predict.predict_map`` in process, after a warm-up;
* the published DeepSSETracer network (rebuilt, random weights): one eager PyTorch forward pass;

with each process's peak RSS, voxels per second, GFLOP/s (Conv/ConvTranspose FLOPs counted
from the ONNX graph) against a numpy float32 matmul peak, and the speed-ups. Results go to
``OUT/predict.json`` and ``OUT/predict.md`` and a figure (see docs/benchmark.md).

    python benchmarks/bench_predict.py --quick          # 64^3 and 112^3, a few minutes
    python benchmarks/bench_predict.py --update-doc     # the full run for docs/benchmark.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from bench_common import (
    BOX_VOXEL,
    REPO,
    build_box,
    matmul_peak,
    onnx_flops_per_voxel,
    pin_cpus,
    real_sources,
    run_child,
)

log = logging.getLogger("bench")

SIZES = (64, 112, 160, 240, 300)
QUICK_SIZES = (64, 112)
WORKER = Path(__file__).resolve().with_name("bench_worker.py")
DOC = REPO / "docs" / "benchmark.md"
RESULTS = REPO / "benchmarks" / "results"
DOC_START, DOC_END = "<!-- results:start -->", "<!-- results:end -->"
# issue 27: whole maps at the engine's speed
TARGETS = {"e2e_112_s": 1.0, "speedup_112": 15.0, "overhead": 1.3, "overhead_sides": (150, 300),
           "e2e_300_vs_published_112": 0.5, "peak_300_mb": 1500.0, "peak_large_mb": 3000.0}
LARGE = 600  # edge of the map run once end to end for its peak memory (issue 27: within 3 GB)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=None,
                   help=f"cube edges in voxels (default {' '.join(map(str, SIZES))})")
    p.add_argument("--quick", action="store_true",
                   help=f"only {' and '.join(map(str, QUICK_SIZES))}, results as predict-quick.*")
    p.add_argument("--threads", type=int, default=2, help="cores for every run (default 2)")
    p.add_argument("--tta", type=int, nargs="?", const=4, default=0, choices=(4, 12, 24),
                   metavar="N", help="also time TTA over N rotations (--tta alone: 4)")
    p.add_argument("--weights", type=Path, default=None,
                   help="ONNX weights with sidecar (default: the shipped ones; when none are "
                        "installed, a random-weights export of model/unet.py)")
    p.add_argument("--random-weights", action="store_true",
                   help="time a random-weights export of model/unet.py even if weights exist")
    p.add_argument("--tile-size", type=int, default=None,
                   help="override the sidecar's tile_size (largest tile edge)")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                   help="device for ours and the published network (default cpu)")
    p.add_argument("--large", type=int, default=None, metavar="N",
                   help=f"also run an N^3 map once end to end for its peak memory (default "
                        f"{LARGE}, none with --quick; 0: none)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (3)")
    p.add_argument("--budget-s", type=float, default=60.0,
                   help="stop repeating a measurement after this many seconds (60)")
    p.add_argument("--skip-published-above", type=int, default=160, metavar="N",
                   help="no published forward pass for boxes above N^3 (default 160: at 240^3 "
                        "its activations need ~10 GB and minutes; estimated instead)")
    p.add_argument("--no-published", action="store_true", help="skip the published network")
    p.add_argument("--no-deposited", action="store_true",
                   help="skip EMD-11007 as deposited (0.834 A voxels, resampled by the tool)")
    p.add_argument("--no-download", action="store_true",
                   help="do not fetch EMD-11007 (boxes come from EMD-3488 then)")
    p.add_argument("--no-pin", action="store_true",
                   help="do not restrict the runs to --threads CPUs on a bigger machine")
    p.add_argument("--out", type=Path, default=RESULTS,
                   help="folder for predict.json and predict.md (default benchmarks/results)")
    p.add_argument("--figure", type=Path, default=None,
                   help="figure path (default docs/figures/benchmark.png, -quick for --quick; "
                        "with another --out, benchmark.png there)")
    p.add_argument("--report", type=Path, default=None, metavar="JSON",
                   help="measure nothing: write the table and figure of an earlier run's JSON")
    p.add_argument("--update-doc", action="store_true",
                   help=f"paste the table into {DOC.relative_to(REPO)} between its markers")
    args = p.parse_args(argv)
    if args.sizes is None:
        args.sizes = list(QUICK_SIZES if args.quick else SIZES)
    if args.quick:
        args.no_deposited = True
    if args.large is None:
        args.large = 0 if args.quick else LARGE
    quick = args.quick or bool(args.report and args.report.stem.endswith("-quick"))
    args.stem = "predict-quick" if quick else "predict"
    if args.figure is None:  # a run into another folder leaves the docs' figure alone
        name = "benchmark-quick.png" if quick else "benchmark.png"
        args.figure = (REPO / "docs" / "figures" if args.out == RESULTS else args.out) / name
    return args


# ---------------------------------------------------------------------------------------------
# Setup


def resolve_weights(args: argparse.Namespace, work: Path) -> tuple[Path, str]:
    """The ONNX to time and what it is; a sidecar copy with ``--tile-size`` applied."""
    from chimerax.deepssetracer.core.weights import default_weights_path, sidecar_path

    if args.weights is not None:
        path, kind = args.weights.resolve(), "given"
    elif default_weights_path().is_file() and not args.random_weights:
        path, kind = default_weights_path(), "shipped"
    else:
        path, kind = work / "random" / "deepssetracer.onnx", "random (model/unet.py)"
        path.parent.mkdir()
        worker(["export"], {"onnx": str(path)}, work, "export")
        log.info("no trained weights: timing a random-weights export %s", path)
    if args.tile_size:
        copy = work / "tiled" / path.name
        copy.parent.mkdir()
        copy.symlink_to(path)
        sidecar = json.loads(sidecar_path(path).read_text())
        sidecar["tile_size"] = args.tile_size
        sidecar_path(copy).write_text(json.dumps(sidecar))
        path, kind = copy, f"{kind}, tile_size {args.tile_size}"
    return path, kind


def worker(kind: list[str], spec: dict[str, Any], work: Path, tag: str,
           timeout: float | None = None) -> dict[str, Any]:
    """Run one bench_worker measurement; its result JSON plus its peak RSS and wall time."""
    spec = dict(spec, result=str(work / f"{tag}.result.json"))
    spec_path = work / f"{tag}.spec.json"
    spec_path.write_text(json.dumps(spec))
    child = run_child([sys.executable, str(WORKER), *kind, str(spec_path)],
                      work / f"{tag}.log", timeout=timeout)
    if child.returncode != 0:
        raise RuntimeError(f"worker {tag} failed ({child.returncode}):\n{child.log}")
    result = json.loads(Path(spec["result"]).read_text())
    result.update(maxrss_mb=child.maxrss_mb, process_wall_s=child.wall_s, cpu_s=child.cpu_s)
    return result


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("deepssetracer")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "chimerax.deepssetracer.cli"]


# ---------------------------------------------------------------------------------------------
# Measurements


def end_to_end(map_path: Path, weights: Path, args: argparse.Namespace, work: Path,
               tta: int = 1) -> dict[str, Any]:
    """``deepssetracer predict`` runs (repeated within the budget); times, CPU and peak RSS."""
    out = work / "out"
    cmd = [*cli_command(), "predict", str(map_path), "-o", str(out), "--weights", str(weights),
           "--threads", str(args.threads), "--device", args.device, "--quiet", "--force"]
    if tta > 1:
        cmd += ["--tta", str(tta)]
    runs = []
    while len(runs) < (1 if tta > 1 else max(1, args.repeat)):
        child = run_child(cmd, work / "cli.log")
        if child.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({child.returncode}):\n{child.log}")
        runs.append(child)
        if sum(r.wall_s for r in runs) > args.budget_s:
            break
    shutil.rmtree(out)
    return {"times_s": [r.wall_s for r in runs], "cpu_s": [r.cpu_s for r in runs],
            "maxrss_mb": max(r.maxrss_mb for r in runs), "summary": runs[-1].log.strip()}


def summarise(times: list[float]) -> dict[str, float]:
    return {"min_s": min(times), "median_s": statistics.median(times)}


def measure_case(name: str, map_path: Path, shape: tuple[int, ...],
                 voxel_size: tuple[float, float, float], source: str, weights: Path,
                 flops: dict[str, float], args: argparse.Namespace, work: Path,
                 published: bool) -> dict[str, Any]:
    """Every measurement of one map (``shape`` [z, y, x] with ``voxel_size`` (x, y, z) Å).

    Our network runs on the sidecar's grid, the published one on a 1 Å grid (as its tool
    resamples), so each side's voxels per second and GFLOP/s count its own grid.
    """
    from chimerax.deepssetracer.core.resample import resampled_shape
    from chimerax.deepssetracer.core.weights import load_spec

    spec = load_spec(weights)
    network_shape = resampled_shape(shape, voxel_size, (spec.voxel_size,) * 3)
    n_net = int(np.prod(network_shape))
    n_pub = int(np.prod(resampled_shape(shape, voxel_size, (1.0,) * 3)))
    case: dict[str, Any] = {
        "name": name, "source": source, "shape_zyx": list(shape), "voxels": int(np.prod(shape)),
        "network_voxel_size": spec.voxel_size, "network_shape_zyx": list(network_shape),
        "network_voxels": n_net, "published_voxels": n_pub, "load_before": os.getloadavg()[0],
    }
    e2e = end_to_end(map_path, weights, args, work)
    e2e.update(summarise(e2e["times_s"]))
    case["e2e"] = e2e
    eng = worker(["engine"], {"map": str(map_path), "weights": str(weights),
                              "device": args.device, "threads": args.threads,
                              "repeat": args.repeat, "budget_s": args.budget_s, "tta": args.tta},
                 work, f"engine-{name}")
    eng.update(summarise(eng["times_s"]))
    # the plan predict_map ran: the grid it tiles is the map on the network grid with the
    # mirrored margin; overhead = voxels the network computed / voxels of that grid
    plan = eng.get("plan") or {"tiles": 0, "tile_zyx": [], "computed_voxels": 0,
                               "grid_voxels": n_net, "grid_zyx": list(network_shape)}
    computed = plan["computed_voxels"]
    case.update(tiles=plan["tiles"], tile_zyx=plan["tile_zyx"], computed_voxels=computed,
                grid_zyx=plan["grid_zyx"], grid_voxels=plan["grid_voxels"],
                overhead=computed / plan["grid_voxels"], overhead_map_grid=computed / n_net)
    log.info("%s: %s, %d tile(s) of %s, overhead %.2f", name, source, plan["tiles"],
             plan["tile_zyx"], case["overhead"])
    eng["voxels_per_s"] = n_net / eng["min_s"]
    eng["useful_gflops"] = flops["ours"] * n_net / eng["min_s"] / 1e9
    eng["computed_gflops"] = flops["ours"] * computed / eng["min_s"] / 1e9
    case["engine"] = eng
    e2e["voxels_per_s"] = n_net / e2e["min_s"]
    if args.tta:
        t = end_to_end(map_path, weights, args, work, tta=args.tta)
        rot = eng["tta"]["rotations"]
        case["tta"] = {"rotations": rot, "e2e_s": t["times_s"][0], "e2e_maxrss_mb": t["maxrss_mb"],
                       "engine_s": eng["tta"]["time_s"],
                       "engine_s_per_rotation": eng["tta"]["time_s"] / rot,
                       "engine_ratio_to_plain": eng["tta"]["time_s"] / eng["min_s"]}
    if published:
        pub = worker(["published"], {"map": str(map_path), "device": args.device,
                                     "threads": args.threads, "repeat": args.repeat,
                                     "budget_s": args.budget_s}, work, f"published-{name}")
        pub.update(summarise(pub["times_s"]))
        pub["gflops"] = pub["flops_per_voxel"] * n_pub / pub["min_s"] / 1e9
        flops["published"] = pub["flops_per_voxel"]
        case["published"] = pub
        case["speedup"] = {"e2e": pub["min_s"] / e2e["min_s"],
                           "engine": pub["min_s"] / eng["min_s"]}
    case["load_after"] = os.getloadavg()[0]
    return case


def measure_large(primary: Any, args: argparse.Namespace, weights: Path,
                  work: Path) -> dict[str, Any]:
    """A map too large for one pass (``args.large``^3), run once end to end: its peak memory
    grows with the tile, not the map (issue 27), and its time."""
    from chimerax.deepssetracer.core.grid import DensityMap
    from chimerax.deepssetracer.core.mapio import write_map

    box, how = build_box(primary.data, args.large)
    path = write_map(work / f"box{args.large}.mrc", DensityMap(box, (BOX_VOXEL,) * 3))
    del box
    once = argparse.Namespace(**{**vars(args), "repeat": 1})
    e2e = end_to_end(path, weights, once, work)
    path.unlink()
    found = re.search(r"\((\d+) tiles?\)", e2e["summary"])
    log.info("%d^3: end to end %.1f s, peak %.0f MB", args.large, e2e["times_s"][0],
             e2e["maxrss_mb"])
    return {"name": f"{args.large}^3", "source": f"{primary.name} {how}",
            "voxels": args.large ** 3, "e2e_s": e2e["times_s"][0],
            "maxrss_mb": e2e["maxrss_mb"], "tiles": int(found.group(1)) if found else None}


def estimate_published(cases: list[dict[str, Any]], flops_published: float | None) -> None:
    """For boxes skipped, the published time at the GFLOP/s of its largest measured box."""
    measured = [c for c in cases if "published" in c]
    if not measured or not flops_published:
        return
    rate = max(measured, key=lambda c: c["published_voxels"])["published"]["gflops"]
    for c in cases:
        if "published" not in c and c.get("published_skipped") == "size":
            c["published_estimated_s"] = flops_published * c["published_voxels"] / rate / 1e9


def machine_info(args: argparse.Namespace, pinned: list[int] | None) -> dict[str, Any]:
    import onnxruntime

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "pinned_cpus": pinned,
            "threads": args.threads, "python": platform.python_version(),
            "numpy": np.__version__, "onnxruntime": onnxruntime.__version__,
            "platform": platform.platform()}


# ---------------------------------------------------------------------------------------------
# Report


def _fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}" if x < 100 else f"{x:.0f}"


def markdown(results: dict[str, Any]) -> str:
    """The results table and target checks as markdown (pasted into docs/benchmark.md)."""
    m, fl = results["machine"], results["flops_per_voxel"]
    peak = results["matmul_gflops"]
    lines = [
        f"Run {results['date']} on {m['cpu']} ({m['threads']} threads of {m['cpu_count']} "
        f"CPUs), load average {results['load_average'][0]:.1f} at start; weights: "
        f"{results['weights']['kind']}, tile_size {results['weights']['tile_size']}. "
        f"Matmul peak (numpy float32 2048^2, {m['threads']} threads): "
        f"{peak['start']:.0f} GFLOP/s at start, {peak['end']:.0f} at end. Network work: ours "
        f"{fl['ours'] / 1e3:.0f} kFLOP/voxel, published "
        f"{_fmt(fl.get('published') and fl['published'] / 1e3, 0)} kFLOP/voxel.",
        "",
        *([f"**The machine was loaded** (load average {results['load_average'][0]:.1f} on "
           f"{m['cpu_count']} CPUs): these timings are pessimistic; peak memory, work and the "
           "side-by-side ratios hold better.", ""]
          if results["load_average"][0] > 0.5 * m["cpu_count"] else []),
        "| map | network grid (+ margin) | tiles | network voxels / grid voxels "
        "| end to end s | e2e / published 112^3 pass | engine s (CPU s) | engine Mvox/s "
        "| engine GFLOP/s (% peak) | published forward s | speed-up e2e / engine "
        "| peak MB e2e / engine / published |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ref = published_112(results)
    for c in results["cases"]:
        e, g = c["e2e"], c["engine"]
        p = c.get("published")
        pub = (_fmt(p["min_s"]) if p else
               f"~{_fmt(c['published_estimated_s'], 0)} (est., skipped)"
               if "published_estimated_s" in c else "skipped")
        speed = (f"{c['speedup']['e2e']:.1f}x / {c['speedup']['engine']:.1f}x"
                 if "speedup" in c else "–")
        pct = 100 * g["useful_gflops"] / peak["start"]
        shape = (f"{'x'.join(map(str, c['network_shape_zyx'][::-1]))} at "
                 f"{c.get('network_voxel_size', 1.0):g} Å")
        grid = c.get("grid_zyx")
        if grid and grid != c["network_shape_zyx"]:
            shape += f" ({'x'.join(map(str, grid[::-1]))})"
        tile = c.get("tile_zyx")
        tiles = f"{c['tiles']} x {'x'.join(map(str, tile[::-1]))}" if tile else f"{c['tiles']}"
        overhead = f"{c['overhead']:.2f}" if "overhead" in c else "–"
        vs_ref = f"{e['min_s'] / ref:.3f}" if ref else "–"
        lines.append(
            f"| {c['name']} | {shape} | {tiles} | {overhead} | {_fmt(e['min_s'])} | {vs_ref} "
            f"| {_fmt(g['min_s'])} ({_fmt(g['cpu_s_per_run'])}) "
            f"| {g['voxels_per_s'] / 1e6:.2f} | {g['useful_gflops']:.0f} ({pct:.0f} %) | {pub} "
            f"| {speed} | {e['maxrss_mb']:.0f} / {g['rss_peak_mb']:.0f} / "
            f"{_fmt(p['maxrss_mb'], 0) if p else '–'} |")
    if any("tta" in c for c in results["cases"]):
        lines += ["", "| map | TTA rotations | engine s | s per rotation | x plain "
                      "| end to end s | peak MB |", "|---|---|---|---|---|---|---|"]
        for c in results["cases"]:
            t = c.get("tta")
            if t:
                lines.append(f"| {c['name']} | {t['rotations']} | {_fmt(t['engine_s'])} | "
                             f"{_fmt(t['engine_s_per_rotation'])} | "
                             f"{t['engine_ratio_to_plain']:.1f} | {_fmt(t['e2e_s'])} | "
                             f"{t['e2e_maxrss_mb']:.0f} |")
    lines += ["", "Targets:", ""] + [f"- {t}" for t in target_lines(results)]
    return "\n".join(lines) + "\n"


def published_112(results: dict[str, Any]) -> float | None:
    """The published network's forward pass on the 112^3 box in this run (s), or None."""
    c = next((c for c in results["cases"] if c["name"] == "112^3"), None)
    return c["published"]["min_s"] if c and "published" in c else None


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def target_lines(results: dict[str, Any]) -> list[str]:
    by_side = {c["name"]: c for c in results["cases"]}
    out = []
    ref = published_112(results)
    c = by_side.get("112^3")
    if c:
        t = c["e2e"]["min_s"]
        out.append(f"112^3 end to end {t:.2f} s (target <= {TARGETS['e2e_112_s']:g} s): "
                   f"{_verdict(t <= TARGETS['e2e_112_s'])}")
        if "speedup" in c:
            s = c["speedup"]["e2e"]
            out.append(f"112^3 speed-up over the published forward pass {s:.1f}x end to end, "
                       f"{c['speedup']['engine']:.1f}x engine (target >= "
                       f"{TARGETS['speedup_112']:g}x): {_verdict(s >= TARGETS['speedup_112'])}")
    lo, hi = TARGETS["overhead_sides"]
    for c in results["cases"]:
        side = int(c["name"].split("^")[0]) if c["name"].endswith("^3") else 0
        if lo <= side <= hi and "overhead" in c:
            out.append(f"{c['name']} network overhead {c['overhead']:.2f} ({c['tiles']} tile"
                       f"{'s' * (c['tiles'] != 1)}; target <= {TARGETS['overhead']:g}): "
                       f"{_verdict(c['overhead'] <= TARGETS['overhead'])}")
    c = by_side.get("300^3")
    if c:
        t, mem = c["e2e"]["min_s"], c["e2e"]["maxrss_mb"]
        if ref:
            r = t / ref
            out.append(f"300^3 end to end {t:.1f} s = {r:.2f} x the published 112^3 forward "
                       f"pass ({ref:.1f} s, same run; target <= "
                       f"{TARGETS['e2e_300_vs_published_112']:g}): "
                       f"{_verdict(r <= TARGETS['e2e_300_vs_published_112'])}")
        out.append(f"300^3 peak {mem:.0f} MB end to end (target <= "
                   f"{TARGETS['peak_300_mb']:g} MB): {_verdict(mem <= TARGETS['peak_300_mb'])}")
    big = results.get("large")
    if big:
        out.append(f"{big['name']} peak {big['maxrss_mb']:.0f} MB end to end ({big['tiles']} "
                   f"tiles, {big['e2e_s']:.0f} s; target <= {TARGETS['peak_large_mb']:g} MB): "
                   f"{_verdict(big['maxrss_mb'] <= TARGETS['peak_large_mb'])}")
    cubes = [c for c in results["cases"] if c["name"].endswith("^3")]
    if len(cubes) >= 2:
        a, b = cubes[0], cubes[-1]
        grow = b["e2e"]["maxrss_mb"] / a["e2e"]["maxrss_mb"]
        out.append(f"memory growth {a['name']} -> {b['name']}: {grow:.1f}x peak for "
                   f"{b['voxels'] / a['voxels']:.0f}x voxels "
                   f"({b['e2e']['maxrss_mb'] * 2**20 / b['voxels']:.0f} bytes/voxel "
                   f"at {b['name']})")
    return out or ["no box of 112^3 or 300^3 in this run"]


def plot(results: dict[str, Any], path: Path) -> None:
    """Time and peak memory against voxels, log-log: engine, end to end, published."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = [c for c in results["cases"] if c["name"].endswith("^3")]
    n = [c["voxels"] for c in cases]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    ax_t.plot(n, [c["engine"]["min_s"] for c in cases], "o-", label="ours: engine")
    ax_t.plot(n, [c["e2e"]["min_s"] for c in cases], "s-", label="ours: end to end")
    pub = [(c["voxels"], c["published"]["min_s"]) for c in cases if "published" in c]
    est = [(c["voxels"], c["published_estimated_s"]) for c in cases
           if "published_estimated_s" in c]
    if pub:
        ax_t.plot(*zip(*pub), "^-", color="C3", label="published: forward pass")
    if est:
        ax_t.plot(*zip(*(pub[-1:] + est)), "^:", color="C3", mfc="none",
                  label="published: estimated")
    ax_m.plot(n, [c["engine"]["rss_peak_mb"] for c in cases], "o-", label="ours: engine process")
    ax_m.plot(n, [c["e2e"]["maxrss_mb"] for c in cases], "s-", label="ours: end to end")
    if pub:
        ax_m.plot([c["voxels"] for c in cases if "published" in c],
                  [c["published"]["maxrss_mb"] for c in cases if "published" in c], "^-",
                  color="C3", label="published: forward pass")
    big = results.get("large")
    if big:
        label = f"ours: {big['name'].replace('^3', '³')}, {big['tiles']} tiles"
        ax_t.plot([big["voxels"]], [big["e2e_s"]], "D", color="C1", mfc="none", label=label)
        ax_m.plot([big["voxels"]], [big["maxrss_mb"]], "D", color="C1", mfc="none", label=label)
        ax_m.axhline(TARGETS["peak_large_mb"], color="C1", ls=":", lw=1,
                     label=f"{big['name'].replace('^3', '³')} target")
    for ax, ylabel in ((ax_t, "time (s)"), (ax_m, "peak RSS (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("voxels (1 Å grid)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    m = results["machine"]
    fig.suptitle(f"deepssetracer predict, {m['threads']} threads ({m['cpu']}); "
                 f"weights: {results['weights']['kind']}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def update_doc(table: str, doc: Path = DOC) -> None:
    """Replace the text between the results markers of docs/benchmark.md."""
    text = doc.read_text()
    start, end = text.index(DOC_START) + len(DOC_START), text.index(DOC_END)
    doc.write_text(text[:start] + "\n" + table + text[end:])


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if args.report:
        return report(json.loads(args.report.read_text()), args)
    from chimerax.deepssetracer.core.grid import DensityMap
    from chimerax.deepssetracer.core.mapio import write_map
    from chimerax.deepssetracer.core.weights import load_spec

    pinned = None if args.no_pin else pin_cpus(args.threads)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="dsst-bench-") as tmp:
        work = Path(tmp)
        weights, kind = resolve_weights(args, work)
        spec = load_spec(weights)
        sources = real_sources(download=not args.no_download)
        primary = sources[0]
        log.info("boxes from %s %s (%s)", primary.name, primary.data.shape, primary.path)
        peak_start = matmul_peak(args.threads)
        log.info("matmul peak %.0f GFLOP/s on %d threads", peak_start, args.threads)
        flops: dict[str, float] = {"ours": onnx_flops_per_voxel(weights)}
        cases = []
        for side in args.sizes:
            box, how = build_box(primary.data, side)
            path = write_map(work / f"box{side}.mrc", DensityMap(box, (BOX_VOXEL,) * 3))
            name = f"{side}^3"
            measure_published = not args.no_published and side <= args.skip_published_above
            case = measure_case(name, path, box.shape, (BOX_VOXEL,) * 3,
                                f"{primary.name} {how}", weights, flops, args, work,
                                measure_published)
            if not measure_published:
                case["published_skipped"] = "flag" if args.no_published else "size"
            cases.append(case)
            log.info("%s: end to end %.2f s, engine %.2f s%s", name, case["e2e"]["min_s"],
                     case["engine"]["min_s"],
                     f", published {case['published']['min_s']:.1f} s" if measure_published
                     else "")
            path.unlink()
        if not args.no_deposited and primary.name == "EMD-11007":
            name = f"{primary.name} as deposited"
            case = measure_case(name, primary.path, primary.data.shape, primary.voxel_size,
                                f"{primary.path.name}, {primary.voxel_size[0]:.3f} Å voxels",
                                weights, flops, args, work, published=False)
            case["published_skipped"] = "different grid"
            cases.append(case)
        large = measure_large(primary, args, weights, work) if args.large else None
        peak_end = matmul_peak(args.threads)
    estimate_published(cases, flops.get("published"))
    results = {
        "benchmark": "deepssetracer predict", "format": 1,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["bench_predict.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine_info(args, pinned), "load_average": list(load),
        "matmul_gflops": {"start": peak_start, "end": peak_end, "n": 2048},
        "flops_per_voxel": {**flops, "method": "ours: Conv/ConvTranspose MACs x 2 from the ONNX "
                            "graph with shape inference; published: torch FlopCounterMode"},
        "weights": {"path": str(weights), "kind": kind, "tile_size": spec.tile_size,
                    "network": spec.network},
        "settings": {"threads": args.threads, "device": args.device, "tta": args.tta,
                     "repeat": args.repeat, "budget_s": args.budget_s,
                     "skip_published_above": args.skip_published_above},
        "cases": cases,
        **({"large": large} if large else {}),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    return report(results, args)


def report(results: dict[str, Any], args: argparse.Namespace) -> int:
    """Write the markdown table and the figure (and, if asked, paste both into the doc)."""
    args.out.mkdir(parents=True, exist_ok=True)
    table = markdown(results)
    (args.out / f"{args.stem}.md").write_text(table)
    plot(results, args.figure)
    if args.update_doc:
        figure = Path(os.path.relpath(args.figure.resolve(), DOC.parent)).as_posix()
        update_doc(f"{table}\n![time and peak memory against voxels]({figure})\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
