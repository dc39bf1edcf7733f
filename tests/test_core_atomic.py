"""`core.atomic.atomic_path`: the one temp-then-rename helper the writers share."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from chimerax.deepssetracer.core.atomic import SignalHold, atomic_path, hidden_name, signals_held
from chimerax.deepssetracer.core.errors import Interrupted, terminate_as_interrupt


def test_replaces_the_target_only_when_the_block_ends(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert tmp.parent == tmp_path and tmp.name.startswith(".") and target.read_text() == "old"
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_an_error_leaves_the_target_and_no_temporary_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_suffix_for_writers_that_insist_on_one(tmp_path):
    target = tmp_path / "s.npz"
    with atomic_path(target, suffix=".npz") as tmp:
        np.savez(tmp, a=np.arange(3))
    assert np.load(target)["a"].tolist() == [0, 1, 2] and len(list(tmp_path.iterdir())) == 1
    assert hidden_name(target, "bak").name.endswith(".bak") and len(hidden_name(target).name) < 40


def test_training_writers_use_it(tmp_path):
    from chimerax.deepssetracer.train.jsonio import write_json

    write_json(tmp_path / "m.json", {"a": 1})
    assert (tmp_path / "m.json").read_text() == '{\n "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


# --- issue 29: a signal waits for the commit, in every thread -----------------------------------


def test_a_held_signal_is_delivered_when_the_block_ends():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with signals_held():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("the renames finish")
    assert done == ["the renames finish"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_signal_hold_keeps_it_until_released_and_can_drop_it():
    hold = SignalHold()
    with terminate_as_interrupt():
        with hold.over_commits():
            with signals_held():
                os.kill(os.getpid(), signal.SIGTERM)
            reported = "the map is reported"  # nothing raised yet: the hold outlives the block
        assert hold.held and reported
        with pytest.raises(Interrupted):
            hold.release()
        hold.take()
        os.kill(os.getpid(), signal.SIGTERM)
        assert hold.release(deliver=False) == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_handlers_set_during_a_hold_are_the_ones_put_back():
    hold = SignalHold()
    hold.take()
    with terminate_as_interrupt():  # sets and restores SIGTERM's handler inside the hold
        pass
    hold.release()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
