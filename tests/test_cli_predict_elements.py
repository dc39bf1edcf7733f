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


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_an_existing_text_output_is_refused_without_force(tmp_path, inputs, capsys):
    m, _, weights = inputs
    out = tmp_path / "out"
    out.mkdir()
    (out / "emd_1_elements.pdb").write_text("mine\n")
    assert run([m, "-o", out, "--weights", weights, "--elements", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "emd_1_elements.pdb: output exists" in err
    assert _names(out) == ["emd_1_elements.pdb"]  # no map written beside it
    assert (out / "emd_1_elements.pdb").read_text() == "mine\n"
    # without --elements the file is not an output of the run
    assert run([m, "-o", out, "--weights", weights, "--quiet"]) == 0
    assert (out / "emd_1_elements.pdb").read_text() == "mine\n"


def test_a_failed_text_write_keeps_the_old_set(tmp_path, inputs, capsys, monkeypatch):
    from chimerax.deepssetracer.core import mapio

    m, _, weights = inputs
    out = tmp_path / "out"
    assert run([m, "-o", out, "--weights", weights, "--elements", "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real_open = open

    def full(path, mode="r", *args, **kw):
        if "w" in mode and str(path).endswith(".tmp"):
            raise OSError(28, "No space left on device")
        return real_open(path, mode, *args, **kw)

    monkeypatch.setattr(mapio, "open", full, raising=False)
    code = run([m, "-o", out, "--weights", weights, "--elements", "--quiet", "--force",
                "--lowpass", "6"])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"{out / 'emd_1_elements.json'}: cannot write (No space left on device)" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # maps not replaced


def test_long_stem_is_checked_for_the_text_outputs_too(tmp_path, tiny_onnx, capsys):
    """A 242-byte stem fits ``_helix.mrc`` (252 bytes) but not ``_elements.json`` (256)."""
    m = write_map(tmp_path / ("m" * 242 + ".mrc"), blob_map((12, 12, 12)))
    out = tmp_path / "out"
    weights = tiny_onnx(tile_size=16)
    assert run([m, "-o", out, "--weights", weights, "--quiet"]) == 0
    assert run([m, "-o", out, "--weights", weights, "--quiet", "--force", "--elements"]) == 2
    err = capsys.readouterr().err
    assert "_elements.json: output file name is 256 bytes long" in err
    assert len(_names(out)) == 2  # the maps of the first run, untouched


def test_one_model_is_checked_against_each_map_and_reported(tmp_path, inputs, capsys):
    """Several maps with ``--model``: read once, a ``_residues.csv`` per map; ``--json`` lists
    the extra outputs, the notes and the model's figures."""
    pytest.importorskip("gemmi")
    m, model, weights = inputs
    second = write_map(tmp_path / "emd_2.mrc", blob_map((20, 18, 26)))
    out, report = tmp_path / "out", tmp_path / "r.json"
    assert run([m, second, "-o", out, "--weights", weights, "--elements", "--model", model,
                "--threads", 1, "--quiet", "--json", report]) == 0
    assert capsys.readouterr().out.count("model agreement") == 2
    assert {"emd_1_residues.csv", "emd_2_residues.csv", "emd_2_elements.pdb"} <= {
        p.name for p in out.iterdir()}
    records = json.loads(report.read_text())["maps"]
    for stem, r in zip(("emd_1", "emd_2"), records):
        assert r["outputs"]["residues"] == str(out / f"{stem}_residues.csv")
        assert r["outputs"]["elements"] == str(out / f"{stem}_elements.json")
        assert r["outputs"]["elements_pdb"] == str(out / f"{stem}_elements.pdb")
        assert any(n.startswith("model agreement") for n in r["notes"])
        assert r["model"]["path"] == str(model) and r["model"]["residues"] == 5
        assert r["model"]["compared"] == 5 and 0 <= r["model"]["agreement"] <= 1
        assert {"elements", "residues", "write"} <= set(r["timings_s"])


def test_a_bad_model_refuses_every_map_up_front(tmp_path, inputs, capsys):
    m, _, weights = inputs
    second = write_map(tmp_path / "emd_2.mrc", blob_map((20, 18, 26)))
    out = tmp_path / "out"
    assert run([m, second, "-o", out, "--weights", weights, "--model", tmp_path / "no.pdb",
                "--quiet"]) == 2
    assert capsys.readouterr().err.count("deepssetracer: error:") == 1
    assert not out.exists()


def test_a_model_that_misses_the_map_is_a_warning(tmp_path, inputs, capsys):
    """28.7a: every Cα off the map's grid gives an empty vote: a ``warning:`` line (and in
    ``--json``), not only a note in the result line; the run still succeeds."""
    pytest.importorskip("gemmi")
    m, _, weights = inputs
    far = tmp_path / "far.pdb"
    far.write_text(PDB.replace("   4.000   5.000", " 904.000 905.000"))
    out, report = tmp_path / "out", tmp_path / "r.json"
    assert run([m, "-o", out, "--weights", weights, "--model", far, "--quiet",
                "--json", report]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "no residue of the model lies on the map" in warnings[0]
    assert warnings[0].startswith("warning: emd_1.mrc: ")
    record = json.loads(report.read_text())["maps"][0]
    assert record["ok"] and record["model"]["voted"] == 0
    assert any("no residue of the model" in w for w in record["warnings"])
    # a model on the map gets no such warning
    _, model, _ = inputs
    assert run([m, "-o", tmp_path / "o2", "--weights", weights, "--model", model,
                "--quiet"]) == 0
    assert "no residue of the model" not in capsys.readouterr().err
