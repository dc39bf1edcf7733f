"""MRC/CCP4 maps <-> `DensityMap`: the one place where file axes and header origins are handled.

Inside the project a map is a C-order ``[z, y, x]`` float32 array plus ``(x, y, z)`` voxel
size and origin in Å, the origin being the position of the centre of voxel ``[0, 0, 0]``.

Where the grid lies in space follows ChimeraX 1.7 (``map_data/mrc/mrc_format.py``), so that our
outputs overlay the input when both are opened in ChimeraX:

* voxel size = ``CELLA / (MX, MY, MZ)`` along x, y, z;
* file axes: column, row and section run along the axes named by ``MAPC, MAPR, MAPS``;
* origin, for ``.mrc`` files (MRC2000/2014 layout, ``'MAP '`` at byte 208): the ``ORIGIN`` x, y, z
  fields when any of them is non-zero (and finite); otherwise, and always for ``.map`` and
  ``.ccp4`` files (ChimeraX opens those as CCP4, whose header has no ORIGIN field), the
  ``NCSTART, NRSTART, NSSTART`` of the file axes that run along x, y, z times the voxel size.
  Start indices larger than 10 times the grid size are uninitialised garbage: origin 0, as ChimeraX.

Mode 0 (bytes) is signed, as MRC2014 says, except where ChimeraX reads it unsigned: a file that
IMOD stamped (``imodStamp`` 1146047817 at byte 152) without its "signed bytes" flag (bit 0 of
``imodFlags``), or an old-style MRC without the ``'MAP '`` ID; ``.map``/``.ccp4`` are signed.

Gzipped maps (``emd_1234.map.gz``, as EMDB distributes them) are read through `gzip`, streamed:
the header first (so the checks and the memory limit come before any data), then the data block;
the suffix rules above apply to the name without ``.gz``, and `map_stem` drops both suffixes.
A corrupt or incomplete gzip file is refused naming gzip's reason, not the MRC header.

Stacks are refused, not read as a volume: ``.mrcs`` files, image stacks (``ISPG`` 0 with
``MZ`` 1 and ``NZ`` > 1, as mrcfile writes them) and volume stacks (``ISPG`` 401-630 with
``NZ`` > ``MZ``). Maps that older tools wrote with ``ISPG`` 0 and ``MZ = NZ`` are volumes.

`write_map` always writes MRC2014 with ``MAPC, MAPR, MAPS = 1, 2, 3``, ``NSTART = 0`` and the
origin in the ``ORIGIN`` fields, which the rule above reads back to the same place (a ``.map``
or ``.ccp4`` output name would lose a non-zero origin in ChimeraX, so outputs are ``.mrc``).
"""

from __future__ import annotations

import gzip
import logging
import math
import os
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import mrcfile
import numpy as np
from mrcfile.dtypes import HEADER_DTYPE
from mrcfile.utils import byte_order_from_machine_stamp

from .atomic import hidden_name, signals_held
from .errors import InputError, terminate_as_interrupt
from .grid import DensityMap, SlabMap
from .memory import check_memory

log = logging.getLogger(__name__)

HEADER_BYTES = 1024
CCP4_SUFFIXES = (".map", ".ccp4")  # ChimeraX reads these as CCP4: ORIGIN is ignored
MODES = {0: np.int8, 1: np.int16, 2: np.float32, 6: np.uint16, 12: np.float16}
IMOD_STAMP = 1146047817
IMOD_SIGNED_BYTES = 0x1  # imodFlags bit 0: mode-0 bytes are signed
STACK_SUFFIXES = (".mrcs",)
VOLUME_STACKS = range(401, 631)  # ISPG of a stack of volumes (MRC2014)
GZIP_SUFFIX = ".gz"
# A data block larger than this (256 TiB) is a corrupt header, not a map: refused naming the
# sizes before any estimate is made from them (their product overflowed int64 once).
MAX_DATA_BYTES = 2**48


# ---------------------------------------------------------------------------------------------
# Reading


def is_gzip(path: str | os.PathLike[str]) -> bool:
    """Whether the map file is gzipped (named ``*.gz``)."""
    return Path(path).suffix.lower() == GZIP_SUFFIX


def map_suffix(path: str | os.PathLike[str]) -> str:
    """The map's own suffix, lower case, ``.gz`` set aside: ``.map`` for ``emd_1.map.gz``."""
    path = Path(path)
    return (path.with_suffix("") if is_gzip(path) else path).suffix.lower()


def map_stem(path: str | os.PathLike[str]) -> str:
    """The name outputs are called after: ``emd_1234`` for ``emd_1234.map`` and ``.map.gz``."""
    path = Path(path)
    return (path.with_suffix("") if is_gzip(path) else path).stem


GridCheck = Callable[[tuple[int, int, int], tuple[float, float, float]], None]


def read_map(path: str | os.PathLike[str], *, check_grid: GridCheck | None = None) -> DensityMap:
    """Read an MRC/CCP4 map, gzipped or not, into the ``[z, y, x]`` convention.

    Args:
        path: the map file.
        check_grid: ``check_grid(shape_zyx, voxel_size)``, run on the header's grid before any
            data are read (it raises to refuse the map). It replaces the check that reading
            fits in memory, so it must count the read: `predict.read_checked` passes the
            prediction's checks, whose memory estimate holds the map (default: that check).

    Raises:
        InputError: the file is missing, not a map, truncated, not a valid gzip file, or has a
            header field that makes it unusable (the message names the field); or as
            `check_grid` raises.
    """
    path = Path(path)
    size = _check_file(path)
    gzipped = is_gzip(path)
    geometry = _Geometry(path, _read_header(path, gzipped), None if gzipped else size)
    if check_grid is None:
        check_memory(path, geometry.shape_zyx, needed_bytes=geometry.n_voxels * 4 * 2,
                     what="reading")
    else:
        check_grid(geometry.shape_zyx, geometry.voxel_size)
    raw = _read_gzip_data(path, geometry) if gzipped else _read_plain_data(path, geometry)
    return DensityMap(geometry.to_zyx(raw), geometry.voxel_size, geometry.origin)


def _read_plain_data(path: Path, geometry: _Geometry) -> np.ndarray:
    """The data block of an uncompressed map, as mrcfile's ``[section, row, column]`` array.

    Read into memory with plain reads, never memory-mapped: a mapped file that shrinks while
    it is read (another program rewriting it, a network share) kills the process with SIGBUS,
    past any cleanup; a read that comes up short is one `InputError` instead.
    """
    buf = bytearray(geometry.data_bytes)
    view = memoryview(buf)
    got = 0
    try:
        with open(path, "rb") as f:
            f.seek(geometry.data_offset)
            while got < len(buf):
                n = f.readinto(view[got:])
                if not n:
                    break
                got += n
    except OSError as err:
        raise InputError(path, f"cannot read the data block ({err.strerror or err})") from None
    if got < len(buf):
        raise InputError(path, f"truncated while it was read: the header needs "
                               f"{geometry.data_offset + len(buf)} bytes, the file now ends "
                               f"at {geometry.data_offset + got} (is another program writing "
                               "it?)")
    return np.frombuffer(buf, dtype=geometry.dtype).reshape(geometry.file_shape)


def _read_header(path: Path, gzipped: bool = False) -> np.recarray:
    """The 1024-byte header in mrcfile's layout, in the byte order that makes sense of it.

    Parsed here rather than by ``mrcfile.open`` so that a bad field (a negative NSYMBT, say)
    becomes an `InputError` naming it instead of an exception from deep inside mrcfile. The byte
    order is the machine stamp's, or the other one when only that gives a valid MODE and NX (as
    mrcfile's permissive mode does).
    """
    if gzipped:
        with _gzip_errors(path), gzip.open(path, "rb") as f:
            raw = f.read(HEADER_BYTES)
        if len(raw) < HEADER_BYTES:
            raise InputError(path, f"not an MRC/CCP4 map: it unzips to {len(raw)} bytes, "
                                   f"shorter than the {HEADER_BYTES}-byte header")
    else:
        with open(path, "rb") as f:
            raw = f.read(HEADER_BYTES)
    header = np.frombuffer(raw, dtype=HEADER_DTYPE).reshape(()).view(np.recarray)
    try:
        first = byte_order_from_machine_stamp(header.machst)
    except ValueError:
        first = "<"
    for order in (first, ">" if first == "<" else "<"):
        h = header.view(HEADER_DTYPE.newbyteorder(order)).view(np.recarray)
        if int(h.mode) in MODES and int(h.nx) > 0:
            return h
    return header.view(HEADER_DTYPE.newbyteorder(first)).view(np.recarray)


@contextmanager
def _gzip_errors(path: Path) -> Iterator[None]:
    """gzip's and zlib's failures as one `InputError` naming the real reason."""
    try:
        yield
    except EOFError:
        raise InputError(path, "corrupt gzip file: it ends before its end-of-stream marker "
                               "(an incomplete download?)") from None
    except gzip.BadGzipFile as err:
        if str(err).startswith("Not a gzipped file"):
            raise InputError(path, "is named .gz but is not a gzip file (no gzip signature); "
                                   "if it is a plain map, rename it without .gz") from None
        raise InputError(path, f"corrupt gzip file ({err})") from None
    except zlib.error as err:
        raise InputError(path, f"corrupt gzip file ({err})") from None
    except OSError as err:
        raise InputError(path, f"cannot read ({err.strerror or err})") from None


def _read_gzip_data(path: Path, geometry: _Geometry) -> np.ndarray:
    """The data block of a gzipped map, as mrcfile's ``[section, row, column]`` array.

    Read to the end of the stream, so that gzip checks its CRC and length.
    """
    buf = bytearray(geometry.data_bytes)
    view = memoryview(buf)
    got = 0
    with _gzip_errors(path), gzip.open(path, "rb") as f:
        f.seek(geometry.data_offset)  # decompresses and discards the extended header
        while got < len(buf):
            n = f.readinto(view[got:])
            if not n:
                break
            got += n
        while f.read(1 << 20):  # anything after the data, and gzip's own checks at the end
            pass
    geometry.check_size(geometry.data_offset + got)
    return np.frombuffer(buf, dtype=geometry.dtype).reshape(geometry.file_shape)


FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
              (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
              (stat.S_ISBLK, "a block device"))


def _check_file(path: Path) -> int:
    """The file's size, after refusing what is not a regular file (reading a FIFO would hang)."""
    size = check_regular_file(path)
    if size == 0:
        raise InputError(path, "empty file")
    if size < HEADER_BYTES and not is_gzip(path):  # a gzipped map can be that small
        raise InputError(path, f"not an MRC/CCP4 map: {size} bytes is shorter than the "
                               f"{HEADER_BYTES}-byte header")
    return size


def check_regular_file(path: str | os.PathLike[str], what: str = "a map file") -> int:
    """The size of `path`, after refusing a missing file, a dangling link, and what is not a
    regular file (a directory, FIFO, socket or device: reading a FIFO would hang), the message
    saying it is not `what`."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(path, "no such file" if not path.is_symlink()
                         else "is a dangling symbolic link") from None
    except OSError as err:
        raise InputError(path, f"cannot read ({err.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = next((k for test, k in FILE_KINDS if test(st.st_mode)), "not a regular file")
        raise InputError(path, f"is {kind}, not {what}")
    return st.st_size


class _Geometry:
    """Checks the header field by field and derives the grid, axis order and origin from it."""

    def __init__(self, path: Path, h: np.recarray, file_size: int | None):
        """`file_size` None: not known yet (gzip); `check_size` once the data are read."""
        self.path = path
        has_id = bytes(h.map)[:3] == b"MAP"
        # A file without the 'MAP' ID may be an old-style MRC: accept it if the header is
        # consistent, but say that it may not be a map at all when it is not.
        self._prefix = "" if has_id else "not an MRC/CCP4 map (no 'MAP' ID) or a corrupt header: "

        crs_size = (int(h.nx), int(h.ny), int(h.nz))
        if min(crs_size) <= 0:
            self._fail(f"grid size NX, NY, NZ = {crs_size} must be positive")
        mode = int(h.mode)
        if mode not in MODES:
            self._fail(f"MODE = {mode} is not a supported data type "
                       f"(supported: {', '.join(map(str, MODES))})")
        self._check_not_a_stack(h, crs_size[2])
        self.unsigned_bytes = mode == 0 and self._unsigned_bytes(h)
        axes = (int(h.mapc), int(h.mapr), int(h.maps))
        if axes == (0, 0, 0):  # some writers leave these unset; ChimeraX then assumes 1, 2, 3
            axes = (1, 2, 3)
        if sorted(axes) != [1, 2, 3]:
            self._fail(f"MAPC, MAPR, MAPS = {axes} is not an order of the axes 1, 2, 3")
        nsymbt = int(h.nsymbt)
        if nsymbt < 0:
            self._fail(f"NSYMBT = {nsymbt} is negative")
        self.dtype = np.dtype(MODES[mode]).newbyteorder(h.dtype.fields["mode"][0].byteorder)
        self.data_offset = HEADER_BYTES + nsymbt
        self.data_bytes = math.prod(crs_size) * self.dtype.itemsize  # Python ints: no wrap
        self._summary = f"NX, NY, NZ = {crs_size}, MODE {mode}, NSYMBT {nsymbt}"
        if self.data_bytes > MAX_DATA_BYTES:
            self._fail(f"grid size NX, NY, NZ = {crs_size} (MODE {mode}) makes a data block "
                       f"of {self.data_bytes:.3g} bytes, beyond any real map (at most "
                       f"{MAX_DATA_BYTES // 2**40} TiB): a corrupt header")
        if file_size is not None:
            self.check_size(file_size)

        # crs_to_xyz[c] = spatial axis (0 x, 1 y, 2 z) of file axis c (0 column, 1 row, 2 section)
        crs_to_xyz = [a - 1 for a in axes]
        self.xyz_to_crs = xyz_to_crs = [crs_to_xyz.index(a) for a in range(3)]
        self.shape_xyz = tuple(crs_size[xyz_to_crs[a]] for a in range(3))
        self.shape_zyx = self.shape_xyz[::-1]
        self.file_shape = crs_size[::-1]  # mrcfile's [section, row, column] array
        self.n_voxels = math.prod(self.shape_xyz)
        # mrcfile's array is [section, row, column]; array axis d holds file axis 2 - d.
        self.file_to_zyx = tuple(2 - xyz_to_crs[2 - d] for d in range(3))

        cells = [float(c) for c in (h.cella.x, h.cella.y, h.cella.z)]
        samples = (int(h.mx), int(h.my), int(h.mz))
        if min(samples) <= 0:
            self._fail(f"MX, MY, MZ = {samples} must be positive (voxel size undefined)")
        if not all(np.isfinite(cells)) or min(cells) <= 0:
            self._fail(f"cell size CELLA = {tuple(cells)} must be positive (voxel size undefined)")
        self.voxel_size = tuple(c / m for c, m in zip(cells, samples))
        self._check_angles(tuple(float(a) for a in (h.cellb.alpha, h.cellb.beta, h.cellb.gamma)))
        self.origin = self._origin(h, crs_size, samples)

    def _fail(self, problem: str):
        raise InputError(self.path, self._prefix + problem)

    def check_size(self, file_size: int) -> None:
        """Refuse a file (or unzipped stream) too short for the data the header promises."""
        needed = self.data_offset + self.data_bytes
        if file_size < needed:
            self._fail(f"truncated: the header ({self._summary}) needs {needed} bytes, the "
                       f"{'unzipped ' * is_gzip(self.path)}file has {file_size}")

    def to_zyx(self, raw: np.ndarray) -> np.ndarray:
        """The C-order float32 ``[z, y, x]`` array of mrcfile's ``[section, row, column]`` one."""
        raw = raw.reshape(self.file_shape)
        if self.unsigned_bytes:
            raw = raw.view(np.uint8)
        return np.ascontiguousarray(raw.transpose(self.file_to_zyx), dtype=np.float32)

    def _check_not_a_stack(self, h: np.recarray, nz: int) -> None:
        ispg, mz = int(h.ispg), int(h.mz)
        if map_suffix(self.path) in STACK_SUFFIXES:
            self._fail(f"is an image stack ({map_suffix(self.path)} file of {nz} images), not a "
                       "volume")
        if ispg == 0 and mz == 1 and nz > 1:
            self._fail(f"is an image stack (ISPG 0, MZ 1: {nz} images), not a volume; if it is "
                       "a volume, set MZ to NZ in its header")
        if ispg in VOLUME_STACKS and 0 < mz < nz:
            self._fail(f"is a stack of {nz // mz} volumes (ISPG {ispg}, NZ {nz}, MZ {mz}); "
                       "extract one volume first")

    def _unsigned_bytes(self, h: np.recarray) -> bool:
        """Whether ChimeraX reads this file's mode-0 bytes as unsigned (module docstring)."""
        if map_suffix(self.path) in CCP4_SUFFIXES:
            return False
        if bytes(h.map) != b"MAP ":
            return True
        words = np.frombuffer(h.tobytes(), dtype=h.dtype.fields["nx"][0])  # header's byte order
        stamp, flags = int(words[38]), int(words[39])  # bytes 152 and 156
        return stamp == IMOD_STAMP and not flags & IMOD_SIGNED_BYTES

    def _check_angles(self, angles: tuple[float, float, float]) -> None:
        valid = (all(0 < a < 180 for a in angles) and sum(angles) < 360
                 and max(angles) < 0.5 * sum(angles))
        # ChimeraX treats invalid angles (often all zero) as 90 degrees; a real skewed cell is
        # crystallographic data this tool does not handle.
        if valid and max(abs(a - 90.0) for a in angles) > 1e-3:
            self._fail(f"cell angles CELLB = {angles} are not 90 degrees (skewed grids are not "
                       "supported)")

    def _origin(self, h, crs_size, samples) -> tuple[float, float, float]:
        step = np.asarray(self.voxel_size)
        xyz = np.array([float(h.origin.x), float(h.origin.y), float(h.origin.z)])
        is_mrc2000 = bytes(h.map) == b"MAP " and map_suffix(self.path) not in CCP4_SUFFIXES
        if (is_mrc2000 and np.any(xyz != 0) and np.all(np.isfinite(xyz))
                and np.all(xyz + step != xyz)):
            return tuple(xyz.tolist())
        if np.any(xyz != 0) and np.all(np.isfinite(xyz)) and not is_mrc2000:
            log.info("%s: ORIGIN fields %s ignored, as ChimeraX does for this file type",
                     self.path, tuple(xyz))
        crs_start = (int(h.nxstart), int(h.nystart), int(h.nzstart))
        start = [crs_start[c] for c in self.xyz_to_crs]
        if max(abs(s) for s in start) > 10 * max(*samples, *crs_size):
            return (0.0, 0.0, 0.0)
        return tuple((np.asarray(start) * step).tolist())


# ---------------------------------------------------------------------------------------------
# Writing


def write_map(path: str | os.PathLike[str], dmap: DensityMap, *, overwrite: bool = False) -> Path:
    """Write `dmap` as MRC2014 (x fastest, origin in ORIGIN), atomically (see `write_maps`).

    Float data is stored as float32, integer data (label maps, values 0-127) as int8 (mode 0).

    Raises:
        FileExistsError: `path` exists (a dangling symbolic link counts) and `overwrite` is false.
        InputError: the file cannot be written (the message names `path`, not a temporary file).
    """
    return write_maps({Path(path): dmap}, overwrite=overwrite)[0]


def write_maps(maps: Mapping[Path, DensityMap | SlabMap | str], *, overwrite: bool = False,
               remove: Iterable[Path] = ()) -> list[Path]:
    """Write several outputs so that they all change together or none does.

    Each value is a `DensityMap` (written as MRC2014, as `write_map` does), a `SlabMap`
    (the same, made and written a slab at a time) or a `str` (written
    as UTF-8 text: the elements and residue files of ``predict --elements`` / ``--model``, or
    the ``--json`` report on its own), so one set holds all of a run's outputs.

    `remove` names files of the same set that this write replaces by nothing (an earlier
    run's labels map, say): they go with the swap, so a failure puts them back too (folders
    and other special files among them are left alone).

    Every output is first written in full to a hidden temporary file in its folder; only then are
    they moved into place with `os.replace`, each existing file first renamed to a backup that
    is put back if any later step fails. Signals are held while the files are being swapped and
    the backups deleted (`atomic.signals_held`: recorded, delivered after; a block, not a
    handler, so a kill that reaches another thread waits too), and SIGTERM meanwhile raises
    like Ctrl-C (`errors.terminate_as_interrupt`), so neither a full disk, nor Ctrl-C, nor
    ``kill`` leaves a new file beside an old one, a backup or a temporary file behind (only
    SIGKILL can): the set is all new with no backup, or all old.

    Only a regular file (or a symbolic link, even dangling, not to a folder or other special
    file) is ever replaced: a folder, FIFO, socket or device at an output name is refused, and
    in `remove` left alone, never moved aside.

    Raises:
        FileExistsError: an output exists and `overwrite` is false.
        InputError: a file cannot be written, naming the output it was for; an output name is
            held by a folder or another special file.
    """
    paths = [Path(p) for p in maps]
    for p in paths:
        kind = special_kind(p)
        if kind:
            raise InputError(p, f"is {kind}, not a file: it is never replaced")
    removed = [Path(p) for p in remove if Path(p) not in paths and not special_kind(Path(p))]
    if not overwrite:
        for p in paths:
            if os.path.lexists(p):
                raise FileExistsError(f"{p} exists")
    temps: dict[Path, Path] = {}
    with terminate_as_interrupt():
        try:
            for p, content in maps.items():
                temps[Path(p)] = tmp = hidden_name(Path(p), "tmp")
                _write_file(tmp, content, Path(p))
        except BaseException:
            _unlink_all(temps.values())
            raise
        with signals_held():
            try:
                _swap_in(temps, removed)
            finally:
                _unlink_all(temps.values())
    return paths


def special_kind(path: Path) -> str:
    """What `path` is when it is something `write_maps` never replaces or removes: "a folder",
    "a FIFO (named pipe)", ..., "a symbolic link to a folder" ("" for a regular file, a link to
    one, a dangling link, or nothing)."""
    try:
        st = os.lstat(path)
    except OSError:
        return ""
    link = stat.S_ISLNK(st.st_mode)
    if link:
        try:
            st = os.stat(path)
        except OSError:  # dangling (or a loop): replacing the link loses nothing it points to
            return ""
    if stat.S_ISREG(st.st_mode):
        return ""
    kind = next((k for test, k in FILE_KINDS if test(st.st_mode)), "not a regular file")
    kind = "a folder" if kind == "a directory" else kind
    return f"a symbolic link to {kind}" if link else kind


def _unlink_all(paths: Iterable[Path]) -> None:
    for p in paths:
        try:
            p.unlink(missing_ok=True)
        except OSError:
            log.warning("%s: could not remove this temporary file", p)


def _write_file(tmp: Path, content: DensityMap | SlabMap | str, path: Path) -> None:
    if isinstance(content, str):
        try:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write(content)
        except OSError as err:
            raise InputError(path, f"cannot write ({err.strerror or err})") from None
        return
    if isinstance(content, DensityMap):  # one writer: a whole map, given as its own rows
        data = content.data
        content = SlabMap(data.shape, lambda start, stop: data[start:stop], content.voxel_size,
                          content.origin, content.labels)
    if not isinstance(content, SlabMap):
        raise TypeError(f"{path}: an output is a DensityMap, a SlabMap or a str, not "
                        f"{type(content).__name__}")
    try:
        _write_slabs(tmp, content)
    except OSError as err:
        raise InputError(path, f"cannot write ({err.strerror or err})") from None


def _file_dtype(data: np.ndarray) -> np.ndarray:
    """Labels as int8 (mode 0), densities as float32 (mode 2)."""
    if np.issubdtype(data.dtype, np.integer):
        if data.size and (data.min() < -128 or data.max() > 127):
            raise ValueError(f"integer map values must fit int8, got {data.min()}..{data.max()}")
        return data.astype(np.int8)
    return data.astype(np.float32, copy=False)


def _set_grid_header(mrc, dmap: DensityMap | SlabMap) -> None:
    """Voxel size, origin, axis order and provenance labels of an output map."""
    mrc.voxel_size = dmap.voxel_size
    mrc.header.origin = dmap.origin
    mrc.header.nxstart = mrc.header.nystart = mrc.header.nzstart = 0
    mrc.header.mapc, mrc.header.mapr, mrc.header.maps = 1, 2, 3
    for label in dmap.labels[:MAX_LABELS - int(mrc.header.nlabl)]:
        mrc.add_label(header_label(label))


SLAB_WRITE_VOXELS = 1 << 23  # voxels of a `SlabMap` made and written at once (32 MiB float32)


def _write_slabs(tmp: Path, smap: SlabMap) -> None:
    """A map as MRC2014, a slab of rows at a time: mrcfile writes the header of a data block it
    never touches, the slabs follow with plain writes (a memory map would keep every written
    page in the process), and the statistics, known only at the end, go into the header last.

    DMIN, DMAX, DMEAN and RMS come from float64 statistics of each slab, merged (Chan et al.'s
    pairwise update): mrcfile's own are float32, where a map holding 1e30 overflows
    (``overflow encountered in square``, an inf RMS); a float32 map's mean and RMS never pass
    its largest |value|, so they fit the float32 fields."""
    nz, ny, nx = smap.shape
    per = max(1, SLAB_WRITE_VOXELS // max(1, ny * nx))
    slab = _file_dtype(smap.rows(0, min(per, nz)))
    mode = 0 if slab.dtype == np.int8 else 2
    with mrcfile.new_mmap(tmp, shape=smap.shape, mrc_mode=mode, overwrite=True) as mrc:
        _set_grid_header(mrc, smap)
        offset = int(mrc.header.nbytes) + int(mrc.header.nsymbt)
        dtype = mrc.data.dtype  # the file's byte order
    if not nz * ny * nx:
        return
    lo, hi, count, mean, m2, start = math.inf, -math.inf, 0, 0.0, 0.0, 0
    with open(tmp, "r+b") as f:
        f.seek(offset)
        while True:
            f.write(np.ascontiguousarray(slab, dtype=dtype).tobytes())
            flat = slab.reshape(-1).astype(np.float64)
            lo, hi = min(lo, float(flat.min())), max(hi, float(flat.max()))
            n, slab_mean = flat.size, float(flat.mean())
            flat -= slab_mean
            delta, count = slab_mean - mean, count + n
            mean += delta * n / count
            m2 += float(np.dot(flat, flat)) + delta * delta * n * (count - n) / count
            start += slab.shape[0]
            if start >= nz:
                break
            slab = _file_dtype(smap.rows(start, min(start + per, nz)))
    with mrcfile.mmap(tmp, mode="r+") as mrc:
        mrc.header.dmin, mrc.header.dmax = np.float32(lo), np.float32(hi)
        mrc.header.dmean = np.float32(mean)
        mrc.header.rms = np.float32(math.sqrt(m2 / count))


MAX_LABELS, LABEL_CHARS = 10, 80  # MRC2014: ten 80-byte text labels


def header_label(text: str) -> str:
    """`text` as an MRC header label: one line of printable ASCII (others as backslash
    escapes), at most `LABEL_CHARS` characters."""
    text = " ".join(str(text).split()).encode("ascii", "backslashreplace").decode("ascii")
    return "".join(c if c.isprintable() else "?" for c in text)[:LABEL_CHARS]


def _swap_in(temps: Mapping[Path, Path], removed: Iterable[Path] = ()) -> None:
    """Move each temporary file onto its output and each of `removed` away; on any failure put
    every old file back."""
    backups: dict[Path, Path] = {}
    placed: list[Path] = []
    current = None
    try:
        for current in removed:
            if os.path.lexists(current):
                backups[current] = hidden_name(current, "bak")
                os.replace(current, backups[current])
        for current, tmp in temps.items():
            if os.path.lexists(current):
                backups[current] = hidden_name(current, "bak")
                os.replace(current, backups[current])
            os.replace(tmp, current)
            placed.append(current)
    except BaseException as err:
        for path in placed:
            if path not in backups:
                path.unlink(missing_ok=True)
        for path, backup in backups.items():
            os.replace(backup, path)
        if isinstance(err, OSError):
            raise InputError(current, f"cannot write ({err.strerror or err})") from None
        raise
    _unlink_all(backups.values())  # the set is in: a backup that stays is no reason to fail
