"""Train / validation / test split of DB55 by complex id, never by file.

Bound and unbound forms of one protein are near-identical, so all files sharing the
four-character prefix (``1ACB`` of ``1ACB_r_b.pdb.gz``) fall in one split. The committed list
``configs/db55_split.json`` is the one the project trains on; ``make_split`` rebuilds it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")
FRACTIONS = (0.8, 0.1, 0.1)
DEFAULT_SEED = 55
SPLIT_FILE = Path(__file__).resolve().parents[2] / "configs" / "db55_split.json"


def complex_id(path: str | Path) -> str:
    """The complex id: the file name's four-character prefix, upper case."""
    return Path(path).name[:4].upper()


def make_split(
    names: list[str], seed: int = DEFAULT_SEED, fractions: tuple[float, ...] = FRACTIONS
) -> dict[str, list[str]]:
    """Complex ids of ``names`` (file names) shuffled by ``seed`` and cut by ``fractions``."""
    ids = sorted({complex_id(n) for n in names})
    order = np.random.default_rng(seed).permutation(len(ids))
    cuts = np.rint(np.cumsum(fractions) / sum(fractions) * len(ids)).astype(int)
    out, start = {}, 0
    for split, end in zip(SPLITS, cuts):
        out[split] = sorted(ids[i] for i in order[start:end])
        start = end
    return out


def write_split(split: dict[str, list[str]], path: Path, seed: int) -> None:
    payload = {"seed": seed, "by": "complex id (4-character file prefix)", **split}
    Path(path).write_text(json.dumps(payload, indent=1) + "\n")


def load_split(path: Path = SPLIT_FILE) -> dict[str, list[str]]:
    """The split lists {train, val, test} from the JSON file; checks they are disjoint."""
    data = json.loads(Path(path).read_text())
    split = {k: list(data[k]) for k in SPLITS}
    seen: set[str] = set()
    for k in SPLITS:
        overlap = seen & set(split[k])
        if overlap:
            raise ValueError(f"{path}: complexes in two splits: {sorted(overlap)[:5]}")
        seen |= set(split[k])
    return split


def split_of(split: dict[str, list[str]]) -> dict[str, str]:
    """complex id -> split name."""
    return {c: k for k, ids in split.items() for c in ids}
