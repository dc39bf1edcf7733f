"""The panel's Qt view, built with PyQt6 offscreen around a stand-in for chimerax.ui.

The PyPI ChimeraX has no ``chimerax.ui`` (its GUI is not in the wheel), so a tiny local
`MainToolWindow` (a QWidget holding the ``ui_area``) takes its place; everything else — the
session, the command the Run button issues, the models — is real.
"""

from __future__ import annotations

import os
import sys
import types

import pytest


@pytest.fixture(scope="module")
def qt_app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    qtwidgets = pytest.importorskip("PyQt6.QtWidgets", reason="PyQt6 is not installed")
    return qtwidgets.QApplication.instance() or qtwidgets.QApplication([])


@pytest.fixture
def stub_ui(qt_app, monkeypatch):
    from PyQt6.QtWidgets import QWidget

    class MainToolWindow:
        def __init__(self, tool_instance):
            self.tool_instance = tool_instance
            self.ui_area = QWidget()
            self.shown = False
            self.placement = None

        def manage(self, placement):
            self.placement = placement
            self.shown = True
            self.ui_area.show()

    module = types.ModuleType("chimerax.ui")
    module.MainToolWindow = MainToolWindow
    monkeypatch.setitem(sys.modules, "chimerax.ui", module)
    return module


@pytest.fixture
def panel(cx, stub_ui):
    from chimerax.deepssetracer.tool import DeepSSETracerTool

    tool = DeepSSETracerTool(cx, "DeepSSETracer")
    yield tool
    tool.delete()


def test_panel_follows_the_maps_and_their_region(cx, panel, example_map):
    from chimerax.core.commands import run

    assert panel.tool_window.shown and panel.tool_window.placement == "side"
    assert panel.map_menu.count() == 0 and not panel.run_button.isEnabled()
    assert panel.region_label.text() == "open a density map"
    run(cx, f"open {example_map}", log=False)
    assert panel.map_menu.count() == 1 and panel.map_menu.currentText().startswith("#1 ")
    assert panel.region_label.text().startswith("whole map:")
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()
    run(cx, "volume #1 region 10,10,10,60,60,40", log=False)
    assert panel.region_label.text().startswith("region 10,10,10,54,60,40: 45 x 51 x 31 voxels")
    run(cx, "close #1", log=False)
    assert panel.map_menu.count() == 0


def test_run_button_issues_the_command(cx, panel, cropped, weights_kw, log_lines):
    panel.device_menu.setCurrentText("cpu")
    panel.level_box.setValue(0.4)
    assert panel.lowpass_box.text() == "auto"  # the default: sharp maps filtered
    panel.lowpass_box.setValue(7.0)
    assert panel.lowpass_box.text() == "7.0 Å"
    panel.weights_edit.setText(weights_kw.split(maxsplit=1)[1] if weights_kw else "")
    panel.run_button.click()
    assert any("deepssetracer #1 subregion 10,10,10,54,60,40 device cpu lowpass 7 level 0.4"
               in line for line in log_lines)
    names = [m.name for m in cx.models.list()]
    assert f"{cropped.name} helix" in names and f"{cropped.name} sheet" in names
    assert panel.progress_bar.value() == 100
    assert panel.status_label.text() == "added #2.1, #2.2"
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert panel.map_menu.count() == 3  # the map, and the new helix and sheet maps


def test_cancel_button_stops_a_background_run(cx, panel, cropped, weights_kw, ui_thread,
                                              gui_mode, monkeypatch, log_lines):
    import threading

    from chimerax.deepssetracer import cmd

    release = threading.Event()
    predict = cmd.predict_map
    monkeypatch.setattr(cmd, "predict_map", lambda *a, **kw: (release.wait(30),
                                                              predict(*a, **kw))[1])
    panel.weights_edit.setText(weights_kw.split(maxsplit=1)[1] if weights_kw else "")
    with gui_mode():  # as in the app: the command runs in the background
        panel.run_button.click()
    job = panel.controller.job
    assert job is not None and panel.cancel_button.isEnabled() and not panel.run_button.isEnabled()
    panel.cancel_button.click()
    release.set()
    ui_thread(lambda: job.state != "running")
    assert job.state == "cancelled"
    assert any("deepssetracer cancel" in line for line in log_lines)
    assert panel.status_label.text() == "DeepSSETracer: cancelled"
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_elements_box_and_model_menu_reach_the_command(cx, panel, cropped, weights_kw,
                                                       log_lines):
    from chimerax.core.commands import run
    from conftest import SHARED

    pdb = SHARED / "data" / "real" / "emd8518_5u8s_A" / "model.pdb"
    if not pdb.is_file():
        pytest.skip(f"no fitted model at {pdb} (../shared is absent)")
    assert [panel.model_menu.itemText(i) for i in range(panel.model_menu.count())] == ["none"]
    (m,) = run(cx, f"open {pdb}", log=False)
    assert panel.model_menu.itemText(1) == f"#2 {m.name}"
    panel.model_menu.setCurrentIndex(1)
    panel.elements_box.setChecked(True)
    panel.weights_edit.setText(weights_kw.split(maxsplit=1)[1] if weights_kw else "")
    panel.run_button.click()
    assert any("deepssetracer #1 subregion 10,10,10,54,60,40 elements true model #2" in line
               for line in log_lines)
    assert any("agreement with ChimeraX's secondary structure" in line for line in log_lines)
    run(cx, "close #2", log=False)
    assert panel.model_menu.count() == 1
