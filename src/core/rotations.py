"""The 24 proper rotations of a cube, as axis permutations and flips of ``[..., z, y, x]`` arrays.

Only proper rotations (determinant +1): a mirror would turn right-handed helices left-handed,
so mirrors are no valid augmentation for this task. Training reuses these for augmentation and
`predict_map` for test-time augmentation.

``ROTATIONS[0]`` is the identity. ``SUBGROUPS`` names the subsets TTA may use; each is a group,
so every direction is treated alike:

* 1: identity;
* 4: identity and the half turns about z, y and x (flips of two axes, no transposes);
* 12: the rotations of a tetrahedron (the even signed permutations of the axes);
* 24: all of them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rotation:
    """``rotate(a) = flip(transpose(a, perm), flips)`` on the last three axes."""

    perm: tuple[int, int, int]
    flips: tuple[bool, bool, bool]

    @property
    def matrix(self) -> np.ndarray:
        """3x3 integer matrix ``M`` with ``rotated[i] = a[M^-1 i]`` in centred z, y, x indices."""
        m = np.zeros((3, 3), dtype=int)
        for out_axis, in_axis in enumerate(self.perm):
            m[out_axis, in_axis] = -1 if self.flips[out_axis] else 1
        return m


def _all_rotations() -> tuple[Rotation, ...]:
    found = []
    for perm in itertools.permutations(range(3)):
        for flips in itertools.product((False, True), repeat=3):
            r = Rotation(perm, flips)  # type: ignore[arg-type]
            if round(np.linalg.det(r.matrix)) == 1:
                found.append(r)
    return tuple(found)


ROTATIONS: tuple[Rotation, ...] = _all_rotations()


def _subgroup(keep) -> tuple[int, ...]:
    return tuple(k for k, r in enumerate(ROTATIONS) if keep(r))


def _is_even(perm: tuple[int, ...]) -> bool:
    inversions = sum(perm[i] > perm[j] for i in range(3) for j in range(i + 1, 3))
    return inversions % 2 == 0


SUBGROUPS: dict[int, tuple[int, ...]] = {
    1: (0,),
    4: _subgroup(lambda r: r.perm == (0, 1, 2)),
    12: _subgroup(lambda r: _is_even(r.perm)),
    24: tuple(range(len(ROTATIONS))),
}


def rotate(array: np.ndarray, k: int) -> np.ndarray:
    """Rotation `k` of the last three axes of `array` (a view where numpy can)."""
    r = ROTATIONS[k]
    lead = tuple(range(array.ndim - 3))
    out = np.transpose(array, lead + tuple(len(lead) + p for p in r.perm))
    axes = tuple(len(lead) + a for a in range(3) if r.flips[a])
    return np.flip(out, axes) if axes else out


def unrotate(array: np.ndarray, k: int) -> np.ndarray:
    """Inverse of `rotate`: ``unrotate(rotate(a, k), k)`` equals ``a``."""
    r = ROTATIONS[k]
    lead = tuple(range(array.ndim - 3))
    axes = tuple(len(lead) + a for a in range(3) if r.flips[a])
    out = np.flip(array, axes) if axes else array
    inverse = tuple(int(i) for i in np.argsort(r.perm))
    return np.transpose(out, lead + tuple(len(lead) + p for p in inverse))
