"""`deepssetracer data`: build the simulated training set, the real validation pairs, figures."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .extras import missing_extra

DEFAULT_SIM = Path.home() / ".cache" / "deepssetracer" / "sim"
DEFAULT_REAL = Path.home() / ".cache" / "deepssetracer" / "real"


def add_args(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    sim = sub.add_parser("simulate", help="simulate box-cropped maps from DB55 structures")
    sim.add_argument("--out", type=Path, default=DEFAULT_SIM,
                     help=f"output folder ({DEFAULT_SIM})")
    sim.add_argument("--n-boxes", type=int, default=1000, help="number of boxes (1000)")
    sim.add_argument("--seed", type=int, default=0, help="dataset seed (0)")
    sim.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    sim.add_argument("--split", default="train,val,test",
                     help="comma-separated splits to draw boxes from (train,val,test)")
    sim.add_argument("--db55", type=Path, default=None, help="folder of DB55 *.pdb.gz")
    sim.add_argument("--cache", type=Path, default=None,
                     help="parsed-structure cache (default OUT/structures)")
    sim.add_argument("--split-file", type=Path, default=None,
                     help="split list JSON (configs/db55_split.json)")
    real = sub.add_parser("real", help="prepare the real validation pairs of ../shared/data/real")
    real.add_argument("--out", type=Path, default=DEFAULT_REAL,
                      help=f"output folder ({DEFAULT_REAL})")
    real.add_argument("--src", type=Path, default=None,
                      help="folder of real map/model pairs (SUB/map.mrc + SUB/model.pdb; a map "
                           "with no model gives an unlabelled box, for a consistency pool)")
    fig = sub.add_parser("figure", help="draw docs/figures/sim_vs_real.png")
    fig.add_argument("--sim", type=Path, default=DEFAULT_SIM, help="simulated dataset folder")
    fig.add_argument("--real", type=Path, default=DEFAULT_REAL, help="prepared real folder")
    fig.add_argument("--out", type=Path, default=Path("docs/figures"), help="figure folder")


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        from ..train import dataset
    except ImportError as e:
        return missing_extra("data", e)
    try:
        if args.data_command == "simulate":
            from ..train import splits

            stats = dataset.simulate_dataset(
                args.out, args.n_boxes, seed=args.seed, workers=args.workers,
                wanted=[s.strip() for s in args.split.split(",") if s.strip()],
                db55=args.db55 or dataset.DB55, cache=args.cache,
                split_file=args.split_file or splits.SPLIT_FILE)
            print(json.dumps(stats, indent=1))
        elif args.data_command == "real":
            dataset.prepare_real(args.out, args.src or dataset.SHARED / "data" / "real")
        else:
            from ..train import figures

            figures.figure(args.sim, args.real, args.out)
    except ValueError as exc:  # InputError among them: it names its file
        print(f"deepssetracer data: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a missing model.pdb, an --out that is a file: one line, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"deepssetracer data: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
