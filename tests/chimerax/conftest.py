"""One real headless ChimeraX session for the whole test run, and what the tests open in it.

Run with the ChimeraX venv that scripts/setup_chimerax.sh builds:
``VENV/bin/python -m pytest tests/chimerax -q``. Elsewhere every test here skips, saying why.

ChimeraX registers commands process-wide, so a process can hold only one `Session`: the
session fixture is session-scoped and `cx` closes every model after each test.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import time
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
EXAMPLE_MAPS = (ROOT / "examples" / "emd8518_5u8s_A.mrc",
                SHARED / "data" / "real" / "emd8518_5u8s_A" / "map.mrc")
CROP = "10,10,10,60,60,40"  # what the tests crop the example map to
RECORDER = None  # the session's log (see _recorder)



def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.chimerax)


def _missing_chimerax() -> str | None:
    try:
        import chimerax.core.nogui  # noqa: F401  (the PyPI wheel lacks it until set up)
        import chimerax.map  # noqa: F401
    except ImportError as err:
        return (f"headless ChimeraX not importable here ({err}); build it with "
                "'bash scripts/setup_chimerax.sh VENV' and run 'VENV/bin/python -m pytest "
                "tests/chimerax'")
    return None


def make_session():
    """A real ChimeraX session, as ``chimerax --nogui --offscreen`` makes one (no Qt GUI)."""
    # 'python -m pytest' puts the checkout on sys.path, and the toolshed (pkg_resources) would
    # then take the checkout's ChimeraX_DeepSSETracer.egg-info, which has no METADATA, for the
    # installed bundle and find no bundle at all: look at installed packages only.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT]
    for name in ("Qt", "qtpy", "PyQt5", "PySide2", "PySide6"):  # PyQt6 stays: the panel test
        sys.modules.setdefault(name, None)
    import builtins

    builtins.__dict__.setdefault("line_profile", lambda f: f)
    import appdirs
    import chimerax
    from chimerax.core import version
    from packaging.version import Version

    v = Version(version)
    chimerax.app_dirs = appdirs.AppDirs("ChimeraX", appauthor="UCSF",
                                        version=f"{v.major}.{v.minor}")
    chimerax.app_dirs_unversioned = appdirs.AppDirs("ChimeraX", appauthor="UCSF")
    chimerax.app_bin_dir = os.path.join(sys.prefix, "bin")
    chimerax.app_data_dir = os.path.join(sys.prefix, "share")
    chimerax.app_lib_dir = os.path.join(sys.prefix, "lib")
    from chimerax.core import attributes, core_settings, tools, toolshed, undo
    from chimerax.core.session import Session, register_misc_commands

    session = Session("ChimeraX", debug=False, silent=False, minimal=False,
                      offscreen_rendering=True)  # no graphics when OSMesa is missing
    session.logger.add_log(_recorder())
    core_settings.init(session)
    register_misc_commands(session)
    attributes.RegAttrManager(session)
    toolshed.init(session.logger, debug=False, check_available=False, session=session)
    session.toolshed = toolshed.get_toolshed()
    session.toolshed.bootstrap_bundles(session, False)
    session.tools = tools.Tools(session, first=True)
    session.undo = undo.Undo(session, first=True)
    return session


@pytest.fixture(scope="session")
def cx_session():
    reason = _missing_chimerax()
    if reason:
        pytest.skip(reason)
    session = make_session()
    if session.toolshed.find_bundle("ChimeraX-DeepSSETracer", session.logger) is None:
        pytest.skip("the DeepSSETracer bundle is not installed in this ChimeraX "
                    "(scripts/setup_chimerax.sh installs it)")
    return session


@pytest.fixture
def cx(cx_session):
    """The session, emptied after the test."""
    yield cx_session
    from chimerax.core.commands import run

    run(cx_session, "close", log=False)


@pytest.fixture(scope="session")
def example_map() -> Path:
    for path in EXAMPLE_MAPS:
        if path.is_file():
            return path
    pytest.skip(f"no example map at {' or '.join(str(p) for p in EXAMPLE_MAPS)}")


@pytest.fixture(scope="session")
def weights_kw(tmp_path_factory) -> str:
    """`` weights PATH`` naming the tiny test model, or "" when trained weights are shipped."""
    from chimerax.deepssetracer.core.weights import default_weights_path
    from helpers import write_tiny_onnx

    if default_weights_path().is_file():
        return ""
    return f" weights {write_tiny_onnx(tmp_path_factory.mktemp('weights'))}"


@pytest.fixture
def cropped(cx, example_map):
    """The example map opened as #1 and cropped to `CROP`."""
    from chimerax.core.commands import run

    (v,) = run(cx, f"open {example_map}", log=False)
    run(cx, f"volume #1 region {CROP}", log=False)
    return v


def _recorder():
    """The session's only log: keeps messages for the tests instead of printing them."""
    from chimerax.core.logger import PlainTextLog

    class Recorder(PlainTextLog):
        excludes_other_logs = True

        def __init__(self):
            super().__init__()
            self.lines: list[str] = []
            self.statuses: list[str] = []

        def log(self, level, msg):
            self.lines.append(msg.strip())
            return True

        def status(self, msg, color, secondary):
            self.statuses.append(msg)
            return True

    global RECORDER
    RECORDER = Recorder()
    return RECORDER


@pytest.fixture
def log_lines(cx):
    """What the session logs during the test (info, warnings and errors), one item a call."""
    RECORDER.lines.clear()
    return RECORDER.lines


@pytest.fixture
def status_lines(cx):
    """What the session shows in the status line during the test."""
    RECORDER.statuses.clear()
    return RECORDER.statuses


@pytest.fixture
def ui_thread(cx, monkeypatch):
    """Make ``session.ui.thread_safe`` queue its calls, as the GUI's event loop does.

    Returns ``pump(until, timeout=60)``: run the queued calls on this thread until ``until()``.
    """
    calls: queue.Queue = queue.Queue()
    monkeypatch.setattr(cx.ui, "thread_safe", lambda f, *a, **kw: calls.put((f, a, kw)))

    def pump(until, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not until():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the background prediction did not finish")
            try:
                f, a, kw = calls.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            f(*a, **kw)

    return pump


@pytest.fixture
def gui_mode(cx):
    """``with gui_mode():`` the session acts as the app's GUI, so commands run in the background.

    ChimeraX's ``Qt`` shim module is stood in for by PyQt6 (file-name arguments import
    ``Qt.QtWidgets`` when there is a GUI).
    """
    qtwidgets = pytest.importorskip("PyQt6.QtWidgets", reason="PyQt6 is not installed")

    @contextlib.contextmanager
    def context():
        from PyQt6 import QtCore

        qt = types.ModuleType("Qt")
        qt.QtCore, qt.QtWidgets = QtCore, qtwidgets
        with pytest.MonkeyPatch.context() as m:
            m.setitem(sys.modules, "Qt", qt)
            m.setitem(sys.modules, "Qt.QtWidgets", qtwidgets)
            m.setattr(cx.ui, "is_gui", True, raising=False)
            yield

    return context
