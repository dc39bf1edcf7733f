"""``deepssetracer predict``: outputs on the input grid, and one clean error line on bad input."""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import signal

import mrcfile
import numpy as np
import pytest
from chimerax.deepssetracer.cli import predict as cli_predict
from chimerax.deepssetracer.core import memory
from chimerax.deepssetracer.core.grid import DensityMap
from chimerax.deepssetracer.core.mapio import read_map, write_map
from chimerax.deepssetracer.core.weights import default_weights_path
from helpers import blob_map, write_mrc, write_tiny_onnx


def run(argv) -> int:
    parser = argparse.ArgumentParser(prog="deepssetracer predict")
    cli_predict.add_args(parser)
    return cli_predict.main(parser.parse_args([str(a) for a in argv]))


@pytest.fixture
def weights(tiny_onnx):
    return tiny_onnx(tile_size=16)


@pytest.fixture
def map_path(tmp_path):
    dmap = blob_map((20, 18, 26), voxel_size=(0.9, 0.8, 1.0), origin=(12.5, -4.0, 30.0))
    (tmp_path / "in").mkdir()
    return write_map(tmp_path / "in" / "emd_1.mrc", dmap)


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_writes_probabilities_on_the_input_grid(tmp_path, map_path, weights, capsys):
    before = _sha(map_path)
    out = tmp_path / "out"
    assert run([map_path, "-o", out, "--weights", weights, "--labels", "--threads", 1]) == 0
    captured = capsys.readouterr()
    line = captured.out.strip()
    assert "\n" not in line and "helix" in line and "sheet" in line and "Å³" in line
    assert sorted(p.name for p in out.iterdir()) == [
        "emd_1_helix.mrc", "emd_1_labels.mrc", "emd_1_sheet.mrc"]
    src = read_map(map_path)
    for kind in ("helix", "sheet"):
        m = read_map(out / f"emd_1_{kind}.mrc")
        assert m.data.shape == src.data.shape
        assert m.voxel_size == pytest.approx(src.voxel_size)
        assert m.origin == pytest.approx(src.origin)
        assert 0 <= m.data.min() and m.data.max() <= 1
        with mrcfile.open(out / f"emd_1_{kind}.mrc") as f:
            assert (f.header.mapc, f.header.mapr, f.header.maps) == (1, 2, 3)
    with mrcfile.open(out / "emd_1_labels.mrc") as f:
        assert f.header.mode == 0 and set(np.unique(f.data)) <= {0, 1, 2}
    assert _sha(map_path) == before  # the input is only read
    assert re.search(r"\(\d+ tiles?\)", captured.out)  # the work done, on the result line


def test_quiet_and_force(tmp_path, map_path, weights, capsys):
    out = tmp_path / "out"
    assert run([map_path, "-o", out, "--weights", weights, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert run([map_path, "-o", out, "--weights", weights, "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "emd_1_helix.mrc" in err and "--force" in err
    assert run([map_path, "-o", out, "--weights", weights, "-q", "--force", "--tta"]) == 0
    assert "4 rotations" in capsys.readouterr().out


def test_permuted_axes_input_lands_in_the_same_place(tmp_path, weights, capsys):
    dmap = blob_map((20, 22, 18), origin=(3.0, 4.0, 5.0))
    plain = write_map(tmp_path / "plain.mrc", dmap)
    perm = write_mrc(tmp_path / "perm.mrc", dmap, axes=(3, 1, 2), start_xyz=(3, 4, 5))
    for p in (plain, perm):
        assert run([p, "-o", tmp_path / "out", "--weights", weights, "-q"]) == 0
    a = read_map(tmp_path / "out/plain_helix.mrc")
    b = read_map(tmp_path / "out/perm_helix.mrc")
    assert a.origin == pytest.approx(b.origin)
    np.testing.assert_array_equal(a.data, b.data)


# --- bad input: code 2, exactly one stderr line naming the file, nothing in OUTDIR --------------


def _expect_refusal(capsys, code, name, outdir, *, contains=""):
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("deepssetracer: error: ") and str(name) in lines[0]
    assert contains in lines[0]
    assert "Traceback" not in captured.err and captured.out == ""
    assert not outdir.exists() or list(outdir.iterdir()) == []


def _good_header(tmp_path) -> bytes:
    return write_map(tmp_path / "good.mrc", blob_map((12, 12, 12))).read_bytes()


BAD_FILES = {
    "text": lambda tmp: b"# not a map\n" * 300,
    "empty": lambda tmp: b"",
    "short_header": lambda tmp: _good_header(tmp)[:600],
    "truncated_data": lambda tmp: _good_header(tmp)[:-100],
    "corrupt_mode": lambda tmp: (lambda b: b[:12] + np.int32(77).tobytes() + b[16:])(
        _good_header(tmp)),
    "corrupt_axes": lambda tmp: (lambda b: b[:64] + np.int32(9).tobytes() + b[68:])(
        _good_header(tmp)),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_files(tmp_path, weights, capsys, kind):
    path = tmp_path / f"{kind}.mrc"
    path.write_bytes(BAD_FILES[kind](tmp_path))
    out = tmp_path / "out"
    _expect_refusal(capsys, run([path, "-o", out, "--weights", weights]), path, out)


def _nan_map():
    m = blob_map((12, 12, 12))
    m.data[3, 3, 3] = np.nan
    return m


def _inf_map():
    m = blob_map((12, 12, 12))
    m.data[0, 0, 0] = np.inf
    return m


BAD_MAPS = {
    "nan": (_nan_map, "NaN"),
    "inf": (_inf_map, "Inf"),
    "constant": (lambda: DensityMap(np.full((12, 12, 12), 0.5, np.float32), 1.0), "constant"),
    "thin": (lambda: blob_map((30, 30, 9)), "along x"),
    "coarse": (lambda: blob_map((5, 5, 5), voxel_size=4.5), "4.5 Å"),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # mrcfile header stats of NaN input
@pytest.mark.parametrize("kind", sorted(BAD_MAPS))
def test_bad_maps(tmp_path, weights, capsys, kind):
    make, contains = BAD_MAPS[kind]
    path = write_map(tmp_path / f"{kind}.mrc", make())
    out = tmp_path / "out"
    code = run([path, "-o", out, "--weights", weights])
    _expect_refusal(capsys, code, path, out, contains=contains)


def test_missing_file_and_directory(tmp_path, weights, capsys):
    out = tmp_path / "out"
    missing = tmp_path / "nope.mrc"
    _expect_refusal(capsys, run([missing, "-o", out, "--weights", weights]), missing, out,
                    contains="no such file")
    folder = tmp_path / "folder.mrc"
    folder.mkdir()
    _expect_refusal(capsys, run([folder, "-o", out, "--weights", weights]), folder, out,
                    contains="directory")


def test_lowpass_finer_than_the_network_grid_is_refused(tmp_path, map_path, weights, capsys):
    out = tmp_path / "out"
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", weights, "--lowpass", "1.5"]),
                    map_path, out, contains="low-pass resolution must be at least 2")
    assert run([map_path, "-o", out, "--weights", weights, "--lowpass", "6", "-q"]) == 0
    assert read_map(out / "emd_1_helix.mrc").data.shape == read_map(map_path).data.shape


def test_outdir_is_a_file(tmp_path, map_path, weights, capsys):
    out = tmp_path / "out.txt"
    out.write_text("x")
    code = run([map_path, "-o", out, "--weights", weights])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.count("\n") == 1 and str(out) in captured.err
    assert out.read_text() == "x"


def test_too_large_for_memory(tmp_path, map_path, weights, capsys, monkeypatch):
    monkeypatch.setattr(memory, "memory_headroom", lambda: (10_000, "available"))
    out = tmp_path / "out"
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", weights]), map_path, out,
                    contains="too large for memory")


def test_huge_sparse_map_is_refused_before_reading(tmp_path, weights, capsys):
    """A real header of a 4096^3 float map (a sparse file): no memory could hold it."""
    path = tmp_path / "huge.mrc"
    small = bytearray(_good_header(tmp_path)[:1024])
    small[0:12] = np.array([4096, 4096, 4096], "<i4").tobytes()
    small[28:40] = np.array([4096, 4096, 4096], "<i4").tobytes()
    small[40:52] = np.array([4096.0] * 3, "<f4").tobytes()
    with open(path, "wb") as f:
        f.write(small)
        try:
            f.truncate(1024 + 4 * 4096**3)
        except OSError:
            pytest.skip("no sparse files here")
    out = tmp_path / "out"
    _expect_refusal(capsys, run([path, "-o", out, "--weights", weights]), path, out,
                    contains="4096x4096x4096 voxels")


def test_memory_is_checked_once_from_the_header(tmp_path, map_path, weights, capsys,
                                                monkeypatch):
    """One check, with the whole prediction's estimate, before any data are read."""
    from chimerax.deepssetracer.core import mapio, validate
    from chimerax.deepssetracer.core.weights import load_spec

    calls = []  # the check (the tile plan reads the headroom too, to size its tiles)
    real_check = validate.check_memory
    monkeypatch.setattr(validate, "check_memory",
                        lambda *a, **k: calls.append(1) or real_check(*a, **k))
    monkeypatch.setattr(memory, "memory_headroom", lambda: (2**40, "available"))
    assert run([map_path, "-o", tmp_path / "a", "--weights", weights, "-q"]) == 0
    assert calls == [1]
    capsys.readouterr()

    # room to read the map (8 bytes a voxel) but not to predict it: refused, data unread
    spec = load_spec(weights)
    dmap = read_map(map_path)
    shape = dmap.data.shape
    need = memory.prediction_bytes(shape, dmap.voxel_size, spec.voxel_size, spec.tile_size)
    assert need > 8 * int(np.prod(shape))
    monkeypatch.setattr(memory, "memory_headroom", lambda: (need - 1, "available"))
    monkeypatch.setattr(mapio, "_read_plain_data", lambda *a, **k: pytest.fail("data were read"))
    out = tmp_path / "b"
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", weights]), map_path, out,
                    contains="tiled prediction needs about")


def test_shared_coarse_map_is_refused(shared_dir, tmp_path, weights, capsys):
    path = shared_dir / "data/edge/emd3197_coarse.map"
    out = tmp_path / "out"
    _expect_refusal(capsys, run([path, "-o", out, "--weights", weights]), path, out,
                    contains="11.4 Å")


def test_missing_weights(tmp_path, map_path, capsys):
    out = tmp_path / "out"
    w = tmp_path / "none.onnx"
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", w]), w, out,
                    contains="not found")
    if not default_weights_path().is_file():
        code = run([map_path, "-o", out])
        _expect_refusal(capsys, code, default_weights_path(), out, contains="--weights")


def test_sidecar_missing(tmp_path, map_path, weights, capsys):
    weights.with_suffix(".json").unlink()
    out = tmp_path / "out"
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", weights]),
                    weights.with_suffix(".json"), out, contains="sidecar")


def test_bundled_example_with_trained_weights(tmp_path, capsys):
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples/emd8518_5u8s_A.mrc"
    if not default_weights_path().is_file():
        pytest.skip("no trained weights in src/weights yet")
    assert run([example, "-o", tmp_path, "-q", "--threads", 2]) == 0
    src = read_map(example)
    for kind in ("helix", "sheet"):
        m = read_map(tmp_path / f"emd8518_5u8s_A_{kind}.mrc")
        assert m.data.shape == src.data.shape and m.origin == pytest.approx(src.origin)


@pytest.mark.parametrize("value, contains", [("inf", "at most 15"), ("1000", "at most 15"),
                                             ("nan", "at most 15")])
def test_lowpass_that_makes_no_sense_is_refused(tmp_path, map_path, weights, capsys, value,
                                                contains):
    out = tmp_path / "out"
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", weights, "--lowpass", value]),
                    map_path, out, contains=contains)


def test_lowpass_auto_and_off(tmp_path, map_path, weights, capsys):
    out = tmp_path / "out"
    assert run([map_path, "-o", out, "--weights", weights, "--lowpass", "off", "-q"]) == 0
    assert run([map_path, "-o", out, "--weights", weights, "--lowpass", "auto", "-q",
                "--force"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        run([map_path, "-o", out, "--weights", weights, "--lowpass", "sharp"])
    assert exc.value.code == 2 and "auto, off or a resolution" in capsys.readouterr().err


# --- issue 15: never a lost or mixed output, never NaN, never a traceback ------------------------


def test_a_second_run_on_the_same_stem_is_refused_while_one_runs(tmp_path, weights, capsys):
    """Two folders' map.mrc into one OUTDIR: the second is refused, the first's files kept."""
    from chimerax.deepssetracer.core.outputs import output_lock

    out = tmp_path / "out"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write_map(tmp_path / "a/map.mrc", blob_map((14, 14, 14), seed=0))
    b = write_map(tmp_path / "b/map.mrc", blob_map((14, 14, 14), seed=1))
    assert run([a, "-o", out, "--weights", weights, "-q"]) == 0
    capsys.readouterr()
    before = _sha(out / "map_helix.mrc")
    with output_lock(out, "map", out / "map_helix.mrc"):  # run b holds it
        code = run([b, "-o", out, "--weights", weights, "-q", "--force"])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.count("\n") == 1
    assert "another deepssetracer run is writing" in captured.err
    assert _sha(out / "map_helix.mrc") == before
    assert sorted(p.name for p in out.iterdir()) == ["map_helix.mrc", "map_sheet.mrc"]


def test_disk_full_while_writing_keeps_the_old_pair(tmp_path, map_path, weights, capsys,
                                                   monkeypatch):
    out = tmp_path / "out"
    assert run([map_path, "-o", out, "--weights", weights, "-q"]) == 0
    before = {p.name: _sha(p) for p in out.iterdir()}
    calls = []

    real = mrcfile.new_mmap  # how each map file is begun

    def full(*args, **kw):  # the second map file finds no room
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(*args, **kw)

    monkeypatch.setattr(mrcfile, "new_mmap", full)
    code = run([map_path, "-o", out, "--weights", weights, "-q", "--force", "--lowpass", "6"])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"{out / 'emd_1_sheet.mrc'}: cannot write (No space left on device)" in err
    assert {p.name: _sha(p) for p in out.iterdir()} == before


def test_outputs_are_checked_before_predicting(tmp_path, map_path, weights, capsys,
                                               monkeypatch):
    from chimerax.deepssetracer.core import outputs

    out = tmp_path / "out"
    monkeypatch.setattr(outputs, "free_bytes", lambda folder: 1000)
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", weights]), out, out,
                    contains="MiB free on the output folder's disk")
    monkeypatch.undo()
    real_open = os.open

    def read_only(path, *args, **kw):
        if str(path).endswith(".lock"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kw)

    monkeypatch.setattr(os, "open", read_only)
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", weights]), out, out,
                    contains="cannot write into the output folder (Permission denied)")
    assert not out.exists()  # the folder this run created is gone again


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_outdir(tmp_path, map_path, weights, capsys):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        _expect_refusal(capsys, run([map_path, "-o", out, "--weights", weights]), out, out,
                        contains="Permission denied")
    finally:
        out.chmod(0o755)


def test_long_stems(tmp_path, weights, capsys):
    """A stem of 240 characters works (temporary names are short); 250 is refused up front."""
    out = tmp_path / "out"
    for n, code in ((240, 0), (250, 2)):
        path = write_map(tmp_path / ("m" * n + ".mrc"), blob_map((12, 12, 12)))
        assert run([path, "-o", out, "--weights", weights, "-q"]) == code
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and "output file name is 260 bytes long" in errors[0]


def test_dangling_symlink_output_is_kept_without_force(tmp_path, map_path, weights, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "emd_1_helix.mrc").symlink_to(tmp_path / "nowhere.mrc")
    code = run([map_path, "-o", out, "--weights", weights])
    captured = capsys.readouterr()
    assert code == 2 and "output exists" in captured.err and captured.err.count("\n") == 1
    assert (out / "emd_1_helix.mrc").is_symlink() and not (out / "emd_1_sheet.mrc").exists()


def test_threads_are_capped_at_the_cores(tmp_path, map_path, weights, capsys):
    assert run([map_path, "-o", tmp_path / "out", "--weights", weights, "-q",
                "--threads", 1000]) == 0
    err = capsys.readouterr().err.splitlines()
    notes = [line for line in err if line.startswith("deepssetracer: note:")]
    assert notes == [f"deepssetracer: note: --threads 1000 capped at the "
                     f"{cli_predict.cpu_cores()} CPU cores available"]


@pytest.mark.parametrize("value", ["inf", "nan", "1000"])
def test_absurd_lowpass_is_one_line(tmp_path, map_path, weights, capsys, value):
    out = tmp_path / "out"
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", weights, "--lowpass", value]),
                    map_path, out, contains="low-pass resolution must be")


def test_denormal_map_and_nan_weights_write_nothing(tmp_path, tiny_onnx, capsys):
    data = np.zeros((40, 40, 40), np.float32)
    data[20, 20, 20] = 1e-45
    tiny = write_map(tmp_path / "tiny.mrc", DensityMap(data, 1.0))
    out = tmp_path / "out"
    good = tiny_onnx(tile_size=16)
    _expect_refusal(capsys, run([tiny, "-o", out, "--weights", good]), tiny, out,
                    contains="below float32 precision")
    nan = write_tiny_onnx(tmp_path / "nan", a=float("nan"), tile_size=16)
    path = write_map(tmp_path / "ok.mrc", blob_map((14, 14, 14)))
    _expect_refusal(capsys, run([path, "-o", out, "--weights", nan]), nan, out,
                    contains="NaN or Inf logits")


@pytest.mark.parametrize("kw, contains", [
    ({"input_dims": [1, 1, 16, 16, 16]}, "fixed shape"),
    ({"input_dims": ["N", 1, "H", "W"]}, "5-D"),
    ({"channels": 2}, "2 channels"),
    ({"pool": True}, "same D, H, W as the input"),
])
def test_broken_networks_are_one_line(tmp_path, map_path, tiny_onnx, capsys, kw, contains):
    w = tiny_onnx(tile_size=16, **kw)
    out = tmp_path / "out"
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", w]), w, out,
                    contains=contains)


def test_bad_alloc_is_one_line(tmp_path, map_path, weights, capsys, monkeypatch):
    import onnxruntime as ort

    def fail(*args, **kw):
        raise RuntimeError("Non-zero status code returned while running Conv. std::bad_alloc")

    monkeypatch.setattr(ort.InferenceSession, "run", fail)
    out = tmp_path / "out"
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", weights]), map_path, out,
                    contains="out of memory")


def test_huge_sidecar_tile_runs(tmp_path, map_path, tiny_onnx, capsys):
    w = tiny_onnx(tile_size=4096)
    assert run([map_path, "-o", tmp_path / "out", "--weights", w, "-q"]) == 0


def test_stack_and_fifo_are_one_line(tmp_path, weights, capsys):
    out = tmp_path / "out"
    stack = tmp_path / "particles.mrcs"
    with mrcfile.new(stack) as m:
        m.set_data(np.random.rand(20, 16, 16).astype(np.float32))
    _expect_refusal(capsys, run([stack, "-o", out, "--weights", weights]), stack, out,
                    contains="image stack")
    fifo = tmp_path / "pipe.mrc"
    os.mkfifo(fifo)
    _expect_refusal(capsys, run([fifo, "-o", out, "--weights", weights]), fifo, out,
                    contains="FIFO")


@pytest.mark.filterwarnings("error::RuntimeWarning")  # mrcfile's float32 rms overflowed (28.10)
def test_outlier_voxels_give_one_warning(shared_dir, tmp_path, weights, capsys):
    src = read_map(shared_dir / "data/real/emd8518_5u8s_A/map.mrc")
    data = src.data.copy()
    data[10, 20, 30], data[40, 50, 20] = 1e30, -1e30
    path = write_map(tmp_path / "spiky.mrc", DensityMap(data, src.voxel_size, src.origin))
    assert run([path, "-o", tmp_path / "out", "--weights", weights, "-q"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "outliers" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: spiky.mrc: 2 voxels")


def test_memory_limit_refuses_up_front(tmp_path, weights, monkeypatch, capsys):
    monkeypatch.setattr(memory, "_address_space_headroom",
                        lambda: (2**20, "left under the address-space limit (ulimit -v)"))
    path = write_map(tmp_path / "m.mrc", blob_map((14, 14, 14)))
    out = tmp_path / "out"
    _expect_refusal(capsys, run([path, "-o", out, "--weights", weights]), path, out,
                    contains="1.0 MiB left under the address-space limit")


# --- issue 16 ----------------------------------------------------------------------------------


def test_gzipped_map_is_read_and_named_without_its_suffixes(tmp_path, map_path, weights, capsys):
    """EMDB serves ``emd_N.map.gz``: read it, and call its outputs ``emd_N_*.mrc``."""
    gz = tmp_path / "emd_2.map.gz"
    gz.write_bytes(gzip.compress(map_path.read_bytes()))
    out = tmp_path / "out"
    assert run([gz, "-o", out, "--weights", weights, "-q"]) == 0
    assert run([map_path, "-o", out, "--weights", weights, "-q"]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == [
        "emd_1_helix.mrc", "emd_1_sheet.mrc", "emd_2_helix.mrc", "emd_2_sheet.mrc"]
    np.testing.assert_array_equal(read_map(out / "emd_2_helix.mrc").data,
                                  read_map(out / "emd_1_helix.mrc").data)


def test_corrupt_gzip_is_one_line_naming_gzip(tmp_path, map_path, weights, capsys):
    gz = tmp_path / "emd_3.mrc.gz"
    gz.write_bytes(gzip.compress(map_path.read_bytes())[:-40])
    out = tmp_path / "out"
    _expect_refusal(capsys, run([gz, "-o", out, "--weights", weights]), gz, out,
                    contains="corrupt gzip file")


def test_help_says_gzipped_maps_are_read(capsys):
    with pytest.raises(SystemExit):
        run(["--help"])
    assert ".map.gz" in " ".join(capsys.readouterr().out.split())


def test_force_without_labels_removes_the_earlier_labels(tmp_path, map_path, weights, capsys):
    out = tmp_path / "out"
    assert run([map_path, "-o", out, "--weights", weights, "-q", "--labels"]) == 0
    capsys.readouterr()
    assert run([map_path, "-o", out, "--weights", weights, "-q", "--force"]) == 0
    assert "removed the earlier emd_1_labels.mrc" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["emd_1_helix.mrc", "emd_1_sheet.mrc"]


def test_earlier_labels_alone_are_refused_without_force(tmp_path, map_path, weights, capsys):
    out = tmp_path / "out"
    assert run([map_path, "-o", out, "--weights", weights, "-q", "--labels"]) == 0
    capsys.readouterr()
    (out / "emd_1_helix.mrc").unlink()
    (out / "emd_1_sheet.mrc").unlink()
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", weights]),
                    out / "emd_1_labels.mrc", tmp_path / "nothing", contains="--force")
    assert sorted(p.name for p in out.iterdir()) == ["emd_1_labels.mrc"]


def test_existing_outputs_name_no_cli_flag_below_the_cli(tmp_path, map_path, weights, capsys):
    """`predict_file` refuses neutrally (`OutputExists`); only the CLI names ``--force``."""
    from chimerax.deepssetracer.core.errors import OutputExists
    from chimerax.deepssetracer.core.predict import predict_file

    out = tmp_path / "out"
    assert run([map_path, "-o", out, "--weights", weights, "-q", "--labels"]) == 0
    with pytest.raises(OutputExists) as caught:
        predict_file(map_path, out, weights=weights, labels=True, quiet=True)
    assert not caught.value.stale and "--force" not in str(caught.value)
    assert str(caught.value).endswith("emd_1_helix.mrc: output exists")
    for kind in ("helix", "sheet"):
        (out / f"emd_1_{kind}.mrc").unlink()
    with pytest.raises(OutputExists) as caught:
        predict_file(map_path, out, weights=weights, quiet=True)
    assert caught.value.stale and "--force" not in str(caught.value)
    capsys.readouterr()
    assert run([map_path, "-o", out, "--weights", weights, "-q"]) == 2
    assert ("emd_1_labels.mrc: output of an earlier run exists (pass --force to replace the "
            "set: it is then removed)") in capsys.readouterr().err


def test_a_failed_force_write_keeps_the_earlier_labels(tmp_path, map_path, weights, capsys,
                                                       monkeypatch):
    from chimerax.deepssetracer.core import mapio

    out = tmp_path / "out"
    assert run([map_path, "-o", out, "--weights", weights, "-q", "--labels"]) == 0
    before = {p.name: _sha(p) for p in out.iterdir()}
    real, calls = os.replace, []

    def full_disk(src, dst):  # the new sheet map's rename fails, once (restoring works)
        if str(dst).endswith("_sheet.mrc") and not calls:
            calls.append(dst)
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(mapio.os, "replace", full_disk)
    code = run([map_path, "-o", out, "--weights", weights, "-q", "--force"])
    monkeypatch.undo()
    assert code == 2, capsys.readouterr().err
    assert {p.name: _sha(p) for p in out.iterdir()} == before


def test_progress_into_a_file_is_one_plain_line_naming_rotations(tmp_path, map_path, weights,
                                                                 capsys):
    assert run([map_path, "-o", tmp_path / "out", "--weights", weights, "--tta", "4"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and err.count("\n") == 1 and err.endswith("\n")
    assert re.search(r"predicting emd_1\.mrc: \d+ tiles? x 4 rotations in ", err), err


def _maps(tmp_path, *names):
    (tmp_path / "many").mkdir(exist_ok=True)
    return [write_map(tmp_path / "many" / n, blob_map((20, 18, 26), seed=i))
            for i, n in enumerate(names)]


def test_several_maps_share_one_network_and_skip_a_bad_one(tmp_path, weights, capsys,
                                                           monkeypatch):
    from chimerax.deepssetracer.core import inference

    a, c = _maps(tmp_path, "a.mrc", "c.mrc")
    bad = tmp_path / "many" / "b.mrc"
    bad.write_bytes(b"# not a map\n" * 300)
    loads = []
    real = inference.load_network
    monkeypatch.setattr(inference, "load_network", lambda *a, **k: loads.append(1) or real(*a, **k))
    out = tmp_path / "out"
    assert run([a, bad, c, "-o", out, "--weights", weights, "-q"]) == 2
    captured = capsys.readouterr()
    assert loads == [1]
    errors = captured.err.splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"deepssetracer: error: {bad}: ")
    lines = captured.out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["a.mrc", "c.mrc"]
    assert sorted(p.name for p in out.iterdir()) == [
        "a_helix.mrc", "a_sheet.mrc", "c_helix.mrc", "c_sheet.mrc"]


def test_bad_weights_with_several_maps_are_one_line(tmp_path, capsys):
    a, b = _maps(tmp_path, "a.mrc", "b.mrc")
    missing = tmp_path / "none.onnx"
    out = tmp_path / "out"
    assert run([a, b, "-o", out, "--weights", missing, "--json", tmp_path / "r.json"]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and str(missing) in captured.err
    doc = json.loads((tmp_path / "r.json").read_text())
    assert [m["ok"] for m in doc["maps"]] == [False, False] and doc["failed"] == 2
    assert not out.exists()


def test_two_maps_with_one_stem_are_refused_up_front(tmp_path, map_path, weights, capsys):
    other = tmp_path / "other"
    other.mkdir()
    twin = write_map(other / "emd_1.mrc", blob_map((20, 18, 26)))
    out = tmp_path / "out"
    code = run([map_path, twin, "-o", out, "--weights", weights])
    _expect_refusal(capsys, code, twin, out, contains="same stem 'emd_1'")
    gz = tmp_path / "emd_1.map.gz"
    gz.write_bytes(gzip.compress(map_path.read_bytes()))
    _expect_refusal(capsys, run([map_path, gz, "-o", out, "--weights", weights]), gz, out,
                    contains="same stem")


def test_result_line_names_the_folder_and_tta(tmp_path, map_path, weights, capsys):
    out = tmp_path / "out"
    assert run([map_path, "-o", out, "--weights", weights, "-q", "--tta", "4",
                "--lowpass", "6"]) == 0
    line = capsys.readouterr().out.strip()
    assert f"in {out}{os.sep}" in line and "TTA: mean of 4 rotations" in line
    assert "low-passed to 6 Å" in line and "Å³" in line


def test_json_report_per_map(tmp_path, map_path, weights, capsys):
    bad = tmp_path / "in" / "bad.mrc"
    bad.write_bytes(b"")
    out, report = tmp_path / "out", tmp_path / "report.json"
    assert run([map_path, bad, "-o", out, "--weights", weights, "-q", "--labels", "--tta",
                "--threads", 1, "--json", report]) == 2
    capsys.readouterr()
    doc = json.loads(report.read_text())
    assert doc["format"] == 1 and doc["failed"] == 1 and doc["interrupted"] is False
    good, failed = doc["maps"]
    assert good["ok"] and good["input"] == str(map_path)
    assert good["outputs"] == {k: str(out / f"emd_1_{k}.mrc") for k in ("helix", "sheet", "labels")}
    assert set(good["volumes_A3"]) == {"helix", "sheet"} and good["level"] == 0.5
    settings = good["settings"]
    assert settings["weights_sha256"] == _sha(weights) and settings["weights"] == str(weights)
    assert settings["device"] == "cpu" and settings["threads"] == 1
    assert settings["tta_rotations"] == 4 and settings["lowpass_asked"] == "auto"
    assert "lowpass_applied_A" in settings and "resolution_estimate_A" in settings
    assert {"read", "network", "predict", "write", "total"} <= set(good["timings_s"])
    assert isinstance(good["warnings"], list)
    assert failed == {"input": str(bad), "ok": False, "error": f"{bad}: empty file"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file


@pytest.mark.parametrize("target, contains", [("missing/r.json", "does not exist"),
                                              (".", "names a folder")])
def test_unwritable_json_is_refused_before_predicting(tmp_path, map_path, weights, capsys,
                                                      target, contains):
    out = tmp_path / "out"
    code = run([map_path, "-o", out, "--weights", weights, "--json", tmp_path / target])
    _expect_refusal(capsys, code, tmp_path / target, out, contains=contains)


def test_ctrl_c_still_writes_the_report_of_the_maps_done(tmp_path, weights, capsys, monkeypatch):
    from chimerax.deepssetracer.core import predict as core_predict

    a, b = _maps(tmp_path, "a.mrc", "b.mrc")
    real = core_predict.predict_file

    def interrupted_on_b(path, *args, **kw):
        if path == b:
            raise KeyboardInterrupt
        return real(path, *args, **kw)

    monkeypatch.setattr(core_predict, "predict_file", interrupted_on_b)
    report = tmp_path / "r.json"
    assert run([a, b, "-o", tmp_path / "out", "--weights", weights, "-q", "--json", report]) == 130
    assert capsys.readouterr().err.strip() == f"deepssetracer: error: {b}: interrupted"
    doc = json.loads(report.read_text())
    assert doc["interrupted"] and [m["ok"] for m in doc["maps"]] == [True, False]


# --- issue 29: never write over an input, never move a folder, signals and odd names ------------


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def _hashes(folder):
    return {p.name: _sha(p) for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("target", ["map", "output", "model", "sidecar", "symlink", "hardlink"])
def test_json_never_names_an_input_or_another_output(tmp_path, map_path, weights, capsys,
                                                     target):
    """``--json a.mrc`` used to replace the input map with JSON text (exit 0); the report is
    now checked against every input and output, through symbolic and hard links."""
    out = tmp_path / "out"
    out.mkdir()
    model = tmp_path / "in" / "model.pdb"
    model.write_text("not read: refused before\n")
    names = {"map": map_path, "output": out / "emd_1_sheet.mrc", "model": model,
             "sidecar": weights.with_suffix(".json"), "symlink": tmp_path / "in" / "link.json",
             "hardlink": tmp_path / "in" / "hard.json"}
    (tmp_path / "in" / "link.json").symlink_to(map_path)
    os.link(map_path, tmp_path / "in" / "hard.json")
    before = {**_hashes(tmp_path / "in"), **_hashes(weights.parent)}
    code = run([map_path, "-o", out, "--weights", weights, "--model", model, "--force",
                "--json", names[target]])
    _expect_refusal(capsys, code, names[target], out, contains="the --json report would "
                                                               "overwrite")
    assert {**_hashes(tmp_path / "in"), **_hashes(weights.parent)} == before
    assert _listing(out) == []


@pytest.mark.parametrize("other", ["x_helix.mrc", "x_labels.mrc"])
def test_force_never_overwrites_or_removes_another_input(tmp_path, weights, capsys, other):
    """``x.mrc x_helix.mrc -o . --force`` used to replace the user's x_helix.mrc by x's helix
    map and then predict that; ``x_labels.mrc`` was removed, then failed on."""
    x, y = _maps(tmp_path, "x.mrc", other)
    before = _hashes(x.parent)
    code = run([x, y, "-o", x.parent, "--weights", weights, "-q", "--force"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and captured.err.count("\n") == 1
    assert f"input map {y}" in captured.err and "even with --force" in captured.err
    assert _hashes(x.parent) == before and _listing(x.parent) == sorted(["x.mrc", other])


@pytest.mark.parametrize("kind", ["folder", "link_to_folder", "fifo"])
def test_a_folder_at_an_output_name_is_refused_even_with_force(tmp_path, map_path, weights,
                                                               capsys, kind):
    """A folder at an output name used to be moved to a hidden backup by --force, and the run
    then failed ("...bak: Is a directory") with the folder hidden."""
    out = tmp_path / "out"
    out.mkdir()
    target = out / "emd_1_sheet.mrc"
    if kind == "folder":
        target.mkdir()
        (target / "keep.txt").write_text("mine")
    elif kind == "link_to_folder":
        (tmp_path / "elsewhere").mkdir()
        target.symlink_to(tmp_path / "elsewhere")
    else:
        os.mkfifo(target)
    code = run([map_path, "-o", out, "--weights", weights, "-q", "--force"])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.count("\n") == 1 and captured.out == ""
    assert f"{target}: is a " in captured.err and "never replaced or moved" in captured.err
    assert _listing(out) == ["emd_1_sheet.mrc"]  # no backup, no other output
    if kind == "folder":
        assert (target / "keep.txt").read_text() == "mine"


def _signal_at_rename(monkeypatch, signum, when):
    """Send `signum` to this process, from another thread (which, unlike the main one, does not
    block it), right after the rename `when(src, dst)` picks."""
    import threading

    real = os.replace

    def replace(src, dst):
        real(src, dst)
        if when(str(src), str(dst)):
            t = threading.Thread(target=os.kill, args=(os.getpid(), signum))
            t.start()
            t.join()

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_in_the_last_rename_leaves_the_new_set_reported_done(
        tmp_path, weights, capsys, monkeypatch, signum):
    """A kill in the last milliseconds of the swap used to leave backups beside the new set, or
    the new set reported as interrupted (ok: false): now the map is done, the next one not run."""
    a, b = _maps(tmp_path, "a.mrc", "b.mrc")
    out, report = tmp_path / "out", tmp_path / "r.json"
    assert run([a, b, "-o", out, "--weights", weights, "-q", "--lowpass", "off"]) == 0
    old = _hashes(out)
    capsys.readouterr()
    _signal_at_rename(monkeypatch, signum, lambda src, dst: dst.endswith("a_sheet.mrc"))
    code = run([a, b, "-o", out, "--weights", weights, "-q", "--force", "--json", report])
    monkeypatch.undo()
    captured = capsys.readouterr()
    assert code == 128 + signum
    assert captured.out.startswith("a.mrc: ") and captured.out.count("\n") == 1
    assert captured.err == f"deepssetracer: error: {b}: interrupted\n"
    doc = json.loads(report.read_text())
    assert doc["interrupted"] and [m["ok"] for m in doc["maps"]] == [True, False]
    assert doc["maps"][1] == {"input": str(b), "ok": False, "error": "interrupted"}
    new = _hashes(out)
    assert _listing(out) == ["a_helix.mrc", "a_sheet.mrc", "b_helix.mrc", "b_sheet.mrc"]
    assert new["a_sheet.mrc"] != old["a_sheet.mrc"] and new["b_sheet.mrc"] == old["b_sheet.mrc"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@pytest.mark.parametrize("last", ["emd_1_sheet.mrc", "r.json"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_the_last_map_or_the_report_commits_is_too_late(
        tmp_path, map_path, weights, capsys, monkeypatch, signum, last):
    """Ctrl-C after the JSON was written used to print a KeyboardInterrupt traceback; a signal
    in the last map's (or the report's) commit now comes too late to stop anything."""
    out, report = tmp_path / "out", tmp_path / "r.json"
    _signal_at_rename(monkeypatch, signum, lambda src, dst: dst.endswith(last))
    assert run([map_path, "-o", out, "--weights", weights, "-q", "--json", report]) == 0
    monkeypatch.undo()
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.startswith("emd_1.mrc: ")
    doc = json.loads(report.read_text())
    assert not doc["interrupted"] and doc["maps"][0]["ok"]
    assert _listing(out) == ["emd_1_helix.mrc", "emd_1_sheet.mrc"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_names_that_are_not_utf8_are_printed_and_recorded_escaped(tmp_path, weights, capsys):
    """A map (and model) name that is not UTF-8 used to end in UnicodeEncodeError after the
    outputs were written, with the whole report lost; --model gave gemmi's TypeError."""
    folder = tmp_path / "in"
    folder.mkdir()
    name = os.fsdecode(b"emd\xff.mrc")
    path = write_map(folder / name, blob_map((20, 18, 26)))
    bad = folder / os.fsdecode(b"bad\xfe.mrc")
    bad.write_bytes(b"")
    out, report = tmp_path / "out", tmp_path / "r.json"
    argv = [path, bad, "-o", out, "--weights", weights, "-q", "--json", report]
    try:
        import gemmi  # noqa: F401
    except ImportError:
        pass
    else:
        model = folder / os.fsdecode(b"model\xfd.pdb")
        model.write_text("ATOM      1  CA  ALA A   1       3.000   4.000   5.000  1.00  0.00"
                         "           C\nEND\n")
        argv += ["--model", model]
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("emd\\xff.mrc: ") and captured.out.count("\n") == 1
    assert captured.err == f"deepssetracer: error: {folder}/bad\\xfe.mrc: empty file\n"
    assert sorted(os.listdir(os.fsencode(out)))[0] == b"emd\xff_helix.mrc"
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert doc["maps"][0]["input"] == f"{folder}/emd\\xff.mrc" and doc["maps"][0]["ok"]
    assert doc["maps"][1]["input"] == f"{folder}/bad\\xfe.mrc"
    if "--model" in argv:
        assert doc["maps"][0]["model"]["path"] == f"{folder}/model\\xfd.pdb"


def test_two_runs_creating_one_new_outdir_both_run(tmp_path, map_path, weights, capsys,
                                                   monkeypatch):
    """The second of two runs that create the same new -o folder used to fail ("cannot create
    the output folder (File exists)")."""
    out = tmp_path / "new"
    real = os.mkdir

    def other_run_first(path, *args, **kw):
        if os.fspath(path) == os.fspath(out) and not out.exists():
            real(path)  # the other run wins the race
        return real(path, *args, **kw)

    monkeypatch.setattr(os, "mkdir", other_run_first)
    assert run([map_path, "-o", out, "--weights", weights, "-q"]) == 0
    assert _listing(out) == ["emd_1_helix.mrc", "emd_1_sheet.mrc"]


def test_a_refused_map_leaves_no_folder_level_it_created(tmp_path, weights, capsys):
    bad = tmp_path / "bad.mrc"
    bad.write_bytes(b"")
    out = tmp_path / "n1" / "n2" / "n3"
    _expect_refusal(capsys, run([bad, "-o", out, "--weights", weights]), bad, out,
                    contains="empty file")
    assert _listing(tmp_path) == ["bad.mrc", "weights"]
    (tmp_path / "n1").mkdir()  # a level that was there stays
    _expect_refusal(capsys, run([bad, "-o", out, "--weights", weights]), bad, out)
    assert _listing(tmp_path / "n1") == []


def test_control_characters_in_names_keep_every_line_one_line(tmp_path, weights, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    good = write_map(folder / "a\nb\x1b.mrc", blob_map((20, 18, 26)))
    bad = folder / "c\nd.mrc"
    bad.write_bytes(b"")
    assert run([good, bad, "-o", tmp_path / "out", "--weights", weights, "--tta", "4"]) == 2
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 1 and captured.out.startswith("a\\nb\\x1b.mrc: ")
    err = captured.err.splitlines()
    assert len(err) == 2 and err[0].startswith("predicting a\\nb\\x1b.mrc: ")
    assert err[1] == f"deepssetracer: error: {folder}/c\\nd.mrc: empty file"


def _folder_per_map(tmp_path, *folders, name="map.mrc"):
    paths = []
    for i, folder in enumerate(folders):
        (tmp_path / "data" / folder).mkdir(parents=True)
        paths.append(write_map(tmp_path / "data" / folder / name, blob_map((20, 18, 26),
                                                                            seed=i)))
    return paths


def test_folder_per_map_layouts_are_named_after_their_folders(tmp_path, weights, capsys,
                                                              monkeypatch):
    """28.5: ``data/*/map.mrc`` (../shared, EMDB mirrors): every stem is ``map``, refused with
    a hint; ``--name-from parent`` names each map's outputs after its folder."""
    a, b = _folder_per_map(tmp_path, "emd_1", "emd_2")
    out, report = tmp_path / "out", tmp_path / "r.json"
    code = run([a, b, "-o", out, "--weights", weights, "-q"])
    _expect_refusal(capsys, code, b, out, contains="same stem 'map'")
    assert run([a, b, "-o", out, "--weights", weights, "-q"]) == 2
    assert "--name-from parent" in capsys.readouterr().err
    assert run([a, b, "-o", out, "--weights", weights, "-q", "--name-from", "parent",
                "--labels", "--json", report]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "emd_1_helix.mrc", "emd_1_labels.mrc", "emd_1_sheet.mrc",
        "emd_2_helix.mrc", "emd_2_labels.mrc", "emd_2_sheet.mrc"]
    lines = capsys.readouterr().out.splitlines()
    assert "emd_1_helix.mrc" in lines[0] and "emd_2_helix.mrc" in lines[1]
    records = json.loads(report.read_text())["maps"]
    assert [r["outputs"]["helix"] for r in records] == [
        str(out / "emd_1_helix.mrc"), str(out / "emd_2_helix.mrc")]
    # a relative map path in the working folder takes that folder's name
    monkeypatch.chdir(a.parent)
    assert run(["map.mrc", "-o", tmp_path / "o2", "--weights", weights, "-q",
                "--name-from", "parent"]) == 0
    assert sorted(p.name for p in (tmp_path / "o2").iterdir()) == [
        "emd_1_helix.mrc", "emd_1_sheet.mrc"]


def test_name_from_parent_keeps_the_clash_checks(tmp_path, weights, capsys):
    """Two maps of one folder, or two folders of one name, still clash; so does an output that
    is another input of the run."""
    a, b = _folder_per_map(tmp_path / "x", "emd_1", "emd_2")
    (c,) = _folder_per_map(tmp_path / "y", "emd_1")
    out = tmp_path / "out"
    code = run([a, c, "-o", out, "--weights", weights, "--name-from", "parent"])
    _expect_refusal(capsys, code, c, out, contains="same folder name 'emd_1'")
    twin = write_map(a.parent / "half.mrc", blob_map((20, 18, 26)))
    code = run([a, twin, "-o", out, "--weights", weights, "--name-from", "parent"])
    _expect_refusal(capsys, code, twin, out, contains="same folder name 'emd_1'")
    write_map(a.parent / "emd_1_helix.mrc", blob_map((20, 18, 26)))
    (tmp_path / "alias").symlink_to(a.parent)  # the same file, under a folder of another name
    victim = tmp_path / "alias" / "emd_1_helix.mrc"
    code = run([a, victim, "-o", a.parent, "--weights", weights, "--name-from", "parent",
                "--force"])
    err = capsys.readouterr().err
    assert code == 2 and "would overwrite the input map" in err, err


def test_json_records_threads_used_and_absolute_paths(tmp_path, map_path, weights, capsys,
                                                     monkeypatch):
    """28.6: without --threads the record holds the threads onnxruntime runs on (not null);
    outputs are absolute and the working folder is recorded, so relative inputs resolve."""
    monkeypatch.chdir(tmp_path)
    rel_map = os.path.relpath(map_path, tmp_path)
    assert run([rel_map, "-o", "out", "--weights", weights, "-q", "--force",
                "--json", "r.json"]) == 0
    capsys.readouterr()
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["cwd"] == os.getcwd()
    record = doc["maps"][0]
    assert record["input"] == rel_map
    assert os.path.join(doc["cwd"], record["input"]) == str(map_path)
    assert record["outputs"] == {k: str(tmp_path / "out" / f"emd_1_{k}.mrc")
                                 for k in ("helix", "sheet")}
    threads = record["settings"]["threads"]
    assert isinstance(threads, int) and 1 <= threads <= max(os.cpu_count() or 1, 2)
    assert os.path.isabs(record["settings"]["weights"])


def test_output_maps_carry_provenance_labels(tmp_path, map_path, weights, capsys):
    """28.6: each output map's header labels name the tool and version, the class and the
    weights' sha256 (short), and the input map; mrcfile's own label stays."""
    from chimerax.deepssetracer import __version__

    out = tmp_path / "out"
    assert run([map_path, "-o", out, "--weights", weights, "-q", "--labels"]) == 0
    capsys.readouterr()
    what = {"helix": "helix probability", "sheet": "sheet probability",
            "labels": "labels 0 helix 1 sheet 2 background"}
    for kind, text in what.items():
        with mrcfile.open(out / f"emd_1_{kind}.mrc") as f:
            n = int(f.header.nlabl)
            labels = [bytes(f.header.label[i]).decode("ascii").rstrip() for i in range(n)]
        assert f"DeepSSETracer {__version__} {text}, weights {_sha(weights)[:12]}" in labels
        assert "from emd_1.mrc" in labels
        assert any(label.startswith("Created by mrcfile") for label in labels)
        assert n <= 10 and all(len(label) <= 80 for label in labels)


def test_header_labels_are_ascii_and_80_characters():
    from chimerax.deepssetracer.core.mapio import header_label

    assert header_label("from emd_\u20ac\nx.mrc") == "from emd_\\u20ac x.mrc"
    assert len(header_label("x" * 200)) == 80


def test_memory_check_counts_elements_and_the_residue_vote(tmp_path, map_path, weights,
                                                          capsys, monkeypatch):
    """29.10: the check before predicting counts what --elements and --model add (the whole
    prediction and their own work, `memory.extras_bytes`, beside the plan's
    `prediction_bytes`): room for the plain prediction but not for them is refused up front,
    before the data are read. --labels adds nothing: its map is written a slab at a time."""
    from chimerax.deepssetracer.core import mapio
    from chimerax.deepssetracer.core.weights import load_spec

    spec = load_spec(weights)
    dmap = read_map(map_path)
    shape = dmap.data.shape
    plain = memory.prediction_bytes(shape, dmap.voxel_size, spec.voxel_size, spec.tile_size)
    extra = memory.extras_bytes(shape, elements=True, residues=True)
    assert extra == int(np.prod(shape)) * (memory.WHOLE_BYTES_PER_VOXEL
                                           + memory.ELEMENTS_BYTES_PER_VOXEL
                                           + memory.RESIDUES_BYTES_PER_VOXEL)
    monkeypatch.setattr(memory, "memory_headroom", lambda: (plain + extra // 4, "available"))
    assert run([map_path, "-o", tmp_path / "a", "--weights", weights, "-q"]) == 0
    assert run([map_path, "-o", tmp_path / "b", "--weights", weights, "-q", "--labels"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(mapio, "_read_plain_data", lambda *a, **k: pytest.fail("data were read"))
    out = tmp_path / "c"
    code = run([map_path, "-o", out, "--weights", weights, "--labels", "--elements"])
    _expect_refusal(capsys, code, map_path, out,
                    contains="tiled prediction with the elements needs")


# --- issue 29 item 8: header sizes whose product overflows -----------------------------------


def _patched_header(path, sizes, cell=None):
    """A small map written by mrcfile, NX, NY, NZ (and MX, MY, MZ, CELLA: 1 Å voxels) patched
    to `sizes`, gzipped when `path` ends in .gz."""
    small = path.with_name("small.mrc")
    with mrcfile.new(small, overwrite=True) as m:
        m.set_data(np.random.default_rng(0).random((8, 8, 8), dtype=np.float32))
        m.voxel_size = 1.0
    raw = bytearray(small.read_bytes())
    small.unlink()
    raw[0:12] = np.array(sizes, "<i4").tobytes()
    raw[28:40] = np.array(sizes, "<i4").tobytes()
    raw[40:52] = np.array(sizes, "<f4").tobytes()
    path.write_bytes(gzip.compress(bytes(raw)) if path.suffix == ".gz" else bytes(raw))
    return path


@pytest.mark.parametrize("name", ["big.mrc.gz", "big.mrc"])
def test_overflowing_header_sizes_are_one_line(tmp_path, weights, capsys, name):
    """29.8: 2^22 each wrapped the int64 voxel count to 0 ("cannot reshape array of size 0",
    no file name, for a gzipped map) or printed a wrapped byte count (18446744099479356412)."""
    path = _patched_header(tmp_path / name, (2**22,) * 3)
    out = tmp_path / "out"
    _expect_refusal(capsys, run([path, "-o", out, "--weights", weights]), path, out,
                    contains="NX, NY, NZ = (4194304, 4194304, 4194304) (MODE 2) makes a data "
                             "block of 2.95e+20 bytes")


def test_memory_refusal_of_a_huge_gzipped_header_gives_sane_sizes(tmp_path, weights, capsys,
                                                                 monkeypatch):
    """A header within the sane limit but far beyond memory: the estimate in Python ints, shown
    in TiB (a gzipped map is checked from its header; its size cannot refuse it first)."""
    monkeypatch.setattr(memory, "memory_headroom", lambda: (2**34, "available"))
    path = _patched_header(tmp_path / "huge.mrc.gz", (20000,) * 3)
    out = tmp_path / "out"
    _expect_refusal(capsys, run([path, "-o", out, "--weights", weights]), path, out,
                    contains="20000x20000x20000 voxels (29.1 TiB as float32); tiled "
                             "prediction needs about ")


def _crowded_crop(tmp_path):
    """A noisy solvent box with a molecule filling its middle, and a crop inside the molecule
    (no solvent: its mode is the protein's density), both written as maps."""
    from chimerax.deepssetracer.core.lowpass import lowpass

    rng = np.random.default_rng(4)
    data = 0.02 * rng.standard_normal((60, 60, 60)).astype(np.float32)
    data[10:50, 10:50, 10:50] += 1 + 0.5 * lowpass(rng.standard_normal((40,) * 3), (1.0,) * 3,
                                                   5.0) / 0.05
    whole = write_map(tmp_path / "whole.mrc", DensityMap(data, (1.0,) * 3, (0.0,) * 3))
    crop = write_map(tmp_path / "crop.mrc", DensityMap(
        np.ascontiguousarray(data[16:44, 16:44, 16:44]), (1.0,) * 3, (16.0,) * 3))
    return whole, crop


def test_around_takes_the_solvent_of_the_map_a_crop_was_cut_from(tmp_path, shipped, capsys):
    """``--around WHOLE``: the crop is prepared with the whole map's solvent level, and says so
    in its line and its --json record; without it, its own mode (the protein) is taken. (The
    shipped weights: the tiny test network's z-score normalisation has no solvent level.)"""
    whole, crop = _crowded_crop(tmp_path)
    assert run([crop, "-o", tmp_path / "own", "--threads", 1, "-q"]) == 0
    own_line = capsys.readouterr().out
    report = tmp_path / "run.json"
    assert run([crop, "-o", tmp_path / "around", "--threads", 1, "-q", "--around", whole,
                "--json", report]) == 0
    line = capsys.readouterr().out
    assert "the whole map's solvent level (the region's own mode" in line
    assert "solvent level" not in own_line
    settings = json.loads(report.read_text())["maps"][0]["settings"]
    assert settings["around"] == os.path.abspath(whole)
    own = read_map(tmp_path / "own" / "crop_helix.mrc").data
    around = read_map(tmp_path / "around" / "crop_helix.mrc").data
    assert np.abs(own - around).max() > 0.01  # the level changed the answer
    assert read_map(crop).data.shape == around.shape


def test_a_bad_around_map_is_refused_before_any_map(tmp_path, map_path, weights, capsys):
    out = tmp_path / "out"
    missing = tmp_path / "nope.mrc"
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", weights, "--around",
                                 missing]), missing, out, contains="no such file")
    flat = write_map(tmp_path / "flat.mrc", DensityMap(np.ones((20, 20, 20), np.float32),
                                                       (1.0,) * 3, (0.0,) * 3))
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", weights, "--around", flat]),
                    flat, out, contains="constant")
    # an output that would overwrite it: refused before anything is read
    target = out / "emd_1_helix.mrc"
    out.mkdir()
    write_map(target, blob_map((12, 12, 12)))
    before = _sha(target)
    _expect_refusal(capsys, run([map_path, "-o", out, "--weights", weights, "--force",
                                 "--around", target]), target, tmp_path / "unused",
                    contains="the --around map")
    assert _sha(target) == before
