"""``deepssetracer data figure``: every real chain is drawn, and the key stays short."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from chimerax.deepssetracer.train import figures  # noqa: E402
from chimerax.deepssetracer.train.simulate import radial_power  # noqa: E402

# numpy's divide-by-zero and overflow warnings fail these tests: a spectrum divided by the
# power of frequency bins that a small box never samples once drew blank curves with a warning
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

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


def test_small_box_spectrum_is_normalised_by_sampled_bins():
    # a 20 Å box samples s in steps of 1/20 Å⁻¹: bins 1-3 (1/80 to 1/20 Å⁻¹) hold nothing
    d = np.random.default_rng(1).random((16, 18, 20))
    s, p = radial_power(d)
    assert np.isnan(p[1:4]).all() and np.isfinite(p[4:]).any()
    q = figures.low_s_normalised(p)
    sampled = np.flatnonzero(np.isfinite(q))
    assert np.isclose(q[sampled[sampled > 0][:3]].mean(), 1.0)
    # an 80 Å box samples every bin; bins 1-3 set the scale as before
    s, p = radial_power(np.random.default_rng(2).random((80, 80, 80)))
    assert np.isfinite(p).all()
    assert np.allclose(figures.low_s_normalised(p), p / p[1:4].mean())
