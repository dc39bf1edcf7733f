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


def test_chimerax_doc_says_what_toolshed_install_and_help_do_headless():
    doc = (ROOT / "docs" / "chimerax.md").read_text(encoding="utf-8")
    section = doc.split("### Installing and getting help in the headless ChimeraX", 1)
    assert len(section) == 2, "docs/chimerax.md has no headless install subsection"
    text = " ".join(section[1].split("\n#", 1)[0].split())
    for said in ("No change in list of installed bundles", "exits 0",
                 "Unknown command: help deepssetracer", "usage deepssetracer"):
        assert said in text, said
    # the working route is the one the set-up script takes, and the tests' toolshed route
    setup = (ROOT / "scripts" / "setup_chimerax.sh").read_text(encoding="utf-8")
    assert "pip install --no-deps --force-reinstall" in text
    assert all(flag in setup for flag in ("--no-deps", "--force-reinstall"))
    assert "chimerax_python_executable" in text
    assert "chimerax_python_executable" in (
        ROOT / "tests" / "chimerax" / "test_packaging.py").read_text(encoding="utf-8")
