"""The 24 proper rotations of [z, y, x] arrays: a group of determinant +1, with inverses."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core.rotations import ROTATIONS, SUBGROUPS, rotate, unrotate


def test_24_distinct_proper_rotations():
    assert len(ROTATIONS) == 24
    mats = [r.matrix for r in ROTATIONS]
    assert all(round(np.linalg.det(m)) == 1 for m in mats)
    assert len({m.tobytes() for m in mats}) == 24
    np.testing.assert_array_equal(mats[0], np.eye(3, dtype=int))


def test_arrays_rotate_to_24_distinct_results_and_back():
    a = np.random.default_rng(0).standard_normal((2, 5, 5, 5))  # a leading channel axis
    seen = set()
    for k in range(24):
        r = rotate(a, k)
        assert r.shape == a.shape
        seen.add(np.ascontiguousarray(r).tobytes())
        np.testing.assert_array_equal(unrotate(r, k), a)
        np.testing.assert_array_equal(r[0], rotate(a[0], k))
    assert len(seen) == 24


def test_matrix_describes_the_array_rotation():
    """rotated[M i] = a[i] in centred [z, y, x] indices; never a mirror."""
    n = 5
    a = np.zeros((n, n, n))
    p = np.array([0, 1, 3])  # an asymmetric point
    a[tuple(p)] = 1
    c = (n - 1) / 2
    for k, rot in enumerate(ROTATIONS):
        where = np.argwhere(rotate(a, k) == 1)[0]
        np.testing.assert_array_equal(where - c, rot.matrix @ (p - c))


def test_non_cubic_shapes_permute():
    a = np.zeros((2, 3, 4))
    shapes = {rotate(a, k).shape for k in range(24)}
    assert shapes == {(2, 3, 4), (2, 4, 3), (3, 2, 4), (3, 4, 2), (4, 2, 3), (4, 3, 2)}
    for k in range(24):
        assert unrotate(rotate(a, k), k).shape == a.shape


@pytest.mark.parametrize("n", [1, 4, 12, 24])
def test_subgroups_are_closed(n):
    mats = {ROTATIONS[k].matrix.tobytes() for k in SUBGROUPS[n]}
    assert len(mats) == n
    for i in SUBGROUPS[n]:
        for j in SUBGROUPS[n]:
            prod = ROTATIONS[i].matrix @ ROTATIONS[j].matrix
            assert prod.tobytes() in mats
