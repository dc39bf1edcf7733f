"""``deepssetracer data figure``: every real chain is drawn, and the key stays short."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from chimerax.deepssetracer.train import figures  # noqa: E402

REAL = [  # as `dataset.prepare_real` lists them: chains as deposited, then low-passed copies
    {"name": "emd1_1abc_A", "source": "emd1_1abc_A", "resolution": None},
    {"name": "emd2_2abc", "source": "emd2_2abc", "resolution": 3.2},
    {"name": "emd2_2abc_lp6", "source": "emd2_2abc", "resolution": 6.0},
    {"name": "emd3_3abc_X", "source": "emd3_3abc_X", "resolution": 5.3},
]


def _folder(path, entries, rng):
    path.mkdir()
    for e in entries:
        e["file"] = f"{e['name']}.npz"
        np.savez(path / e["file"], density=rng.random((16, 18, 20)).astype(np.float32))
    (path / "index.json").write_text(json.dumps({"boxes": entries}))
    return path


def test_every_real_chain_once_and_one_key_entry_per_group():
    assert [e["name"] for e in figures.real_chains(REAL)] == [
        "emd1_1abc_A", "emd2_2abc", "emd3_3abc_X"]
    assert [figures.real_group(e) for e in REAL] == [
        "real, 5–8 Å or unstated", "real, 3.2 Å as deposited", "real, low-passed to 6 or 8 Å",
        "real, 5–8 Å or unstated"]


def test_figure_is_drawn(tmp_path):
    rng = np.random.default_rng(0)
    sim = [{"name": f"box_{i}", "filter": f, "noise": n, "crowding": c, "resolution": 6.0,
            "masked": m} for i, (f, n, c, m) in enumerate([
                ("gaussian", "coloured", 0.1, False), ("cutoff", "coloured", 0.2, False),
                ("cutoff", "smooth", 0.3, False), ("gaussian", "coloured", 0.6, False),
                ("gaussian", "coloured", 0.1, True)])]
    real = _folder(tmp_path / "real", [dict(e) for e in REAL], rng)
    path = figures.figure(_folder(tmp_path / "sim", sim, rng), real, tmp_path / "out")
    assert path.stat().st_size > 10_000
