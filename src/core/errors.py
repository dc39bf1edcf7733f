"""Exceptions the core raises for users' mistakes, as opposed to bugs.

An `InputError` carries a one-line message that names the file and the problem, so the CLI can
print ``deepssetracer: error: <file>: <problem>`` and ChimeraX can raise it as a ``UserError``.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class InputError(ValueError):
    """A map, weights file or output folder that cannot be used, with the reason in one line."""

    def __init__(self, path: str | os.PathLike[str], problem: str):
        self.path = str(path)
        self.problem = " ".join(str(problem).split())  # always one line
        super().__init__(f"{self.path}: {self.problem}")


class OutputExists(InputError):
    """An output that is already there, so `predict.predict_file` refuses to write over it.

    ``stale``: it is an earlier run's labels map that this set would remove. The message is
    neutral; each front end says how to allow it (the CLI: ``--force``).
    """

    def __init__(self, path: str | os.PathLike[str], *, stale: bool = False):
        self.stale = stale
        super().__init__(path, "output of an earlier run exists" if stale else "output exists")


class Cancelled(Exception):
    """Raised by `predict_map` when its ``cancel`` callable returns true."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or SIGHUP) turned into an exception, so that cleanup code runs as for Ctrl-C.

    Attributes:
        signum: the signal's number (the CLI exits with 128 + signum).
    """

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"terminated by signal {signum}")


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise `Interrupted` instead of killing the process.

    Their default action skips ``finally`` blocks, leaving temporary files and half-replaced
    output pairs behind. Outside the main thread (where handlers cannot be set) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = [n for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    previous = {n: signal.getsignal(getattr(signal, n)) for n in names}

    def handler(signum, frame):
        raise Interrupted(signum)

    for n in names:
        signal.signal(getattr(signal, n), handler)
    try:
        yield
    finally:
        for n, old in previous.items():
            signal.signal(getattr(signal, n), old)
