"""The bundled example through the CLI and through `predict_map`: the same bytes, every time.

What users run is a pure function of the input: the CLI's files hold exactly the arrays
`core.predict.predict_map` returns, and running again gives identical bytes (but for the
write time mrcfile stamps into the header's first label).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from chimerax.deepssetracer import __version__
from chimerax.deepssetracer.cli import main as cli_main
from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.core.mapio import read_map, write_maps
from chimerax.deepssetracer.core.predict import header_labels, predict_map
from chimerax.deepssetracer.core.weights import default_weights_path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "emd8518_5u8s_A.mrc"
LABEL_0 = slice(224, 304)  # "Created by mrcfile.py ... <date> <time>": the only clock in a file

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def one_thread():
    """The shipped weights on one thread, as the CLI's ``--threads 1`` runs them."""
    if not default_weights_path().is_file():
        pytest.skip("no shipped weights")
    return load_network(None, device="cpu", threads=1)


def _cli(out: Path) -> dict[str, bytes]:
    assert cli_main(["predict", str(EXAMPLE), "-o", str(out), "--threads", "1", "-q"]) == 0
    return _files(out)


def _files(folder: Path) -> dict[str, bytes]:
    """Each file's bytes with the write time of label 0 blanked."""
    out = {}
    for p in sorted(folder.iterdir()):
        raw = bytearray(p.read_bytes())
        assert raw[LABEL_0].startswith(b"Created by mrcfile.py")
        raw[LABEL_0] = b" " * 80
        out[p.name] = bytes(raw)
    return out


def test_cli_and_predict_map_agree_and_repeat(shared_dir, one_thread, tmp_path):
    net, spec = one_thread
    first, second = _cli(tmp_path / "a"), _cli(tmp_path / "b")
    assert sorted(first) == ["emd8518_5u8s_A_helix.mrc", "emd8518_5u8s_A_sheet.mrc"]
    assert first == second  # a re-run writes identical bytes

    dmap = read_map(EXAMPLE)
    pred = predict_map(dmap, net, spec, name=str(EXAMPLE))
    again = predict_map(dmap, net, spec, name=str(EXAMPLE))
    for kind in ("helix", "sheet"):
        written = read_map(tmp_path / "a" / f"emd8518_5u8s_A_{kind}.mrc")
        np.testing.assert_array_equal(written.data, getattr(pred, kind))
        assert getattr(pred, kind).tobytes() == getattr(again, kind).tobytes()
    out = tmp_path / "c"
    out.mkdir()
    maps = pred.maps()
    for k, m in maps.items():  # the CLI's provenance labels
        m.labels = header_labels(f"DeepSSETracer {__version__}", k, spec.onnx_sha256,
                                 EXAMPLE.name)
    write_maps({out / f"emd8518_5u8s_A_{k}.mrc": m for k, m in maps.items()})
    assert _files(out) == first
