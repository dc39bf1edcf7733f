"""`deepssetracer evaluate`: voxel and residue F1 of the shipped (or given) ONNX weights.

Three ways to name what to score: ``MAP MODEL.pdb`` (one map with its fitted model),
``--pairs DIR`` (subfolders holding map.mrc + model.pdb) or ``--dataset DIR --split test``
(a simulated dataset folder). Predictions go through the same ``predict_map`` and ONNX weights
that ship, so what is scored is what users run.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from ..core.devices import DEVICES
from .extras import first_missing, missing_extra
from .predict import TTA_CHOICES


def _resolutions(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated Å values, got {text!r}") \
            from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive Å values, got {text!r}")
    return values


def add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("map", nargs="?", help="density map (MRC/CCP4)")
    parser.add_argument("model", nargs="?", help="its fitted atomic model (PDB or mmCIF)")
    parser.add_argument("--pairs", metavar="DIR",
                        help="folder of subfolders each holding map.mrc and model.pdb")
    parser.add_argument("--dataset", metavar="DIR", help="simulated dataset folder (index.json)")
    parser.add_argument("--split", default="test",
                        help="dataset split to score with --dataset (default: test)")
    parser.add_argument("--weights", help="ONNX weights (default: the shipped ones)")
    parser.add_argument("--lowpass", type=_resolutions, metavar="A[,A...]",
                        help="also score each map low-pass filtered to these resolutions (Å)")
    parser.add_argument("--tta", type=int, default=1, choices=TTA_CHOICES,
                        help="rotations averaged at prediction (default: 1, none)")
    parser.add_argument("--threads", type=int, help="onnxruntime threads (default: all cores)")
    parser.add_argument("--device", choices=DEVICES, default="cpu",
                        help="onnxruntime device (default: cpu)")
    parser.add_argument("--json", metavar="OUT.json", help="write every figure as JSON here")
    parser.add_argument("--no-molecule-check", dest="molecule_check", action="store_false",
                        help="leave out the no-molecule warning (every map is predicted and "
                             "scored either way; before 2026-12-04 predict answered such maps "
                             "with nothing and this scored the network alone)")


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    modes = sum(bool(m) for m in (args.map, args.pairs, args.dataset))
    if modes != 1 or (args.map and not args.model):
        print("deepssetracer evaluate: give MAP MODEL.pdb, or --pairs DIR, or --dataset DIR",
              file=sys.stderr)
        return 2
    if args.json:  # before any scoring, which can take long
        folder = Path(args.json).parent
        problem = ("names a folder" if Path(args.json).is_dir() else
                   f"folder {folder} does not exist" if not folder.is_dir() else
                   f"folder {folder} is not writable"
                   if not os.access(folder, os.W_OK | os.X_OK) else "")
        if problem:
            print(f"deepssetracer evaluate: {args.json}: --json {problem}", file=sys.stderr)
            return 2
    missing = first_missing("eval")
    if missing:
        return missing_extra("evaluate", ModuleNotFoundError(name=missing), "eval")
    try:
        from ..train import evaluate
    except ImportError as e:
        return missing_extra("evaluate", e, "eval")
    from ..core.errors import InputError

    try:
        return evaluate.run(map_path=args.map, model_path=args.model, pairs=args.pairs,
                            dataset=args.dataset, split=args.split, weights=args.weights,
                            device=args.device, threads=args.threads, tta=args.tta,
                            lowpass=args.lowpass, json_path=args.json,
                            molecule_check=args.molecule_check)
    except (InputError, ValueError, OSError) as e:  # bad input: one line, exit 2
        print(f"deepssetracer evaluate: {e}", file=sys.stderr)
        return 2
