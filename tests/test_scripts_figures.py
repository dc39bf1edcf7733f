"""The figure scripts' pictures say what they show (issue 28): keyed series, honest axes,
readable type. Only the parts that need no data or ChimeraX."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _documented_runs() -> list[Path]:
    """The metrics files of docs/model_card.md's tries_figure command, brace-expanded."""
    card = (ROOT / "docs" / "model_card.md").read_text(encoding="utf-8")
    found = re.search(r"scripts/tries_figure\.py (\S*)\{([^}]*)\}(\S*)", card)
    assert found, "docs/model_card.md names no tries_figure command"
    head, names, tail = found.groups()
    return [ROOT / f"{head}{n}{tail}" for n in names.split(",")]


def test_tries_are_keyed_by_what_each_try_was():
    tries = _script("tries_figure")
    runs = _documented_runs()
    labels = [tries.label_of(p) for p in runs]
    assert [label[0] for label in labels] == list("ABCDEFGI")
    assert all(len(label) > 12 and label[1] == ":" for label in labels), labels
    card = (ROOT / "docs" / "model_card.md").read_text(encoding="utf-8")
    assert "--labels A B" not in card  # the command keys by TRIES


def test_tries_figure_f1_axes_start_at_zero():
    import matplotlib.pyplot as plt

    tries = _script("tries_figure")
    runs = _documented_runs()
    fig = tries.draw(runs, [tries.label_of(p) for p in runs])
    try:
        for ax in fig.axes:
            low, high = ax.get_ylim()
            assert low == 0.0 and high - low >= 0.2
        legend = fig.legends[0]
        assert [t.get_text() for t in legend.get_texts()] == [tries.label_of(p) for p in runs]
    finally:
        plt.close(fig)
