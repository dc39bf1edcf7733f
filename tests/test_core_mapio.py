"""read_map / write_map: axis orders, NSTART vs ORIGIN, non-cubic voxels, header problems."""

from __future__ import annotations

import gzip
import json
import os
import signal
import stat
import subprocess
from pathlib import Path

import mrcfile
import numpy as np
import pytest
from chimerax.deepssetracer.core.errors import InputError, Interrupted
from chimerax.deepssetracer.core.grid import DensityMap
from chimerax.deepssetracer.core.mapio import map_stem, read_map, write_map, write_maps
from helpers import blob_map, write_mrc


@pytest.fixture
def dmap():
    return blob_map((7, 5, 9), voxel_size=(1.5, 2.0, 2.5))


def test_write_read_round_trip(tmp_path, dmap):
    dmap.origin = (10.0, -3.5, 7.25)
    path = write_map(tmp_path / "m.mrc", dmap)
    back = read_map(path)
    np.testing.assert_array_equal(back.data, dmap.data)
    assert back.voxel_size == pytest.approx(dmap.voxel_size)
    assert back.origin == pytest.approx(dmap.origin)
    with mrcfile.open(path) as m:  # stored x fastest, axes 1, 2, 3, origin in ORIGIN
        assert (m.header.mapc, m.header.mapr, m.header.maps) == (1, 2, 3)
        assert (m.header.nx, m.header.ny, m.header.nz) == (9, 5, 7)
        assert (m.header.nxstart, m.header.nystart, m.header.nzstart) == (0, 0, 0)
        assert m.data.dtype == np.float32


@pytest.mark.parametrize("axes", [(1, 2, 3), (3, 2, 1), (2, 3, 1), (3, 1, 2), (2, 1, 3)])
def test_axis_orders_read_to_the_same_array(tmp_path, dmap, axes):
    path = write_mrc(tmp_path / "p.mrc", dmap, axes=axes, start_xyz=(4, -2, 7))
    back = read_map(path)
    np.testing.assert_array_equal(back.data, dmap.data)
    assert back.voxel_size == pytest.approx(dmap.voxel_size)
    # NSTART is per file axis: the x start belongs to whichever file axis runs along x
    assert back.origin == pytest.approx((4 * 1.5, -2 * 2.0, 7 * 2.5))


def test_origin_field_wins_over_nstart_in_mrc(tmp_path, dmap):
    path = write_mrc(tmp_path / "o.mrc", dmap, start_xyz=(4, 4, 4), header_origin=(1, 2, 3))
    assert read_map(path).origin == pytest.approx((1, 2, 3))


def test_zero_origin_falls_back_to_nstart(tmp_path, dmap):
    path = write_mrc(tmp_path / "n.mrc", dmap, start_xyz=(4, 5, 6))
    assert read_map(path).origin == pytest.approx((6.0, 10.0, 15.0))


@pytest.mark.parametrize("suffix", [".map", ".ccp4"])
def test_ccp4_files_use_nstart_like_chimerax(tmp_path, dmap, suffix):
    # ChimeraX opens .map/.ccp4 as CCP4, whose header has no ORIGIN: only NSTART counts.
    path = write_mrc(tmp_path / f"c{suffix}", dmap, start_xyz=(4, 5, 6), header_origin=(1, 2, 3))
    assert read_map(path).origin == pytest.approx((6.0, 10.0, 15.0))


def test_uninitialised_nstart_is_ignored(tmp_path, dmap):
    path = write_mrc(tmp_path / "g.mrc", dmap, start_xyz=(10**6, 0, 0))
    assert read_map(path).origin == (0.0, 0.0, 0.0)


def test_integer_modes_become_float32(tmp_path, dmap):
    path = tmp_path / "i.mrc"
    with mrcfile.new(path) as m:
        m.set_data((dmap.data * 100).astype(np.int16))
        m.voxel_size = dmap.voxel_size
    back = read_map(path)
    assert back.data.dtype == np.float32
    np.testing.assert_array_equal(back.data, (dmap.data * 100).astype(np.int16))


def test_write_label_map_as_int8(tmp_path, dmap):
    labels = DensityMap(np.arange(dmap.data.size, dtype=np.uint8).reshape(dmap.data.shape) % 3,
                        dmap.voxel_size, dmap.origin)
    path = write_map(tmp_path / "l.mrc", labels)
    with mrcfile.open(path) as m:
        assert m.header.mode == 0
        np.testing.assert_array_equal(m.data, labels.data)


def test_write_refuses_existing_and_is_atomic(tmp_path, dmap):
    path = write_map(tmp_path / "m.mrc", dmap)
    with pytest.raises(FileExistsError):
        write_map(path, dmap)
    dmap.data = dmap.data + 1
    write_map(path, dmap, overwrite=True)
    np.testing.assert_array_equal(read_map(path).data, dmap.data)
    assert [p.name for p in tmp_path.iterdir()] == ["m.mrc"]  # no temporary left behind
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_failed_write_leaves_nothing(tmp_path):
    bad = DensityMap(np.full((2, 2, 2), 300, dtype=np.int16), (1, 1, 1))
    with pytest.raises(ValueError):
        write_map(tmp_path / "x.mrc", bad)
    assert list(tmp_path.iterdir()) == []


def _header_bytes(tmp_path, dmap) -> bytearray:
    return bytearray(write_map(tmp_path / "ok.mrc", dmap).read_bytes())


@pytest.mark.parametrize("word, value, field", [
    (3, 99, "MODE"),          # mode
    (16, 7, "MAPC"),          # mapc
    (0, -5, "NX"),            # nx
    (7, 0, "MX"),             # mx
    (23, -1, "NSYMBT"),
])
def test_bad_header_field_is_named(tmp_path, dmap, word, value, field):
    raw = _header_bytes(tmp_path, dmap)
    raw[4 * word: 4 * word + 4] = np.int32(value).tobytes()
    path = tmp_path / "bad.mrc"
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match=field) as err:
        read_map(path)
    assert str(err.value).startswith(str(path))
    assert "\n" not in str(err.value)


def test_zero_cell_is_refused(tmp_path, dmap):
    raw = _header_bytes(tmp_path, dmap)
    raw[40:52] = np.zeros(3, np.float32).tobytes()
    (tmp_path / "c.mrc").write_bytes(bytes(raw))
    with pytest.raises(InputError, match="CELLA"):
        read_map(tmp_path / "c.mrc")


def test_skewed_cell_is_refused(tmp_path, dmap):
    raw = _header_bytes(tmp_path, dmap)
    raw[52:64] = np.array([90, 90, 120], np.float32).tobytes()
    (tmp_path / "s.mrc").write_bytes(bytes(raw))
    with pytest.raises(InputError, match="CELLB"):
        read_map(tmp_path / "s.mrc")


def test_truncated_data(tmp_path, dmap):
    raw = _header_bytes(tmp_path, dmap)
    (tmp_path / "t.mrc").write_bytes(bytes(raw[:-10]))
    with pytest.raises(InputError, match="truncated"):
        read_map(tmp_path / "t.mrc")


@pytest.mark.parametrize("content, problem", [
    (None, "no such file"),
    (b"", "empty file"),
    (b"hello\n" * 10, "shorter than"),
    (b"this is a text file, not a map\n" * 200, "not an MRC/CCP4 map"),
])
def test_not_a_map(tmp_path, content, problem):
    path = tmp_path / "x.mrc"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=problem):
        read_map(path)


def test_directory(tmp_path):
    with pytest.raises(InputError, match="directory"):
        read_map(tmp_path)


def test_density_map_checks_dimensions():
    with pytest.raises(ValueError, match="3-D"):
        DensityMap(np.zeros((4, 4)), (1, 1, 1))
    m = DensityMap(np.zeros((2, 3, 4), np.float32), 1.5)
    assert m.voxel_size == (1.5, 1.5, 1.5) and m.shape_xyz == (4, 3, 2)
    assert m.extent == (6.0, 4.5, 3.0)
    assert m.xyz(np.array([1, 2, 3])) == pytest.approx((4.5, 3.0, 1.5))


def test_shared_noncubic_edge_map(shared_dir, tmp_path):
    """EMD-3001: MAPC/MAPR/MAPS = 3, 1, 2, voxels 0.448/0.393/0.459 Å, NSTART (0, -21, -12).

    Its cell is skewed (beta 94.3 degrees), which the tool refuses; a copy with 90-degree angles
    checks the axis order, voxel size and origin against an independent decoding.
    """
    path = shared_dir / "data/edge/emd3001_noncubic.map"
    with pytest.raises(InputError, match="CELLB"):
        read_map(path)
    raw_bytes = bytearray(path.read_bytes())
    raw_bytes[52:64] = np.array([90, 90, 90], "<f4").tobytes()
    square = tmp_path / "emd3001_square.map"
    square.write_bytes(bytes(raw_bytes))
    m = read_map(square)
    with mrcfile.open(square, permissive=True) as raw:
        h = raw.header
        assert (h.mapc, h.mapr, h.maps) == (3, 1, 2)
        # columns run along z, rows along x, sections along y: data[s, r, c] = [y, x, z]
        np.testing.assert_array_equal(m.data, raw.data.transpose(2, 0, 1).astype(np.float32))
        step = (h.cella.x / h.mx, h.cella.y / h.my, h.cella.z / h.mz)
        start = (h.nystart, h.nzstart, h.nxstart)  # rows are x, sections y, columns z
    assert m.voxel_size == pytest.approx(step)
    assert m.voxel_size == pytest.approx((0.44825, 0.3925, 0.45875), abs=1e-5)
    assert m.origin == pytest.approx(tuple(s * v for s, v in zip(start, step)))
    assert m.origin[1] == pytest.approx(-12 * 0.3925, abs=1e-4)
    assert m.shape_xyz == (43, 25, 73)


def test_shared_nstart_and_origin_maps_agree(shared_dir):
    d = shared_dir / "data/real/emd21457_6vyb_ntd"
    a, b = read_map(d / "map.mrc"), read_map(d / "map_nstart.mrc")
    np.testing.assert_array_equal(a.data, b.data)
    assert a.origin == pytest.approx(b.origin, abs=1e-3)
    assert a.origin == pytest.approx((162.75, 231.0, 204.75), abs=1e-3)


CX_PYTHON = Path(__file__).resolve().parents[1] / ".venv-cx" / "bin" / "python"
CX_READ = """
import json, sys
import numpy as np
from chimerax.map_data import open_file
out = []
for i, p in enumerate(sys.argv[2:]):
    g = open_file(p)[0]
    np.save(f"{sys.argv[1]}/{i}.npy", g.matrix())
    out.append({"origin": [float(v) for v in g.origin], "step": [float(v) for v in g.step]})
print(json.dumps(out))
"""


@pytest.mark.chimerax
def test_geometry_matches_chimerax(tmp_path, dmap):
    """ChimeraX 1.7's own map reader places every variant where read_map does."""
    if not CX_PYTHON.is_file():
        pytest.skip(f"no headless ChimeraX at {CX_PYTHON}")
    dmap.origin = (3.3, -7.1, 12.9)
    files = [
        write_mrc(tmp_path / "perm321.mrc", dmap, axes=(3, 2, 1), start_xyz=(4, -2, 7)),
        write_mrc(tmp_path / "perm312.mrc", dmap, axes=(3, 1, 2), start_xyz=(1, 2, 3),
                  header_origin=(5.5, 6.5, -7.5)),
        write_mrc(tmp_path / "ccp4.map", dmap, axes=(2, 3, 1), start_xyz=(-3, 8, 1),
                  header_origin=(5.5, 6.5, -7.5)),
        write_mrc(tmp_path / "garbage_start.mrc", dmap, start_xyz=(10**6, 0, 0)),
        write_map(tmp_path / "ours.mrc", dmap),
    ]
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
    files += sorted(shared.glob("*/map*.mrc"))
    out = tmp_path / "cx"
    out.mkdir()
    proc = subprocess.run([str(CX_PYTHON), "-c", CX_READ, str(out), *map(str, files)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for i, (path, cx) in enumerate(zip(files, json.loads(proc.stdout.splitlines()[-1]))):
        ours = read_map(path)
        assert ours.origin == pytest.approx(cx["origin"], abs=1e-3), path.name
        assert ours.voxel_size == pytest.approx(cx["step"], rel=1e-5), path.name
        np.testing.assert_array_equal(ours.data, np.load(out / f"{i}.npy"), err_msg=path.name)


def test_big_endian_file(tmp_path, dmap):
    """Bytes swapped word by word (machine stamp 0x1111): the same map."""
    raw = bytearray(write_map(tmp_path / "le.mrc", dmap).read_bytes())
    words = np.frombuffer(bytes(raw[:208]), "<i4").byteswap().tobytes()  # numeric fields
    raw[:208] = words
    raw[212:216] = bytes([0x11, 0x11, 0, 0])
    raw[216:224] = np.frombuffer(bytes(raw[216:224]), "<i4").byteswap().tobytes()
    raw[1024:] = np.frombuffer(bytes(raw[1024:]), "<f4").byteswap().tobytes()
    (tmp_path / "be.mrc").write_bytes(bytes(raw))
    back = read_map(tmp_path / "be.mrc")
    np.testing.assert_array_equal(back.data, dmap.data)
    assert back.voxel_size == pytest.approx(dmap.voxel_size)


# --- issue 15: odd files read as ChimeraX reads them, or refused in one line -------------------


def _set_imod(path, flags: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[152:160] = np.array([1146047817, flags], "<i4").tobytes()
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("flags, expected", [(0, 200.0), (1, -56.0)])
def test_imod_bytes_are_read_as_chimerax_reads_them(tmp_path, flags, expected):
    """IMOD's stamp without its 'signed' flag (bit 0 of imodFlags) means unsigned bytes."""
    data = np.zeros((12, 12, 12), np.int8)
    data[0, 0, 0] = -56  # byte 0xC8: 200 unsigned
    data[5, 5, 5] = 10
    path = tmp_path / "bytes.mrc"
    with mrcfile.new(path) as m:
        m.set_data(data)
        m.voxel_size = 1.0
    _set_imod(path, flags)
    assert read_map(path).data[0, 0, 0] == expected
    assert read_map(path).data[5, 5, 5] == 10


def test_bytes_without_imod_stamp_stay_signed(tmp_path):
    data = np.full((12, 12, 12), -3, np.int8)
    path = tmp_path / "signed.mrc"
    with mrcfile.new(path) as m:
        m.set_data(data)
        m.voxel_size = 1.0
    assert read_map(path).data.min() == -3


def _stack(path, data, ispg, mz):
    with mrcfile.new(path, overwrite=True) as m:
        m.set_data(data)
        m.voxel_size = 1.0
        m.header.ispg, m.header.mz = ispg, mz
    return path


@pytest.mark.parametrize("name, ispg, mz, match", [
    ("images.mrcs", 1, 40, r"image stack \(\.mrcs file of 40 images\)"),
    ("images.mrc", 0, 1, r"image stack \(ISPG 0, MZ 1: 40 images\)"),
    ("volumes.mrc", 401, 20, r"stack of 2 volumes \(ISPG 401, NZ 40, MZ 20\)"),
])
def test_stacks_are_refused(tmp_path, name, ispg, mz, match):
    path = _stack(tmp_path / name, np.random.rand(40, 16, 16).astype(np.float32), ispg, mz)
    with pytest.raises(InputError, match=match) as err:
        read_map(path)
    assert str(err.value).count(str(path)) == 1  # said once, not wrapped in itself


def test_volume_headers_with_ispg_0_or_401_are_volumes(tmp_path):
    """Older tools write ISPG 0 with MZ = NZ (the shared real maps do); ISPG 401, one volume."""
    data = np.random.rand(40, 16, 16).astype(np.float32)
    for ispg in (0, 401):
        back = read_map(_stack(tmp_path / f"v{ispg}.mrc", data, ispg, 40))
        np.testing.assert_array_equal(back.data, data)


def test_non_regular_files_are_named(tmp_path):
    fifo = tmp_path / "pipe.mrc"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is a FIFO"):  # and does not hang reading it
        read_map(fifo)
    link = tmp_path / "dangling.mrc"
    link.symlink_to(tmp_path / "gone.mrc")
    with pytest.raises(InputError, match="dangling symbolic link"):
        read_map(link)


# --- issue 15: outputs change together or not at all --------------------------------------------


def _pair(tmp_path, value):
    m = DensityMap(np.full((4, 4, 4), value, np.float32), 1.0)
    return {tmp_path / "a_helix.mrc": m, tmp_path / "a_sheet.mrc": m}


def _values(paths):
    return [float(read_map(p).data[0, 0, 0]) for p in paths]


def _fail_on_call(monkeypatch, target, name, n, error):
    real = getattr(target, name)
    calls = []

    def fake(*args, **kw):
        calls.append(args)
        if len(calls) == n:
            raise error
        return real(*args, **kw)

    monkeypatch.setattr(target, name, fake)


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failure_between_renames_restores_the_old_pair(tmp_path, monkeypatch, error):
    old = write_maps(_pair(tmp_path, 1.0))
    # renames: helix -> backup, temp -> helix, sheet -> backup, temp -> sheet (fails)
    _fail_on_call(monkeypatch, os, "replace", 4, error)
    with pytest.raises((InputError, KeyboardInterrupt)):
        write_maps(_pair(tmp_path, 2.0), overwrite=True)
    monkeypatch.undo()
    assert _values(old) == [1.0, 1.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_helix.mrc", "a_sheet.mrc"]


def test_disk_full_on_the_second_file_names_it_and_leaves_nothing(tmp_path, monkeypatch):
    _fail_on_call(monkeypatch, mrcfile, "new_mmap", 2, OSError(28, "No space left on device"))
    with pytest.raises(InputError, match=r"a_sheet\.mrc: cannot write \(No space left"):
        write_maps(_pair(tmp_path, 2.0))
    assert list(tmp_path.iterdir()) == []


def test_sigterm_while_writing_leaves_no_temporary_file(tmp_path, monkeypatch):
    old = write_maps(_pair(tmp_path, 1.0))
    real = mrcfile.new_mmap  # how each map file is begun

    def killed(*args, **kw):
        os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kw)

    monkeypatch.setattr(mrcfile, "new_mmap", killed)
    with pytest.raises(Interrupted):
        write_maps(_pair(tmp_path, 2.0), overwrite=True)
    assert _values(old) == [1.0, 1.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_helix.mrc", "a_sheet.mrc"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_dangling_symlink_is_an_existing_output(tmp_path):
    link = tmp_path / "a_helix.mrc"
    link.symlink_to(tmp_path / "elsewhere.mrc")
    with pytest.raises(FileExistsError):
        write_maps(_pair(tmp_path, 1.0))
    assert link.is_symlink() and not (tmp_path / "a_sheet.mrc").exists()


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_folder_at_an_output_name_is_never_moved(tmp_path, kind):
    """``overwrite=True`` used to move a folder aside as the backup, then fail to delete it."""
    target = tmp_path / "a_sheet.mrc"
    if kind == "folder":
        target.mkdir()
        (target / "keep.txt").write_text("mine")
    else:
        os.mkfifo(target)
    with pytest.raises(InputError, match=r"a_sheet\.mrc: is a (folder|FIFO).* never replaced"):
        write_maps(_pair(tmp_path, 2.0), overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_sheet.mrc"]
    assert kind != "folder" or (target / "keep.txt").read_text() == "mine"
    # in `remove`, a folder (or link to one) is left alone, as before
    write_maps({tmp_path / "b.mrc": _pair(tmp_path, 1.0)[tmp_path / "a_helix.mrc"]},
               remove=[target])
    assert target.exists() or target.is_symlink()


def test_a_kill_that_reaches_another_thread_waits_for_the_backups_to_go(tmp_path,
                                                                        monkeypatch):
    """Blocking the signals in the main thread only let a kill delivered to another thread
    raise between the renames or while the backups were deleted: the new set, plus backups."""
    import threading

    write_maps(_pair(tmp_path, 1.0))
    real = Path.unlink

    def unlink(self, *args, **kw):
        real(self, *args, **kw)
        if self.name.endswith(".bak"):
            t = threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGTERM))
            t.start()
            t.join()

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(Interrupted):  # delivered once the set is in, no backup left
        write_maps(_pair(tmp_path, 2.0), overwrite=True)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_helix.mrc", "a_sheet.mrc"]
    assert _values([tmp_path / "a_helix.mrc", tmp_path / "a_sheet.mrc"]) == [2.0, 2.0]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


# --- issue 16: gzipped maps, as EMDB distributes them ----------------------------------------


def _gzipped(path: Path, raw: bytes) -> Path:
    path.write_bytes(gzip.compress(raw))
    return path


def test_gzipped_maps_read_as_the_plain_file(tmp_path, dmap):
    """``.mrc.gz`` and ``.map.gz`` read as their unzipped file, its suffix rules included."""
    dmap.origin = (10.0, -3.5, 7.25)
    plain = write_mrc(tmp_path / "m.mrc", dmap, axes=(3, 1, 2), start_xyz=(4, 5, 6),
                      header_origin=(1.5, 2.5, 3.5))
    raw = plain.read_bytes()
    for name in ("m.mrc.gz", "m.MAP.GZ"):
        back, want = read_map(_gzipped(tmp_path / name, raw)), read_map(plain)
        np.testing.assert_array_equal(back.data, want.data)
        assert back.voxel_size == pytest.approx(want.voxel_size)
    # .map is CCP4 to ChimeraX: NSTART, not ORIGIN, also when gzipped
    ccp4 = tmp_path / "m.map"
    ccp4.write_bytes(raw)
    assert read_map(tmp_path / "m.MAP.GZ").origin == pytest.approx(read_map(ccp4).origin)
    assert read_map(tmp_path / "m.mrc.gz").origin == pytest.approx((1.5, 2.5, 3.5))
    assert read_map(ccp4).origin != pytest.approx((1.5, 2.5, 3.5))


def test_gzipped_big_endian_and_extended_header(tmp_path, dmap):
    raw = bytearray(write_map(tmp_path / "le.mrc", dmap).read_bytes())
    raw[:208] = np.frombuffer(bytes(raw[:208]), "<i4").byteswap().tobytes()
    raw[212:216] = bytes([0x11, 0x11, 0, 0])
    raw[216:224] = np.frombuffer(bytes(raw[216:224]), "<i4").byteswap().tobytes()
    raw[1024:] = np.frombuffer(bytes(raw[1024:]), "<f4").byteswap().tobytes()
    np.testing.assert_array_equal(read_map(_gzipped(tmp_path / "be.mrc.gz", bytes(raw))).data,
                                  dmap.data)
    ext = bytearray(write_map(tmp_path / "ext.mrc", dmap).read_bytes())
    ext[92:96] = np.int32(80).tobytes()  # NSYMBT: 80 bytes of extended header
    ext[1024:1024] = b"x" * 80
    np.testing.assert_array_equal(read_map(_gzipped(tmp_path / "e.mrc.gz", bytes(ext))).data,
                                  dmap.data)


@pytest.mark.parametrize("damage, problem", [
    (lambda z, raw: z[:-30], "ends before its end-of-stream marker"),
    (lambda z, raw: z[:-8] + bytes(8), "CRC check failed"),
    (lambda z, raw: raw, "is named .gz but is not a gzip file"),
    (lambda z, raw: gzip.compress(raw[:-100]), "truncated: the header"),
    (lambda z, raw: gzip.compress(raw[:100]), "unzips to 100 bytes"),
    (lambda z, raw: z[:10] + bytes(len(z) - 10), "corrupt gzip file"),
])
def test_corrupt_gzip_names_the_real_reason(tmp_path, dmap, damage, problem):
    raw = write_map(tmp_path / "m.mrc", dmap).read_bytes()
    path = tmp_path / "emd_1.map.gz"
    path.write_bytes(damage(gzip.compress(raw), raw))
    with pytest.raises(InputError) as err:
        read_map(path)
    assert problem in str(err.value) and "MAP' ID" not in str(err.value)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)


def test_gzipped_stack_is_refused_by_its_inner_suffix(tmp_path):
    data = np.random.rand(40, 16, 16).astype(np.float32)
    raw = _stack(tmp_path / "s.mrcs", data, 1, 40).read_bytes()
    with pytest.raises(InputError, match=r"image stack \(\.mrcs file"):
        read_map(_gzipped(tmp_path / "s.mrcs.gz", raw))


@pytest.mark.parametrize("name, stem", [("emd_1234.map.gz", "emd_1234"), ("a.b.mrc", "a.b"),
                                        ("x.MRC.GZ", "x"), ("plain.gz", "plain"),
                                        ("emd_1.mrc", "emd_1")])
def test_map_stem_drops_gz_and_the_map_suffix(name, stem):
    assert map_stem(name) == stem


def test_removed_files_go_with_the_swap_and_come_back_on_failure(tmp_path, monkeypatch):
    old = write_maps(_pair(tmp_path, 1.0))
    labels = write_map(tmp_path / "a_labels.mrc", blob_map((6, 6, 6)))
    # renames: labels -> backup, helix -> backup, temp -> helix, sheet -> backup, temp -> sheet
    _fail_on_call(monkeypatch, os, "replace", 5, OSError(28, "No space left on device"))
    with pytest.raises(InputError):
        write_maps(_pair(tmp_path, 2.0), overwrite=True, remove=[labels])
    monkeypatch.undo()
    assert _values(old) == [1.0, 1.0] and labels.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a_helix.mrc", "a_labels.mrc", "a_sheet.mrc"]
    folder = tmp_path / "keep_labels.mrc"
    folder.mkdir()
    write_maps(_pair(tmp_path, 2.0), overwrite=True, remove=[labels, folder])
    assert _values(old) == [2.0, 2.0] and not labels.exists() and folder.is_dir()


def test_a_lone_text_file_is_a_set_of_one(tmp_path):
    """The ``--json`` report: one text file, replaced atomically, naming its file on failure."""
    (tmp_path / "r.json").write_text("old\n")
    path, = write_maps({tmp_path / "r.json": "{}\n"}, overwrite=True)
    assert path.read_text() == "{}\n" and [p.name for p in tmp_path.iterdir()] == ["r.json"]
    with pytest.raises(InputError, match=r"r\.json: cannot write"):
        write_maps({tmp_path / "missing" / "r.json": "{}"}, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def _set(tmp_path, value):
    """Two maps and a text output, as ``predict --elements`` writes them."""
    out = _pair(tmp_path, value)
    out[tmp_path / "a_elements.json"] = f'{{"v": {value}}}\n'
    return out


def test_text_outputs_are_part_of_the_set(tmp_path, monkeypatch):
    from chimerax.deepssetracer.core import mapio

    paths = write_maps(_set(tmp_path, 1.0))
    assert paths[-1].read_text(encoding="utf-8") == '{"v": 1.0}\n'
    with pytest.raises(FileExistsError):
        write_maps(_set(tmp_path, 2.0))
    # renames: 3 x (old -> backup, temp -> output); the text file's (the last) fails
    _fail_on_call(monkeypatch, os, "replace", 6, OSError(28, "No space left on device"))
    with pytest.raises(InputError, match=r"a_elements\.json: cannot write"):
        write_maps(_set(tmp_path, 2.0), overwrite=True)
    monkeypatch.undo()
    assert _values(paths[:2]) == [1.0, 1.0] and paths[2].read_text() == '{"v": 1.0}\n'
    # the text file cannot be written: nothing changes, no temporary file is left
    def text_full(file, mode="r", *args, **kw):  # maps are written in binary, text is not
        if "b" not in mode:
            raise OSError(28, "No space left on device")
        return open(file, mode, *args, **kw)

    monkeypatch.setattr(mapio, "open", text_full, raising=False)
    with pytest.raises(InputError, match=r"a_elements\.json: cannot write \(No space left"):
        write_maps(_set(tmp_path, 2.0), overwrite=True)
    monkeypatch.undo()
    assert _values(paths[:2]) == [1.0, 1.0] and paths[2].read_text() == '{"v": 1.0}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a_elements.json", "a_helix.mrc", "a_sheet.mrc"]
    write_maps(_set(tmp_path, 2.0), overwrite=True)
    assert _values(paths[:2]) == [2.0, 2.0] and paths[2].read_text() == '{"v": 2.0}\n'


def test_an_output_is_a_map_or_text(tmp_path):
    with pytest.raises(TypeError, match="DensityMap, a SlabMap or a str"):
        write_maps({tmp_path / "a.json": b"bytes"})
    assert list(tmp_path.iterdir()) == []


# --- issue 29 item 8: header sizes whose product overflows -----------------------------------


def _overflowing_header(path: Path, sizes: tuple[int, int, int], gzipped: bool) -> Path:
    """A small map written by mrcfile, its NX, NY, NZ patched to `sizes` (optionally gzipped)."""
    small = path.with_name("small.mrc")
    with mrcfile.new(small, overwrite=True) as m:
        m.set_data(np.random.default_rng(0).random((8, 8, 8), dtype=np.float32))
        m.voxel_size = 2.0
    raw = bytearray(small.read_bytes())
    raw[0:12] = np.array(sizes, "<i4").tobytes()
    if gzipped:
        path.write_bytes(gzip.compress(bytes(raw)))
    else:
        path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("gzipped", [True, False], ids=["gzip", "plain"])
@pytest.mark.parametrize("sizes", [(2**22,) * 3, (2**21,) * 3, (2**31 - 1,) * 3],
                         ids=["wraps_to_0", "wraps_negative", "int32_max"])
def test_header_sizes_beyond_any_map_are_one_line_naming_them(tmp_path, sizes, gzipped):
    """29.8: NX*NY*NZ overflowed int64: a gzipped header of 2^22 each read 0 bytes and failed
    "cannot reshape array of size 0" (no file name); a plain one printed a wrapped byte count
    (18446744099479356412). Now the sizes are Python ints and refused from the header."""
    path = _overflowing_header(tmp_path / ("big.mrc.gz" if gzipped else "big.mrc"), sizes,
                               gzipped)
    with pytest.raises(InputError) as err:
        read_map(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert f"NX, NY, NZ = {sizes}" in message and "corrupt header" in message
    assert f"{sizes[0] * sizes[1] * sizes[2] * 4:.3g} bytes" in message
    assert "reshape" not in message and "18446744" not in message


# --- issue 28 item 10: header statistics in float64 ------------------------------------------


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_header_statistics_of_a_map_holding_1e30_do_not_overflow(tmp_path, monkeypatch):
    """mrcfile computes RMS in float32 ("overflow encountered in square", an inf RMS); the
    writer sets DMIN, DMAX, DMEAN and RMS from float64 statistics, in slabs."""
    from chimerax.deepssetracer.core import mapio

    monkeypatch.setattr(mapio, "SLAB_WRITE_VOXELS", 40)  # slabs of 2 rows, the last one short
    data = np.arange(60, dtype=np.float32).reshape(3, 4, 5) / 10
    data[1, 2, 3], data[2, 0, 0] = 1e30, -3e38
    path = write_map(tmp_path / "spiky.mrc", DensityMap(data, (1.0, 1.0, 1.0), (0.0, 0.0, 0.0)))
    values = data.astype(np.float64)
    with mrcfile.open(path) as m:
        h = m.header
        assert (float(h.dmin), float(h.dmax)) == (float(data.min()), float(data.max()))
        assert float(h.dmean) == pytest.approx(values.mean(), rel=1e-6)
        assert np.isfinite(h.rms) and float(h.rms) == pytest.approx(values.std(), rel=1e-6)
    # an ordinary map: the statistics mrcfile would give
    small = blob_map((6, 7, 8)).data
    path = write_map(tmp_path / "blob.mrc", DensityMap(small, (1.0, 1.0, 1.0), (0.0, 0.0, 0.0)))
    with mrcfile.open(path) as m:
        assert float(m.header.rms) == pytest.approx(float(small.std()), rel=1e-5)
        assert float(m.header.dmean) == pytest.approx(float(small.mean()), rel=1e-5)
        assert (float(m.header.dmin), float(m.header.dmax)) == (small.min(), small.max())


@pytest.mark.parametrize("dtype", [np.float32, np.int8])
def test_a_slab_map_is_written_as_the_whole_map_is(tmp_path, monkeypatch, dtype):
    """Made and written a few rows at a time, the file is byte for byte the whole map's (one
    slab), header statistics included; each slab is asked for once, in order."""
    import datetime

    import mrcfile.mrcobject
    from chimerax.deepssetracer.core import mapio
    from chimerax.deepssetracer.core.grid import SlabMap

    class Frozen(datetime.datetime):  # mrcfile's "Created by" label holds the second
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 12, 5, 3, 0, 0)

    monkeypatch.setattr(mrcfile.mrcobject, "datetime", Frozen)
    rng = np.random.default_rng(2)
    data = (rng.random((23, 9, 11)) * 3).astype(dtype)
    asked = []

    def rows(a: int, b: int) -> np.ndarray:
        asked.append((a, b))
        return data[a:b]

    whole = DensityMap(data, (1.5, 1.5, 1.5), (1, 2, 3), ("made here",))
    write_maps({tmp_path / "whole.mrc": whole})
    monkeypatch.setattr(mapio, "SLAB_WRITE_VOXELS", 9 * 11 * 4)  # 4 rows a slab
    slabs = SlabMap(data.shape, rows, (1.5, 1.5, 1.5), (1, 2, 3), ("made here",))
    write_maps({tmp_path / "slabs.mrc": slabs})
    assert asked == [(a, min(a + 4, 23)) for a in range(0, 23, 4)]
    assert (tmp_path / "slabs.mrc").read_bytes() == (tmp_path / "whole.mrc").read_bytes()
