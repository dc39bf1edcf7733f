"""docs/architecture.md follows the code: every module has its row, the signatures it quotes
are the functions' own, and its sidecar example has the shipped sidecar's fields."""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

import pytest
from chimerax.deepssetracer.core import predict, tiling

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()


@pytest.mark.parametrize("package", ["core", "train"])
def test_every_module_has_a_row(package):
    modules = sorted(p.name for p in (ROOT / "src" / package).glob("*.py")
                     if p.name != "__init__.py")
    missing = [m for m in modules if f"| `{m}` |" not in ARCHITECTURE]
    assert not missing, f"docs/architecture.md has no row for {package}/{missing}"


def _quoted(name: str) -> list[str]:
    """The arguments of ``name(…)`` as the document quotes it (the first quotation)."""
    found = re.search(rf"`{name}\(([^)`]*)\)", ARCHITECTURE)
    assert found, f"docs/architecture.md does not quote {name}(…)"
    return [a.strip() for a in found.group(1).split(",")]


@pytest.mark.parametrize("func", [predict.predict_map, predict.check_map, predict.read_checked,
                                  tiling.predict_tiled])
def test_quoted_signatures_are_the_code(func):
    quoted = _quoted(func.__name__)
    params = list(inspect.signature(func).parameters.values())
    assert len(quoted) == len(params), (quoted, [p.name for p in params])
    for text, param in zip(quoted, params):
        if param.default is inspect.Parameter.empty:
            assert "=" not in text, (text, param)
        else:
            name, default = text.split("=", 1)
            assert name == param.name and ast.literal_eval(default) == param.default, text


def _keys(d):
    return {k: _keys(v) if isinstance(v, dict) else None for k, v in d.items()}


def test_sidecar_example_is_the_shipped_sidecar():
    example = json.loads(re.search(r"```json\n(.*?)```", ARCHITECTURE, re.S).group(1))
    shipped = json.loads((ROOT / "src" / "weights" / "deepssetracer.json").read_text())
    assert _keys(example) == _keys(shipped)
    # training figures change with each run; the rest is the format
    assert {k: v for k, v in example.items() if k != "training"} == {
        k: v for k, v in shipped.items() if k != "training"}
