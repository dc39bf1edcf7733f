"""Temp-then-rename writing: a reader sees the old file or the new one, never half of one.

`atomic_path` is the one helper: it hands out a hidden temporary name beside the target (same
folder, so `os.replace` is a rename on one file system) and moves it into place only when the
writing finished; on any error the temporary file is removed and the target is untouched.
`mapio.write_maps` builds its all-or-none set of outputs from the same pieces (`hidden_name`,
`signals_held`). The training package (JSON, checkpoints, caches) and the ONNX export use it too.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def hidden_name(path: str | os.PathLike[str], kind: str = "tmp", suffix: str = "") -> Path:
    """A short unique hidden name beside `path` (short, so any legal output name fits).

    Not `tempfile.mkstemp`: its 0600 mode would survive `os.replace`; these names honour umask.
    ``suffix`` is for writers that insist on one (`numpy.savez` appends ``.npz`` otherwise).
    """
    path = Path(path)
    return path.parent / f".deepssetracer-{uuid.uuid4().hex[:12]}.{kind}{suffix}"


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """``with atomic_path(p) as tmp: write(tmp)``: `tmp` replaces `p` when the block ends.

    If the block raises, `p` is left as it was and `tmp` is removed.
    """
    path = Path(path)
    tmp = hidden_name(path, "tmp", suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def signals_held() -> Iterator[None]:
    """Block SIGINT, SIGTERM and SIGHUP (where the platform can) for a few renames."""
    block = getattr(signal, "pthread_sigmask", None)
    sigs = {getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)}
    old = block(signal.SIG_BLOCK, sigs) if block else None
    try:
        yield
    finally:
        if block:
            block(signal.SIG_SETMASK, old)
