"""The result's grid is the shown region's, at every step, in a real headless ChimeraX.

For each crop and step the helix and sheet maps must have ``v.matrix_size()`` voxels, their
corner at ``v.region_origin_and_step(v.region)`` and voxels of the map's times the step, and
hold what the network makes of the whole region read at step 1, at those points.
"""

from __future__ import annotations

import numpy as np
import pytest

REAL_MAP = "emd8518_5u8s_A"  # 55 x 81 x 91 voxels of 1 Å, origin (194, 143, 137)


def run(session, text):
    from chimerax.core.commands import run as cx_run

    return cx_run(session, text, log=False)


@pytest.fixture(scope="module")
def tiny_kw(tmp_path_factory) -> str:
    """`` weights PATH`` of the tiny per-voxel test model: the grid is what is tested here."""
    from helpers import write_tiny_onnx

    return f" weights {write_tiny_onnx(tmp_path_factory.mktemp('tiny'))}"


@pytest.fixture
def real_map(cx, example_map):
    from conftest import SHARED

    path = SHARED / "data" / "real" / REAL_MAP / "map.mrc"
    (v,) = run(cx, f"open {path if path.is_file() else example_map}")
    return v


def at_points(values, size, step):
    """``values[z, y, x]`` at ``n * step`` for ``n < size`` (i, j, k order), [z, y, x]."""
    return values[tuple(slice(0, s * (n - 1) + 1, s) for n, s in zip(size[::-1], step[::-1]))]


def assert_on_region(v, models, region, tiny_kw):
    from chimerax.deepssetracer.core.grid import DensityMap
    from chimerax.deepssetracer.core.inference import load_network
    from chimerax.deepssetracer.core.predict import predict_map

    size = tuple(v.matrix_size(region=region))
    origin, voxel = v.region_origin_and_step(region)
    corner, top, step = tuple(region[0]), tuple(region[1]), tuple(region[2])
    for m in models:
        assert tuple(m.data.size) == size
        assert m.data.origin == pytest.approx(tuple(origin), abs=1e-6)
        assert m.data.step == pytest.approx(tuple(voxel), abs=1e-6)
        assert m.matrix_size() == list(size)  # the whole result is shown
    # the network reads the whole region at step 1, whatever the step it is shown at
    data = v.full_matrix()[tuple(slice(c, t + 1) for c, t in zip(corner[::-1], top[::-1]))]
    net, spec = load_network(tiny_kw.split()[1], device="cpu")
    expected = predict_map(DensityMap(data.astype(np.float32), tuple(v.data.step),
                                      tuple(origin)), net, spec)
    np.testing.assert_allclose(models[0].full_matrix(), at_points(expected.helix, size, step),
                               atol=1e-5)
    np.testing.assert_allclose(models[1].full_matrix(), at_points(expected.sheet, size, step),
                               atol=1e-5)


@pytest.mark.parametrize("region", [
    "10,10,10,60,60,40 step 1",
    "10,10,10,60,60,40 step 2",  # issue 16: was 22 x 26 x 16 for a 23 x 26 x 16 region
    "11,11,11,60,60,40 step 2",  # a corner off the step: was one voxel (1 Å) off
    "11,11,11,61,61,41 step 2",
    "10,10,10,60,60,40 step 3",
    "11,10,9,61,60,41 step 1,2,3",
    "5,7,3,54,80,50 step 2,3,1",
    "all step 2",
    "all step 3",
])
def test_result_is_on_the_shown_region_at_every_step(cx, real_map, tiny_kw, region):
    v = real_map
    run(cx, f"volume #1 region {region}")
    models = run(cx, f"deepssetracer #1{tiny_kw}")
    assert_on_region(v, models, v.region, tiny_kw)


@pytest.mark.parametrize("keywords, region", [
    ("subregion 11,11,11,60,60,40 step 2", ((11, 11, 11), (60, 60, 40), (2, 2, 2))),
    ("subregion 10,10,10,70,90,100 step 3", ((10, 10, 10), (54, 80, 90), (3, 3, 3))),
    ("subregion -4,-3,-5,50,60,50 step 2", ((0, 0, 0), (50, 60, 50), (2, 2, 2))),
    ("step 1,3,2", None),
])
def test_subregion_and_step_keywords_give_their_region(cx, real_map, tiny_kw, keywords,
                                                       region):
    v = real_map
    run(cx, "volume #1 region 10,10,10,50,50,40 step 1")
    shown = v.region
    models = run(cx, f"deepssetracer #1 {keywords}{tiny_kw}")
    if region is None:
        region = (shown[0], shown[1], (1, 3, 2))
    assert_on_region(v, models, region, tiny_kw)
    assert v.region == shown  # the map's own crop is untouched
