"""Exceptions the core raises for users' mistakes, as opposed to bugs.

An `InputError` carries a one-line message that names the file and the problem, so the CLI can
print ``deepssetracer: error: <file>: <problem>`` and ChimeraX can raise it as a ``UserError``.
"""

from __future__ import annotations

import os


class InputError(ValueError):
    """A map, weights file or output folder that cannot be used, with the reason in one line."""

    def __init__(self, path: str | os.PathLike[str], problem: str):
        self.path = str(path)
        self.problem = " ".join(str(problem).split())  # always one line
        super().__init__(f"{self.path}: {self.problem}")


class Cancelled(Exception):
    """Raised by `predict_map` when its ``cancel`` callable returns true."""
