"""Per-residue check of a fitted model against a prediction (numpy only).

Each protein residue gets the class the prediction votes at its Cα, exactly as residue F1 is
scored (`metrics.residue_votes`: the voxels within 3 Å of the Cα), and, when the model file
carries its own secondary structure, whether the two agree. The model is read outside the core
(gemmi, in ``cli/models.py``); this module only takes its residues as arrays.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .classes import IGNORE, RESIDUE_NAMES
from .metrics import residue_votes


@dataclass
class ModelResidues:
    """The protein residues of a model, in file order.

    Attributes:
        chain, residue, name: chain id, number plus insertion code ("12", "12A"), residue name.
        ca: (R, 3) Cα x, y, z Å (NaN where a residue has none).
        model: the file's own assignment per residue ("helix", "sheet", "other"), or None when
            the file has no HELIX/SHEET records (mmCIF: _struct_conf, _struct_sheet_range).
    """

    chain: list[str]
    residue: list[str]
    name: list[str]
    ca: np.ndarray
    model: list[str] | None = None

    def __len__(self) -> int:
        return len(self.chain)


@dataclass(frozen=True)
class Stretch:
    """Consecutive residues of one chain where the vote and the model disagree."""

    chain: str
    first: str
    last: str
    predicted: tuple[str, ...]  # the classes voted along it, in RESIDUE_NAMES order
    model: str  # the model's class along it
    length: int

    @classmethod
    def of(cls, check: ResidueCheck, run: list[int]) -> Stretch:
        r = check.residues
        return cls(r.chain[run[0]], r.residue[run[0]], r.residue[run[-1]],
                   _classes(check.predicted[i] for i in run), r.model[run[0]], len(run))

    def __str__(self) -> str:
        where = self.first if self.first == self.last else f"{self.first}-{self.last}"
        return (f"/{self.chain}:{where} ({self.length} residue{'s' * (self.length != 1)}: "
                f"model {self.model}, predicted {'/'.join(self.predicted)})")


def _classes(names) -> tuple[str, ...]:
    seen = set(names)
    return tuple(n for n in RESIDUE_NAMES if n in seen)


@dataclass
class ResidueCheck:
    """The voted class per residue ("" where the Cα is missing or off the map's grid)."""

    residues: ModelResidues
    predicted: list[str]

    @property
    def compared(self) -> np.ndarray:
        """Residues that have both a vote and a model assignment."""
        if self.residues.model is None:
            return np.zeros(len(self.predicted), dtype=bool)
        return np.array([p != "" for p in self.predicted], dtype=bool)

    def agreement(self) -> tuple[float, int]:
        """(fraction of compared residues where vote and model agree, how many compared)."""
        keep = self.compared
        n = int(keep.sum())
        if not n:
            return float("nan"), 0
        same = sum(p == m for p, m, k in zip(self.predicted, self.residues.model, keep) if k)
        return same / n, n

    def summary(self) -> str:
        if self.residues.model is None:
            n = sum(p != "" for p in self.predicted)
            return f"{n} residues voted (the model has no HELIX/SHEET records)"
        frac, n = self.agreement()
        return f"model agreement {100 * frac:.0f} % of {n} residues" if n else \
            "no residue of the model lies on the map"

    def stretches(self, limit: int | None = None) -> list[Stretch]:
        """Runs of disagreeing residues, longest first (ties in file order): where a model
        builder looks first. A run is consecutive compared residues of one chain and one model
        class (a helix, strand or loop of the model), in file order, whose vote differs from
        the model's assignment."""
        keep = self.compared
        r = self.residues
        runs: list[list[int]] = []
        for i in range(len(self.predicted)):
            differs = keep[i] and self.predicted[i] != r.model[i]
            if differs and runs and runs[-1][-1] == i - 1 and r.chain[i] == r.chain[i - 1] \
                    and r.model[i] == r.model[i - 1]:
                runs[-1].append(i)
            elif differs:
                runs.append([i])
        runs.sort(key=lambda run: (-len(run), run[0]))
        return [Stretch.of(self, run) for run in runs[:limit]]

    def to_csv(self) -> str:
        r = self.residues
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        extra = ["model", "agree"] if r.model is not None else []
        w.writerow(["chain", "residue", "name", "predicted", *extra])
        for i, p in enumerate(self.predicted):
            row = [r.chain[i], r.residue[i], r.name[i], p]
            if r.model is not None:
                row += [r.model[i], "" if p == "" else ("yes" if p == r.model[i] else "no")]
            w.writerow(row)
        return out.getvalue()


def check_residues(labels: np.ndarray, voxel_size: Sequence[float], origin: Sequence[float],
                   residues: ModelResidues) -> ResidueCheck:
    """Vote each residue's class from ``labels`` (uint8 [z, y, x]: 0 helix, 1 sheet, 2 other,
    as `Prediction.labels()`), as residue F1 does."""
    votes = residue_votes(labels, voxel_size, origin, residues.ca)
    return ResidueCheck(residues, ["" if v == IGNORE else RESIDUE_NAMES[int(v)] for v in votes])
