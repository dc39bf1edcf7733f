"""The shown step is for display: the network reads the map at step 1, in a real ChimeraX.

ChimeraX shows big maps at step 2 or 3. Fed every second or third voxel, the network saw another
map (EMD-3488 at step 3: class agreement 0.37 with step 1 at the same points, half the helix and
73 times the sheet), so ``deepssetracer`` reads the region at step 1 and shows the step-1 answer
at the shown grid points. On real maps (../shared/data/real, shipped weights) the classes at the
step-2 and step-3 points must agree with the step-1 result at the same points.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED

REAL = SHARED / "data" / "real"
AGREEMENT = 0.85  # of the voxels either result calls helix or sheet


def run(session, text):
    from chimerax.core.commands import run as cx_run

    return cx_run(session, text, log=False)


def spec_of(weights_kw: str):
    """The sidecar of the network the tests use (``weights_kw``: conftest's fixture)."""
    from chimerax.deepssetracer.cmd import _network

    return _network(weights_kw.split()[1] if weights_kw else None, "cpu")[1]


def labels(helix: np.ndarray, sheet: np.ndarray) -> np.ndarray:
    """The classes at p >= 0.5, as the core's ``Prediction.labels(0.5)`` gives them."""
    from chimerax.deepssetracer.core.predict import Prediction

    return Prediction(helix, sheet).labels(0.5)


def agreement(fine: np.ndarray, shown: np.ndarray, step: int) -> tuple[float, float, int]:
    """Class agreement of `shown` (step `step`) with `fine` (step 1) at the same grid points:
    over the voxels either calls helix or sheet, over all voxels, and how many were called."""
    from chimerax.deepssetracer.core.classes import BACKGROUND

    at = fine[tuple(slice(0, step * (n - 1) + 1, step) for n in shown.shape)]
    assert at.shape == shown.shape
    same = at == shown
    called = (at != BACKGROUND) | (shown != BACKGROUND)
    return float(same[called].mean()), float(same.mean()), int(called.sum())


@pytest.fixture(scope="module")
def shipped():
    from chimerax.deepssetracer.core.weights import default_weights_path

    if not default_weights_path().is_file():
        pytest.skip("no trained weights shipped: the agreement is the trained network's")


@pytest.mark.parametrize("name", ["emd3488_5me2", "emd8518_5u8s_A", "emd21457_6vyb_ntd",
                                  "emd6272_3j9s_vp6head"])
def test_step_2_and_3_show_the_step_1_answer(cx, shipped, name, log_lines, record_property):
    path = REAL / name / "map.mrc"
    if not path.is_file():
        pytest.skip(f"{path} not found (../shared is absent)")
    (v,) = run(cx, f"open {path}")
    results = {}
    for step in (1, 2, 3):
        helix, sheet = run(cx, f"deepssetracer #1 subregion all step {step}")
        origin, voxel = v.region_origin_and_step(((0, 0, 0), tuple(n - 1 for n in v.data.size),
                                                  (step,) * 3))
        assert helix.data.origin == pytest.approx(tuple(origin), abs=1e-6)
        assert helix.data.step == pytest.approx(tuple(voxel), abs=1e-6)
        assert tuple(helix.data.size) == tuple(v.matrix_size(step=step, subregion="all"))
        results[step] = labels(helix.full_matrix(), sheet.full_matrix())
    for step in (2, 3):
        called, everywhere, n = agreement(results[1], results[step], step)
        record_property(f"step{step}", f"{called:.3f} of {n} called voxels, {everywhere:.3f} "
                                       "of all")
        print(f"{name} step {step}: class agreement with step 1 {called:.3f} over {n} voxels "
              f"called helix or sheet, {everywhere:.3f} over all")
        assert n > 0
        assert called >= AGREEMENT, (name, step, called, everywhere)
    # the network read the map's own 1 Å voxels, not 2 or 3 Å ones
    assert not any("coarser than the network" in line for line in log_lines)


def test_a_region_too_large_for_memory_at_step_1_is_read_coarser(cx, cropped, monkeypatch,
                                                                 weights_kw, log_lines):
    """When the step-1 read would not fit and step 2 would (a 1 Å map: step 2 still samples the
    network's 2 Å grid), the step-2 region is read at step 2, saying so; at step 3 (3 Å, too
    coarse to read) it is refused, as at step 1."""
    from chimerax.core.errors import UserError
    from chimerax.deepssetracer.core import memory

    spec = spec_of(weights_kw)
    if spec.voxel_size < 2 * max(cropped.data.step):
        pytest.skip("the shipped network's grid is finer than twice the example's voxels")
    lo, hi = cropped.region[:2]
    size = [b - a + 1 for a, b in zip(lo, hi)][::-1]
    half = [(n - 1) // 2 + 1 for n in size]
    need = {r: memory.prediction_bytes(s, [r * t for t in cropped.data.step], spec.voxel_size,
                                       spec.tile_size) + memory.extras_bytes(s, whole=True)
            for r, s in ((1, size), (2, half))}  # the command holds the whole prediction
    assert need[2] < need[1]
    monkeypatch.setattr(memory, "memory_headroom", lambda: (need[2] + 1, "(test limit)"))
    helix, _ = run(cx, f"deepssetracer #1 step 2{weights_kw}")
    assert helix.data.step == pytest.approx(tuple(2 * t for t in cropped.data.step))
    (line,) = [ln for ln in log_lines if "not step 1" in ln]
    assert "read at step 2" in line and "map too large for memory" in line, line
    for step in (1, 3):
        with pytest.raises(UserError, match="map too large for memory"):
            run(cx, f"deepssetracer #1 step {step}{weights_kw}")


def test_a_map_coarser_than_the_network_grid_gets_one_warning(cx, tmp_path, weights_kw,
                                                              log_lines):
    import mrcfile
    from scipy.ndimage import gaussian_filter

    spec = spec_of(weights_kw)
    data = gaussian_filter(np.random.default_rng(1).normal(size=(24, 24, 24)), 1.0)
    path = tmp_path / "coarse.mrc"
    with mrcfile.new(path) as m:
        m.set_data(data.astype(np.float32))
        m.voxel_size = spec.voxel_size * 1.35
    run(cx, f"open {path}")
    run(cx, f"deepssetracer #1{weights_kw}")
    warned = [ln for ln in log_lines if "coarser than the network" in ln]
    assert len(warned) == 1 and "\n" not in warned[0], warned
