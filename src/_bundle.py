"""The ChimeraX entry points of the bundle: the command and the panel, both imported lazily.

`chimerax.deepssetracer` imports this module only inside ChimeraX, so ChimeraX start-up pays for
neither onnxruntime nor Qt: the toolshed calls `register_command` the first time someone types
``deepssetracer`` and `start_tool` when the panel is opened.
"""

from __future__ import annotations

from chimerax.core.toolshed import BundleAPI


class _DeepSSETracerAPI(BundleAPI):
    api_version = 1

    @staticmethod
    def register_command(bi, ci, logger):
        from .cmd import register_command

        register_command(ci.name, logger)

    @staticmethod
    def start_tool(session, bi, ti):
        from .tool import DeepSSETracerTool

        return DeepSSETracerTool(session, ti.name)

    @staticmethod
    def get_class(class_name):
        # what session files name: the state manager that keeps which models are results
        if class_name == "ResultLinks":
            from .results import ResultLinks

            return ResultLinks
        return None


bundle_api = _DeepSSETracerAPI()
