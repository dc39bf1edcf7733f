"""The one-line answer of a subcommand whose optional dependencies are not installed.

`evaluate` needs the ``eval`` extra (scipy, gemmi, mdtraj; no PyTorch); `train` and `data`
need the ``train`` extra (PyTorch and the rest of training, ``eval`` included); `predict`
needs neither. setup.py's ``EXTRAS`` declares them; the distribution name is bundle_info.xml's
(tests check both).
"""

from __future__ import annotations

import importlib.util
import sys

DISTRIBUTION = "ChimeraX-DeepSSETracer"
# the modules of each extra that a subcommand imports, in the order they are checked
EXTRA_MODULES = {"eval": ("scipy", "gemmi", "mdtraj")}


def install_command(extra: str) -> str:
    """``pip install "ChimeraX-DeepSSETracer[extra]"``."""
    return f'pip install "{DISTRIBUTION}[{extra}]"'


def first_missing(extra: str) -> str | None:
    """The first of the extra's `EXTRA_MODULES` that cannot be imported, or None.

    Looked up without importing (scipy and mdtraj take seconds to import), so that a module
    imported only deep inside a run (gemmi, mdtraj: when the model is read) is named before it.
    """
    for module in EXTRA_MODULES.get(extra, ()):
        if importlib.util.find_spec(module) is None:
            return module
    return None


def missing_extra(command: str, err: ImportError, extra: str = "train") -> int:
    """Print why `command` cannot run and how to fix it, in one line; exit code 2."""
    missing = f"no module {err.name!r}" if err.name else str(err)
    print(f"deepssetracer {command}: needs the {extra!r} extra ({missing}): "
          f'{install_command(extra)} (from a checkout: pip install ".[{extra}]")',
          file=sys.stderr)
    return 2
