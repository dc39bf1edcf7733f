"""The shipped pipeline still gives the published answers on real maps, and scores without torch.

`deepssetracer evaluate` runs in a process where ``import torch`` fails (as in an install
without it) on two real pairs, and its voxel and residue counts must be those of
docs/results/eval_real.json, measured before the code was reorganised. The counts come from
``predict_map``'s labels, which the CLI writes bitwise (test_pure_prediction.py) and the ChimeraX
command returns (tests/chimerax/test_cmd.py), so a change in any of the three shows here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from chimerax.deepssetracer.core.weights import default_weights_path, load_spec

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results" / "eval_real.json"
PAIRS = ("emd3491_5mdx_X", "emd8518_5u8s_A")  # the smallest real pair and the example's

pytestmark = [pytest.mark.shared, pytest.mark.slow]


def _within(got: dict, want: dict) -> bool:
    """Same true count; tp, fp, fn within 0.2 % of it (2 voxels at least), for CPUs whose
    onnxruntime kernels round differently."""
    slack = max(2, 0.002 * want["n_true"])
    return got["n_true"] == want["n_true"] and all(
        abs(got[k] - want[k]) <= slack for k in ("tp", "fp", "fn"))


def test_evaluate_without_torch_gives_the_published_counts(shared_dir, tmp_path):
    for module in ("scipy", "gemmi", "mdtraj"):
        pytest.importorskip(module)
    if not default_weights_path().is_file():
        pytest.skip("no shipped weights")
    published = json.loads(RESULTS.read_text())
    assert published["onnx_sha256"] == load_spec(default_weights_path()).onnx_sha256, (
        "docs/results/eval_real.json is of other weights: re-run the command the model card "
        "names")
    real = shared_dir / "data" / "real"
    runs = [(str(real / p / "map.mrc"), str(real / p / "model.pdb"), str(tmp_path / f"{p}.json"))
            for p in PAIRS]
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None  # any `import torch` now fails
        import chimerax.deepssetracer.cli as cli
        for m, model, out in {runs!r}:
            code = cli.main(["evaluate", m, model, "--threads", "1", "--json", out])
            assert code == 0, code
        assert "torch" not in [n.split(".")[0] for n in sys.modules if sys.modules[n]]
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = {r["map"]: r for r in published["maps"]}
    for pair, (_, _, out) in zip(PAIRS, runs):
        (got,) = json.loads(Path(out).read_text())["maps"]
        for level in ("voxel", "residue"):
            for cls in ("helix", "sheet"):
                assert _within(got[level][cls], rows[pair][level][cls]), (pair, level, cls)
