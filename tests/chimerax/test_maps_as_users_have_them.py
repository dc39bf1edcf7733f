"""Maps as users bring them, in the real headless ChimeraX: sharp, padded, noise."""

from __future__ import annotations

import numpy as np
import pytest

SHARED_REAL = pytest.importorskip("pathlib").Path(__file__).resolve().parents[2].parent / \
    "shared" / "data" / "real"


def run(session, text):
    from chimerax.core.commands import run as cx_run

    return cx_run(session, text, log=False)


def test_sharp_map_is_low_passed_and_the_log_says_so(cx, log_lines):
    path = SHARED_REAL / "emd3488_5me2" / "map.mrc"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    run(cx, f"open {path}")
    helix, _ = run(cx, "deepssetracer #1")
    (summary,) = [line for line in log_lines if line.startswith("DeepSSETracer ")]
    assert "low-passed to 6 Å (the default; its spectrum reaches" in summary, summary
    assert (helix.full_matrix() >= 0.5).mean() > 0.03  # a third of the box is protein


def test_zero_padding_does_not_change_the_answer(cx, example_map, tmp_path):
    """The example map, and the same map in 40 Å more of exact zeros a side (origin moved)."""
    import mrcfile

    (v,) = run(cx, f"open {example_map}")
    helix, sheet = run(cx, "deepssetracer #1")
    data = v.full_matrix().copy()
    step = v.data.step
    pad = 40
    padded = tmp_path / "padded.mrc"
    with mrcfile.new(padded) as m:
        m.set_data(np.pad(data, pad))
        m.voxel_size = step
        m.header.origin = tuple(o - pad * s for o, s in zip(v.data.origin, step))
    run(cx, f"open {padded}")
    (w,) = [m for m in cx.models.list() if m.name == "padded.mrc"]
    h2, s2 = run(cx, f"deepssetracer #{w.id_string}")
    inner = (slice(pad, -pad),) * 3
    for a, b in ((helix, h2), (sheet, s2)):
        same = (a.full_matrix() >= 0.5) == (b.full_matrix()[inner] >= 0.5)
        assert same.mean() > 0.99


def test_noise_is_predicted_with_a_warning(cx, tmp_path, log_lines):
    """No map is blanked (a noisy crowded crop looks like noise to every check): the log warns,
    and ``moleculeCheck false`` leaves the warning out."""
    import mrcfile
    from scipy.ndimage import gaussian_filter

    noise = gaussian_filter(np.random.default_rng(0).normal(size=(60, 60, 60)), 2.0)
    path = tmp_path / "noise.mrc"
    with mrcfile.new(path) as m:
        m.set_data(noise.astype(np.float32))
        m.voxel_size = 1.0
    run(cx, f"open {path}")
    helix, sheet = run(cx, "deepssetracer #1")
    assert max(helix.full_matrix().max(), sheet.full_matrix().max()) > 0
    assert any("no molecule stands out" in line for line in log_lines)
    log_lines.clear()
    run(cx, "deepssetracer #1 moleculeCheck false")
    assert not any("no molecule stands out" in line for line in log_lines)
