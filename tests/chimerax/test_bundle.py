"""The bundle as ChimeraX sees it: toolshed entry, help pages, lazy imports, the command line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(session, text):
    from chimerax.core.commands import run as cx_run

    return cx_run(session, text, log=False)


def package_dir() -> Path:
    import chimerax.deepssetracer as pkg

    return Path(pkg.__file__).parent


def test_toolshed_lists_the_bundle_its_command_and_tool(cx):
    bi = cx.toolshed.find_bundle("ChimeraX-DeepSSETracer", cx.logger)
    assert bi.version == "0.1.0" and bi.installed
    assert [(c.name, c.categories) for c in bi.commands] == [("deepssetracer", ["Volume Data"])]
    assert [(t.name, t.categories) for t in bi.tools] == [("DeepSSETracer", ["Volume Data"])]
    assert Path(bi.get_path("docs")) == package_dir() / "docs"


def test_installed_package_carries_docs_and_weights(cx_session):
    installed = package_dir()
    for page in ("commands", "tools"):
        assert (installed / "docs" / "user" / page / "deepssetracer.html").is_file()
    shipped = sorted(p.name for p in (ROOT / "src" / "weights").glob("*") if p.is_file())
    assert sorted(p.name for p in (installed / "weights").glob("*") if p.is_file()) == shipped


@pytest.fixture
def help_urls(cx, monkeypatch):
    """Run ChimeraX's own ``help`` command, collecting the URLs it would show."""
    import chimerax.help_viewer
    from chimerax.core.commands import cli, register
    from chimerax.help_viewer import cmd as help_cmd

    try:
        cli.command_url("help")
    except ValueError:  # the help_viewer bundle is not in the minimal headless set
        register("help", help_cmd.help_desc, help_cmd.help, logger=cx.logger)
    shown: list[str] = []
    monkeypatch.setattr(chimerax.help_viewer, "show_url",
                        lambda session, url, **kw: shown.append(url))
    return shown


def resolved(url: str) -> Path:
    assert url.startswith("file:"), url
    return Path(url2pathname(urlparse(url).path))


def test_help_deepssetracer_opens_the_shipped_page(cx, help_urls):
    from chimerax.core.commands import cli

    run(cx, "usage deepssetracer")  # registers the (lazily registered) command
    assert cli.command_url("deepssetracer") == "help:user/commands/deepssetracer.html"
    run(cx, "help deepssetracer")
    assert help_urls == ["help:user/commands/deepssetracer.html"]
    run(cx, f"help {help_urls[0]}")
    assert resolved(help_urls[-1]) == package_dir() / "docs/user/commands/deepssetracer.html"


def test_the_panel_help_opens_the_shipped_tool_page(cx, help_urls):
    from chimerax.deepssetracer.tool import DeepSSETracerTool

    run(cx, f"help {DeepSSETracerTool.help}")
    assert resolved(help_urls[-1]) == package_dir() / "docs/user/tools/deepssetracer.html"


def test_command_page_documents_every_keyword(cx, log_lines):
    run(cx, "usage deepssetracer")
    usage = next(line for line in log_lines if line.startswith("deepssetracer volume"))
    keywords = re.findall(r"\[(\w+) ", usage)
    assert {"subregion", "step", "device", "tta", "level", "block", "modelId",
            "weights"} <= set(keywords)
    page = (package_dir() / "docs/user/commands/deepssetracer.html").read_text()
    for kw in keywords:
        assert f"<b>{kw}</b>" in page and f'name="{kw}"' in page, kw


def test_help_pages_say_what_the_command_does_now(cx_session):
    """lowpass auto | off | A and replace are documented; accuracy figures live in the model
    card, which both pages link to, not in the help pages (they went stale there)."""
    docs = package_dir() / "docs" / "user"
    command = (docs / "commands" / "deepssetracer.html").read_text()
    tool = (docs / "tools" / "deepssetracer.html").read_text()
    usage = command.split("</h3>")[1]
    assert ("<b>lowpass</b>&nbsp;&nbsp;<b>auto</b>&nbsp;|&nbsp;<b>off</b>&nbsp;|&nbsp;"
            "<i>resolution</i>") in usage
    assert "<b>replace</b>&nbsp;&nbsp;<b>true</b>&nbsp;|&nbsp;false" in usage
    lowpass = command.split('<a name="lowpass"></a>')[1].split("<a name=")[0]
    assert "every map is filtered to 6 &Aring;" in lowpass
    for page in (command, tool):
        assert "docs/model_card.md" in page
        assert not re.search(r"\bF1\b|\b0\.\d\d", page), "figures: in the model card"
    assert "<b>auto</b> (the lowest value, the default)" in tool


def chimerax_nogui(*commands: str, cwd: Path, script: Path | None = None):
    """``python -m chimerax.core --nogui --exit --cmd "…"``, as a user would run it."""
    args = [sys.executable, "-m", "chimerax.core", "--nogui", "--exit"]
    if script is not None:
        args += ["--script", str(script)]
    if commands:
        args += ["--cmd", "; ".join(commands)]
    # UTF-8 as ChimeraX writes it, not this process's locale: opening a PDB file leaves the
    # test session in the C (ASCII) locale
    return subprocess.run(args, cwd=cwd, capture_output=True, encoding="utf-8", timeout=300)


def test_command_line_chimerax_runs_the_command(cx_session, example_map, weights_kw,
                                                tmp_path):
    done = chimerax_nogui(f"open {example_map}", "volume #1 region 10,10,10,60,60,40",
                          f"deepssetracer #1{weights_kw}", "info models", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"#2\.1 type Volume name .*helix", done.stdout)
    assert re.search(r"#2\.2 type Volume name .*sheet", done.stdout)
    failed = chimerax_nogui(f"open {example_map}", f"deepssetracer #1 step 0{weights_kw}",
                            cwd=tmp_path)
    assert failed.returncode == 70  # EX_SOFTWARE: a command failed
    assert "step must be a positive whole number" in failed.stdout + failed.stderr


def test_startup_and_registration_import_neither_onnxruntime_nor_qt(cx_session, tmp_path):
    script = tmp_path / "modules.py"
    script.write_text(
        "import sys\n"
        "from chimerax.core.commands import run\n"
        "run(session, 'usage deepssetracer')\n"
        "print('loaded', sorted(m for m in ('onnxruntime', 'PyQt6', 'chimerax.ui',\n"
        "      'chimerax.deepssetracer.tool') if m in sys.modules))\n")
    done = chimerax_nogui(cwd=tmp_path, script=script)
    assert done.returncode == 0, done.stderr
    assert "loaded []" in done.stdout
