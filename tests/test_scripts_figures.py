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


def test_sheet_failures_type_is_at_least_11_points():
    """docs/figures/sheet_failures.png had 7-9 pt legends, ticks and panel titles at 100 dpi."""
    import ast

    tree = ast.parse((ROOT / "scripts" / "sheet_failures.py").read_text(encoding="utf-8"))
    sizes = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "FONT"
                                                for t in node.targets):
            sizes = ast.literal_eval(node.value)
        if isinstance(node, ast.keyword) and node.arg == "fontsize":
            # every size is one of FONT's, none a number written in place
            assert not isinstance(node.value, ast.Constant), ast.unparse(node)
            assert ast.unparse(node.value).startswith("FONT["), ast.unparse(node)
    assert sizes and min(sizes.values()) >= 11, sizes
    source = ast.unparse(tree)
    for key in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize"):
        assert f"'{key}': FONT[" in source, key


def test_elements_scenes_are_framed_after_their_last_change_and_keyed(tmp_path):
    import matplotlib.pyplot as plt
    import numpy as np

    render = _script("render_elements")
    cmds = render.commands(Path("/pair"), tmp_path)
    saves = [i for i, c in enumerate(cmds) if c.startswith("save ")]
    assert len(saves) == 2
    start = 0
    for i in saves:
        scene = cmds[start:i]
        last_change = max(j for j, c in enumerate(scene)
                          if c.split()[0] in ("volume", "show", "hide", "cartoon", "turn"))
        view = max(j for j, c in enumerate(scene) if c == "view")
        assert view > last_change and any(c.startswith("zoom ") for c in scene[view:])
        start = i + 1
    assert render.ZOOM > 1
    scene = tmp_path / "scene.png"
    plt.imsave(scene, np.ones((70, 56, 3)))
    out = render.add_key(scene, tmp_path / "keyed.png", "heading",
                         [("voted helix", (1, 1, 0), "black", "")])
    assert plt.imread(out).shape[:2] == (70, 56 + render.KEY_WIDTH)
