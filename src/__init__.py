"""DeepSSETracer: helix and sheet regions of medium-resolution cryo-EM maps.

The package imports in plain Python: the ChimeraX bundle API is created only when ChimeraX's
toolshed asks for ``bundle_api`` (inside the app), so the core and the command-line tool never
pay for or depend on ChimeraX. It is looked up on access, not at import, because the package
may have been imported before ChimeraX (a script, a test helper importing the core).
"""

from __future__ import annotations

__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "bundle_api":
        try:
            from ._bundle import bundle_api
        except ModuleNotFoundError as err:
            if err.name != "chimerax.core":
                raise
            raise AttributeError("bundle_api exists only inside ChimeraX") from err
        return bundle_api
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
