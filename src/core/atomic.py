"""Temp-then-rename writing: a reader sees the old file or the new one, never half of one.

`atomic_path` is the one helper: it hands out a hidden temporary name beside the target (same
folder, so `os.replace` is a rename on one file system) and moves it into place only when the
writing finished; on any error the temporary file is removed and the target is untouched.
`mapio.write_maps` builds its all-or-none set of outputs from the same pieces (`hidden_name`,
`signals_held`: a signal waits until the renames are done, or with `SignalHold` until the CLI
reported them). The training package (JSON, checkpoints, caches) and the ONNX export use it too.
"""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def hidden_name(path: str | os.PathLike[str], kind: str = "tmp", suffix: str = "") -> Path:
    """A short unique hidden name beside `path` (short, so any legal output name fits).

    Not `tempfile.mkstemp`: its 0600 mode would survive `os.replace`; these names honour umask.
    ``suffix`` is for writers that insist on one (`numpy.savez` appends ``.npz`` otherwise).
    """
    path = Path(path)
    return path.parent / f".deepssetracer-{uuid.uuid4().hex[:12]}.{kind}{suffix}"


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """``with atomic_path(p) as tmp: write(tmp)``: `tmp` replaces `p` when the block ends.

    If the block raises, `p` is left as it was and `tmp` is removed.
    """
    path = Path(path)
    tmp = hidden_name(path, "tmp", suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# --- holding signals over a commit ---------------------------------------------------------
#
# Blocking signals with `signal.pthread_sigmask` is not enough: it blocks them for the calling
# thread only, so a kill reaches another thread (onnxruntime's, say), and Python then runs the
# handler in the main thread at once, in the middle of the renames. So a hold replaces the
# Python handlers themselves by one that only records the signal; the signal is delivered
# (`signal.raise_signal`, to the handler the hold replaced) when the hold ends.

HELD_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, n))


class _Holds:
    depth = 0
    saved: dict[int, object] = {}  # signal -> the handler a hold replaced, put back at its end
    pending: list[int] = []
    keeper: SignalHold | None = None


def _record(signum: int, frame) -> None:
    if signum not in _Holds.pending:
        _Holds.pending.append(signum)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _take() -> None:
    if _Holds.depth == 0:
        _Holds.pending, _Holds.saved = [], {}
        try:
            for sig in HELD_SIGNALS:
                if signal.getsignal(sig) is not None:  # None: set outside Python, left alone
                    _Holds.saved[sig] = signal.signal(sig, _record)
        except BaseException:  # a signal from before the hold, raised by its handler
            for sig, old in _Holds.saved.items():
                signal.signal(sig, old)
            _Holds.saved = {}
            raise
    _Holds.depth += 1


def _drop(deliver: bool) -> list[int]:
    """End one hold; at the last, put the handlers back and (`deliver`) raise what came."""
    _Holds.depth -= 1
    if _Holds.depth:
        return []
    for sig in _Holds.saved:  # `signal.signal` runs tripped handlers first: let ours record
        signal.signal(sig, _record)
    saved, _Holds.saved = _Holds.saved, {}
    pending, _Holds.pending = _Holds.pending, []
    late: BaseException | None = None
    for sig, old in saved.items():
        while True:  # every handler goes back, even if a signal after the hold raises meanwhile
            try:
                signal.signal(sig, old)
                break
            except BaseException as err:  # noqa: BLE001 (re-raised below)
                late = late or err
    if late is not None:
        raise late
    if deliver:
        for sig in pending:
            signal.raise_signal(sig)  # its own handler now: KeyboardInterrupt, Interrupted, exit
    return pending


def set_handler(signum: int, handler) -> object:
    """`signal.signal` that respects a hold: while signals are held, `handler` becomes the one
    the hold puts back (and delivers to) when it ends. Returns the handler it replaces."""
    if _Holds.depth and signum in _Holds.saved:
        old, _Holds.saved[signum] = _Holds.saved[signum], handler
        return old
    return signal.signal(signum, handler)


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP for a few renames: one that comes meanwhile is recorded
    and delivered when the block ends (or, inside `SignalHold.over_commits`, when that hold is
    released), so no handler runs between two renames. Main thread only (elsewhere no handler
    runs anyway)."""
    if not _in_main_thread():
        yield
        return
    keeper = _Holds.keeper
    if keeper is not None:
        keeper.take()
    _take()
    try:
        yield
    finally:
        _drop(deliver=True)


class SignalHold:
    """A hold its owner ends, for a caller that must finish more than the renames before a
    signal may stop it: the CLI holds from a map's commit until its result is reported, so a
    map is reported done with its new files, or interrupted with the old ones back, never
    interrupted with the new ones in place.

    ``with hold.over_commits():`` makes every `signals_held` block within it take this hold
    too; `release` ends it (delivering what came, or only returning it); `take` starts it.
    """

    def __init__(self) -> None:
        self.held = False

    def take(self) -> None:
        if not self.held and _in_main_thread():
            _take()
            self.held = True

    def release(self, deliver: bool = True) -> list[int]:
        """End the hold; the signals that came during it (delivered unless not `deliver`)."""
        if not self.held:
            return []
        self.held = False
        return _drop(deliver)

    @contextmanager
    def over_commits(self) -> Iterator[SignalHold]:
        outer, _Holds.keeper = _Holds.keeper, self
        try:
            yield self
        finally:
            _Holds.keeper = outer
