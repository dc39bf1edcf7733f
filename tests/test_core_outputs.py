"""`core.outputs`: the output folder made race-free and removed again when nothing was written,
and `file_keys`, how two names are told to be one file."""

from __future__ import annotations

import os

import pytest
from chimerax.deepssetracer.core.errors import InputError
from chimerax.deepssetracer.core.outputs import (
    file_keys,
    make_outdir,
    prepare_outdir,
    remove_created,
)


def test_make_outdir_returns_the_levels_it_created(tmp_path):
    out = tmp_path / "n1" / "n2" / "n3"
    assert make_outdir(out) == [tmp_path / "n1", tmp_path / "n1/n2", out]
    assert make_outdir(out) == [] and not prepare_outdir(out)
    remove_created([tmp_path / "n1", tmp_path / "n1/n2", out])
    assert list(tmp_path.iterdir()) == []


def test_remove_created_keeps_a_level_that_is_not_empty(tmp_path):
    created = make_outdir(tmp_path / "n1" / "n2")
    (tmp_path / "n1" / "other.txt").write_text("another run's")
    remove_created(created)
    assert [p.name for p in (tmp_path / "n1").iterdir()] == ["other.txt"]


def test_a_level_another_run_creates_meanwhile_is_not_an_error(tmp_path, monkeypatch):
    """``mkdir(parents=True)`` failed with "File exists" when another run made the folder
    between the check and the mkdir (1 run in 30 of two started together)."""
    out = tmp_path / "n1" / "n2"
    real = os.mkdir

    def raced(path, *args, **kw):
        if not os.path.isdir(path):
            real(path)  # the other run got there first
        return real(path, *args, **kw)

    monkeypatch.setattr(os, "mkdir", raced)
    assert make_outdir(out) == [] and out.is_dir()  # not ours: never removed by this run


def test_a_file_in_the_way_is_one_line(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="output folder is an existing file"):
        make_outdir(tmp_path / "f")
    with pytest.raises(InputError, match=r"cannot create the output folder \(.*f is a file\)"):
        make_outdir(tmp_path / "f" / "sub")


def test_file_keys_see_through_symbolic_and_hard_links(tmp_path):
    a = tmp_path / "a.mrc"
    a.write_text("x")
    (tmp_path / "s").symlink_to(a)
    os.link(a, tmp_path / "h")
    (tmp_path / "b").write_text("x")
    for other in (tmp_path / "s", tmp_path / "h", tmp_path / "." / "a.mrc"):
        assert file_keys(a) & file_keys(other)
    assert not file_keys(a) & file_keys(tmp_path / "b")
    assert not file_keys(a) & file_keys(tmp_path / "missing")
