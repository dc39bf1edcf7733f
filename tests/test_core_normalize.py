"""The global z-score normalisation named in the sidecar."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core.normalize import normalize


def test_zscore_without_clip():
    a = np.random.default_rng(1).gamma(2.0, size=(10, 12, 14)).astype(np.float32) * 7 + 3
    out = normalize(a, {"method": "zscore"})
    assert out.dtype == np.float32 and out.shape == a.shape
    assert out.mean() == pytest.approx(0, abs=1e-5)
    assert out.std() == pytest.approx(1, abs=1e-4)


def test_clip_limits_in_standard_deviations():
    a = np.zeros((10, 10, 10), np.float32)
    a[0, 0, 0] = 1000.0
    out = normalize(a, {"method": "zscore", "clip": [-4.0, 8.0]})
    assert out.max() == 8.0 and out.min() >= -4.0


def test_one_global_statistic_not_per_part():
    a = np.random.default_rng(2).standard_normal((8, 8, 16)).astype(np.float32)
    a[..., 8:] += 5
    whole = normalize(a, {"method": "zscore"})
    half = normalize(a[..., 8:], {"method": "zscore"})
    assert not np.allclose(whole[..., 8:], half)


@pytest.mark.parametrize("params, match", [
    ({"method": "minmax"}, "unknown normalization"),
    ({"method": "zscore", "clip": [3, 1]}, "lo < hi"),
    ({"method": "zscore", "clip": 5}, r"\[lo, hi\]"),
])
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        normalize(np.arange(8, dtype=np.float32).reshape(2, 2, 2), params)


def test_constant_array_is_refused():
    with pytest.raises(ValueError, match="constant"):
        normalize(np.ones((3, 3, 3), np.float32), {"method": "zscore"})
