"""Smoke tests of the benchmark scripts' helpers (no timing is asserted anywhere)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_common  # noqa: E402
import bench_predict  # noqa: E402


def test_build_box_crops_the_centre():
    data = np.arange(10 * 12 * 14, dtype=np.float32).reshape(10, 12, 14)
    box, how = bench_common.build_box(data, 8)
    assert box.shape == (8, 8, 8)
    np.testing.assert_array_equal(box, data[1:9, 2:10, 3:11])
    assert how == "centred crop"


def test_build_box_tiles_real_density_periodically():
    data = np.random.default_rng(0).random((6, 7, 5)).astype(np.float32)
    box, how = bench_common.build_box(data, 16)
    assert box.shape == (16, 16, 16) and box.flags.c_contiguous
    before = [(16 - n) // 2 for n in data.shape]
    np.testing.assert_array_equal(
        box[before[0]:before[0] + 6, before[1]:before[1] + 7, before[2]:before[2] + 5], data)
    np.testing.assert_array_equal(box[:-6], box[6:])  # every added slab is a real crop
    np.testing.assert_array_equal(box[:, :-7], box[:, 7:])
    assert how == "periodic tiling"


def test_run_child_reports_each_childs_own_peak(tmp_path):
    big = bench_common.run_child(
        [sys.executable, "-c", "import numpy as np; a = np.ones(600 * 2**20 // 8)"],
        tmp_path / "big.log")
    small = bench_common.run_child([sys.executable, "-c", "pass"], tmp_path / "small.log")
    failed = bench_common.run_child([sys.executable, "-c", "raise SystemExit(3)"],
                                    tmp_path / "failed.log")
    assert big.returncode == 0 and big.maxrss_mb > 600
    # not the running maximum over children (a forked child may start from the parent's size,
    # so compare with the big child rather than with a fixed figure)
    assert small.maxrss_mb < big.maxrss_mb - 250
    assert failed.returncode == 3


def test_timed_repeats_stops_at_repeat_or_budget():
    calls = []
    assert len(bench_common.timed_repeats(lambda: calls.append(1), 4, budget_s=1e9)) == 4
    assert len(bench_common.timed_repeats(lambda: calls.append(1), 4, budget_s=-1.0)) == 1
    assert len(bench_common.timed_repeats(lambda: calls.append(1), 0, budget_s=1e9)) == 1
    assert len(calls) == 6


def test_onnx_flop_count_matches_torch_counter(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from chimerax.deepssetracer.model.export import export_onnx
    from chimerax.deepssetracer.model.unet import UNet3D
    from torch.utils.flop_counter import FlopCounterMode

    net = UNet3D(base=4, depth=3).eval()
    path = export_onnx(net, tmp_path / "small.onnx")
    side = 16
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, 1, side, side, side))
    expected = counter.get_total_flops() / side**3
    assert bench_common.onnx_flops_per_voxel(path, side) == pytest.approx(expected, rel=1e-9)
    # per voxel, so independent of the box it is counted on
    assert bench_common.onnx_flops_per_voxel(path, 2 * side) == pytest.approx(expected)


def _case(name, side, e2e_s, engine_s, peak_mb, published_s=None):
    n = side**3
    case = {"name": name, "network_shape_zyx": [side] * 3, "network_voxels": n, "voxels": n,
            "published_voxels": n, "tiles": 1,
            "e2e": {"min_s": e2e_s, "maxrss_mb": peak_mb},
            "engine": {"min_s": engine_s, "cpu_s_per_run": 2 * engine_s,
                       "voxels_per_s": n / engine_s,
                       "useful_gflops": 1e5 * n / engine_s / 1e9, "rss_peak_mb": peak_mb}}
    if published_s is not None:
        case["published"] = {"min_s": published_s, "maxrss_mb": 3000.0}
        case["speedup"] = {"e2e": published_s / e2e_s, "engine": published_s / engine_s}
    return case


def _results(cases):
    return {"date": "today", "load_average": [0.5, 0.5, 0.5],
            "machine": {"cpu": "test cpu", "threads": 2, "cpu_count": 2},
            "weights": {"kind": "random", "tile_size": 96},
            "matmul_gflops": {"start": 100.0, "end": 90.0},
            "flops_per_voxel": {"ours": 1e5, "published": 1.6e6}, "cases": cases}


def test_markdown_reports_rows_and_target_verdicts():
    results = _results([_case("112^3", 112, 0.5, 0.4, 400.0, published_s=9.0),
                        _case("300^3", 300, 4.0, 3.5, 1600.0)])
    results["cases"][1]["published_estimated_s"] = 500.0
    results["cases"][1].update(tiles=2, tile_zyx=[120, 160, 160], overhead=1.5)
    text = bench_predict.markdown(results)
    assert text.count("\n| 112^3 |") == 1 and text.count("\n| 300^3 |") == 1
    assert "18.0x / 22.5x" in text and "~500 (est., skipped)" in text
    assert "| 2 x 160x160x120 | 1.50 | 4.00 | 0.444 |" in text  # overhead; e2e / published 112
    targets = bench_predict.target_lines(results)
    assert "112^3 end to end 0.50 s (target <= 1 s): met" in targets[0]
    assert targets[1].endswith("met") and "NOT" not in targets[1]
    assert "300^3 network overhead 1.50" in targets[2] and targets[2].endswith("NOT met")
    assert "0.44 x the published 112^3 forward pass (9.0 s" in targets[3]
    assert targets[3].endswith(": met")
    assert "peak 1600 MB" in targets[4] and targets[4].endswith("NOT met")  # > 1500 MB


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    results = _results([_case("64^3", 64, 0.3, 0.2, 200.0, published_s=3.0),
                        _case("112^3", 112, 0.8, 0.5, 400.0)])
    results["cases"][1]["published_estimated_s"] = 20.0
    path = tmp_path / "fig.png"
    bench_predict.plot(results, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_update_doc_replaces_only_between_markers(tmp_path):
    doc = tmp_path / "bench.md"
    doc.write_text(f"intro\n{bench_predict.DOC_START}\nold\n{bench_predict.DOC_END}\nend\n")
    bench_predict.update_doc("| new |\n", doc)
    text = doc.read_text()
    assert "old" not in text and "| new |" in text
    assert text.startswith("intro\n") and text.endswith(f"{bench_predict.DOC_END}\nend\n")


def test_what_the_targets_need_agrees_with_the_committed_results():
    """docs/benchmark.md's summary once said 27 kFLOP/voxel and "time is not met" against its
    own Results; it must say what benchmarks/results/predict.json measured."""
    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "benchmark.md").read_text(encoding="utf-8")
    summary = " ".join(doc.split("### What the targets need")[1].split())
    results = json.loads((root / "benchmarks" / "results" / "predict.json").read_text())
    cases = {c["name"]: c for c in results["cases"]}
    assert f"{results['flops_per_voxel']['ours'] / 1000:.0f} kFLOP/voxel" in summary
    assert f"{cases['112^3']['e2e']['min_s']:.2f} s end to end" in summary
    assert f"{cases['112^3']['speedup']['e2e']:.1f}× end to end" in summary
    big = cases["300^3"]
    assert f"{big['e2e']['min_s']:.1f} s end to end" in summary
    assert f"{big['e2e']['maxrss_mb']:.0f} MB" in summary
    for c in cases.values():
        if c["name"] in ("160^3", "240^3", "300^3"):
            assert f"{c['name'].replace('^3', '³')} {c['overhead']:.2f}" in summary


def test_pass_memory_prints_bytes_per_voxel_per_size(capsys):
    """Each size in its own process; the figure is the pass's own (never negative)."""
    import re

    import bench_pass_memory

    assert bench_pass_memory.main(["24", "--threads", "1"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    found = re.fullmatch(r"24\^3: (\d+) bytes per voxel", line)
    assert found and int(found.group(1)) >= 0
