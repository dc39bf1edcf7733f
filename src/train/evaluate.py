"""`deepssetracer evaluate`: voxel and residue F1 of ONNX weights on maps with fitted models.

Truth comes from the model as the training labels do (DSSP via mdtraj, voxels within 3 Å of a
helix/sheet Cα), built on the map's own grid, since ``predict_map`` returns probabilities on
the input grid whatever its voxel size. Figures over several maps are the paper's: each map's
F1 weighted by its number of true voxels (or residues) of that class.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core import metrics
from ..core.classes import SCORED_NAMES
from ..core.errors import InputError
from ..core.grid import DensityMap
from ..core.inference import load_network
from ..core.lowpass import lowpass
from ..core.mapio import check_regular_file, read_map
from ..core.predict import predict_map
from ..core.weights import ModelSpec
from .cache import load_npz, split_entries
from .dataset import REAL_RESOLUTION
from .labels import label_grid
from .structures import read_structure

log = logging.getLogger(__name__)

MODEL_FILE = "a model file"
# What a model file that gemmi, gzip or mdtraj cannot make sense of raises (gemmi: RuntimeError
# with the line it choked on; a binary file: UnicodeDecodeError, a ValueError).
MODEL_ERRORS = (RuntimeError, ValueError, OSError, EOFError, zlib.error, IndexError, KeyError)

@dataclass
class Case:
    """One map to score with its truth, all on the map's grid.

    ``labels`` may hold 255 (not scored: box padding); ``ca_xyz`` (x, y, z) Å in the map's frame
    and ``ca_class`` (0 helix, 1 sheet, 2 other) give the residues.
    """

    name: str
    dmap: DensityMap
    labels: np.ndarray
    ca_xyz: np.ndarray
    ca_class: np.ndarray
    resolution: float | None = None


def case_from_pair(map_path: Path, model_path: Path, name: str,
                   resolution: float | None = None) -> Case:
    """A map and its fitted model: labels from the model's DSSP on the map's grid.

    Raises:
        InputError: the map cannot be read (`mapio.read_map`), or the model is not a regular
            file or cannot be read (`read_model`); one line naming the file.
    """
    dmap = read_map(map_path)
    s = read_model(model_path)
    ok = np.isfinite(s.ca).all(axis=1)
    labels = label_grid(dmap.data.shape, dmap.origin, dmap.voxel_size, s.ca[ok], s.ss[ok])
    return Case(name, dmap, labels, s.ca[ok], s.ss[ok], resolution)


def read_model(path: str | os.PathLike[str]):
    """`structures.read_structure` of a user's model file, its failures as one `InputError`
    naming the file: not a regular file (a FIFO is refused, never opened), junk that gemmi
    cannot parse, a corrupt gzip file, no amino-acid residue with a backbone."""
    check_regular_file(path, MODEL_FILE)
    try:
        return read_structure(path)
    except InputError:
        raise
    except MODEL_ERRORS as err:
        reason = ((err.strerror or str(err)) if isinstance(err, OSError) else str(err)).strip()
        raise InputError(path, f"cannot read the model ({reason or type(err).__name__})") \
            from None


def pair_name(map_path: Path) -> tuple[str, float | None]:
    """The name ``evaluate MAP MODEL`` gives a map, and its resolution as ``--pairs`` gives it.

    A file called map.mrc is named by its folder (as in a ``--pairs`` folder), any other by its
    stem; the resolution is `dataset.REAL_RESOLUTION`'s for that name (None if not listed),
    so the one pair shows the same resolution as in a ``--pairs`` run.
    """
    name = map_path.parent.name if map_path.stem == "map" else map_path.stem
    return name, REAL_RESOLUTION.get(name)


def cases_from_pairs(folder: Path, errors: list[InputError] | None = None) -> list[Case]:
    """Every subfolder of ``folder`` holding map.mrc and model.pdb.

    Args:
        errors: when given, a pair that cannot be read is skipped and its `InputError`
            appended here (the others are still scored); otherwise it is raised.
    """
    subs = sorted(p for p in folder.iterdir() if (p / "map.mrc").is_file()
                  and (p / "model.pdb").is_file()) if folder.is_dir() else []
    if not subs:
        raise ValueError(f"{folder}: no subfolder holds map.mrc and model.pdb")
    cases = []
    for p in subs:
        try:
            cases.append(case_from_pair(p / "map.mrc", p / "model.pdb", *pair_name(p / "map.mrc")))
        except InputError as err:
            if errors is None:
                raise
            errors.append(err)
    return cases


def cases_from_dataset(folder: Path, split: str) -> list[Case]:
    """Boxes of a dataset folder (``split`` "all" for every box), 1 Å grid, origin 0."""
    entries = split_entries(folder, None if split == "all" else split)
    if not entries:
        raise ValueError(f"{folder}/index.json lists no {split!r} boxes")
    out = []
    for e in entries:
        density, labels = load_npz(folder, e)
        with np.load(folder / e["file"]) as z:
            ca, cls = z["ca_xyz"], z["ca_class"]
        out.append(Case(e.get("name", Path(e["file"]).stem),
                        DensityMap(density, (1.0, 1.0, 1.0), (0.0, 0.0, 0.0)), labels, ca, cls,
                        e.get("resolution")))
    return out


def lowpassed(case: Case, resolution: float) -> Case:
    """``case`` with its map low-passed to ``resolution`` Å (as ``predict --lowpass`` does)."""
    data = lowpass(case.dmap.data, case.dmap.voxel_size, resolution)
    return Case(f"{case.name}_lp{resolution:g}",
                DensityMap(data, case.dmap.voxel_size, case.dmap.origin), case.labels,
                case.ca_xyz, case.ca_class, resolution)


def with_lowpass(cases: list[Case], resolutions: list[float] | None) -> list[Case]:
    """Each case, then its low-passed copies for resolutions coarser than its own (or all,
    when its resolution is not known)."""
    out = []
    for c in cases:
        out.append(c)
        out += [lowpassed(c, r) for r in resolutions or []
                if c.resolution is None or r > c.resolution]
    return out


def score(case: Case, net, spec: ModelSpec, tta: int = 1,
          molecule_check: bool = True) -> dict[str, Any]:
    """Voxel and residue counts and F1 of one case."""
    t = time.perf_counter()
    pred = predict_map(case.dmap, net, spec, tta=tta, name=case.name,
                       molecule_check=molecule_check).labels()
    seconds = time.perf_counter() - t
    vox = metrics.voxel_counts(pred, case.labels)
    res = metrics.residue_counts(pred, case.dmap.voxel_size, case.dmap.origin, case.ca_xyz,
                                 case.ca_class, true_labels=case.labels)
    return {"map": case.name, "resolution": case.resolution, "shape": list(case.dmap.data.shape),
            "voxel_size": list(case.dmap.voxel_size), "seconds": round(seconds, 3),
            "voxel": {k: c.as_dict() for k, c in vox.items()},
            "residue": {k: c.as_dict() for k, c in res.items()}}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """F1 over maps weighted by true counts, and F1 of the summed counts, per level and class."""
    out: dict[str, Any] = {"n_maps": len(rows)}
    for level in ("voxel", "residue"):
        out[level] = {}
        for k in SCORED_NAMES:
            counts = [metrics.Counts(r[level][k]["tp"], r[level][k]["fp"], r[level][k]["fn"])
                      for r in rows]
            pooled = sum(counts, metrics.Counts())
            out[level][k] = {"weighted_f1": metrics.weighted_f1(counts), "pooled_f1": pooled.f1,
                             "n_true": pooled.n_true}
    return out


def _f(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


# the printed table's columns after the map name: (group, sub-header, width); the header is
# two lines, each group's name centred over its columns, so no two headers run together
COLUMNS = (("resolution", "(Å)", 10), ("voxel F1", "helix", 7), ("voxel F1", "sheet", 7),
           ("residue F1", "helix", 7), ("residue F1", "sheet", 7),
           ("true voxels", "helix", 9), ("true voxels", "sheet", 9))
NAME_WIDTH = 28
GAP = "  "


def _header() -> list[str]:
    groups: list[tuple[str, int]] = []  # (group, width of its columns with their gaps)
    for group, _, width in COLUMNS:
        if groups and groups[-1][0] == group:
            groups[-1] = (group, groups[-1][1] + len(GAP) + width)
        else:
            groups.append((group, width))
    top = GAP.join(f"{g:^{w}}" if w > len(g) else f"{g:>{w}}" for g, w in groups)
    bottom = GAP.join(f"{sub:>{w}}" for _, sub, w in COLUMNS)
    return [f"{'':<{NAME_WIDTH}}{GAP}{top}".rstrip(), f"{'map':<{NAME_WIDTH}}{GAP}{bottom}"]


def _row(name: str, cells: list[str]) -> str:
    return f"{name[:NAME_WIDTH]:<{NAME_WIDTH}}{GAP}" + GAP.join(
        f"{c:>{w}}" for c, (_, _, w) in zip(cells, COLUMNS))


def format_table(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    """The printed table: one row per map, then the weighted figures.

    Two header lines: the column groups (resolution, voxel F1, residue F1, true voxels), then
    what each column is (the unit, or the class); "-" where a figure is not known or not
    defined (a resolution not recorded, an F1 without true or predicted members).
    """
    head = _header()
    rule = "-" * len(head[-1])
    lines = [*head, rule]
    for r in rows:
        v, s = r["voxel"], r["residue"]
        res = "-" if r["resolution"] is None else f"{r['resolution']:.1f}"
        lines.append(_row(r["map"], [res, _f(v["helix"]["f1"]), _f(v["sheet"]["f1"]),
                                     _f(s["helix"]["f1"]), _f(s["sheet"]["f1"]),
                                     str(v["helix"]["n_true"]), str(v["sheet"]["n_true"])]))
    v, s = summary["voxel"], summary["residue"]
    lines += [rule, _row("weighted (by true count)", [
        "", _f(v["helix"]["weighted_f1"]), _f(v["sheet"]["weighted_f1"]),
        _f(s["helix"]["weighted_f1"]), _f(s["sheet"]["weighted_f1"]),
        str(v["helix"]["n_true"]), str(v["sheet"]["n_true"])])]
    return "\n".join(lines)


def evaluate_cases(cases: list[Case], net, spec: ModelSpec, tta: int = 1,
                   molecule_check: bool = True) -> dict[str, Any]:
    rows = [score(c, net, spec, tta, molecule_check) for c in cases]
    return {"maps": rows, "summary": summarize(rows)}


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    return obj


def run(*, map_path: str | os.PathLike[str] | None = None,
        model_path: str | os.PathLike[str] | None = None,
        pairs: str | os.PathLike[str] | None = None,
        dataset: str | os.PathLike[str] | None = None, split: str = "test",
        weights: str | os.PathLike[str] | None = None, device: str = "cpu",
        threads: int | None = None, tta: int = 1, lowpass: list[float] | None = None,
        json_path: str | os.PathLike[str] | None = None, molecule_check: bool = True) -> int:
    """Score one map with its model, a folder of pairs, or a dataset split; print the table.

    Args:
        map_path, model_path: one map and its fitted model (when neither `pairs` nor
            `dataset` is given).
        pairs: a folder of subfolders holding ``map.mrc`` and ``model.pdb``.
        dataset, split: a simulated dataset folder and the split to score (default "test").
        weights, device, threads: as `core.inference.load_network` takes them (defaults: the
            shipped weights, "cpu", every core).
        tta: rotations averaged (default 1, none); lowpass: also score each map low-passed to
            these resolutions (Å).
        json_path: also write every figure here as JSON.
        molecule_check: as `core.predict.predict_map` (only its warning: every map is
            scored).

    Argument checks (one way of naming what to score) are in cli/evaluate.py.

    Returns:
        0, or 2 when a pair of `pairs` could not be read: its line (``deepssetracer evaluate:
        FILE: PROBLEM``) is printed on stderr and the other pairs are scored.

    Raises:
        InputError: the one map or model cannot be read (a FIFO or other non-regular file is
            refused before the weights load, never opened).
    """
    if not (pairs or dataset):
        check_regular_file(map_path)  # before the weights load; a FIFO would hang the read
        check_regular_file(model_path, MODEL_FILE)
    net, spec = load_network(weights, device=device, threads=threads)
    errors: list[InputError] = []
    if pairs:
        cases = cases_from_pairs(Path(pairs), errors)
    elif dataset:
        cases = cases_from_dataset(Path(dataset), split)
    else:
        name, resolution = pair_name(Path(map_path))
        cases = [case_from_pair(Path(map_path), Path(model_path), name, resolution)]
    for err in errors:
        print(f"deepssetracer evaluate: {err}", file=sys.stderr)
    if not cases:
        return 2
    cases = with_lowpass(cases, lowpass)
    result = evaluate_cases(cases, net, spec, tta, molecule_check)
    result["weights"] = str(net.path)
    result["onnx_sha256"] = spec.onnx_sha256
    result["tta"] = tta
    result["molecule_check"] = molecule_check
    print(format_table(result["maps"], result["summary"]))
    if json_path:
        Path(json_path).write_text(json.dumps(_json_safe(result), indent=1) + "\n")
    return 2 if errors else 0
