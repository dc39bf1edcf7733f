"""The DeepSSETracer panel (Tools → Volume Data → DeepSSETracer): a thin Qt view.

Everything the panel decides lives in `panel.PanelController`; this module only lays out the
widgets and forwards clicks. Qt comes from ChimeraX's ``Qt`` shim module, or PyQt6 where that
is absent (tests); `chimerax.ui` is imported only when the panel is opened.
"""

from __future__ import annotations

from chimerax.core.tools import ToolInstance

from .core.inference import DEVICES
from .panel import DEFAULT_LEVEL, PanelController


def _qt():
    try:
        from Qt import QtCore, QtWidgets
    except ImportError:  # outside the ChimeraX app (tests)
        from PyQt6 import QtCore, QtWidgets
    return QtCore, QtWidgets


class DeepSSETracerTool(ToolInstance):
    """Map chooser, the region that will be used, options, Run / Cancel and progress."""

    SESSION_ENDURING = False
    SESSION_SAVE = False
    help = "help:user/tools/deepssetracer.html"

    def __init__(self, session, tool_name):
        super().__init__(session, tool_name)
        from chimerax.ui import MainToolWindow

        self.controller = PanelController(session)
        self.controller.on_progress = self._show_progress
        self.controller.on_finished = self._show_finished
        self.tool_window = MainToolWindow(self)
        self._maps: list = []  # the maps in the menu, in its order
        self._structures: list = []  # the atomic models in the model menu, after "none"
        self._watched = None  # the map whose region changes we follow
        self._build(self.tool_window.ui_area)
        from chimerax.core.models import ADD_MODELS, REMOVE_MODELS

        self._handlers = [session.triggers.add_handler(t, self._models_changed)
                          for t in (ADD_MODELS, REMOVE_MODELS)]
        self._refresh_maps()
        self._refresh_structures()
        self.tool_window.manage("side")

    def _build(self, parent) -> None:
        _, w = _qt()
        form = w.QFormLayout()
        self.map_menu = w.QComboBox()
        self.map_menu.currentIndexChanged.connect(self._map_chosen)
        form.addRow("Map", self.map_menu)
        self.region_label = w.QLabel()
        self.region_label.setWordWrap(True)
        form.addRow("Region", self.region_label)
        self.device_menu = w.QComboBox()
        self.device_menu.addItems(list(DEVICES))
        form.addRow("Device", self.device_menu)
        self.tta_box = w.QCheckBox("average 4 rotations (4x slower)")
        form.addRow("TTA", self.tta_box)
        self.lowpass_box = w.QDoubleSpinBox()
        self.lowpass_box.setRange(0.0, 15.0)
        self.lowpass_box.setSingleStep(1.0)
        self.lowpass_box.setDecimals(1)
        self.lowpass_box.setSuffix(" Å")
        self.lowpass_box.setSpecialValueText("auto")  # shown at 0
        self.lowpass_box.setToolTip("auto: every map is filtered to 6 Å first (the network "
                                    "learnt 5-10 Å maps; a 7-10 Å map is left as it is); or "
                                    "filter to a resolution of your choice")
        form.addRow("Low-pass", self.lowpass_box)
        self.level_box = w.QDoubleSpinBox()
        self.level_box.setRange(0.05, 0.95)
        self.level_box.setSingleStep(0.05)
        self.level_box.setDecimals(2)
        self.level_box.setValue(DEFAULT_LEVEL)
        form.addRow("Surface level", self.level_box)
        self.weights_edit = w.QLineEdit()
        self.weights_edit.setPlaceholderText("bundled weights (or an .onnx file)")
        form.addRow("Weights", self.weights_edit)
        self.elements_box = w.QCheckBox("helix axes and sheet patches")
        form.addRow("Elements", self.elements_box)
        self.model_menu = w.QComboBox()
        self.model_menu.setToolTip("colour this fitted model's residues by predicted class and "
                                   "log how they agree with its secondary structure")
        form.addRow("Check model", self.model_menu)

        buttons = w.QHBoxLayout()
        self.run_button = w.QPushButton("Run")
        self.run_button.clicked.connect(self._run)
        self.cancel_button = w.QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel)
        self.cancel_button.setEnabled(False)
        help_button = w.QPushButton("Help")
        help_button.clicked.connect(self.display_help)
        for b in (self.run_button, self.cancel_button, help_button):
            buttons.addWidget(b)
        self.progress_bar = w.QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.status_label = w.QLabel()
        self.status_label.setWordWrap(True)

        layout = w.QVBoxLayout(parent)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)

    # -- reacting to the session -----------------------------------------------------------

    def _models_changed(self, trigger_name, models) -> None:
        from chimerax.atomic import AtomicStructure
        from chimerax.map import Volume

        if any(isinstance(m, Volume) for m in models):
            self._refresh_maps()
        if any(isinstance(m, AtomicStructure) for m in models):
            self._refresh_structures()

    def _refresh_structures(self) -> None:
        current = self._chosen_structure()
        structures = self.controller.structures()
        self.model_menu.clear()
        self.model_menu.addItems(["none"] + [f"#{m.id_string} {m.name}" for m in structures])
        self._structures = structures
        if current in structures:
            self.model_menu.setCurrentIndex(structures.index(current) + 1)

    def _chosen_structure(self):
        i = self.model_menu.currentIndex() - 1  # 0 is "none"
        return self._structures[i] if 0 <= i < len(self._structures) else None

    def _refresh_maps(self) -> None:
        current = self._chosen_map()
        maps = self.controller.maps()
        self.map_menu.blockSignals(True)
        self.map_menu.clear()
        for v in maps:
            self.map_menu.addItem(self.controller.map_label(v))
        self._maps = maps
        if current in maps:
            self.map_menu.setCurrentIndex(maps.index(current))
        self.map_menu.blockSignals(False)
        self._map_chosen()

    def _chosen_map(self):
        i = self.map_menu.currentIndex()
        return self._maps[i] if 0 <= i < len(self._maps) else None

    def _map_chosen(self, *_) -> None:
        v = self._chosen_map()
        if v is not self._watched:
            if self._watched is not None and not self._watched.deleted:
                self._watched.remove_volume_change_callback(self._volume_changed)
            if v is not None:
                v.add_volume_change_callback(self._volume_changed)
            self._watched = v
        self._show_region()

    def _volume_changed(self, v, change) -> None:
        if change == "region changed":
            self._show_region()

    def _show_region(self) -> None:
        v = self._chosen_map()
        self.region_label.setText("open a density map" if v is None
                                  else self.controller.describe_region(v))
        self.run_button.setEnabled(v is not None and self.controller.job is None)

    # -- actions ---------------------------------------------------------------------------

    def _run(self) -> None:
        v = self._chosen_map()
        if v is None:
            return
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress_bar.setValue(0)
        self.status_label.setText("predicting…")
        self.controller.run(v, device=self.device_menu.currentText(),
                            tta=self.tta_box.isChecked(), lowpass=self.lowpass_box.value(),
                            level=self.level_box.value(),
                            weights=self.weights_edit.text(),
                            elements=self.elements_box.isChecked(),
                            model=self._chosen_structure())

    def _cancel(self) -> None:
        self.controller.cancel()

    def _show_progress(self, fraction: float) -> None:
        self.progress_bar.setValue(int(round(100 * fraction)))

    def _show_finished(self, state: str, message: str) -> None:
        self.cancel_button.setEnabled(False)
        self.run_button.setEnabled(self._chosen_map() is not None)
        self.status_label.setText(message)

    def delete(self) -> None:
        for h in self._handlers:
            self.session.triggers.remove_handler(h)
        self._handlers = []
        if self._watched is not None and not self._watched.deleted:
            self._watched.remove_volume_change_callback(self._volume_changed)
        self._watched = None
        super().delete()
