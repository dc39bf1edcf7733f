"""Imports point one way: core needs neither ChimeraX nor torch; the predict path loads neither."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "chimerax.deepssetracer"
CORE_FORBIDDEN_TOP = {"torch", "scipy", "gemmi", "mdtraj", "matplotlib", "tqdm", "onnx"}


def _imports(path: Path) -> list[str]:
    """Absolute names of every module a file imports (relative imports resolved)."""
    rel = path.relative_to(SRC).with_suffix("")
    parts = [PACKAGE, *rel.parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    package = parts if path.name == "__init__.py" else parts[:-1]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            names.append(mod)
            names += [f"{mod}.{a.name}" for a in node.names]  # `from . import cli`
    return names


def _core_problems(name: str) -> bool:
    """True for imports core must not make: only numpy, mrcfile, onnxruntime, stdlib, itself."""
    if name.split(".")[0] in CORE_FORBIDDEN_TOP:
        return True
    if name == "chimerax" or name.startswith("chimerax."):
        return not (name == f"{PACKAGE}.core" or name.startswith(f"{PACKAGE}.core."))
    return False


def test_core_imports_only_numpy_mrcfile_onnxruntime():
    files = sorted((SRC / "core").glob("*.py"))
    assert files, "no core modules found"
    bad = {f"{f.name}: {n}" for f in files for n in _imports(f) if _core_problems(n)}
    assert not bad, sorted(bad)


def test_the_checker_catches_violations():
    assert _core_problems("torch.nn") and _core_problems("chimerax.core.errors")
    assert _core_problems(f"{PACKAGE}.train.losses") and _core_problems("scipy.ndimage")
    for sub in ("cli", "model", "train", "cmd", "tool", "panel"):
        assert _core_problems(f"{PACKAGE}.{sub}")
    assert _core_problems(PACKAGE)  # `from .. import x`: reaches above core
    assert not _core_problems(f"{PACKAGE}.core.mapio") and not _core_problems("numpy")


def _core_graph() -> dict[str, set[str]]:
    """Core module -> the core modules it imports (at the top or inside functions)."""
    modules = {f.stem for f in (SRC / "core").glob("*.py")} - {"__init__"}
    prefix = f"{PACKAGE}.core."
    graph = {}
    for m in modules:
        names = _imports(SRC / "core" / f"{m}.py")
        graph[m] = {n[len(prefix):].split(".")[0] for n in names if n.startswith(prefix)}
        graph[m] = {d for d in graph[m] if d in modules and d != m}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in `graph` (``[a, b, ..., a]``), or None when it is acyclic."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_core_has_no_import_cycle():
    graph = _core_graph()
    assert {"atomic", "grid", "memory", "mapio", "validate", "predict"} <= set(graph)
    assert not graph["atomic"] and not graph["grid"] and graph["memory"] <= {"errors"}  # ground
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_cycles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    assert _cycle({"mapio": {"validate"}, "validate": {"mapio"}}) == ["mapio", "validate", "mapio"]


def test_core_imports_nothing_above_it():
    """Not cli, cmd, tool, panel, model or train, lazily inside a function either."""
    above = ("cli", "cmd", "tool", "panel", "model", "train")
    bad = {f"{f.name}: {n}" for f in sorted((SRC / "core").glob("*.py")) for n in _imports(f)
           if any(n == f"{PACKAGE}.{a}" or n.startswith(f"{PACKAGE}.{a}.") for a in above)}
    assert not bad, sorted(bad)


@pytest.mark.parametrize("name", ["cmd.py", "tool.py"])
def test_chimerax_layer_never_imports_torch(name):
    path = SRC / name
    if not path.is_file():
        pytest.skip(f"src/{name} not written yet")
    torchy = (f"{PACKAGE}.model", f"{PACKAGE}.train")  # the packages that import torch
    bad = [n for n in _imports(path) if n.split(".")[0] == "torch"
           or any(n == t or n.startswith(t + ".") for t in torchy)]
    assert not bad


def test_predict_path_loads_neither_torch_nor_chimerax_core(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
        from helpers import blob_map, write_tiny_onnx
        import chimerax.deepssetracer.cli as cli
        from chimerax.deepssetracer.core import (errors, inference, mapio, normalize, predict,
            resample, rotations, tiling, validate, weights)
        onnx = write_tiny_onnx({str(tmp_path / "w")!r}, tile_size=16)
        m = mapio.write_map({str(tmp_path / "m.mrc")!r}, blob_map((20, 20, 20)))
        code = cli.main(["predict", str(m), "-o", {str(tmp_path / "out")!r},
                         "--weights", str(onnx), "--quiet"])
        assert code == 0, code
        loaded = sorted(n for n in sys.modules
                        if n.split(".")[0] in ("torch", "scipy", "gemmi", "mdtraj")
                        or n == "chimerax.core" or n.startswith("chimerax.core."))
        print("LOADED", loaded)
    """)
    # `onnx` builds the test model; the check is about what predicting itself pulls in.
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout, proc.stdout
    assert (tmp_path / "out" / "m_helix.mrc").is_file()


def test_evaluate_and_the_invariance_table_need_no_torch(tmp_path):
    """Scoring (evaluate, invariance) reads the dataset cache without the trainer's torch."""
    script = textwrap.dedent("""
        import sys
        sys.modules["torch"] = None  # any `import torch` now fails
        from chimerax.deepssetracer.train import evaluate, invariance  # noqa: F401
        import chimerax.deepssetracer.cli as cli
        code = cli.main(["evaluate", "--help"])
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage" in proc.stdout


def _bundle_name(module: str) -> str:
    """ChimeraX's distribution name of a ``chimerax.<module>`` bundle (map_data: MapData)."""
    return "ChimeraX-" + {"ui": "UI"}.get(module, "".join(p.title() for p in module.split("_")))


def test_every_chimerax_bundle_imported_is_a_declared_dependency():
    """ChimeraX resolves a bundle's dependencies from bundle_info.xml: one used but not declared
    works only while something else happens to load it."""
    import xml.etree.ElementTree as ET

    declared = {d.get("name") for d in ET.parse(SRC.parent / "bundle_info.xml").iter("Dependency")}
    used = {n.split(".")[1] for f in SRC.rglob("*.py") for n in _imports(f)
            if n.startswith("chimerax.") and not n.startswith(PACKAGE)}
    assert used >= {"core", "map", "atomic"}, used  # the check sees the imports it should
    missing = sorted(_bundle_name(m) for m in used if _bundle_name(m) not in declared)
    assert not missing, f"imported but not in bundle_info.xml: {missing}"
    assert _bundle_name("map_data") == "ChimeraX-MapData" and _bundle_name("ui") == "ChimeraX-UI"
