"""The stderr progress report: bars only on a terminal, rotations named, a final line."""

from __future__ import annotations

import io

import pytest
from chimerax.deepssetracer.core import progress as progress_mod
from chimerax.deepssetracer.core.progress import StderrProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_quick_single_step_writes_nothing():
    for out in (io.StringIO(), Terminal()):
        StderrProgress(stream=out)(1, 1)
        assert out.getvalue() == ""


def test_slow_single_step_writes_a_final_line(monkeypatch):
    """A 4 s one-tile run used to be silent."""
    clock = iter([100.0, 104.2])
    monkeypatch.setattr(progress_mod.time, "perf_counter", lambda: next(clock))
    out = io.StringIO()
    StderrProgress("predicting m.mrc", stream=out)(1, 1)
    assert out.getvalue() == "predicting m.mrc: 1 tile in 4.2 s\n"


def test_terminal_bar_ends_with_one_line_and_redraws_at_most_per_percent():
    out = Terminal()
    bar = StderrProgress(stream=out, width=10)
    for i in range(1, 1001):
        bar(i, 1000)
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert "[##########] 1000 tiles in" in text.splitlines()[-1].split("\r")[-1]
    assert text.count("\r") <= 101


def test_redirected_stderr_gets_no_carriage_returns():
    out = io.StringIO()
    bar = StderrProgress(stream=out)
    for i in range(1, 9):
        bar(i, 8)
    text = out.getvalue()
    assert "\r" not in text and text.count("\n") == 1 and text.endswith("\n")
    assert text.startswith("predicting: 8 tiles in ")


@pytest.mark.parametrize("total, rotations, done, shown, final", [
    (4, 4, 2, "2/4 rotations", "1 tile x 4 rotations"),
    (32, 4, 11, "rotation 2/4, tile 3/8", "8 tiles x 4 rotations"),
    (8, 1, 3, "3/8 tiles", "8 tiles"),
])
def test_tta_counts_rotations_not_tiles(total, rotations, done, shown, final):
    out = Terminal()
    bar = StderrProgress(stream=out, rotations=rotations)
    bar(done, total)
    assert out.getvalue().endswith(shown)
    bar(total, total)
    assert f"] {final} in " in out.getvalue().split("\r")[-1]
