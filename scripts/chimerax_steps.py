"""The ``deepssetracer`` command at several ChimeraX steps of one map, saved as arrays.

    .venv-cx/bin/python scripts/chimerax_steps.py MAP --steps 1 2 3 --out OUT.npz [--weights ONNX]

Run with the ChimeraX of ``scripts/setup_chimerax.sh``. It opens MAP in a fresh headless
ChimeraX (``python -m chimerax.core --nogui --exit``, as a user's script runs), and for each
step s runs ``deepssetracer #1 subregion all step s`` (the whole map, shown at step s) and
saves, in OUT.npz:

* ``helix_s{s}``, ``sheet_s{s}``: the result's helix and sheet probabilities, float32
  ``[z, y, x]`` on the shown step-s grid (what ChimeraX shows: the map's grid points
  ``0, s, 2s, …`` along each axis);
* ``origin_s{s}``: that grid's corner ``(x, y, z)`` in Å (float64), the map's own coordinates;
* ``voxel_s{s}``: its voxel size ``(x, y, z)`` in Å (float64): the map's voxel times s.

``--weights ONNX`` predicts with that ONNX file (its JSON sidecar beside it) instead of the
bundled weights. Exits 0 when OUT.npz is written, non-zero (ChimeraX's log on stderr) when
anything fails. This interface is called by other scripts (the input zoo's "ChimeraX step 2/3"
rows) through subprocess: keep it as it is.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def predict_steps(session, map_path: str, steps: list[int], out: str,
                  weights: str | None = None) -> None:
    """Inside ChimeraX: open `map_path`, predict it at each of `steps`, write `out` (npz)."""
    import numpy as np
    from chimerax.core.commands import quote_path_if_necessary, run

    (v,) = run(session, f"open {quote_path_if_necessary(map_path)}", log=False)
    extra = f" weights {quote_path_if_necessary(weights)}" if weights else ""
    arrays = {}
    for s in steps:
        helix, sheet = run(session, f"deepssetracer #{v.id_string} subregion all step {s} "
                                    f"block true{extra}", log=False)
        arrays[f"helix_s{s}"] = np.array(helix.full_matrix(), dtype=np.float32)
        arrays[f"sheet_s{s}"] = np.array(sheet.full_matrix(), dtype=np.float32)
        arrays[f"origin_s{s}"] = np.array(helix.data.origin, dtype=np.float64)
        arrays[f"voxel_s{s}"] = np.array(helix.data.step, dtype=np.float64)
    tmp = Path(out).with_name(Path(out).name + ".part.npz")
    np.savez(tmp, **arrays)
    tmp.replace(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("map", help="a density map ChimeraX opens (MRC, CCP4, …)")
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 2, 3],
                        help="ChimeraX steps to show the result at (default 1 2 3)")
    parser.add_argument("--out", required=True, help="the .npz to write")
    parser.add_argument("--weights", default=None, help="an ONNX file (default: bundled)")
    args = parser.parse_args(argv)
    if any(s < 1 for s in args.steps):
        parser.error("steps must be positive integers")
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    job = {"map_path": str(Path(args.map).resolve()), "steps": list(args.steps),
           "out": str(out),
           "weights": str(Path(args.weights).resolve()) if args.weights else None}
    # run in a scratch folder: ChimeraX puts its working folder on sys.path, and the
    # checkout's .egg-info there would hide the installed bundle from its toolshed
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "steps_in_chimerax.py"
        script.write_text(
            "import json, sys\n"
            f"sys.path.insert(0, {str(HERE)!r})\n"
            "from chimerax_steps import predict_steps\n"
            f"predict_steps(session, **json.loads({json.dumps(job)!r}))\n",
            encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "chimerax.core", "--nogui", "--exit",
                               "--silent", "--script", str(script)], cwd=tmp,
                              capture_output=True, encoding="utf-8", errors="replace")
    if done.returncode != 0 or not out.is_file():
        sys.stderr.write(f"chimerax_steps.py: ChimeraX failed (exit {done.returncode}):\n"
                         f"{done.stdout}{done.stderr}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
