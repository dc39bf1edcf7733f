"""`deepssetracer evaluate` on a tiny exported network: dataset boxes, a real pair, the CLI."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
from pathlib import Path

import mrcfile
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from chimerax.deepssetracer.cli import evaluate as evaluate_cli  # noqa: E402
from chimerax.deepssetracer.core.grid import DensityMap  # noqa: E402
from chimerax.deepssetracer.core.inference import load_network  # noqa: E402
from chimerax.deepssetracer.core.mapio import read_map  # noqa: E402
from chimerax.deepssetracer.model.export import export_with_sidecar  # noqa: E402
from chimerax.deepssetracer.model.unet import UNet3D  # noqa: E402
from chimerax.deepssetracer.train import evaluate  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL = SHARED / "data" / "real"


def cli_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    evaluate_cli.add_args(parser)
    return evaluate_cli.main(parser.parse_args(argv))


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "tiny.onnx"
    export_with_sidecar(UNet3D(2, 2), path, {"method": "zscore", "clip": [-4.0, 8.0]}, 32, {})
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Two 24^3 boxes with padding and two residues each (one inside, one in the padding)."""
    root = tmp_path_factory.mktemp("ds")
    rng = np.random.default_rng(0)
    boxes = []
    for i in range(2):
        labels = np.full((24, 24, 24), 2, np.uint8)
        labels[8:12, 8:12, 8:12] = 0
        labels[14:18, 8:12, 8:12] = 1
        labels[:3] = 255
        np.savez(root / f"b{i}.npz", density=rng.standard_normal((24, 24, 24)).astype(np.float32),
                 labels=labels, ca_xyz=np.array([[10, 10, 10], [10, 10, 1]], np.float32),
                 ca_class=np.array([0, 1], np.uint8))
        boxes.append({"file": f"b{i}.npz", "split": "test", "resolution": 7.0 + i})
    (root / "index.json").write_text(json.dumps({"version": 1, "boxes": boxes}))
    return root


def test_dataset_counts_and_summary(weights, dataset):
    net, spec = load_network(weights, device="cpu", threads=1)
    cases = evaluate.cases_from_dataset(dataset, "test")
    result = evaluate.evaluate_cases(cases, net, spec)
    rows = result["maps"]
    assert [r["resolution"] for r in rows] == [7.0, 8.0]
    for r in rows:
        assert r["voxel"]["helix"]["n_true"] == 64 and r["voxel"]["sheet"]["n_true"] == 64
        # the sheet residue lies in the padding (z = 1 < 3): only the helix residue counts
        assert r["residue"]["helix"]["n_true"] == 1 and r["residue"]["sheet"]["n_true"] == 0
    s = result["summary"]["voxel"]["helix"]
    f1s = [r["voxel"]["helix"]["f1"] for r in rows]
    assert s["weighted_f1"] == pytest.approx(np.mean(f1s))  # equal true counts: plain mean
    assert s["n_true"] == 128
    table = evaluate.format_table(rows, result["summary"])
    assert "b0" in table and "weighted" in table


def test_lowpass_only_coarser_than_the_map():
    dmap = DensityMap(np.random.default_rng(1).standard_normal((16, 16, 16)).astype(np.float32),
                      (1.05, 1.05, 1.05), (0.0, 0.0, 0.0))
    case = evaluate.Case("m", dmap, np.full((16, 16, 16), 2, np.uint8), np.zeros((0, 3)),
                         np.zeros(0, np.uint8), resolution=6.1)
    out = evaluate.with_lowpass([case], [6.0, 8.0])
    assert [c.name for c in out] == ["m", "m_lp8"]
    assert out[1].dmap.data.std() < dmap.data.std()  # white noise loses its high frequencies
    # non-cubic voxels are filtered in Å on each axis
    odd = evaluate.Case("n", DensityMap(dmap.data, (1.0, 1.0, 2.0), (0.0, 0.0, 0.0)),
                        case.labels, case.ca_xyz, case.ca_class)
    assert evaluate.with_lowpass([odd], [8.0])[1].dmap.data.std() < dmap.data.std()


@pytest.mark.skipif(not (REAL / "emd3491_5mdx_X").is_dir(), reason="../shared/data/real absent")
def test_cli_on_a_real_pair(weights, tmp_path, capsys):
    folder = REAL / "emd3491_5mdx_X"
    out = tmp_path / "ev.json"
    assert cli_main([str(folder / "map.mrc"), str(folder / "model.pdb"), "--weights",
                     str(weights), "--threads", "1", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    (row,) = result["maps"]
    assert row["voxel"]["helix"]["n_true"] > 500  # a helix-only chain
    assert row["voxel"]["sheet"]["n_true"] == 0
    assert row["map"] == "emd3491_5mdx_X"  # a file named map.mrc is called by its folder
    assert row["shape"] == list(read_map(folder / "map.mrc").data.shape)
    # the resolution a --pairs run gives this map, in the JSON and in the table
    assert row["resolution"] == evaluate.REAL_RESOLUTION["emd3491_5mdx_X"] == 5.3
    table = capsys.readouterr().out.splitlines()
    (line,) = [ln for ln in table if ln.startswith("emd3491_5mdx_X")]
    assert line.split()[1] == "5.3"


def test_one_pair_is_named_and_resolved_as_in_pairs():
    assert evaluate.pair_name(Path("examples/emd8518_5u8s_A.mrc")) == ("emd8518_5u8s_A", 6.1)
    assert evaluate.pair_name(Path("real/emd3491_5mdx_L/map.mrc")) == ("emd3491_5mdx_L", 5.3)
    assert evaluate.pair_name(Path("mine/other.map")) == ("other", None)


def _counts(f1, n_true):
    return {"tp": 1, "fp": 1, "fn": 1, "n_true": n_true, "f1": f1}


def test_table_header_names_every_column_unambiguously_and_aligned():
    row = {"map": "emd8518_5u8s_A", "resolution": 6.1,
           "voxel": {"helix": _counts(0.724, 123456), "sheet": _counts(float("nan"), 0)},
           "residue": {"helix": _counts(0.5, 30), "sheet": _counts(0.25, 4)}}
    summary = {level: {k: {"weighted_f1": 0.7, "n_true": 9} for k in ("helix", "sheet")}
               for level in ("voxel", "residue")}
    top, sub, rule, line, *_ = evaluate.format_table([row], summary).splitlines()
    assert set(rule) == {"-"}
    assert [g.strip() for g in top.split("  ") if g.strip()] == [
        "resolution", "voxel F1", "residue F1", "true voxels"]
    assert sub.split() == ["map", "(Å)"] + ["helix", "sheet"] * 3
    assert not {"res", "vox", "H", "S"} & set(top.split() + sub.split())
    # every figure ends where its column's header ends, and each group's name lies over its
    # two columns
    ends = [m.end() for m in re.finditer(r"\S+", sub)][1:]
    cells = [m.end() for m in re.finditer(r"\S+", line)][1:]
    assert ends == cells, (sub, line)
    assert line.split()[1:] == ["6.1", "0.724", "-", "0.500", "0.250", "123456", "0"]
    starts = [m.start() for m in re.finditer(r"\S+", sub)][1:]
    for group, first in (("voxel F1", 1), ("residue F1", 3), ("true voxels", 5)):
        at = top.index(group)
        assert starts[first] <= at and at + len(group) <= ends[first + 1], group


def test_cli_needs_one_input(capsys):
    assert cli_main([]) == 2
    assert cli_main(["--pairs", "x", "--dataset", "y"]) == 2


# --- issue 29 item 8: bad models and maps are one line, exit 2 --------------------------------

PDB_LINE = ("ATOM  {i:5d}  {a:<3s} ALA A{r:4d}    {x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00"
            "           {e}")


def _pair(folder: Path) -> tuple[Path, Path]:
    """A small map and a model of five alanines lying on it."""
    from chimerax.deepssetracer.core.mapio import write_map
    from helpers import blob_map

    folder.mkdir(parents=True, exist_ok=True)
    map_path = write_map(folder / "map.mrc", blob_map((24, 24, 24)))
    lines, i = [], 0
    for r in range(1, 6):
        for a, dx in (("N", 0.0), ("CA", 1.2), ("C", 2.4), ("O", 2.9)):
            i += 1
            lines.append(PDB_LINE.format(i=i, a=a, r=r, x=6.0 + 3.8 * r + dx / 3, y=12.0,
                                         z=12.0 + (0.8 if a == "O" else 0.0), e=a[0]))
    model = folder / "model.pdb"
    model.write_text("\n".join(lines) + "\nEND\n")
    return map_path, model


def _one_line(capsys, code, path, contains):
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"deepssetracer evaluate: {path}: ") and contains in lines[0]
    assert "Traceback" not in captured.err


def test_a_fifo_model_is_refused_before_anything_is_read(tmp_path, monkeypatch, capsys):
    """It used to hang: gemmi opened the FIFO and waited for a writer."""
    map_path, _ = _pair(tmp_path)
    fifo = tmp_path / "model.pdb.fifo"
    os.mkfifo(fifo)
    monkeypatch.setattr(evaluate, "load_network", lambda *a, **k: pytest.fail("went on"))
    _one_line(capsys, cli_main([str(map_path), str(fifo)]), fifo,
              "is a FIFO (named pipe), not a model file")
    _one_line(capsys, cli_main([str(fifo), str(map_path)]), fifo,
              "is a FIFO (named pipe), not a map file")


JUNK_MODELS = {
    "garbage.pdb": ("garbage garbage\nATOM this is junk\n", "cannot read the model (Problem in "
                    "line 1: The line is too short to be correct: ATOM this is junk)"),
    "no_ca.pdb": ("HETATM    1  O   HOH A   1       0.000   0.000   0.000  1.00  0.00           O"
                  "\nEND\n", "cannot read the model (no amino-acid residue with a backbone)"),
    "binary.pdb": ("\x89PNG\x00", "cannot read the model ('utf-8' codec can't decode"),
    "plain.pdb.gz": ("ATOM\n", "cannot read the model (Not a gzipped file"),
}


@pytest.mark.parametrize("name", sorted(JUNK_MODELS))
def test_a_junk_model_is_one_line_naming_it(tmp_path, weights, capsys, name):
    """A text file of garbage was a RuntimeError traceback from gemmi."""
    map_path, _ = _pair(tmp_path)
    text, message = JUNK_MODELS[name]
    model = tmp_path / name
    model.write_bytes(text.encode("latin-1"))
    _one_line(capsys, cli_main([str(map_path), str(model), "--weights", str(weights)]), model,
              message)


def test_an_overflowing_gzipped_header_is_one_line_naming_its_sizes(tmp_path, weights, capsys):
    """It was "cannot reshape array of size 0", without the file's name."""
    _, model = _pair(tmp_path)
    small = tmp_path / "small.mrc"
    with mrcfile.new(small) as m:
        m.set_data(np.zeros((8, 8, 8), np.float32))
    raw = bytearray(small.read_bytes())
    raw[0:12] = np.array([2**22] * 3, "<i4").tobytes()
    big = tmp_path / "big.mrc.gz"
    big.write_bytes(gzip.compress(bytes(raw)))
    _one_line(capsys, cli_main([str(big), str(model), "--weights", str(weights)]), big,
              "grid size NX, NY, NZ = (4194304, 4194304, 4194304)")


def test_pairs_score_the_others_when_one_is_bad(tmp_path, weights, capsys):
    _pair(tmp_path / "good")
    _, bad = _pair(tmp_path / "bad")
    bad.write_text("garbage garbage\n")
    out = tmp_path / "ev.json"
    assert cli_main(["--pairs", str(tmp_path), "--weights", str(weights), "--threads", "1",
                     "--json", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"deepssetracer evaluate: {bad}: cannot read the model (no amino-acid residue with a "
        "backbone)"]
    assert [r["map"] for r in json.loads(out.read_text())["maps"]] == ["good"]
    assert "good" in captured.out
    # all bad: the lines and exit 2, no table
    (tmp_path / "good" / "model.pdb").write_text("garbage garbage\n")
    assert cli_main(["--pairs", str(tmp_path), "--weights", str(weights)]) == 2
    captured = capsys.readouterr()
    assert len(captured.err.splitlines()) == 2 and captured.out == ""
