"""DeepSSETracer: helix and sheet regions of medium-resolution cryo-EM maps.

The package imports in plain Python: the ChimeraX bundle API is created only when ChimeraX
itself has already been loaded (inside the app), so the core and the command-line tool never
pay for or depend on ChimeraX.
"""

from __future__ import annotations

import sys

__version__ = "0.1.0"

if "chimerax.core" in sys.modules:  # running inside ChimeraX
    from ._bundle import bundle_api  # noqa: F401
