"""The stderr progress bar: silent for one step, bounded redraws, one finished line."""

from __future__ import annotations

import io

from chimerax.deepssetracer.core.progress import StderrProgress


def test_single_step_draws_nothing():
    out = io.StringIO()
    StderrProgress(stream=out)(1, 1)
    assert out.getvalue() == ""


def test_bar_ends_with_one_line_and_redraws_at_most_per_percent():
    out = io.StringIO()
    bar = StderrProgress(stream=out, width=10)
    for i in range(1, 1001):
        bar(i, 1000)
    text = out.getvalue()
    assert text.endswith("[##########] 1000/1000 tiles\n") and text.count("\n") == 1
    assert text.count("\r") <= 101
