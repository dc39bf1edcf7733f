"""`deepssetracer train CONFIG`: train, validate and export a network (needs torch)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..core.devices import DEVICES
from .extras import missing_extra


def add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="training config JSON (configs/fl_dl.json ships)")
    parser.add_argument("--out", help="run folder (default: runs/<config name>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its checkpoint.pt")
    parser.add_argument("--data", help="simulated dataset folder (overrides the config)")
    parser.add_argument("--real-val", help="real validation folder (overrides the config)")
    parser.add_argument("--steps", type=int, help="total steps (overrides the config)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (overrides the config)")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where to train (default: auto, CUDA when present)")
    parser.add_argument("--export", metavar="RUNDIR",
                        help="only export RUNDIR/best.pt to ONNX + sidecar and plot its curves")


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        from ..train.config import TrainConfig
        from ..train.finish import finish
        from ..train.trainer import Trainer
    except ImportError as e:
        return missing_extra("train", e)
    try:
        if args.export:
            print(finish(Path(args.export)))
            return 0
        if not args.config:
            print("deepssetracer train: give a CONFIG (or --export RUNDIR)", file=sys.stderr)
            return 2
        overrides = {"data": args.data, "real_val": args.real_val, "steps": args.steps,
                     "threads": args.threads}
        cfg = TrainConfig.load(args.config, {k: v for k, v in overrides.items() if v is not None})
        out = Path(args.out) if args.out else Path("runs") / Path(args.config).stem
        Trainer(cfg, out, config_path=str(args.config), device=args.device).run(resume=args.resume)
    except (ValueError, OSError) as e:
        print(f"deepssetracer train: {e}", file=sys.stderr)
        return 1
    return 0
