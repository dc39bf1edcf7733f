"""The map as the network sees it: scale-free, outliers clipped from the molecule's density."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core.lowpass import lowpass
from chimerax.deepssetracer.core.mapio import read_map
from chimerax.deepssetracer.core.predict import PredictionInfo
from chimerax.deepssetracer.core.prepare import (
    AROUND_VOXELS,
    around_step,
    density_as_seen,
    outlier_bounds,
    prepare,
    solvent_of,
)
from helpers import blob_map

NORM = {"method": "foreground", "clip": [-3.0, 5.0]}


def test_real_maps_have_no_outliers_and_a_spike_is_clipped(shared_dir):
    for path in sorted(shared_dir.glob("data/real/*/map.mrc")):
        dmap = read_map(path)
        assert outlier_bounds(dmap.data, dmap.voxel_size) is None, path
    spiked = dmap.data.copy()
    spiked[3, 4, 5], spiked[10, 11, 12] = 1e30, -1e30
    lo, hi = outlier_bounds(spiked, dmap.voxel_size)
    assert max(-lo, hi) < 100 * np.abs(dmap.data).max()
    assert lo < dmap.data.min() and dmap.data.max() < hi  # the molecule lies within
    _, record = prepare(spiked, dmap.voxel_size, 2.0, NORM)
    assert record.clipped == 2 and "2 voxels lie more than 50 times" in record.warnings[0]
    assert record.clip == (lo, hi)
    seen = density_as_seen(spiked, dmap.voxel_size, record)  # the spikes as the network saw
    assert np.abs(seen).max() <= max(-lo, hi) / record.scale * (1 + 1e-6)


def test_a_masked_filtered_map_keeps_its_molecule(shared_dir):
    """Zero-padded by 60 Å and low-passed: the near-flat solvent's spread is ~1e-6 of the
    molecule's, and bounds from that spread clipped 101,448 voxels of molecule."""
    m = read_map(shared_dir / "data/real/emd8518_5u8s_A/map.mrc")
    data = lowpass(np.pad(m.data, 60), m.voxel_size, 7.0)
    assert outlier_bounds(data, m.voxel_size) is None
    _, record = prepare(data, m.voxel_size, 2.0, NORM)
    assert record.clipped == 0 and not record.warnings


def test_masked_map_has_no_outlier_warning():
    m = blob_map((30, 30, 30))
    m.data[m.data < 0.3] = 0.0
    assert outlier_bounds(m.data, m.voxel_size) is None


@pytest.mark.parametrize("scale", [1e-24, 1e-6, 1e6, 1e30])
def test_the_same_map_at_any_scale_is_the_same_input(scale):
    m = blob_map((30, 28, 26))
    ref, rec = prepare(m.data, m.voxel_size, 2.0, NORM)
    got, rec2 = prepare((m.data.astype(np.float64) * scale).astype(np.float32), m.voxel_size,
                        2.0, NORM)
    np.testing.assert_allclose(got, ref, atol=1e-4)
    assert rec2.resolution == pytest.approx(rec.resolution) and rec2.warnings == rec.warnings


def test_elements_see_the_map_clipped_and_low_passed_no_finer_than_its_grid():
    """A 2.7 Å grid cannot hold a 5 Å low-pass: the elements get the finest it holds."""
    m = blob_map((30, 30, 30), voxel_size=(2.7, 2.7, 2.7))
    _, record = prepare(m.data, m.voxel_size, 2.0, NORM, lowpass=5.0)
    seen = density_as_seen(m.data, m.voxel_size, record)
    assert seen.shape == m.data.shape and np.isfinite(seen).all()
    np.testing.assert_allclose(seen, lowpass(m.data / record.scale, m.voxel_size, 5.4),
                               atol=1e-5)


def test_detail_between_the_two_grids_limits_does_not_fold_into_the_map():
    """A 2.5 Å wave on a 1 Å map (as a sharpened map's amplified noise) would alias to a 10 Å
    wave on the network's 2 Å grid, where the network reads helices; it is filtered out on the
    map's own grid first."""
    m = blob_map((40, 40, 40))
    x = np.arange(40, dtype=np.float32)
    wave = np.cos(2 * np.pi * 0.4 * x)[None, None, :] * np.ones((40, 40, 1), np.float32)
    ref, _ = prepare(m.data, m.voxel_size, 2.0, NORM)
    got, _ = prepare(m.data + 0.5 * wave, m.voxel_size, 2.0, NORM)
    assert np.abs(got - ref).max() < 0.05 * np.abs(ref).max()


def test_data_region_leaves_out_constant_face_slabs_only():
    from chimerax.deepssetracer.core.prepare import data_region
    data = np.zeros((30, 40, 50), np.float32)
    data[5:25, 2:38, 10:41] = 1.0 + np.random.default_rng(0).random((20, 36, 31))
    assert data_region(data, (1.0, 1.0, 1.0)) == (slice(5, 25), slice(2, 38), slice(10, 41))
    data[0, 0, 0] = 2.0  # the corner is not padding: nothing is
    assert data_region(data, (1.0, 1.0, 1.0)) == (slice(0, 30), slice(0, 40), slice(0, 50))
    point = np.zeros((30, 30, 30), np.float32)
    point[15, 15, 15] = 1.0  # a few voxels of data keep 10 Å a side (here 5 voxels of 2 Å)
    assert data_region(point, (2.0, 2.0, 2.0)) == (slice(13, 18),) * 3


def test_a_padded_crop_through_the_molecule_is_prepared_as_the_crop():
    """Zero padding around a crop through the molecule is left out (the crop's own statistics
    and faces); a masked molecule clear of its padding is prepared whole, as before."""
    y = np.arange(20, dtype=np.float32)[None, :, None]
    rng = np.random.default_rng(1)  # a slab of density through four faces, solvent about it
    crop = (np.exp(-(y - 10) ** 2 / 8) + 0.02 * rng.standard_normal((20, 20, 20))
            ).astype(np.float32)
    padded = np.pad(crop, 10)
    volume, record = prepare(padded, (1.0,) * 3, 2.0, NORM, trim=True)
    alone, alone_record = prepare(crop, (1.0,) * 3, 2.0, NORM, trim=True)
    assert record.region == (slice(10, 30),) * 3 and alone_record.region is None
    assert np.array_equal(volume, alone) and record.levels == alone_record.levels
    assert record.faces > 0.04
    assert any("runs into the faces of the crop inside the padding" in w
               for w in record.warnings)
    assert any("runs into the box's faces" in w for w in alone_record.warnings)
    seen = density_as_seen(padded, (1.0,) * 3, record)  # elements trace the crop as seen
    assert np.array_equal(seen[10:30, 10:30, 10:30], density_as_seen(crop, (1.0,) * 3,
                                                                       alone_record))
    assert not seen[:10].any()
    masked = blob_map((40, 40, 40)).data * (blob_map((40, 40, 40)).data > 0.3)
    masked = np.pad(masked, 5)
    assert (masked == 0).all(axis=(1, 2))[:6].all()
    whole, whole_record = prepare(masked, (1.0,) * 3, 2.0, NORM)
    volume, record = prepare(masked, (1.0,) * 3, 2.0, NORM, trim=True)
    assert record.region is None and np.array_equal(volume, whole)


def test_a_region_that_cannot_be_prepared_leaves_the_whole_map():
    """A flat block inside its padding cannot be normalised alone; the whole map still is."""
    data = np.pad(np.ones((24, 24, 24), np.float32), 8)
    whole, _ = prepare(data, (1.0,) * 3, 1.0, NORM, lowpass=None)
    volume, record = prepare(data, (1.0,) * 3, 1.0, NORM, lowpass=None, trim=True)
    assert record.region is None and np.array_equal(volume, whole)


def test_a_map_read_for_its_level_is_read_at_the_networks_spacing_or_coarser():
    """At the network's 2 Å spacing, coarser only where that would read more than
    `AROUND_VOXELS` (a large map: a level is wanted of it, not a map); a coarse read is
    prepared on its own grid, and gives the level of the map read finely."""
    assert around_step((100, 90, 80), (1.0, 1.0, 1.0), 2.0) == (2, 2, 2)
    assert around_step((60, 60, 60), (2.7, 2.7, 2.7), 2.0) == (1, 1, 1)
    big = around_step((512, 512, 512), (1.0, 1.0, 1.0), 2.0)
    assert big == (4, 4, 4) and np.prod([-(-512 // k) for k in big]) <= AROUND_VOXELS
    m = blob_map((48, 48, 48), voxel_size=(1.0, 1.0, 1.0))
    fine = solvent_of(m.data, m.voxel_size, 2.0)
    coarse = solvent_of(np.ascontiguousarray(m.data[::3, ::3, ::3]), (3.0,) * 3, 2.0)
    assert coarse == pytest.approx(fine, abs=0.05 * float(m.data.max() - fine))


def test_a_region_takes_the_solvent_of_the_map_around_it():
    """A region crowded with protein has no solvent to find: its mode is the protein's density.
    Given the whole map's solvent level (`solvent_of`, in the map's units, so at any scale), it
    takes the lower of that and its own mode, and its molecule's density is still its own."""
    m = blob_map((48, 48, 48), voxel_size=(1.0, 1.0, 1.0))
    whole = solvent_of(m.data, m.voxel_size, 2.0)
    _, rec = prepare(m.data, m.voxel_size, 2.0, NORM)
    assert whole == pytest.approx(rec.levels.solvent * rec.scale)
    assert solvent_of(m.data * 1e6, m.voxel_size, 2.0) == pytest.approx(whole * 1e6, rel=1e-4)
    # a molecule filling the middle of a solvent box: its central region holds no solvent
    rng = np.random.default_rng(1)
    data = 0.02 * rng.standard_normal((60, 60, 60)).astype(np.float32)
    data[10:50, 10:50, 10:50] += 1 + 0.5 * lowpass(rng.standard_normal((40,) * 3), (1.0,) * 3,
                                                   5.0) / 0.05
    whole = solvent_of(data, m.voxel_size, 2.0)
    crowded = np.ascontiguousarray(data[18:42, 18:42, 18:42])
    _, own = prepare(crowded, m.voxel_size, 2.0, NORM)
    assert own.levels.solvent * own.scale > whole + 0.5  # its mode: the molecule's density
    _, given = prepare(crowded, m.voxel_size, 2.0, NORM, solvent=whole)
    assert given.levels.solvent * given.scale == pytest.approx(whole, abs=1e-6)
    assert given.levels.molecule > own.levels.molecule  # measured above the true solvent
    assert given.solvent_lift > 0.5 and own.solvent_lift == 0.0  # the result line says so
    info = PredictionInfo(preparation=given)
    assert "the whole map's solvent level (the region's own mode" in info.preprocessing()
    assert "solvent" not in PredictionInfo(preparation=own).preprocessing()
    # a larger map whose own mode lies higher (itself crowded) never raises the region's
    _, higher = prepare(crowded, m.voxel_size, 2.0, NORM,
                        solvent=own.levels.solvent * own.scale + 0.3)
    assert higher.levels == own.levels and higher.solvent_lift == 0.0
    assert solvent_of(np.zeros((20, 20, 20), np.float32) + 1, m.voxel_size, 2.0) is None
    # a padded crop: its padding (here the map's minimum) is trimmed as `prepare` trims it
    padded = np.pad(crowded, 12, constant_values=float(crowded.min()) - 1.0)
    _, trimmed = prepare(padded, m.voxel_size, 2.0, NORM, trim=True)
    assert trimmed.region is not None
    assert solvent_of(padded, m.voxel_size, 2.0) == pytest.approx(
        trimmed.levels.solvent * trimmed.scale)
    # read coarsely for its level, a map is low-passed no finer than its grid holds
    assert solvent_of(data[::3, ::3, ::3], (3.0,) * 3, 3.0, 5.0) is not None
