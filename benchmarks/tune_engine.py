"""What makes the engine faster: onnxruntime session options and tiling, measured A/B.

Two experiments, each variant in its own process (its own peak RSS), variants interleaved
round by round so that load from other work on a shared machine hits them alike:

    python benchmarks/tune_engine.py session --side 112   # one network pass, session options
    python benchmarks/tune_engine.py tiles --sizes 112 160 240 300 --tiles 96 128 160
                                                          # predict_map, tile size and overlap

``session`` starts from the core's options (``core/inference.py``: intra-op = --threads,
inter-op 1, sequential, ORT_ENABLE_ALL) and changes one thing per variant. ``tiles`` runs the
core's `predict_map` with the sidecar's tile_size replaced and, for overlap variants, the
tiling's minimum overlap replaced (a simulation of a core change, not a supported option).
Results: ``OUT/NAME.json`` (default ``tune-session`` / ``tune-tiles``) and a markdown table on
stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_common import (
    BOX_VOXEL,
    REPO,
    RssSampler,
    build_box,
    pin_cpus,
    real_sources,
    rss_mb,
    run_child,
    timed_repeats,
)

log = logging.getLogger("bench")

# name -> changes to the core's session options (attribute or "config:key" -> value)
SESSION_VARIANTS: dict[str, dict[str, Any]] = {
    "core (baseline)": {},
    "opt level BASIC": {"graph_optimization_level": "ORT_ENABLE_BASIC"},
    "opt level EXTENDED": {"graph_optimization_level": "ORT_ENABLE_EXTENDED"},
    "opt level DISABLE": {"graph_optimization_level": "ORT_DISABLE_ALL"},
    "cpu mem arena off": {"enable_cpu_mem_arena": False},
    "mem pattern off": {"enable_mem_pattern": False},
    "arena + pattern off": {"enable_cpu_mem_arena": False, "enable_mem_pattern": False},
    "parallel, inter 2": {"execution_mode": "ORT_PARALLEL", "inter_op_num_threads": 2},
    "no spinning": {"config:session.intra_op.allow_spinning": "0"},
    "intra 1 thread": {"intra_op_num_threads": 1},
}


def session_options(threads: int, changes: dict[str, Any]):
    """The core's SessionOptions with ``changes`` applied."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    for key, value in changes.items():
        if key.startswith("config:"):
            so.add_session_config_entry(key[len("config:"):], value)
        elif key == "graph_optimization_level":
            so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, value)
        elif key == "execution_mode":
            so.execution_mode = getattr(ort.ExecutionMode, value)
        else:
            setattr(so, key, value)
    return so


# ---------------------------------------------------------------------------------------------
# Workers (one process each)


def run_session(spec: dict[str, Any]) -> dict[str, Any]:
    """Time one network pass on a ``side``^3 input under one set of session options."""
    import onnxruntime as ort
    from chimerax.deepssetracer.core.weights import load_spec

    mspec = load_spec(spec["weights"])
    so = session_options(spec["threads"], spec["changes"])
    sess = ort.InferenceSession(spec["weights"], so, providers=["CPUExecutionProvider"])
    side = spec["side"]
    x = np.random.default_rng(0).standard_normal((1, 1, side, side, side), dtype=np.float32)
    feed = {mspec.input_name: x}
    t0 = time.perf_counter()
    sess.run(None, feed)
    first = time.perf_counter() - t0
    cpu0 = time.process_time()
    with RssSampler() as rss:
        times = timed_repeats(lambda: sess.run(None, feed), spec["repeat"], spec["budget_s"])
    return {"first_s": first, "times_s": times, "rss_peak_mb": rss.peak_mb,
            "cpu_s": (time.process_time() - cpu0) / len(times)}


def run_tiles(spec: dict[str, Any]) -> dict[str, Any]:
    """Time `predict_map` with a given tile size (and, optionally, minimum overlap)."""
    from chimerax.deepssetracer.core import tiling
    from chimerax.deepssetracer.core.inference import load_network
    from chimerax.deepssetracer.core.mapio import read_map
    from chimerax.deepssetracer.core.predict import predict_map

    if spec.get("overlap") is not None:  # simulates a core change: tile_starts' default
        tiling.tile_starts.__defaults__ = (float(spec["overlap"]),)
    dmap = read_map(spec["map"])
    net, mspec = load_network(spec["weights"], device="cpu", threads=spec["threads"])
    mspec = dataclasses.replace(mspec, tile_size=int(spec["tile_size"]))
    if spec.get("changes"):  # the core's network with other session options
        import onnxruntime as ort

        net.session = ort.InferenceSession(
            spec["weights"], session_options(spec["threads"], spec["changes"]),
            providers=["CPUExecutionProvider"])
    calls: list[float] = []
    session_run = net.session.run

    def timed_run(*a, **k):
        t = time.perf_counter()
        out = session_run(*a, **k)
        calls.append(time.perf_counter() - t)
        return out

    net.session.run = timed_run  # network time separately from the numpy around it
    pred = predict_map(dmap, net, mspec)
    if spec.get("save"):
        np.save(spec["save"], np.stack([pred.helix, pred.sheet]))
    calls.clear()
    before = rss_mb()
    cpu0 = time.process_time()
    with RssSampler() as rss:
        times = timed_repeats(lambda: predict_map(dmap, net, mspec), spec["repeat"],
                              spec["budget_s"])
    runs = len(times)
    return {"times_s": times, "tiles": pred.tiles, "network_s": sum(calls) / runs,
            "cpu_s": (time.process_time() - cpu0) / runs, "rss_before_mb": before,
            "rss_peak_mb": rss.peak_mb}


def agreement(ref: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """How far a ``[2, z, y, x]`` helix/sheet prediction is from a reference one."""
    from chimerax.deepssetracer.core.predict import Prediction

    def labels(p: np.ndarray) -> np.ndarray:
        return Prediction(p[0], p[1]).labels()

    return {"max_abs_diff": float(np.abs(ref - other).max()),
            "label_changed": float(np.mean(labels(ref) != labels(other)))}


WORKERS = {"session": run_session, "tiles": run_tiles}


# ---------------------------------------------------------------------------------------------
# Orchestration


def interleaved(variants: list[tuple[str, dict[str, Any]]], kind: str, rounds: int, work: Path,
                ) -> dict[str, dict[str, Any]]:
    """Each variant once per round, in turn; the best time over rounds, the highest RSS."""
    out: dict[str, dict[str, Any]] = {name: {"times_s": [], "maxrss_mb": 0.0}
                                      for name, _ in variants}
    for r in range(rounds):
        for i, (name, spec) in enumerate(variants):
            tag = f"{kind}-{i}-{r}"
            spec_path = work / f"{tag}.json"
            spec_path.write_text(json.dumps(dict(spec, result=str(work / f"{tag}.out.json"))))
            child = run_child([sys.executable, __file__, "_worker", kind, str(spec_path)],
                              work / f"{tag}.log")
            if child.returncode != 0:
                raise RuntimeError(f"{name} failed:\n{child.log}")
            res = json.loads((work / f"{tag}.out.json").read_text())
            o = out[name]
            o["times_s"] += res.pop("times_s")
            o["maxrss_mb"] = max(o["maxrss_mb"], child.maxrss_mb)
            o["cpu_s"] = min(o.get("cpu_s", np.inf), res.pop("cpu_s"))
            o.update(res)
            log.info("%s round %d: best %.3f s", name, r + 1, min(o["times_s"]))
    for o in out.values():
        o["min_s"], o["median_s"] = min(o["times_s"]), statistics.median(o["times_s"])
    return out


def weights_path(args: argparse.Namespace, work: Path) -> Path:
    from bench_predict import resolve_weights

    ns = argparse.Namespace(weights=args.weights, random_weights=args.random_weights,
                            tile_size=None)
    return resolve_weights(ns, work)[0]


def cmd_session(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    weights = weights_path(args, work)
    names = args.variants or list(SESSION_VARIANTS)
    variants = [(n, {"weights": str(weights), "threads": args.threads, "side": args.side,
                     "changes": SESSION_VARIANTS[n], "repeat": args.repeat,
                     "budget_s": args.budget_s}) for n in names]
    res = interleaved(variants, "session", args.rounds, work)
    base = res[names[0]]["min_s"]
    lines = [f"One network pass on {args.side}^3, {args.threads} threads; best of "
             f"{args.rounds} rounds x {args.repeat}.", "",
             "| variant | best s | median s | vs first | CPU s | first run s | peak RSS MB |",
             "|---|---|---|---|---|---|---|"]
    for n in names:
        o = res[n]
        lines.append(f"| {n} | {o['min_s']:.3f} | {o['median_s']:.3f} | "
                     f"{o['min_s'] / base:.2f} | {o['cpu_s']:.2f} | {o['first_s']:.3f} | "
                     f"{o['maxrss_mb']:.0f} |")
    return {"side": args.side, "threads": args.threads, "variants": res,
            "table": "\n".join(lines) + "\n"}


def cmd_tiles(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from chimerax.deepssetracer.core.grid import DensityMap
    from chimerax.deepssetracer.core.mapio import write_map

    weights = weights_path(args, work)
    primary = real_sources(download=not args.no_download)[0]
    lines = [f"predict_map, {args.threads} threads, boxes from {primary.name}; best of "
             f"{args.rounds} rounds x {args.repeat}.", "",
             "Agreement is with the first variant of each box (max |p - p_ref| over helix and "
             "sheet, and % of voxels whose most probable class differs).", "",
             "| box | tile | min overlap | session | tiles | best s | network s | other s "
             "| CPU s | peak RSS MB | max abs diff | % labels changed |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    results = {}
    for side in args.sizes:
        box, _ = build_box(primary.data, side)
        path = write_map(work / f"box{side}.mrc", DensityMap(box, (BOX_VOXEL,) * 3))
        variants = [(f"{side}^3 tile {t} overlap {ov} {sv}",
                     {"map": str(path), "weights": str(weights), "threads": args.threads,
                      "tile_size": t, "overlap": ov, "session": sv,
                      "changes": SESSION_VARIANTS[sv], "repeat": args.repeat,
                      "budget_s": args.budget_s})
                    for t in args.tiles for ov in args.overlaps for sv in args.session]
        for i, (_, spec) in enumerate(variants):
            spec["save"] = str(work / f"pred{side}-{i}.npy")
        res = interleaved(variants, "tiles", args.rounds, work)
        ref = np.load(variants[0][1]["save"])
        for name, spec in variants:
            o = res[name]
            o.update(agreement(ref, np.load(spec["save"])))
            lines.append(f"| {side}^3 | {spec['tile_size']} | {spec['overlap']} "
                         f"| {spec['session']} | {o['tiles']} "
                         f"| {o['min_s']:.2f} | {o['network_s']:.2f} | "
                         f"{o['min_s'] - o['network_s']:.2f} | {o['cpu_s']:.1f} "
                         f"| {o['maxrss_mb']:.0f} "
                         f"| {o['max_abs_diff']:.3f} | {100 * o['label_changed']:.3f} |")
        results.update(res)
        path.unlink()
    return {"threads": args.threads, "variants": results, "table": "\n".join(lines) + "\n"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_worker"]:
        spec = json.loads(Path(argv[2]).read_text())
        Path(spec["result"]).write_text(json.dumps(WORKERS[argv[1]](spec)))
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="experiment", required=True)
    for name in ("session", "tiles"):
        s = sub.add_parser(name)
        s.add_argument("--threads", type=int, default=2)
        s.add_argument("--weights", type=Path, default=None)
        s.add_argument("--random-weights", action="store_true")
        s.add_argument("--rounds", type=int, default=3)
        s.add_argument("--repeat", type=int, default=2)
        s.add_argument("--budget-s", type=float, default=30.0)
        s.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
        s.add_argument("--name", default=f"tune-{name}",
                       help=f"results file stem (default tune-{name}: OUT/NAME.json)")
        s.add_argument("--no-pin", action="store_true")
        s.add_argument("--no-download", action="store_true")
    sub.choices["session"].add_argument("--side", type=int, default=112)
    sub.choices["session"].add_argument("--variants", nargs="+", choices=list(SESSION_VARIANTS))
    sub.choices["tiles"].add_argument("--sizes", type=int, nargs="+", default=[112, 160, 300])
    sub.choices["tiles"].add_argument("--tiles", type=int, nargs="+", default=[96, 128, 160])
    sub.choices["tiles"].add_argument("--overlaps", type=float, nargs="+", default=[0.5])
    sub.choices["tiles"].add_argument("--session", nargs="+", choices=list(SESSION_VARIANTS),
                                      default=["core (baseline)"],
                                      help="session option variants (names as in 'session')")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if not args.no_pin:
        pin_cpus(args.threads)
    with tempfile.TemporaryDirectory(prefix="dsst-tune-") as tmp:
        run = {"session": cmd_session, "tiles": cmd_tiles}[args.experiment]
        result = run(args, Path(tmp))
    result["load_average"] = list(os.getloadavg())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(result["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
