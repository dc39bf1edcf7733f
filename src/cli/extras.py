"""The one-line answer of a subcommand whose optional dependencies are not installed.

`evaluate`, `train` and `data` need the ``train`` extra (torch, scipy, gemmi, mdtraj, ...);
`predict` never does. The distribution name is bundle_info.xml's (a test checks it).
"""

from __future__ import annotations

import sys

DISTRIBUTION = "ChimeraX-DeepSSETracer"
INSTALL_TRAIN = f'pip install "{DISTRIBUTION}[train]"'


def missing_extra(command: str, err: ImportError) -> int:
    """Print why `command` cannot run and how to fix it, in one line; exit code 2."""
    missing = f"no module {err.name!r}" if err.name else str(err)
    print(f"deepssetracer {command}: needs the 'train' extra ({missing}): {INSTALL_TRAIN} "
          '(from a checkout: pip install ".[train]")', file=sys.stderr)
    return 2
