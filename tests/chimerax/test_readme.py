"""The README's ChimeraX commands, pasted line by line into a real headless ChimeraX.

Issue 28: the README opened the model after predicting, so the result took #2 and
``deepssetracer #1 elements true model #2`` named the result, not the model. Here every line of
the ChimeraX section's command block runs verbatim, with only the placeholder file names
``map.mrc`` and ``model.pdb`` replaced by EMD-8518 and its fitted chain 5U8S A
(../shared/data/real).
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, SHARED

PAIR = SHARED / "data" / "real" / "emd8518_5u8s_A"
PLACEHOLDERS = {"map.mrc": PAIR / "map.mrc", "model.pdb": PAIR / "model.pdb"}


def readme_chimerax_commands() -> list[str]:
    """The lines of the code block in README.md's ``## ChimeraX`` section that opens a map."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## ChimeraX\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "README.md has no '## ChimeraX' section"
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", section.group(1), re.S | re.M)
    found = [b.splitlines() for b in blocks if b.lstrip().startswith("open ")]
    assert len(found) == 1, "expected one command block starting with 'open' in the section"
    return [line for line in found[0] if line.strip()]


def substituted(line: str) -> str:
    for name, path in PLACEHOLDERS.items():
        line = re.sub(rf"(?<![\w/.]){re.escape(name)}(?![\w.])", str(path), line)
    return line


def test_readme_block_names_the_placeholders():
    lines = readme_chimerax_commands()
    assert any(re.search(r"\bopen map\.mrc\b", ln) for ln in lines)
    assert any(ln.startswith("deepssetracer ") for ln in lines)


def test_readme_chimerax_commands_run_as_pasted(cx, log_lines):
    from chimerax.atomic import AtomicStructure
    from chimerax.core.commands import run
    from chimerax.deepssetracer.core.weights import default_weights_path

    if not all(p.is_file() for p in PLACEHOLDERS.values()):
        pytest.skip(f"no real map and model at {PAIR} (../shared is absent)")
    if not default_weights_path().is_file():
        pytest.skip("the README's commands use the shipped weights, which are not installed")
    lines = readme_chimerax_commands()
    results = []
    for line in lines:
        results.append(run(cx, substituted(line), log=False))
    errors = [ln for ln in log_lines if "error" in ln.lower() or "invalid" in ln.lower()]
    assert not errors, errors

    (structure,) = cx.models.list(type=AtomicStructure)
    predictions = [r for line, r in zip(lines, results) if line.startswith("deepssetracer ")]
    assert predictions and all(predictions)
    last = predictions[-1]
    helix, sheet = last[:2]
    assert helix.name.endswith(" helix") and sheet.name.endswith(" sheet")
    assert not helix.deleted and helix.parent.id not in {(1,), structure.id}
    if any("model #" in line for line in lines if line.startswith("deepssetracer ")):
        checked = [ln for ln in log_lines if "coloured by the prediction" in ln]
        assert len(checked) == 1 and f"#{structure.id_string}" in checked[0], checked
