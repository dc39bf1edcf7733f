"""The console script as a user's shell runs it: streams that are not UTF-8 (28.4) and an
address-space limit too small to load the numerics (29.9), in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from chimerax.deepssetracer.core.mapio import write_map
from helpers import blob_map


def deepssetracer(*argv, env=None, preexec_fn=None, timeout=120):
    """``python -m chimerax.deepssetracer.cli ARGV``: (exit code, stdout bytes, stderr bytes)."""
    full = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "chimerax.deepssetracer.cli",
                           *map(str, argv)], capture_output=True, env=full,
                          preexec_fn=preexec_fn, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def setup(tmp_path, tiny_onnx):
    weights = tiny_onnx(tile_size=16)
    path = write_map(tmp_path / "emd_1.mrc", blob_map((20, 18, 26)))
    return path, weights


ENCODINGS = [({"PYTHONIOENCODING": "latin-1"}, "latin-1"),
             ({"PYTHONIOENCODING": "ascii"}, "ascii"),
             ({"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
               "PYTHONIOENCODING": ""}, "ascii")]


@pytest.mark.parametrize("env, encoding", ENCODINGS, ids=["latin-1", "ascii", "LANG=C"])
def test_streams_that_are_not_utf8_take_every_line(tmp_path, setup, env, encoding):
    path, weights = setup
    out = tmp_path / "out"
    code, stdout, stderr = deepssetracer("predict", path, "-o", out, "--weights", weights,
                                         "--lowpass", "8", env=env)
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["emd_1_helix.mrc", "emd_1_sheet.mrc"]
    line = stdout.decode(encoding)  # every byte is the stream's own encoding
    assert "Traceback" not in stderr.decode(encoding)
    assert line.count("\n") == 1
    # Å³ where the stream holds it (latin-1), its ASCII look-alike where not
    assert ("Å³ at p" if encoding == "latin-1" else "A3 at p") in line
    # an error line with Å, and the help page (Å, –)
    code, _, stderr = deepssetracer("predict", path, "-o", tmp_path / "o2", "--weights",
                                    weights, "--lowpass", "1", env=env)
    err = stderr.decode(encoding)
    assert code == 2 and err.count("\n") == 1 and err.startswith("deepssetracer: error:")
    assert "at least 2 " in err and "Traceback" not in err
    code, stdout, stderr = deepssetracer("predict", "--help", env=env)
    assert code == 0 and b"--lowpass" in stdout and stderr == b""
    stdout.decode(encoding)


def test_lookalikes_then_escapes():
    from chimerax.deepssetracer.cli import FALLBACK_ERRORS

    text = "6 Å, 40 Å³, 5–10 Å, p ≥ 0.5, \u4e00, bad \udcff byte"
    assert text.encode("ascii", FALLBACK_ERRORS) == \
        b"6 A, 40 A3, 5-10 A, p >= 0.5, \\u4e00, bad \\xff byte"
    assert text.encode("latin-1", FALLBACK_ERRORS).decode("latin-1").startswith("6 Å, 40 Å³")


def _address_space(mib):
    def limit():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (mib * 2**20, mib * 2**20))
    return limit


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS as Linux counts it")
@pytest.mark.parametrize("mib", [60, 120, 150, 200])
def test_an_address_space_too_small_for_the_libraries_is_one_line(tmp_path, setup, mib):
    """29.9: under ``ulimit -v`` of 200 MB or less, numpy's OpenBLAS exits from C while it
    loads (refused before it does) or onnxruntime fails to load (caught): one line, exit 2,
    nothing written; the help page still shows."""
    from chimerax.deepssetracer.cli import blas_threads

    path, weights = setup
    env = {"OPENBLAS_NUM_THREADS": "2"} if blas_threads() < 2 else {}  # as tested: 2+ threads
    code, stdout, stderr = deepssetracer("predict", path, "-o", tmp_path / "out", "--weights",
                                         weights, env=env, preexec_fn=_address_space(mib))
    err = stderr.decode()
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("deepssetracer: error: "), err
    assert "ulimit -v" in err and f"{mib} MiB" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists() and stdout == b""
    code, stdout, _ = deepssetracer("predict", "--help", preexec_fn=_address_space(mib))
    assert code == 0 and b"--lowpass" in stdout


def test_load_failures_are_one_line():
    from chimerax.deepssetracer.cli import load_failure

    try:
        try:
            raise ImportError("/x/site-packages/onnxruntime/capi/_state.so: failed to map "
                              "segment from shared object")
        except ImportError as inner:
            raise ImportError("\nIMPORTANT: PLEASE READ THIS\n...") from inner
    except ImportError as err:
        line = load_failure(err)
    assert "\n" not in line and line.startswith("out of memory loading onnxruntime (failed to map")
    assert load_failure(MemoryError()).startswith("out of memory")
    line = load_failure(ModuleNotFoundError("No module named 'onnxruntime'", name="onnxruntime"))
    assert line.startswith("cannot import onnxruntime (No module named")


TRUNCATE_SCRIPT = """
import sys
from chimerax.deepssetracer.core import mapio
victim, when = sys.argv[1], sys.argv[2]
def shrink():
    with open(victim, "r+b") as f:
        f.truncate(2048)
hook = mapio._Geometry.to_zyx if when == "after" else mapio._Geometry.check_size
def patched(self, *a):
    out = None
    if when == "after":  # the data are in hand (mapped, formerly): the file shrinks now
        if str(self.path) == victim:
            shrink()
        return hook(self, *a)
    out = hook(self, *a)  # the header checked out against the file's size: it shrinks now
    if str(self.path) == victim:
        shrink()
    return out
setattr(mapio._Geometry, "to_zyx" if when == "after" else "check_size", patched)
from chimerax.deepssetracer.cli import main
sys.exit(main(sys.argv[3:]))
"""


@pytest.mark.parametrize("when", ["after", "before"])
def test_a_map_truncated_while_it_is_read_is_one_line_and_the_batch_goes_on(tmp_path, setup,
                                                                              when):
    """29.6: a map that shrinks while it is read used to be memory-mapped: SIGBUS (exit 135, no
    message, a lock file left, the later maps and the --json lost). Now it is read into
    memory: a shrink before the read is one line (exit 2) and the next map still runs."""
    path, weights = setup
    big = write_map(tmp_path / "big.mrc", blob_map((64, 64, 64)))
    out, report = tmp_path / "out", tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-c", TRUNCATE_SCRIPT, str(big), when, "predict",
                           str(big), str(path), "-o", str(out), "--weights", str(weights),
                           "-q", "--json", str(report)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}"
    assert (out / "emd_1_helix.mrc").exists(), proc.stderr  # the next map ran
    import json

    records = json.loads(report.read_text())["maps"]
    if when == "after":  # the data were read before the file shrank: a whole answer
        assert proc.returncode == 0 and [r["ok"] for r in records] == [True, True]
    else:
        assert proc.returncode == 2
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"deepssetracer: error: {big}: ")
        assert "truncated" in lines[0]
        assert [r["ok"] for r in records] == [False, True]
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no lock left


def test_evaluate_json_into_a_missing_folder_is_refused_before_scoring(tmp_path, monkeypatch,
                                                                       capsys):
    """29.8 (part): ``evaluate --json`` into a missing folder used to fail only after all the
    scoring; now one line, exit 2, before anything is read."""
    from chimerax.deepssetracer import cli
    from chimerax.deepssetracer.cli import evaluate as cli_evaluate

    monkeypatch.setattr(cli_evaluate, "first_missing",
                        lambda extra: pytest.fail("went on to the scoring"))
    target = tmp_path / "missing" / "r.json"
    assert cli.main(["evaluate", "--pairs", str(tmp_path), "--json", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err and str(target) in err
