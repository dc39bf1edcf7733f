from __future__ import annotations

from pathlib import Path

import pytest
from chimerax.deepssetracer.train import splits
from chimerax.deepssetracer.train.dataset import box_splits

DB55 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "structures" / "db55"
NAMES = [f"{c}_{p}_{f}.pdb.gz" for c in ("1ACB", "2ABZ", "3A4S", "1AHW", "7CEI", "1E6E",
                                         "1F34", "4DN4", "1K74", "1WQ1")
         for p in "rl" for f in "bu"]


def test_split_is_by_complex_and_disjoint():
    s = splits.make_split(NAMES, seed=3)
    ids = [c for k in splits.SPLITS for c in s[k]]
    assert sorted(ids) == sorted({n[:4] for n in NAMES})
    assert len(ids) == len(set(ids))
    which = splits.split_of(s)
    for n in NAMES:  # every file of a complex lands where its complex is
        assert which[splits.complex_id(n)] in splits.SPLITS
    assert len(s["train"]) == 8


def test_split_is_deterministic_by_seed():
    assert splits.make_split(NAMES, seed=1) == splits.make_split(NAMES, seed=1)
    assert splits.make_split(NAMES, seed=1) != splits.make_split(NAMES, seed=2)


def test_load_split_rejects_overlap(tmp_path):
    p = tmp_path / "s.json"
    splits.write_split({"train": ["1ACB"], "val": ["1ACB"], "test": []}, p, seed=0)
    with pytest.raises(ValueError, match="two splits"):
        splits.load_split(p)


def test_committed_split_is_disjoint():
    s = splits.load_split()
    assert len(s["train"]) > 5 * len(s["val"])


@pytest.mark.shared
@pytest.mark.skipif(not DB55.is_dir(), reason="../shared/data/structures/db55 absent")
def test_committed_split_covers_db55():
    s = splits.load_split()
    ids = {splits.complex_id(p) for p in DB55.glob("*.pdb.gz")}
    assert ids == set(s["train"]) | set(s["val"]) | set(s["test"])


def test_box_splits_proportions():
    b = box_splits(100, ["train", "val", "test"])
    assert (b.count("train"), b.count("val"), b.count("test")) == (80, 10, 10)
    assert box_splits(5, ["val"]) == ["val"] * 5
