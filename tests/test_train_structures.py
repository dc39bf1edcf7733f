from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from chimerax.deepssetracer.train import structures as st

DB55 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "structures" / "db55"

# Two glycines and an alanine with an altloc, segment ids in columns 73-76 (as 1ACB has),
# a ligand and a water.
PDB = """\
ATOM      1  N   GLY A   1       0.000   0.000   0.000  1.00 10.00      1ACB 158
ATOM      2  CA  GLY A   1       1.450   0.000   0.000  1.00 10.00      1ACB 159
ATOM      3  C   GLY A   1       2.000   1.420   0.000  1.00 10.00      1ACB 160
ATOM      4  O   GLY A   1       1.250   2.390   0.000  1.00 10.00      1ACB 161
ATOM      5  N   ALA A   2       3.330   1.550   0.000  1.00 10.00      1ACB 162
ATOM      6  CA AALA A   2       3.950   2.870   0.000  0.50 10.00      1ACB 163
ATOM      7  CA BALA A   2       9.950   9.870   0.000  0.50 10.00      1ACB 164
ATOM      8  C   ALA A   2       5.470   2.780   0.000  1.00 10.00      1ACB 165
ATOM      9  O   ALA A   2       6.070   1.710   0.000  1.00 10.00      1ACB 166
ATOM     10  CB  ALA A   2       3.450   3.700   1.200  1.00 10.00      1ACB 167
ATOM     11  SG  CYS A   3       8.000   4.000   0.000  1.00 10.00      1ACB 168
HETATM   12  C1  LIG A 101      20.000  20.000  20.000  1.00 10.00           C
HETATM   13  O   HOH A 201      30.000  30.000  30.000  1.00 10.00           O
"""


def _write(tmp_path: Path, text: str, name: str = "9XYZ_r_b.pdb.gz") -> Path:
    p = tmp_path / name
    with gzip.open(p, "wt") as f:
        f.write(text)
    return p


def test_lenient_read_keeps_amino_acids_first_altloc(tmp_path):
    s = st.read_structure(_write(tmp_path, PDB), dssp=False)
    assert s.n_residues == 3  # ligand and water dropped
    assert len(s.xyz) == 10  # one Cα of the altloc pair
    np.testing.assert_allclose(s.ca[1], [3.95, 2.87, 0.0], atol=1e-3)
    assert np.isnan(s.ca[2]).all()  # the Cys has no Cα
    assert s.weight[s.atom_res == 2][0] == st.ELEMENT_WEIGHT["S"]  # element from the name
    assert s.weight[0] == st.ELEMENT_WEIGHT["N"]


def test_an_mmcif_file_reads_as_its_pdb_does(tmp_path):
    """evaluate's models may be mmCIF (the PDB's format for large entries), gzipped or not."""
    import gemmi

    pdb = st.read_structure(_write(tmp_path, PDB), dssp=False)
    doc = gemmi.read_pdb_string(st._pdb_text(PDB)).make_mmcif_document()
    for name in ("model.cif", "model.cif.gz"):
        text = "#\\#CIF_1.1\n# mmCIF\n" + doc.as_string()  # comments first, as the PDB's
        path = tmp_path / name
        if name.endswith(".gz"):
            with gzip.open(path, "wt") as f:
                f.write(text)
        else:
            path.write_text(text)
        cif = st.read_structure(path, dssp=False)
        assert cif.n_residues == pdb.n_residues == 3
        np.testing.assert_allclose(cif.xyz, pdb.xyz)
        np.testing.assert_allclose(cif.ca, pdb.ca)


def test_subset_and_transform():
    s = st.Structure("x", np.eye(3, dtype=np.float32), np.ones(3, np.float32),
                     np.array([0, 1, 2], np.int32), np.eye(3, dtype=np.float32),
                     np.array([0, 1, 2], np.uint8), np.zeros(3, np.int32), ["A"])
    sub = s.subset(np.array([0, 2]))
    assert sub.n_residues == 2 and list(sub.atom_res) == [0, 1] and list(sub.ss) == [0, 2]
    moved = s.transformed(np.eye(3), np.array([1.0, 0, 0]))
    np.testing.assert_allclose(moved.ca[0], [2.0, 0, 0])


def test_unreadable_file_is_skipped_and_remembered(tmp_path):
    bad = _write(tmp_path, "HETATM    1  O   HOH A   1       0.0     0.0     0.0\n")
    cache = tmp_path / "cache"
    assert st.cached_structure(bad, cache) is None
    assert (cache / "9XYZ_r_b.failed").exists()


@pytest.mark.shared
@pytest.mark.skipif(not DB55.is_dir(), reason="../shared/data/structures/db55 absent")
def test_dssp_of_a_db55_file_with_segment_ids(tmp_path):
    s = st.cached_structure(DB55 / "1ACB_l_b.pdb.gz", tmp_path)  # eglin c: 1 helix, 1 sheet
    assert s is not None and s.n_residues > 60
    counts = np.bincount(s.ss, minlength=3)
    assert counts[st.HELIX] >= 8 and counts[st.SHEET] >= 8
    again = st.cached_structure(DB55 / "1ACB_l_b.pdb.gz", tmp_path)  # from the cache
    np.testing.assert_array_equal(again.ss, s.ss)
