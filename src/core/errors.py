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


def unescaped(text: str) -> str:
    """`text` with its surrogate escapes (the bytes of a file name that are not UTF-8) shown as
    ``\\xff``: a str that any UTF-8 stream or JSON file can hold. Nothing else changes."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file name decodes to
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def printable(text: str | os.PathLike[str]) -> str:
    """`text` (a name, or a line holding names) safe to print as one line: `unescaped`, and
    control and other unprintable characters (newline, tab, ESC, U+2028) as ``\\n``,
    ``\\t``, ``\\x1b``, ``\\u2028``."""
    text = unescaped(os.fspath(text) if isinstance(text, os.PathLike) else str(text))
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " "
                   else c.encode("unicode_escape").decode("ascii") for c in text)


class InputError(ValueError):
    """A map, weights file or output folder that cannot be used, with the reason in one line
    (`printable`: a newline or undecodable byte in a file name cannot break it)."""

    def __init__(self, path: str | os.PathLike[str], problem: str):
        self.path = printable(path)
        self.problem = printable(" ".join(str(problem).split()))  # always one line
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
    from .atomic import set_handler  # a hold (`atomic.signals_held`) keeps its recorder

    names = [n for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]

    def handler(signum, frame):
        raise Interrupted(signum)

    previous = {n: set_handler(getattr(signal, n), handler) for n in names}
    try:
        yield
    finally:
        for n, old in previous.items():
            if old is not None:  # None: not set from Python, nothing to put back
                set_handler(getattr(signal, n), old)
