"""validate_map's limits: everything at or above them passes."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core import memory, validate
from chimerax.deepssetracer.core.errors import InputError
from chimerax.deepssetracer.core.grid import DensityMap
from chimerax.deepssetracer.core.validate import validate_map
from helpers import blob_map


def test_limits_are_inclusive():
    validate_map(blob_map((3, 3, 3), voxel_size=(4.0, 4.0, 4.0)), "ok.mrc")  # 12 Å at 4 Å
    validate_map(blob_map((10, 10, 10)), "ok.mrc")  # exactly 10 Å


@pytest.mark.parametrize("make, match", [
    (lambda: blob_map((10, 9, 10)), "only 9 Å along y"),
    (lambda: blob_map((20, 20, 20), voxel_size=(1.0, 1.0, 4.01)), "4.01 Å along z"),
    (lambda: blob_map((5, 5, 5), voxel_size=(0.0, 1.0, 1.0)), "along x is 0"),
    (lambda: DensityMap(np.full((12, 12, 12), 3.0, np.float32), 1.0), "constant"),
])
def test_refusals(make, match):
    with pytest.raises(InputError, match=match) as err:
        validate_map(make(), "m.mrc")
    assert str(err.value).startswith("m.mrc: ")


def test_nan_and_inf_are_counted():
    m = blob_map((12, 12, 12))
    m.data[0, 0, :2] = np.nan
    m.data[1, 1, 1] = -np.inf
    with pytest.raises(InputError, match="2 NaN and 1 Inf"):
        validate_map(m, "m.mrc")


def test_too_large_for_memory_says_how_large(monkeypatch):
    monkeypatch.setattr(memory, "memory_headroom", lambda: (2**20, "available"))
    with pytest.raises(InputError,
                       match=r"too large.*12x12x12 voxels \(6\.8 KiB.*MiB, 1\.0 MiB available"):
        validate_map(blob_map((12, 12, 12)), "m.mrc")


def test_memory_estimate_counts_the_model_grid():
    small = memory.prediction_bytes((100, 100, 100), (1, 1, 1), 1.0, 64)
    fine = memory.prediction_bytes((100, 100, 100), (2, 2, 2), 1.0, 64)
    assert fine > small > 53 * 100**3
    assert memory.available_memory() is None or memory.available_memory() > 0


# --- issue 15 ---------------------------------------------------------------------------------


def test_float32_rounding_of_4_angstrom_is_4_angstrom():
    validate_map(blob_map((5, 5, 5), voxel_size=4.0000005), "ok.mrc")
    with pytest.raises(InputError, match=r"voxels are 4\.0001 Å along x"):
        validate_map(blob_map((5, 5, 5), voxel_size=4.0001), "m.mrc")


@pytest.mark.parametrize("make", [
    lambda: np.pad(np.full((1, 1, 1), 1e-45, np.float32), ((0, 39), (0, 39), (0, 39))),
    lambda: 1000.0 + 1e-3 * np.random.default_rng(0).random((20, 20, 20), np.float32),
])
def test_spread_below_float_precision_is_refused(make):
    with pytest.raises(InputError, match="below float32 precision"):
        validate_map(DensityMap(make().astype(np.float32), 1.0), "m.mrc")


def test_a_huge_sidecar_tile_costs_only_the_map():
    assert memory.prediction_bytes((12, 12, 12), (1, 1, 1), 2.0, 4096) < 2**23  # was 27 TiB


def test_memory_headroom_is_the_tightest_limit(monkeypatch):
    monkeypatch.setattr(memory, "_host_available", lambda: (8 * 2**30, "available"))
    monkeypatch.setattr(memory, "_address_space_headroom", lambda: (None, "as"))
    monkeypatch.setattr(memory, "_cgroup_headroom", lambda: [(2**30, "left under cgroup")])
    assert memory.memory_headroom() == (2**30, "left under cgroup")
    with pytest.raises(InputError, match=r"needs about .*, 1\.0 GiB left under cgroup"):
        memory.check_memory("m.mrc", (100, 100, 100), 2 * 2**30, what="x")


@pytest.mark.parametrize("files, expected", [
    ({"memory.max": "3000000000", "memory.current": "1000000000",
      "memory.stat": "anon 1\ninactive_file 400000000\n"}, 2_400_000_000),
    ({"memory.max": "max", "memory.current": "5"}, None),
    ({"memory/memory.limit_in_bytes": "2000000000", "memory/memory.usage_in_bytes": "500000000",
      "memory/memory.stat": "total_inactive_file 0\n"}, 1_500_000_000),
    ({"memory/memory.limit_in_bytes": "9223372036854771712"}, None),
])
def test_cgroup_v2_and_v1_limits(tmp_path, monkeypatch, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(memory, "CGROUP_ROOT", str(tmp_path))
    got = [n for n, _ in memory._cgroup_headroom()]
    assert got == ([] if expected is None else [expected])


def test_address_space_limit_is_honoured(tmp_path):
    """Under ``prlimit --as`` the headroom is the limit less this process's size."""
    import shutil
    import subprocess
    import sys

    if shutil.which("prlimit") is None:
        pytest.skip("no prlimit")
    code = ("from chimerax.deepssetracer.core.memory import memory_headroom as m; "
            "print(*m(), sep='|')")
    out = subprocess.run(["prlimit", f"--as={2 * 2**30}", sys.executable, "-c", code],
                         capture_output=True, text=True, check=True).stdout.strip()
    free, what = out.split("|")
    assert int(free) < 2 * 2**30 and "address-space limit" in what


def test_memory_estimate_of_a_huge_header_does_not_wrap(monkeypatch):
    """29.8: the estimate came from int64 products, so a corrupt header's sizes wrapped it
    (18446744099479356412 bytes, or 0 so the check passed); now Python ints."""
    shape = (2**21,) * 3  # 2^63 voxels: int64 wraps to a negative count
    n = 2**63
    assert memory.prediction_bytes(shape, (1, 1, 1), None, 64) == (
        4 * n + 24 * (2**21 + 8) ** 3 + memory.NETWORK_BYTES_PER_VOXEL * 64**3)
    assert memory.extras_bytes(shape, residues=True) == (
        memory.WHOLE_BYTES_PER_VOXEL + memory.RESIDUES_BYTES_PER_VOXEL) * n
    monkeypatch.setattr(memory, "memory_headroom", lambda: (2**34, "available"))
    with pytest.raises(InputError, match=r"20000x20000x20000 voxels \(29\.1 TiB as float32\); "
                                         r"tiled prediction needs about [0-9.]+ TiB, "
                                         r"16\.0 GiB available$"):
        validate.validate_grid((20000,) * 3, (1, 1, 1), "m.mrc", model_voxel_size=1.0)
