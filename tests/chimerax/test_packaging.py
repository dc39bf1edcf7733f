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


STALE = "chimerax/deepssetracer/removed_module.py"  # what an earlier build left in build/


@pytest.fixture(scope="module")
def wheel(cx_session, tmp_path_factory) -> Path:
    """``pip wheel . --no-deps`` in a copy of what the build reads, as a checkout has it after
    an earlier build: a module since removed still lies in ``build/lib`` and in the staging
    folder."""
    tree = tmp_path_factory.mktemp("tree")
    for name in ("bundle_info.xml", "setup.py", "pyproject.toml", "LICENSE"):
        shutil.copy(ROOT / name, tree)
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for left in (tree / "build" / "lib", tree / "build" / "bdist.linux-x86_64" / "wheel"):
        (left / STALE).parent.mkdir(parents=True)
        (left / STALE).write_text("raise ImportError('stale')\n")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(out), str(tree)],
                   check=True, capture_output=True, timeout=300, cwd=tree)
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
    assert STALE not in names  # only what the sources hold
    lines = metadata.splitlines()
    assert lines[0] == "Metadata-Version: 2.1"  # pkginfo 1.9.6 (ChimeraX 1.6, 1.7) reads it
    assert not [line for line in lines if line.split(":")[0] in (
        "Dynamic", "License-File", "License-Expression")]
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
                          encoding="utf-8", timeout=300)
    assert done.returncode == 0, done.stderr
    log = done.stdout + done.stderr
    assert "already installed" in log  # the wheel's name matched the installed bundle
    assert "Installed ChimeraX-DeepSSETracer (0.1.0)" in log
    assert "models 2" in done.stdout


PKGINFO_196 = r"""
import sys
sys.path.insert(0, sys.argv[1])
import pkginfo
assert pkginfo.__file__.startswith(sys.argv[1]), pkginfo.__file__
w = pkginfo.Wheel(sys.argv[2])
print(w.metadata_version, w.name, w.version, sep="|")
for c in w.classifiers:
    print(c)
"""


@pytest.fixture(scope="module")
def pkginfo_196(tmp_path_factory) -> Path:
    """pkginfo 1.9.6, the version ChimeraX 1.6 and 1.7 pin, in a folder of its own."""
    target = tmp_path_factory.mktemp("pkginfo196")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                           "--disable-pip-version-check", "--target", str(target),
                           "pkginfo==1.9.6"], capture_output=True, encoding="utf-8", timeout=300)
    if done.returncode != 0:
        pytest.skip(f"pkginfo 1.9.6 could not be installed: {done.stderr.strip()[-300:]}")
    return target


def test_pkginfo_of_chimerax_1_7_reads_the_wheel(wheel, pkginfo_196):
    """ChimeraX 1.7's toolshed reads a wheel with pkginfo 1.9.6: for metadata newer than 2.2
    it finds no name and no classifiers, and ``toolshed install`` then sees no bundle."""
    done = subprocess.run([sys.executable, "-I", "-c", PKGINFO_196, str(pkginfo_196),
                           str(wheel)], capture_output=True, encoding="utf-8", timeout=60)
    assert done.returncode == 0, done.stderr
    first, *classifiers = done.stdout.splitlines()
    assert first == "2.1|ChimeraX-DeepSSETracer|0.1.0"
    assert [c.rstrip() for c in classifiers if c.startswith("ChimeraX :: ")] == [
        "ChimeraX :: Bundle :: Volume Data :: 1,1 :: chimerax.deepssetracer ::  ::",
        "ChimeraX :: Command :: deepssetracer :: Volume Data :: Label helix and sheet regions "
        "of a density map",
        "ChimeraX :: Tool :: DeepSSETracer :: Volume Data :: Find helices and sheets in a "
        "density map",
    ]


def test_metadata_is_rewritten_as_version_2_1(cx_session):
    """What setup.py does to a setuptools >= 77 METADATA, field by field."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bundle_setup", ROOT / "setup.py")
    setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)  # defines, builds nothing
    text = ("Metadata-Version: 2.4\nName: X\nLicense-Expression: MIT\nLicense-File: LICENSE\n"
            "Dynamic: license-file\nLicense: line one\n        line two\nClassifier: A :: B\n"
            "\nDescription text\nLicense-File: kept in the body\n")
    assert setup.readable_metadata(text) == (
        "Metadata-Version: 2.1\nName: X\nLicense: line one\n        line two\n"
        "Classifier: A :: B\n\nDescription text\nLicense-File: kept in the body\n")
