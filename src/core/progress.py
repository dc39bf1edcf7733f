"""A dependency-free progress bar on stderr for multi-tile predictions (tqdm is not needed)."""

from __future__ import annotations

import sys
from typing import TextIO


class StderrProgress:
    """``progress(done, total)`` callable drawing ``label [####....] done/total tiles`` in place.

    Nothing is drawn for single-step work; the line is redrawn only when the bar's percentage
    changes (at most about 100 times, so logs stay short) and ends when ``done == total``.
    """

    def __init__(self, label: str = "predicting", width: int = 30, stream: TextIO | None = None):
        self.label = label
        self.width = width
        self.stream = stream if stream is not None else sys.stderr
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total > 0 else 100
        if total <= 1 or (percent == self._shown and done < total):
            return
        self._shown = percent
        filled = self.width * done // total
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if done >= total else ""
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total} tiles{end}")
        self.stream.flush()
