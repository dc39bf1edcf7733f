"""``predict --elements`` and ``--model``: the extra outputs, written beside the maps."""

from __future__ import annotations

import argparse
import builtins
import csv
import json

import pytest
from chimerax.deepssetracer.cli import predict as cli_predict
from chimerax.deepssetracer.core.mapio import write_map
from helpers import blob_map

PDB = """\
HELIX    1   1 ALA A    1  ALA A    4  1                                   4
ATOM      1  CA  ALA A   1       3.000   4.000   5.000  1.00  0.00           C
ATOM      2  CA  ALA A   2       4.000   4.000   5.000  1.00  0.00           C
ATOM      3  CA  ALA A   3       5.000   4.000   5.000  1.00  0.00           C
ATOM      4  CA  ALA A   4       6.000   4.000   5.000  1.00  0.00           C
ATOM      5  CA  GLY A   5A      7.000   4.000   5.000  1.00  0.00           C
HETATM    6  O   HOH A 101       8.000   4.000   5.000  1.00  0.00           O
END
"""


def run(argv) -> int:
    parser = argparse.ArgumentParser(prog="deepssetracer predict")
    cli_predict.add_args(parser)
    return cli_predict.main(parser.parse_args([str(a) for a in argv]))


@pytest.fixture
def inputs(tmp_path, tiny_onnx):
    m = write_map(tmp_path / "emd_1.mrc", blob_map((20, 18, 26)))
    (tmp_path / "model.pdb").write_text(PDB)
    return m, tmp_path / "model.pdb", tiny_onnx(tile_size=16)


def test_elements_and_residues_are_written(tmp_path, inputs, capsys):
    pytest.importorskip("gemmi")
    m, model, weights = inputs
    out = tmp_path / "out"
    assert run([m, "-o", out, "--weights", weights, "--elements", "--model", model,
                "--threads", 1, "--quiet"]) == 0
    line = capsys.readouterr().out
    assert "model agreement" in line and "of 5 residues" in line and "heli" in line
    assert sorted(p.name for p in out.iterdir()) == [
        "emd_1_elements.json", "emd_1_elements.pdb", "emd_1_helix.mrc", "emd_1_residues.csv",
        "emd_1_sheet.mrc"]
    d = json.loads((out / "emd_1_elements.json").read_text())
    assert set(d) == {"helices", "sheets"}
    assert (out / "emd_1_elements.pdb").read_text().endswith("END\n")
    with open(out / "emd_1_residues.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["residue"] for r in rows] == ["1", "2", "3", "4", "5A"]  # water left out
    assert [r["model"] for r in rows] == ["helix"] * 4 + ["other"]
    assert all(r["predicted"] in ("helix", "sheet", "other") for r in rows)
    assert all(r["agree"] == ("yes" if r["predicted"] == r["model"] else "no") for r in rows)
    # existing outputs are kept unless --force
    assert run([m, "-o", out, "--weights", weights, "--elements", "--quiet"]) == 2
    assert run([m, "-o", out, "--weights", weights, "--elements", "--quiet", "--force"]) == 0


def test_missing_gemmi_is_one_line_with_the_hint(tmp_path, inputs, capsys, monkeypatch):
    m, model, weights = inputs
    real_import = builtins.__import__

    def no_gemmi(name, *args, **kwargs):
        if name == "gemmi":
            raise ImportError("No module named 'gemmi'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_gemmi)
    assert run([m, "-o", tmp_path / "out", "--weights", weights, "--model", model,
                "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "pip install gemmi" in err
    assert not (tmp_path / "out").exists()  # nothing written


def test_unreadable_model_writes_nothing(tmp_path, inputs, capsys):
    pytest.importorskip("gemmi")
    m, _, weights = inputs
    bad = tmp_path / "bad.pdb"
    bad.write_text("HETATM    1  O   HOH A   1       1.000   1.000   1.000  1.00  0.00\nEND\n")
    assert run([m, "-o", tmp_path / "out", "--weights", weights, "--model", bad, "--quiet"]) == 2
    assert "no protein residue" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
