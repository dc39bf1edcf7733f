"""Warnings for maps that look wrong for the tool, and the no-molecule decision."""

from __future__ import annotations

import numpy as np
import pytest
from chimerax.deepssetracer.core.assess import NO_MOLECULE, assess_map
from chimerax.deepssetracer.core.lowpass import lowpass
from chimerax.deepssetracer.core.mapio import read_map
from chimerax.deepssetracer.core.resample import resample
from scipy.ndimage import gaussian_filter


def _protein(seed: int = 0, noise: float = 0.02) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grid = np.zeros((40, 40, 40), np.float32)
    idx = rng.integers(10, 30, size=(400, 3))
    grid[tuple(idx.T)] = 1.0
    m = gaussian_filter(grid, 1.5) * 3.0
    return (m + gaussian_filter(rng.normal(0, noise, m.shape), 1.0)).astype(np.float32)


def test_a_clean_map_has_no_warning():
    found = assess_map(_protein(), 2.0, resolution=6.0)
    assert found.warnings == [] and found.molecule


def test_inverted_contrast_is_named():
    found = assess_map(-_protein(1), 2.0)
    assert any("inverted" in w for w in found.warnings) and found.molecule


@pytest.mark.parametrize("sigma, n", [(1.0, 60), (2.0, 50), (3.0, 80)])
def test_smooth_noise_is_named_but_not_blanked(sigma, n):
    """Noise of 2-6 Å grain: the warning says no molecule stands out; nothing blanks it, since
    nothing here tells it from a noisy crop crowded with protein."""
    noise = gaussian_filter(np.random.default_rng(2).normal(size=(n, n, n)), sigma)
    found = assess_map(noise.astype(np.float32), 2.0)
    (warning,) = [w for w in found.warnings if w.startswith(NO_MOLECULE)]
    assert "it is predicted" in warning and not found.molecule


def test_a_noisy_crowded_crop_is_predicted_with_a_warning(shared_dir):
    """Hemoglobin's central crop with smooth noise of the map's own spread looks like noise by
    these measures: the warning says what to doubt (the check used to blank such crops)."""
    m = read_map(shared_dir / "data" / "real" / "emd3488_5me2" / "map.mrc")
    crop = m.data[27:72, 27:72, 27:72]
    noise = gaussian_filter(np.random.default_rng(0).normal(size=crop.shape), 2.0)
    noisy = crop + float(m.data.std()) * noise / noise.std()
    found = assess_map(lowpass(resample(noisy, m.voxel_size, (2.0,) * 3), (2.0,) * 3, 6.0), 2.0)
    assert any(w.startswith(NO_MOLECULE) and "it is predicted" in w for w in found.warnings)


def test_density_at_the_faces_is_named():
    protein = _protein()
    assert not any("faces" in w for w in assess_map(protein, 2.0).warnings)
    (warning,) = [w for w in assess_map(protein[20:], 2.0).warnings if "faces" in w]
    assert "runs into the box's faces" in warning


def test_coarse_voxels_are_named():
    (warning,) = assess_map(_protein(), 2.0, map_voxel=(2.7, 2.7, 2.7)).warnings
    assert "coarser than the network's 2 Å grid" in warning
    assert assess_map(_protein(), 2.0, map_voxel=(1.0, 1.0, 2.0)).warnings == []


def test_sharp_map_without_low_pass_is_named():
    (warning,) = assess_map(_protein(3), 2.0, resolution=4.0, lowpass=None).warnings
    assert "sharper than" in warning
    assert assess_map(_protein(3), 2.0, resolution=4.0, lowpass=6.0).warnings == []


@pytest.mark.parametrize("folder", ["emd3488_5me2", "emd1657_4v5h_AM", "emd8518_5u8s_A"])
def test_real_maps_and_crops_inside_them_have_a_molecule(shared_dir, folder):
    """Even a 20 Å cube from inside the protein, with no solvent, is not taken for noise."""
    m = read_map(shared_dir / "data" / "real" / folder / "map.mrc")
    x = lowpass(m.data, m.voxel_size, 6.0)
    c = np.array(x.shape) // 2
    for h in (10, 20, None):
        sub = x if h is None else x[c[0] - h:c[0] + h, c[1] - h:c[1] + h, c[2] - h:c[2] + h]
        assert assess_map(resample(sub, m.voxel_size, (2.0,) * 3), 2.0).molecule, (folder, h)
