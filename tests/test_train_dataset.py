from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from chimerax.deepssetracer.train import dataset, splits

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DB55 = SHARED / "structures" / "db55"
needs_shared = pytest.mark.skipif(not DB55.is_dir(), reason="../shared/data absent")
FILES = {"train": ["1ACB_l_b", "1ACB_r_b"], "val": ["2ABZ_l_u"], "test": ["1AY7_l_u"]}


@pytest.fixture(scope="module")
def tiny_db55(tmp_path_factory):
    d = tmp_path_factory.mktemp("db55")
    for names in FILES.values():
        for n in names:
            os.symlink(DB55 / f"{n}.pdb.gz", d / f"{n}.pdb.gz")
    split_file = d / "split.json"
    splits.write_split({k: sorted({splits.complex_id(n) for n in v}) for k, v in FILES.items()},
                       split_file, seed=0)
    return d, split_file


@pytest.mark.shared
@needs_shared
def test_simulate_writes_the_cache_format_and_is_worker_independent(tiny_db55, tmp_path):
    db55, split_file = tiny_db55
    cache = tmp_path / "structures"
    stats = dataset.simulate_dataset(tmp_path / "a", 2, seed=3, workers=2, wanted=["val", "test"],
                                     db55=db55, cache=cache, split_file=split_file)
    index = json.loads((tmp_path / "a" / "index.json").read_text())
    assert index["version"] == 1 and index["voxel_size"] == 1.0 and index["seed"] == 3
    assert [e["split"] for e in index["boxes"]] == ["val", "test"]
    assert stats["boxes"] == 2 and stats["boxes_per_split"]["test"] == 1
    # box 0 again, in this process: a box depends on (seed, index) only, not on the worker
    cat = dataset.build_catalog(db55, cache, splits.load_split(split_file), workers=1)
    (tmp_path / "b").mkdir()
    dataset._init(cat, str(cache), str(tmp_path / "b"), 3)
    dataset.make_box((0, "val"))
    for e in index["boxes"]:
        assert e["complex"] == splits.complex_id(FILES[e["split"]][0])
        z = np.load(tmp_path / "a" / e["file"])
        d, lab = z["density"], z["labels"]
        assert d.dtype == np.float32 and lab.dtype == np.uint8 and d.shape == lab.shape
        assert list(d.shape) == e["shape"] and np.isfinite(d).all()
        (x0, y0, z0), (x1, y1, z1) = e["inner"]
        pad = np.ones(lab.shape, bool)
        pad[z0:z1, y0:y1, x0:x1] = False
        assert (lab[pad] == 255).all() and (lab[~pad] != 255).all()
        assert set(np.unique(lab[~pad])) <= {0, 1, 2}
        ca = z["ca_xyz"]
        assert len(ca) == len(z["ca_class"]) > 0
        assert (ca >= np.array([x0, y0, z0]) - 0.5).all() and (ca < np.array([x1, y1, z1])).all()
    again = np.load(tmp_path / "b" / "box_000000.npz")
    first = np.load(tmp_path / "a" / "box_000000.npz")
    np.testing.assert_array_equal(again["density"], first["density"])
    np.testing.assert_array_equal(again["labels"], first["labels"])
    assert (tmp_path / "a" / "stats.json").exists()


def test_listing_takes_one_file_per_complex_role_and_form(tmp_path, caplog):
    names = ["1JPS_l_b.pdb.gz", "1JPS_l_u.pdb.2.gz", "1JPS_l_u.pdb.gz", "1JPS_r_b.pdb.gz",
             "1ACB_r_u.pdb", "1ACB_x_u.pdb.gz", "1ACB_r_b.pdb.gz.bak"]
    for n in names:
        (tmp_path / n).touch()
    files = dataset.list_structures(tmp_path)
    assert [f.name for f in files] == ["1ACB_r_u.pdb", "1JPS_l_b.pdb.gz", "1JPS_l_u.pdb.gz",
                                       "1JPS_r_b.pdb.gz"]
    assert "1JPS_l_u.pdb.2.gz" in caplog.text and "1ACB_x_u.pdb.gz" in caplog.text


@pytest.mark.shared
@needs_shared
def test_db55_listing_has_four_files_per_complex():
    files = dataset.list_structures(DB55)
    keys = {(f.name[:4], f.name[5], f.name[7]) for f in files}
    assert len(files) == len(keys) == 4 * len({k[0] for k in keys}) == 988


def test_stats_summarise_entries():
    entries = [{"split": "train", "complex": "1ACB", "shape": [10, 10, 10],
                "inner": [[2, 2, 2], [8, 8, 8]], "helix_share": 0.5, "sheet_share": 0.25,
                "noise": "smooth", "filter": "cutoff", "masked": False, "extras": [],
                "resolution": 6.0, "crowding": 0.55}]
    s = dataset.dataset_stats(entries)
    assert s["class_share_labelled"] == {"helix": 0.5, "sheet": 0.25, "background": 0.25}
    assert s["crowding_hist"]["counts"][5] == 1 and s["resolution_hist"]["counts"][3] == 1


@pytest.mark.shared
@pytest.mark.skipif(not (SHARED / "real").is_dir(), reason="../shared/data/real absent")
def test_prepare_real_labels_on_the_map_grid(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    os.symlink(SHARED / "real" / "emd3491_5mdx_X", src / "emd3491_5mdx_X")
    (entry,) = dataset.prepare_real(tmp_path / "out", src)
    z = np.load(tmp_path / "out" / entry["file"])
    assert z["density"].shape == z["labels"].shape == (58, 39, 32)
    assert (z["labels"] == 0).sum() > 100  # a helical chain
    # every helix Cα sits on a helix voxel and on density above the box mean
    i = np.rint(z["ca_xyz"][z["ca_class"] == 0]).astype(int)
    assert (z["labels"][i[:, 2], i[:, 1], i[:, 0]] == 0).all()
    assert z["density"][i[:, 2], i[:, 1], i[:, 0]].mean() > z["density"].mean()


def test_prepare_real_takes_a_map_without_a_model_as_unlabelled(tmp_path):
    """A map with no model (for a consistency pool) gives a box whose every voxel is ignored,
    listed ``"labelled": false``, which validation leaves out; ``resolution.txt`` states its
    resolution, and a sharp map is also given low-passed."""
    from chimerax.deepssetracer.core.classes import IGNORE
    from chimerax.deepssetracer.core.mapio import write_map
    from chimerax.deepssetracer.train.validation import load_val_boxes
    from helpers import blob_map

    src = tmp_path / "src" / "crowded"
    src.mkdir(parents=True)
    write_map(src / "map.mrc", blob_map((30, 28, 26), voxel_size=(1.0, 1.0, 1.0)))
    (src / "resolution.txt").write_text("3.4\n")
    entries = dataset.prepare_real(tmp_path / "out", tmp_path / "src")
    assert [e["name"] for e in entries] == ["crowded", "crowded_lp6", "crowded_lp8"]
    assert all(e["labelled"] is False and e["n_residues"] == 0 for e in entries)
    assert entries[0]["resolution"] == 3.4
    z = np.load(tmp_path / "out" / "crowded.npz")
    assert (z["labels"] == IGNORE).all() and z["ca_xyz"].shape == (0, 3)
    assert load_val_boxes(tmp_path / "out", None, None) == []
