"""Issue 29 item 11: extreme scales. The same real map times any positive factor float32 holds
gives the same labels (`prepare` divides the map by its largest magnitude first); a map half
of whose voxels are 3e38 runs without numpy RuntimeWarnings and without NaN or Infinity in any
output. Shipped weights, the bundled example (91 x 81 x 55 voxels)."""

from __future__ import annotations

import json
from pathlib import Path

import mrcfile
import numpy as np
import pytest
from chimerax.deepssetracer.cli import main as cli_main
from chimerax.deepssetracer.core.grid import DensityMap
from chimerax.deepssetracer.core.mapio import read_map
from chimerax.deepssetracer.core.metrics import voxel_counts
from chimerax.deepssetracer.core.predict import predict_map

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "emd8518_5u8s_A.mrc"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def example():
    return read_map(EXAMPLE)


@pytest.fixture(scope="module")
def reference(shipped, example):
    return predict_map(example, *shipped, name="reference")


def _half_3e38(data: np.ndarray) -> np.ndarray:
    out = data.copy()
    out.reshape(-1)[::2] = 3e38
    return out


SCALES = {f"times_{f:g}": (lambda d, f=f: d * np.float32(f)) for f in (1e-24, 1e-20, 1e20, 1e30)}
SCALES.update({f"peak_{p:g}": (lambda d, p=p: (d.astype(np.float64) * (p / float(np.abs(d).max())))
                               .astype(np.float32)) for p in (1e36, 3e37)})


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("variant", sorted(SCALES))
def test_the_same_map_at_any_scale_gives_the_same_labels(shipped, example, reference, variant):
    data = SCALES[variant](example.data)
    assert np.isfinite(data).all()
    pred = predict_map(DensityMap(data, example.voxel_size, example.origin), *shipped,
                       name=variant)
    counts = voxel_counts(pred.labels(), reference.labels())
    for cls in ("helix", "sheet"):
        assert counts[cls].f1 >= 0.99, (variant, cls, counts[cls])
    for cls, volume in pred.volumes_A3(0.5).items():
        assert volume == pytest.approx(reference.volumes_A3(0.5)[cls], rel=0.01, abs=1.0)
    assert pred.warnings == reference.warnings


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_half_the_voxels_at_3e38_give_a_finite_result(shipped, example):
    """No RuntimeWarning (made errors here), no NaN; the resolution estimate finds no power in
    its reference band, which is "not measured" (None), not inf: it printed "the map looks
    about inf Å or coarser" and wrote ``Infinity`` (not JSON) into --json."""
    pred = predict_map(DensityMap(_half_3e38(example.data), example.voxel_size, example.origin),
                       *shipped, name="half")
    assert np.isfinite(pred.helix).all() and np.isfinite(pred.sheet).all()
    assert pred.resolution is None or np.isfinite(pred.resolution)
    assert not [w for w in pred.warnings if "inf" in w.split()]


def test_half_the_voxels_at_3e38_through_the_cli(shipped, example, tmp_path, capfd):
    """The whole CLI run, every output and --json: no RuntimeWarning on stderr, no NaN or
    Infinity anywhere."""
    path = tmp_path / "half.mrc"
    with np.errstate(over="ignore"), mrcfile.new(path) as m:  # mrcfile's own float32 rms
        m.set_data(_half_3e38(example.data))
        m.voxel_size = example.voxel_size
    out, report = tmp_path / "out", tmp_path / "r.json"
    code = cli_main(["predict", str(path), "-o", str(out), "--labels", "--elements",
                     "--threads", "2", "--json", str(report), "-q"])
    err = capfd.readouterr().err
    assert code == 0, err
    assert "RuntimeWarning" not in err and "Traceback" not in err
    assert "inf Å" not in err

    def refuse(name):
        raise AssertionError(f"{name} in --json")

    json.loads(report.read_text(), parse_constant=refuse)
    for name in ("half_helix.mrc", "half_sheet.mrc", "half_labels.mrc"):
        assert np.isfinite(read_map(out / name).data).all(), name
    for name in ("half_elements.json", "half_elements.pdb"):
        text = (out / name).read_text()
        assert "nan" not in text.lower() and "inf" not in text.lower(), name
