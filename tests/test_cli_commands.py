"""The console script outside `predict`: missing extras, `data real` errors, help that agrees
with the parser, and package metadata without placeholders."""

from __future__ import annotations

import importlib.util
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from chimerax.deepssetracer import cli
from chimerax.deepssetracer.cli import extras
from chimerax.deepssetracer.cli import predict as cli_predict
from chimerax.deepssetracer.core.rotations import SUBGROUPS
from helpers import blob_map

ROOT = Path(__file__).resolve().parents[1]


def _without(monkeypatch, module: str) -> None:
    """Make `module` unimportable and forget the training package, as without the extra."""
    monkeypatch.setitem(sys.modules, module, None)
    for name in list(sys.modules):
        if name.startswith("chimerax.deepssetracer.train"):
            monkeypatch.delitem(sys.modules, name)


@pytest.mark.parametrize("argv, extra", [(["evaluate", "--pairs", "x"], "eval"),
                                         (["data", "real", "--src", "x"], "train"),
                                         (["train", "c.json"], "train")])
def test_missing_extra_is_one_line_with_the_install_command(monkeypatch, capsys, argv, extra):
    _without(monkeypatch, "scipy")
    _without(monkeypatch, "torch")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.match(rf"deepssetracer {argv[0]}: needs the {extra!r} extra "
                    r"\(no module '(scipy|torch)'\)", err), err
    assert f'pip install "ChimeraX-DeepSSETracer[{extra}]"' in err
    assert f'pip install ".[{extra}]"' in err


@pytest.mark.parametrize("module", ["gemmi", "mdtraj"])
def test_evaluate_names_a_missing_model_reader_before_running(monkeypatch, capsys, module):
    # gemmi and mdtraj are imported only when the model is read, after the network loaded
    _without(monkeypatch, module)
    assert cli.main(["evaluate", "--pairs", "x"]) == 2
    err = capsys.readouterr().err
    assert err == (f"deepssetracer evaluate: needs the 'eval' extra (no module {module!r}): "
                   'pip install "ChimeraX-DeepSSETracer[eval]" '
                   '(from a checkout: pip install ".[eval]")\n')


def _setup_module():
    spec = importlib.util.spec_from_file_location("bundle_setup", ROOT / "setup.py")
    setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)  # defines, builds nothing
    return setup


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=~!\[ ;]", r, maxsplit=1)[0] for r in requirements}


def test_eval_extra_is_what_evaluate_imports_and_train_holds_it():
    setup = _setup_module()
    assert _names(setup.dependencies) == {"numpy", "mrcfile", "onnxruntime"}
    assert set(setup.EXTRAS) >= {"eval", "train", "test"}
    assert _names(setup.EXTRAS["eval"]) == set(extras.EXTRA_MODULES["eval"])
    assert "torch" not in _names(setup.EXTRAS["eval"])
    assert set(setup.EXTRAS["eval"]) <= set(setup.EXTRAS["train"])
    assert "torch" in _names(setup.EXTRAS["train"]) and "pytest" in _names(setup.EXTRAS["test"])


def test_the_install_hint_names_the_distribution():
    info = ET.parse(ROOT / "bundle_info.xml").getroot()
    assert extras.DISTRIBUTION == info.get("name")


def test_readme_names_each_subcommands_extra():
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "`evaluate` needs the `eval` extra" in text
    assert "`train` and `data` need the `train` extra" in text


def _data_real(tmp_path, src, out=None) -> int:
    return cli.main(["data", "real", "--src", str(src), "--out", str(out or tmp_path / "o")])


def test_data_real_on_bad_folders_is_one_line(tmp_path, capsys):
    from chimerax.deepssetracer.core.mapio import write_map

    empty = tmp_path / "empty"
    (empty / "p1").mkdir(parents=True)
    no_model = tmp_path / "no_model"
    (no_model / "p1").mkdir(parents=True)
    write_map(no_model / "p1" / "map.mrc", blob_map((12, 12, 12)))
    model_dir = tmp_path / "model_dir"
    (model_dir / "p1" / "model.pdb").mkdir(parents=True)
    write_map(model_dir / "p1" / "map.mrc", blob_map((12, 12, 12)))
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [(empty, None, "no subfolder holds a map.mrc"),
             (model_dir, None, "model.pdb: Is a directory"),
             (tmp_path / "missing", None, "no real data folder"),
             (no_model, a_file, "a_file: File exists")]
    for src, out, problem in cases:
        assert _data_real(tmp_path, src, out) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err and problem in err, err
    # a map with no model is an unlabelled box (a consistency pool's), not an error
    assert _data_real(tmp_path, no_model, tmp_path / "pool") == 0


def test_tta_help_lists_the_parser_choices(capsys):
    assert cli_predict.TTA_CHOICES == tuple(sorted(SUBGROUPS))
    with pytest.raises(SystemExit):
        cli.main(["predict", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "N one of 1, 4, 12, 24 (1 is off;" in text
    with pytest.raises(SystemExit):
        cli.main(["predict", "m.mrc", "--tta", "5"])
    assert "choose from 1, 4, 12, 24" in capsys.readouterr().err


def test_package_metadata_has_no_placeholders():
    """Home-page and Author-email were example.org placeholders: none, rather than invented."""
    text = (ROOT / "bundle_info.xml").read_text(encoding="utf-8")
    assert "example.org" not in text and "example.com" not in text
    info = ET.parse(ROOT / "bundle_info.xml").getroot()
    # ChimeraX's bundle builder needs the elements (one of each), not their text
    assert [len(list(info.iter(tag))) for tag in ("Author", "Email", "URL")] == [1, 1, 1]
    assert (info.find("Email").text or "").strip() == (info.find("URL").text or "").strip() == ""


def test_help_pages_link_to_no_invented_home_page():
    for page in (ROOT / "src" / "docs" / "user").rglob("*.html"):
        assert "github.com/deepssetracer" not in page.read_text(encoding="utf-8"), page


def test_building_the_parser_imports_no_numerics():
    """``deepssetracer --help`` stays light: the subcommand modules import their work lazily."""
    import subprocess

    code = ("import sys; from chimerax.deepssetracer.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('numpy', 'mrcfile', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
