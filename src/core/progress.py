"""A dependency-free progress report on stderr for predictions (tqdm is not needed).

On a terminal a bar is redrawn in place with ``\\r``; into a file or pipe (a log, a batch job)
``\\r`` would pile every redraw onto one unterminated line, so there only one plain line is
written when the work ends. TTA runs the network once per rotation and tile, so the count names
both; a run with a single pass has nothing to count, so it gets only that final line, and only
when it took long enough (`MIN_SECONDS`) for someone to wonder what it was doing.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .errors import printable

MIN_SECONDS = 1.0


class StderrProgress:
    """``progress(done, total)`` callable for `predict.predict_map` (total = tiles x rotations).

    Args:
        label: what the line starts with (default "predicting").
        width: bar width in characters.
        stream: where to write (default: stderr); bars only when it is a terminal.
        rotations: rotations averaged (TTA), so `total` can be told apart into tiles.
        min_seconds: single-pass work shorter than this writes nothing.
    """

    def __init__(self, label: str = "predicting", width: int = 30, stream: TextIO | None = None,
                 rotations: int = 1, min_seconds: float = MIN_SECONDS):
        self.label = printable(label)  # a newline in a map's name must not split the line
        self.width = width
        self.stream = stream if stream is not None else sys.stderr
        self.rotations = max(1, rotations)
        self.min_seconds = min_seconds
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self._start = time.perf_counter()
        self._shown = -1
        self._drawn = 0  # length of the bar on screen, so a shorter line can blank its tail

    def count(self, done: int, total: int) -> str:
        """``3/8 tiles``, ``2/4 rotations`` or ``rotation 2/4, tile 3/8``."""
        tiles = max(1, total // self.rotations)
        if self.rotations == 1:
            return f"{done}/{total} tiles"
        if tiles == 1:
            return f"{done}/{total} rotations"
        rotation = min(self.rotations, max(1, -(-done // tiles)))
        return (f"rotation {rotation}/{self.rotations}, "
                f"tile {done - (rotation - 1) * tiles}/{tiles}")

    def __call__(self, done: int, total: int) -> None:
        finished = done >= total
        elapsed = time.perf_counter() - self._start
        if finished:
            if total > 1 or elapsed >= self.min_seconds:
                self._final(total, elapsed)
            return
        percent = 100 * done // total if total > 0 else 100
        if not self.tty or total <= 1 or percent == self._shown:
            return
        self._shown = percent
        filled = self.width * done // total
        bar = "#" * filled + "." * (self.width - filled)
        self._draw(f"\r{self.label} [{bar}] {self.count(done, total)}")

    def _final(self, total: int, elapsed: float) -> None:
        passes = max(1, total // self.rotations)
        what = f"{passes} tile{'s' * (passes != 1)}"
        if self.rotations > 1:
            what += f" x {self.rotations} rotations"
        if self._drawn:
            self._draw(f"\r{self.label} [{'#' * self.width}] {what} in {elapsed:.1f} s", "\n")
        else:
            self._draw(f"{self.label}: {what} in {elapsed:.1f} s", "\n")

    def _draw(self, text: str, end: str = "") -> None:
        pad = " " * max(0, self._drawn - len(text))
        self.stream.write(text + pad + end)
        self.stream.flush()
        self._drawn = 0 if end else len(text)
