"""The output folder of `predict.predict_file`: checked before any work, locked per map stem.

Two runs that write the same ``<stem>_helix.mrc`` / ``_sheet.mrc`` pair into one folder (two
folders' ``map.mrc``, say) must not interleave: the one that fails would delete, or half
replace, the other's files. So each run holds an exclusive lock on a hidden file named after
the stem, from before its exists-check until its files are in place, and a second run is refused
at once. The lock is `fcntl.flock`, which the system drops when its holder dies, so a killed run
leaves no stale lock. Where there is no flock (Windows) the lock file's existence is the lock.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

LOCK_PREFIX = ".deepssetracer-"
NAME_MAX = 255  # bytes in a file name where the folder does not say


def prepare_outdir(outdir: Path) -> bool:
    """Create `outdir` if needed (True when this call created it; see `make_outdir`).

    Raises:
        InputError: it is a file, or it cannot be created.
    """
    return Path(outdir) in make_outdir(outdir)


def make_outdir(outdir: Path) -> list[Path]:
    """Create `outdir` and any missing folders above it, one level at a time; the levels this
    call created, top first (for `remove_created`).

    A level that another process creates meanwhile (two runs given the same new ``-o``) is
    taken as it is, not an error, and not counted as this call's.

    Raises:
        InputError: it, or a level above it, is a file, or it cannot be created.
    """
    outdir = Path(outdir)
    missing = []
    level = outdir
    while not level.is_dir():
        if os.path.lexists(level) and not level.is_symlink():
            raise InputError(outdir, "output folder is an existing file" if level == outdir
                             else f"cannot create the output folder ({level} is a file)")
        missing.append(level)
        if level.parent == level:
            break
        level = level.parent
    created: list[Path] = []
    for level in reversed(missing):
        try:
            os.mkdir(level)
        except FileExistsError:
            if level.is_dir():  # another run made it first: fine, but it is not ours
                continue
            remove_created(created)
            raise InputError(outdir, "output folder is an existing file" if level == outdir
                             else f"cannot create the output folder ({level} is a file)") from None
        except OSError as err:
            remove_created(created)
            raise InputError(outdir, f"cannot create the output folder ({err.strerror})") from None
        created.append(level)
    return created


def remove_created(created: list[Path]) -> None:
    """Remove the folders `make_outdir` created (deepest first) that are still empty; a folder
    that is not (another run wrote into it) is kept, with everything above it."""
    for level in reversed(created):
        try:
            level.rmdir()
        except OSError:
            return


def file_keys(path: Path) -> set:
    """What makes two names one file: the path with every symbolic link resolved, and, if it
    exists, its device and inode (a hard link, a bind mount). Two paths whose keys meet are the
    same file, so writing one loses the other."""
    keys: set = {("path", os.path.normcase(os.path.realpath(path)))}
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return keys
    keys.add(("inode", st.st_dev, st.st_ino))
    return keys


def check_names(paths: Iterable[Path]) -> None:
    """Refuse output names the folder's file system cannot hold (temporary names are short)."""
    for p in paths:
        try:
            limit = os.pathconf(p.parent, "PC_NAME_MAX")
        except (OSError, ValueError, AttributeError):
            limit = NAME_MAX
        n = len(os.fsencode(p.name))
        if n > limit:
            raise InputError(p, f"output file name is {n} bytes long; the folder allows {limit} "
                                "(rename the map shorter)")


def free_bytes(folder: Path) -> int:
    """Bytes free for this user on `folder`'s file system."""
    return shutil.disk_usage(folder).free


def check_space(outdir: Path, needed: int) -> None:
    """Refuse before predicting when the outputs cannot fit on the disk."""
    free = free_bytes(outdir)
    if needed > free:
        raise InputError(outdir, f"only {free / 2**20:.1f} MiB free on the output folder's "
                                 f"disk; the outputs need about {needed / 2**20:.1f} MiB")


@contextmanager
def output_lock(outdir: Path, stem: str, name: Path) -> Iterator[None]:
    """Hold the lock of the outputs of map stem `stem` in `outdir` (`name` is what a refusal
    names).

    Raises:
        InputError: another run holds it, or the folder is not writable.
    """
    digest = hashlib.sha256(stem.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    path = outdir / f"{LOCK_PREFIX}{digest}.lock"
    busy = InputError(name, "another deepssetracer run is writing this map's outputs into "
                            f"{outdir} now; wait for it to finish or choose another -o folder")
    while True:
        fd = _open_lock(path, outdir, busy)
        if fcntl is None:
            break
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise busy from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # its holder removed the file as we opened it: lock the new one
    try:
        yield
    finally:
        path.unlink(missing_ok=True)  # while still holding it, so no one locks a removed file
        os.close(fd)


def _open_lock(path: Path, outdir: Path, busy: InputError) -> int:
    flags = os.O_RDWR | os.O_CREAT | (os.O_EXCL if fcntl is None else 0)
    try:
        return os.open(path, flags, 0o644)
    except FileExistsError:
        raise busy from None
    except OSError as err:
        raise InputError(outdir, f"cannot write into the output folder ({err.strerror})") from None
