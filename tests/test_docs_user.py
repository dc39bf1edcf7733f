"""What the README and docs/chimerax.md tell a new user agrees with the files (issue 28)."""

from __future__ import annotations

import re
from pathlib import Path

import mrcfile

ROOT = Path(__file__).resolve().parents[1]
README = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())


def test_example_map_size_is_given_x_by_y_by_z_as_its_header_has_it():
    with mrcfile.open(ROOT / "examples" / "emd8518_5u8s_A.mrc", header_only=True) as m:
        h = m.header
        assert (int(h.mapc), int(h.mapr), int(h.maps)) == (1, 2, 3)  # columns run along x
        nxyz = f"{int(h.nx)}×{int(h.ny)}×{int(h.nz)}"
    found = re.search(r"EMD-8518 .*? (\d+×\d+×\d+) voxels of 1 Å \(x×y×z", README)
    assert found, "README gives no x×y×z size of the example map"
    assert found.group(1) == nxyz
