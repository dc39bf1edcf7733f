"""How well `predict --elements` and `--model` do on real maps with fitted models.

See docs/elements.md.

For each map/model pair, runs ``deepssetracer predict MAP --elements --model MODEL`` (shipped or
given weights, one thread) and prints:

* helix recall: model helices of 7 or more residues (DSSP via mdtraj, ``train`` extra) that a
  reported axis finds (direction within 25°, axis within 4 Å, covering at least half of it);
* helix precision: reported axes lying at least half on a model helix (any length) by the same
  direction and distance rules;
* sheet points: the fraction of sheet patch points within 3 Å of a strand Cα;
* sheets found: model sheets (strand Cα joined within 5.5 Å, the spacing of paired strands, at
  least 4 residues) with at least half their Cα within 4 Å of a patch point;
* patches right: patches with at least half their points within 4 Å of a strand Cα (4 Å as
  for helix axes: a point on a sheet's mid-plane lies up to ~3 Å from the nearest Cα);
* residue F1 (helix, sheet) of the ``_residues.csv`` votes against DSSP, next to the figure of
  ``deepssetracer evaluate MAP MODEL`` (they should be equal).

Usage: ``python scripts/elements_check.py [PAIR_DIR ...] [--weights ONNX]`` (default: every pair
under ../shared/data/real).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from chimerax.deepssetracer import cli
from chimerax.deepssetracer.core import metrics
from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.train.evaluate import case_from_pair, score
from chimerax.deepssetracer.train.structures import HELIX, SHEET, read_structure
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
MIN_RESIDUES = 7
MAX_ANGLE = 25.0  # degrees
MAX_DISTANCE = 4.0  # Å
MIN_OVERLAP = 0.5
STRAND_DISTANCE = 3.0  # Å
PAIRED_STRANDS = 5.5  # Å between Cα that join one model sheet
MIN_SHEET_RESIDUES = 4  # EMD-8518 has two 4-residue strands, each paired with another chain
CLASS = {"helix": 0, "sheet": 1, "other": 2}


def helix_segments(ca: np.ndarray, ss: np.ndarray, res_chain: np.ndarray,
                   min_residues: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """(start, end) of the axis of each run of helix residues (one chain, no gap), fitted
    through the means of four consecutive Cα (points on the axis)."""
    ok = (ss == HELIX) & np.isfinite(ca).all(axis=1)
    runs, run = [], []
    for i in range(len(ss)):
        if run and (not ok[i] or res_chain[i] != res_chain[run[-1]]
                    or np.linalg.norm(ca[i] - ca[run[-1]]) > 4.3):
            runs.append(run)
            run = []
        if ok[i]:
            run.append(i)
    runs.append(run)
    out = []
    for run in runs:
        if len(run) < max(min_residues, 4):
            continue
        pts = ca[run].astype(np.float64)
        centres = np.stack([pts[k:k + 4].mean(0) for k in range(len(pts) - 3)])
        c = centres.mean(0)
        axis = np.linalg.svd(centres - c)[2][0]
        t = (pts - c) @ axis
        out.append((c + t[0] * axis, c + t[-1] * axis))
    return out


def covers(segment, target) -> bool:
    """``segment`` lies along ``target`` (angle, distance) and covers half of its length."""
    a0, a1 = (np.asarray(p, float) for p in target)
    b0, b1 = (np.asarray(p, float) for p in segment)
    da, db = a1 - a0, b1 - b0
    la = np.linalg.norm(da)
    cos = abs(da @ db) / (la * np.linalg.norm(db))
    if np.degrees(np.arccos(min(1.0, cos))) > MAX_ANGLE:
        return False
    u = da / la
    t0, t1 = sorted(((b0 - a0) @ u, (b1 - a0) @ u))
    lo, hi = max(t0, 0.0), min(t1, la)
    if hi - lo < MIN_OVERLAP * la:
        return False
    for t in (lo, hi):  # the target's axis points where the overlap ends, off the segment line
        p = a0 + t * u
        w = db / np.linalg.norm(db)
        if np.linalg.norm((p - b0) - ((p - b0) @ w) * w) > MAX_DISTANCE:
            return False
    return True


def helix_scores(reported: list[dict], s) -> tuple[int, int, int, int]:
    """(found, long model helices, right, reported)."""
    segs = [(h["start"], h["end"]) for h in reported]
    long = helix_segments(s.ca, s.ss, s.res_chain, MIN_RESIDUES)
    every = helix_segments(s.ca, s.ss, s.res_chain)
    found = sum(any(covers(p, t) for p in segs) for t in long)
    right = sum(any(covers(t, p) for t in every) for p in segs)
    return found, len(long), right, len(segs)


def strand_ca(s) -> np.ndarray:
    return s.ca[(s.ss == SHEET) & np.isfinite(s.ca).all(axis=1)].astype(np.float64)


def _nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from each point of ``a`` to the nearest of ``b`` (inf when ``b`` is empty)."""
    if not len(b):
        return np.full(len(a), np.inf)
    return cKDTree(b).query(a)[0]


def sheet_point_fraction(sheets: list[dict], strands: np.ndarray) -> tuple[float, int]:
    pts = np.array([p for sh in sheets for p in sh["points"]], dtype=float).reshape(-1, 3)
    if not len(pts):
        return float("nan"), 0
    return float(np.mean(_nearest(pts, strands) <= STRAND_DISTANCE)), len(pts)


def model_sheets(ca: np.ndarray) -> list[np.ndarray]:
    """The strand Cα ``ca`` split into model sheets: joined within `PAIRED_STRANDS`, ≥ 4."""
    if not len(ca):
        return []
    pairs = cKDTree(ca).query_pairs(PAIRED_STRANDS, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), (len(ca),) * 2)
    _, label = connected_components(graph, directed=False)
    groups = [ca[label == k] for k in range(label.max() + 1)]
    return [g for g in groups if len(g) >= MIN_SHEET_RESIDUES]


def sheet_scores(sheets: list[dict], strands: np.ndarray) -> tuple[int, int, int]:
    """(model sheets found, model sheets, patches right) by `MAX_DISTANCE`."""
    patches = [np.asarray(sh["points"], dtype=float).reshape(-1, 3) for sh in sheets]
    every = np.concatenate(patches) if patches else np.zeros((0, 3))
    truth = model_sheets(strands)
    found = sum(np.mean(_nearest(g, every) <= MAX_DISTANCE) >= 0.5 for g in truth)
    right = sum(np.mean(_nearest(p, strands) <= MAX_DISTANCE) >= 0.5 for p in patches)
    return int(found), len(truth), int(right)


def csv_residue_f1(csv_path: Path, s) -> dict[str, float]:
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != s.n_residues:
        raise ValueError(f"{csv_path.name}: {len(rows)} rows, the model has {s.n_residues}")
    keep = np.array([r["predicted"] in CLASS for r in rows])
    voted = np.array([CLASS.get(r["predicted"], 255) for r in rows], dtype=np.uint8)
    counts = metrics.class_counts(voted[keep], np.minimum(s.ss[keep], 2).astype(np.uint8))
    return {k: c.f1 for k, c in counts.items()}


def check(pair: Path, weights: str | None, net, spec) -> dict:
    map_path, model_path = pair / "map.mrc", pair / "model.pdb"
    with tempfile.TemporaryDirectory() as out:
        argv = ["predict", str(map_path), "-o", out, "--elements", "--model", str(model_path),
                "--threads", "1", "--quiet"] + (["--weights", weights] if weights else [])
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(argv)
        if code != 0:
            raise SystemExit(f"{pair.name}: predict failed")
        elements = json.loads((Path(out) / "map_elements.json").read_text())
        s = read_structure(model_path)
        csv_f1 = csv_residue_f1(Path(out) / "map_residues.csv", s)
    found, n_long, right, n_rep = helix_scores(elements["helices"], s)
    strands = strand_ca(s)
    frac, n_pts = sheet_point_fraction(elements["sheets"], strands)
    sheets_found, n_sheets, patches_right = sheet_scores(elements["sheets"], strands)
    ev = score(case_from_pair(map_path, model_path, pair.name), net, spec)["residue"]
    return {"map": pair.name, "found": found, "long": n_long, "right": right, "reported": n_rep,
            "sheets": len(elements["sheets"]), "sheet_points": n_pts, "on_strand": frac,
            "sheets_found": sheets_found, "model_sheets": n_sheets,
            "patches_right": patches_right,
            "csv_f1": csv_f1, "evaluate_f1": {k: v["f1"] for k, v in ev.items()}}


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.0f} %)" if b else f"{a}/0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pairs", nargs="*", type=Path, help="folders with map.mrc + model.pdb")
    parser.add_argument("--weights", help="ONNX weights (default: the shipped ones)")
    args = parser.parse_args(argv)
    pairs = args.pairs or sorted(p for p in DATA.iterdir() if (p / "model.pdb").is_file())
    net, spec = load_network(args.weights, device="cpu", threads=1)
    print(f"weights {net.path} (onnx sha256 {spec.onnx_sha256[:12]})")
    print(f"{'map':22s} {'helices found':>15s} {'reported right':>15s} {'sheets found':>13s} "
          f"{'patches right':>14s} {'points on strands':>18s} {'residue F1 csv (h/s)':>21s} "
          f"{'evaluate (h/s)':>15s}")
    for pair in pairs:
        r = check(pair, args.weights, net, spec)
        n = r["sheet_points"]
        on = "-" if n == 0 else f"{100 * r['on_strand']:.0f} % of {n}"
        f = " / ".join(f"{r['csv_f1'][k]:.3f}" for k in ("helix", "sheet"))
        e = " / ".join(f"{r['evaluate_f1'][k]:.3f}" for k in ("helix", "sheet"))
        print(f"{r['map']:22s} {_pct(r['found'], r['long']):>15s} "
              f"{_pct(r['right'], r['reported']):>15s} "
              f"{_pct(r['sheets_found'], r['model_sheets']):>13s} "
              f"{_pct(r['patches_right'], r['sheets']):>14s} {on:>18s} {f:>21s} {e:>15s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
