"""Print the real-user input zoo: how a prediction changes when only the map's form changes.

    python scripts/invariance_table.py --pairs ../shared/data/real [--only NAME ...]
        [--json OUT.json] [--markdown OUT.md] [--threads 2] [--weights ONNX]
        [--chimerax | --no-chimerax] [--dataset DIR --n 8]

For each real pair: the map as given (predicted once), then each variant of
`train.invariance.zoo_variants` (padded then low-passed, Gaussian-filtered, crowded central
crops with and without noise, sharpened, resampled, scaled, offset, padded, masked, cut to the
model) and ChimeraX's step 2 and 3 (`scripts/chimerax_steps.py` run by `.venv-cx`; listed as
"not run" when either is absent or with --no-chimerax). Each row is scored against its
reference on the region both cover; it holds when the voxel F1 changes by at most 0.05
(helix; sheet where the region holds >= 500 true sheet voxels) and the volume called of each
class (Å³ at p >= 0.5) is within 15 % of the reference's (not judged for a class the
reference calls under 500 Å³ of in the region). Pairs held out from tuning and pairs outside
the tool's 5-10 Å range are reported in their own sections; the latter are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.train import invariance as inv
from chimerax.deepssetracer.train.evaluate import cases_from_dataset, cases_from_pairs

ROOT = Path(__file__).resolve().parents[1]
CX_ROOT = Path(os.environ.get("ZOO_CHIMERAX_ROOT", ROOT))  # where .venv-cx and the script lie
CX_PYTHON = CX_ROOT / ".venv-cx" / "bin" / "python"
CX_SCRIPT = CX_ROOT / "scripts" / "chimerax_steps.py"
SECTIONS = ("tuned", "held out", "outside range", "simulated")
COUNTED = ("tuned", "held out")
WORST = 15


def chimerax_arrays(map_path: Path, weights: Path | None, timeout: float = 900.0
                    ) -> tuple[dict[str, np.ndarray] | None, str]:
    """Steps 1-3 of ``map_path`` by ChimeraX (``scripts/chimerax_steps.py``), or None and why."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "steps.npz"
        cmd = [str(CX_PYTHON), str(CX_SCRIPT), str(map_path), "--steps", "1", "2", "3",
               "--out", str(out)] + (["--weights", str(weights)] if weights else [])
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"chimerax_steps.py took over {timeout:g} s"
        if run.returncode != 0 or not out.is_file():
            tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no output"]
            return None, f"chimerax_steps.py failed (exit {run.returncode}): {tail[0][:200]}"
        with np.load(out) as z:
            return {k: z[k] for k in z.files}, ""


def git_state() -> dict[str, Any]:
    def git(*a: str) -> str:
        r = subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True)
        return r.stdout.rstrip()  # porcelain lines begin with a space
    if not (ROOT / ".git").exists():  # an export of a commit (`git archive`), named by env
        return {"commit": os.environ.get("ZOO_COMMIT", "unknown"), "uncommitted_src": [],
                "export": str(ROOT)}
    return {"commit": git("rev-parse", "HEAD"),
            "uncommitted_src": [line[3:] for line in git("status", "--porcelain", "--",
                                                          "src").splitlines()]}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per section: rows run, holding, not run / refused; the worst rows; per variant."""
    out: dict[str, Any] = {}
    for sec in SECTIONS:
        rs = [r for r in rows if r["section"] == sec and r["variant"] != inv.AS_GIVEN]
        if not rs:
            continue
        run = [r for r in rs if r["status"] == "run"]
        bad = sorted((r for r in rs if not inv.zoo_holds(r) and r["status"] != "not run"),
                     key=inv.badness, reverse=True)
        out[sec] = {"rows": len(rs), "run": len(run),
                    "hold": sum(inv.zoo_holds(r) for r in run),
                    "not_run": sum(r["status"] == "not run" for r in rs),
                    "refused": sum(r["status"] not in ("run", "not run") for r in rs),
                    "failing": {k: sum(inv.failure_kind(r) == k for r in run)
                                for k in inv.FAILURE_KINDS},
                    "worst": [(r["map"], r["variant"]) for r in bad[:WORST]]}
    by_variant: dict[str, dict[str, list[int]]] = {}
    for r in rows:
        if r["variant"] == inv.AS_GIVEN or r["status"] == "not run":
            continue
        c = by_variant.setdefault(r["variant"], {}).setdefault(r["section"], [0, 0])
        c[0] += inv.zoo_holds(r)
        c[1] += 1
    out["by_variant"] = by_variant
    return out


def format_summary(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    lines = ["## Summary", ""]
    for sec in SECTIONS:
        s = summary.get(sec)
        if not s:
            continue
        note = " (not counted: outside the tool's 5-10 Å range)" if sec == "outside range" \
            else ""
        f = s["failing"]
        lines.append(f"- **{sec}**{note}: {s['hold']} of {s['run']} rows run hold; "
                     f"{s['refused']} refused or failed, {s['not_run']} not run. Of the rows "
                     f"failing, {f['F1 falls']} lose more than {inv.ZOO_TOLERANCE} voxel F1, "
                     f"{f['F1 rises']} gain more, and {f['volume only']} keep their F1 but "
                     "call another volume")
    lines += ["", "### By variant (rows holding / rows run)", "",
              "| variant | " + " | ".join(s for s in SECTIONS if s in summary) + " |",
              "|---|" + "---|" * sum(s in summary for s in SECTIONS)]
    for v, c in summary["by_variant"].items():
        cells = [f"{c[s][0]}/{c[s][1]}" if s in c else "" for s in SECTIONS if s in summary]
        lines.append(f"| {v} | " + " | ".join(cells) + " |")
    for sec in SECTIONS:
        s = summary.get(sec)
        if not s or not s["worst"]:
            continue
        worst = [next(r for r in rows if (r["map"], r["variant"]) == k) for k in s["worst"]]
        lines += ["", f"### Worst rows, {sec} (up to {WORST})", "", inv.format_zoo(worst)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=Path, help="folder of map.mrc + model.pdb subfolders")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="these pairs only")
    p.add_argument("--dataset", type=Path, help="simulated dataset folder (test split)")
    p.add_argument("--n", type=int, default=8, help="simulated boxes to use (default 8)")
    p.add_argument("--weights", type=Path, default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--chimerax", action=argparse.BooleanOptionalAction, default=None,
                   help="run ChimeraX's step 2 and 3 (default: when .venv-cx and "
                        "scripts/chimerax_steps.py exist)")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--markdown", type=Path, default=None)
    p.add_argument("--compare", type=Path, default=None, metavar="EARLIER.json",
                   help="also print rows holding per variant against an earlier run's JSON")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    git = git_state()
    net, spec = load_network(args.weights, threads=args.threads)
    cases = cases_from_pairs(args.pairs) if args.pairs else []
    if args.only:
        cases = [c for c in cases if c.name in args.only]
        missing = set(args.only) - {c.name for c in cases}
        if missing:
            p.error(f"no such pair: {', '.join(sorted(missing))}")
    real = {c.name for c in cases}
    if args.dataset:
        cases += cases_from_dataset(args.dataset, "test")[: args.n]
    have_cx = CX_PYTHON.is_file() and CX_SCRIPT.is_file()
    if args.chimerax is False:
        cx_why = "not run (--no-chimerax)"
    elif not have_cx:
        cx_why = "not run: .venv-cx/bin/python or scripts/chimerax_steps.py absent"
    else:
        cx_why = ""
    rows: list[dict[str, Any]] = []
    for case in cases:
        t = time.perf_counter()
        base, case_rows = inv.zoo_case(case, net, spec)
        if case.name in real:
            arrays, why = (None, cx_why) if cx_why else chimerax_arrays(
                args.pairs / case.name / "map.mrc", args.weights)
            steps = inv.step_rows(case, arrays, why=why, base=base)
            if arrays is None and not cx_why:
                for r in steps:
                    r["status"], r["flags"] = "error", ["error"]
            case_rows += steps
        else:
            for r in case_rows:
                r["section"] = "simulated"
        rows += case_rows
        print(f"{case.name}: {len(case_rows)} rows, {time.perf_counter() - t:.0f} s",
              file=sys.stderr, flush=True)
    summary = summarize(rows)
    seconds = time.perf_counter() - t0
    head = ["# Real-user input zoo (`scripts/invariance_table.py`)", "",
            f"Commit {git['commit'][:12]}"
            + (f" with uncommitted changes in {', '.join(git['uncommitted_src'])}"
               if git["uncommitted_src"] else "")
            + f"; weights {net.path.name} ({spec.onnx_sha256[:12]}); {seconds:.0f} s.", "",
            f"A row holds when |ΔF1| <= {inv.ZOO_TOLERANCE} (helix; sheet only where the region "
            f"holds >= {inv.MIN_SHEET_VOXELS} true sheet voxels, else –) and the volume called "
            f"of each class (Å³ at p >= {inv.LEVEL}) is within {inv.VOLUME_TOLERANCE:.0%} of "
            f"the reference's; the volume criterion is skipped for a class the reference calls "
            f"under {inv.MIN_CALLED_A3:.0f} Å³ of in the region (shown as (variant/reference "
            "Å³)). Flags: any warning the variant's prediction gave, nothing called (0 Å³ of "
            f"both classes), one class painted over > {inv.PAINTED:.0%} of the region. Nine "
            "real pairs make a smoke test, not a benchmark."]
    body = []
    for sec in SECTIONS:
        rs = [r for r in rows if r["section"] == sec]
        if rs:
            body += ["", f"## {sec.capitalize()}", "", inv.format_zoo(rs)]
    noise = inv.noise_calls(net, spec)
    body += ["", "## Pure noise (no molecule)", "", inv.format_noise(noise)]
    if args.compare:
        old = json.loads(args.compare.read_text())["rows"]
        body += ["", f"## Against {args.compare.name} (rows holding)", "",
                 inv.format_comparison(old, rows, [s for s in SECTIONS
                                                   if any(r["section"] == s for r in rows)])]
    text = "\n".join(head + body + ["", format_summary(rows, summary)]) + "\n"
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {"git": git, "weights": str(net.path), "onnx_sha256": spec.onnx_sha256,
               "seconds": round(seconds, 1), "criteria": {
                   "f1_tolerance": inv.ZOO_TOLERANCE, "volume_tolerance": inv.VOLUME_TOLERANCE,
                   "level": inv.LEVEL, "min_sheet_voxels": inv.MIN_SHEET_VOXELS,
                   "min_called_A3": inv.MIN_CALLED_A3, "painted": inv.PAINTED},
               "held_out": list(inv.HELD_OUT), "outside_range": list(inv.OUTSIDE_RANGE),
               "rows": [dict(r, holds=inv.zoo_holds(r)) for r in rows], "summary": summary,
               "noise": noise}
        args.json.write_text(json.dumps(inv.json_safe(doc), indent=1) + "\n")
    counted = [r for r in rows if r["section"] in COUNTED and r["variant"] != inv.AS_GIVEN
               and r["status"] != "not run"]
    return 0 if all(inv.zoo_holds(r) for r in counted) else 1


if __name__ == "__main__":
    sys.exit(main())
