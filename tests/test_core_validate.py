"""validate_map's limits: everything at or above them passes."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core import validate
from chimerax.deepssetracer.core.errors import InputError
from chimerax.deepssetracer.core.mapio import DensityMap
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
    monkeypatch.setattr(validate, "available_memory", lambda: 2**20)
    with pytest.raises(InputError, match=r"too large.*12x12x12 voxels.*GiB available"):
        validate_map(blob_map((12, 12, 12)), "m.mrc")


def test_memory_estimate_counts_the_model_grid():
    small = validate.prediction_bytes((100, 100, 100), (1, 1, 1), 1.0, 64)
    fine = validate.prediction_bytes((100, 100, 100), (2, 2, 2), 1.0, 64)
    assert fine > small > 53 * 100**3
    assert validate.available_memory() is None or validate.available_memory() > 0
