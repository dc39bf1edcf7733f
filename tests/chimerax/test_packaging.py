"""The bundle wheel: named and filled so ChimeraX's ``toolshed install`` takes it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WHEEL = "ChimeraX_DeepSSETracer-0.1.0-py3-none-any.whl"


@pytest.fixture(scope="module")
def wheel(cx_session, tmp_path_factory) -> Path:
    """``pip wheel . --no-deps`` on a clean copy of what the build reads (no stale build/)."""
    tree = tmp_path_factory.mktemp("tree")
    for name in ("bundle_info.xml", "setup.py", "pyproject.toml", "LICENSE"):
        shutil.copy(ROOT / name, tree)
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(out), str(tree)],
                   check=True, capture_output=True, timeout=300)
    return out / WHEEL


def test_wheel_is_named_and_filled_as_a_chimerax_bundle(wheel):
    assert [p.name for p in wheel.parent.iterdir()] == [WHEEL]
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = z.read("ChimeraX_DeepSSETracer-0.1.0.dist-info/METADATA").decode()
    package = "chimerax/deepssetracer/"
    for f in ("__init__.py", "_bundle.py", "cmd.py", "panel.py", "tool.py",
              "docs/user/commands/deepssetracer.html", "docs/user/tools/deepssetracer.html"):
        assert package + f in names, f
    for p in (ROOT / "src" / "weights").glob("*"):
        assert f"{package}weights/{p.name}" in names
    lines = metadata.splitlines()
    assert "Name: ChimeraX-DeepSSETracer" in lines
    requires = {line.split(":", 1)[1].strip() for line in lines
                if line.startswith("Requires-Dist:") and "extra ==" not in line}
    assert {r.split(">")[0].split("=")[0] for r in requires} == {"numpy", "mrcfile",
                                                                   "onnxruntime"}
    chimerax = [line for line in lines if line.startswith("Classifier: ChimeraX ::")]
    assert chimerax == [
        "Classifier: ChimeraX :: Bundle :: Volume Data :: 1,1 :: chimerax.deepssetracer ::  :: ",
        "Classifier: ChimeraX :: Command :: deepssetracer :: Volume Data :: Label helix and "
        "sheet regions of a density map",
        "Classifier: ChimeraX :: Tool :: DeepSSETracer :: Volume Data :: Find helices and "
        "sheets in a density map",
    ]


def test_toolshed_install_takes_the_wheel(wheel, example_map, weights_kw, tmp_path):
    """ChimeraX's own ``toolshed install`` code path, run on this wheel.

    The pip ChimeraX runs pip with the venv's base interpreter (it resolves symlinks of
    sys.executable, as the app must to find its bundled python), so the script points that
    lookup back at this venv's python; everything else is ChimeraX 1.7.1's.
    """
    script = tmp_path / "install.py"
    script.write_text(
        "import sys\n"
        "from chimerax.core import python_utils\n"
        "python_utils.chimerax_python_executable = lambda: sys.executable\n"
        "from chimerax.core.commands import run\n"
        f"run(session, 'toolshed install {wheel} userOnly false')\n"
        f"run(session, 'toolshed install {wheel} userOnly false reinstall true')\n"
        f"run(session, 'open {example_map}')\n"
        f"print('models', len(run(session, 'deepssetracer #1{weights_kw}')))\n")
    done = subprocess.run([sys.executable, "-m", "chimerax.core", "--nogui", "--exit",
                           "--script", str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    log = done.stdout + done.stderr
    assert "already installed" in log  # the wheel's name matched the installed bundle
    assert "Installed ChimeraX-DeepSSETracer (0.1.0)" in log
    assert "models 2" in done.stdout
