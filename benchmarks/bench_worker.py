"""Child processes of the benchmark, one measurement each: ``python bench_worker.py KIND SPEC``.

A fresh process per measurement gives each its own peak RSS (the parent reads it with
``os.wait4``) and keeps torch out of the engine's process, as it is out of ``deepssetracer
predict``. ``SPEC`` is a JSON file naming the inputs and where to write the result JSON.

Kinds:
    engine     in-process ``predict_map`` after a warm-up (tracemalloc on the warm-up, RSS
               sampled during the timed runs); optional TTA runs.
    published  eager PyTorch forward pass of the rebuilt published network (no weights).
    export     a random-weights ONNX of ``model/unet.py`` with its sidecar, for runs before
               the trained weights exist.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench_common import RssSampler, rss_mb, timed_repeats


def engine(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``predict_map`` on one map, as the CLI runs it but without start-up and file I/O."""
    from chimerax.deepssetracer.core import predict as predict_module
    from chimerax.deepssetracer.core.inference import load_network
    from chimerax.deepssetracer.core.mapio import read_map
    from chimerax.deepssetracer.core.predict import predict_map

    plans = []  # the plans predict_map really runs (its memory budget decides them)
    tiled = predict_module.predict_tiled

    def recording(volume, *args, **kw):
        plan = kw.get("plan")
        if plan is not None:
            plans.append({"grid_zyx": list(plan.shape), "tiles": plan.n_tiles,
                          "tile_zyx": list(plan.tile), "computed_voxels": plan.computed_voxels,
                          "grid_voxels": int(volume.size), "overhead": plan.overhead})
        return tiled(volume, *args, **kw)

    predict_module.predict_tiled = recording

    dmap = read_map(spec["map"])
    t0 = time.perf_counter()
    net, mspec = load_network(spec["weights"], device=spec["device"], threads=spec["threads"])
    load_s = time.perf_counter() - t0
    if spec.get("tile_size"):
        mspec = dataclasses.replace(mspec, tile_size=int(spec["tile_size"]))
    rss_before = rss_mb()
    tracemalloc.start()
    t0 = time.perf_counter()
    pred = predict_map(dmap, net, mspec)
    warmup_s = time.perf_counter() - t0
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    cpu0 = time.process_time()
    with RssSampler() as rss:
        times = timed_repeats(lambda: predict_map(dmap, net, mspec), spec["repeat"],
                              spec["budget_s"])
    cpu_per_run = (time.process_time() - cpu0) / len(times)
    out: dict[str, Any] = {
        "load_s": load_s, "warmup_s": warmup_s, "times_s": times, "cpu_s_per_run": cpu_per_run,
        "tiles": pred.tiles,
        "tile_size": mspec.tile_size, "device": getattr(net, "device", "cpu"),
        "rss_before_mb": rss_before, "rss_peak_mb": rss.peak_mb,
        "tracemalloc_peak_mb": traced_peak, "plan": plans[0] if plans else None,
    }
    if spec.get("tta"):
        t0 = time.perf_counter()
        pred = predict_map(dmap, net, mspec, tta=int(spec["tta"]))
        out["tta"] = {"time_s": time.perf_counter() - t0, "rotations": pred.rotations}
    return out


def published(spec: dict[str, Any]) -> dict[str, Any]:
    """Eager forward pass of `PublishedUNet` on one box (timing only: random weights)."""
    import numpy as np
    import torch
    from chimerax.deepssetracer.core.mapio import read_map
    from chimerax.deepssetracer.core.normalize import normalize
    from chimerax.deepssetracer.model.published import PublishedUNet
    from torch.utils.flop_counter import FlopCounterMode

    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    cuda = spec["device"] == "cuda" or (spec["device"] == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if cuda else "cpu")
    net = PublishedUNet().eval().to(device)
    params = sum(p.numel() for p in net.parameters())
    side = int(spec.get("flop_side", 32))
    small = torch.zeros(1, 1, side, side, side, device=device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(small)
    flops_per_voxel = counter.get_total_flops() / side**3

    data = read_map(spec["map"]).data
    m = PublishedUNet.size_multiple
    volume = np.pad(normalize(data, {"method": "zscore"}), [(0, -n % m) for n in data.shape])
    x = torch.from_numpy(volume[None, None]).to(device)

    def forward() -> None:
        with torch.no_grad():
            net(x)
        if device.type == "cuda":
            torch.cuda.synchronize()

    with torch.no_grad():
        net(small)  # warm-up: thread pool and kernel selection
    cpu0 = time.process_time()
    with RssSampler() as rss:
        times = timed_repeats(forward, spec["repeat"], spec["budget_s"])
    return {"times_s": times, "cpu_s_per_run": (time.process_time() - cpu0) / len(times),
            "flops_per_voxel": flops_per_voxel, "params": params,
            "threads": torch.get_num_threads(), "device": device.type,
            "rss_peak_mb": rss.peak_mb, "input_shape": list(volume.shape)}


def export(spec: dict[str, Any]) -> dict[str, Any]:
    """ONNX of a random-weights `UNet3D` plus its sidecar at ``spec["onnx"]``."""
    import torch
    from chimerax.deepssetracer.model.export import export_with_sidecar
    from chimerax.deepssetracer.model.unet import UNet3D

    torch.manual_seed(0)
    net = UNet3D(**spec.get("network", {})).eval()
    sidecar = export_with_sidecar(net, spec["onnx"], {"method": "zscore", "clip": [-4.0, 8.0]},
                                  spec.get("tile_size", 96),
                                  {"note": "random weights, for benchmarking only"})
    return {"onnx": spec["onnx"], "sidecar": str(sidecar)}


KINDS = {"engine": engine, "published": published, "export": export}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in KINDS:
        print(f"usage: bench_worker.py {{{','.join(KINDS)}}} SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[1]).read_text())
    result = KINDS[argv[0]](spec)
    Path(spec["result"]).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
