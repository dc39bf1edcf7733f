"""Lenient PDB reading, Cα coordinates and DSSP classes for simulation and labels.

DB55 files carry old segment IDs in columns 73-80 that gemmi rejects, so lines are cut to 72
columns before parsing (elements then come from the atom names). DSSP is mdtraj's
(``compute_dssp(simplified=False)``) run on a cleaned backbone-only PDB written by us, so
chain breaks, altlocs, hetero residues and insertion codes never reach mdtraj.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_path
from ..core.classes import HELIX, OTHER, SHEET

log = logging.getLogger(__name__)

DSSP_CLASS = {"H": HELIX, "G": HELIX, "I": HELIX, "E": SHEET, "B": SHEET}

#: Scattering weight per element: electrons (Z) plus implicit hydrogens bound to it.
ELEMENT_WEIGHT = {"C": 7.3, "N": 7.9, "O": 8.2, "S": 16.5, "P": 15.0, "SE": 34.0}
DEFAULT_WEIGHT = 7.0
#: Residues DSSP can read as amino acids (others, e.g. ligands, are dropped).
BACKBONE = ("N", "CA", "C", "O")


@dataclass
class Structure:
    """Heavy atoms and per-residue facts of one model, all coordinates (x, y, z) in Å.

    ``atom_res`` indexes residues; ``res_chain`` indexes ``chains``; ``ca`` is NaN where a
    residue has no Cα; ``ss`` holds HELIX / SHEET / OTHER per residue.
    """

    name: str
    xyz: np.ndarray  # (N, 3) float32
    weight: np.ndarray  # (N,) float32
    atom_res: np.ndarray  # (N,) int32
    ca: np.ndarray  # (R, 3) float32
    ss: np.ndarray  # (R,) uint8
    res_chain: np.ndarray  # (R,) int32
    chains: list[str]

    @property
    def n_residues(self) -> int:
        return len(self.ss)

    def chain_residues(self, chain: int) -> np.ndarray:
        return np.flatnonzero(self.res_chain == chain)

    def subset(self, residues: np.ndarray) -> Structure:
        """The structure restricted to ``residues`` (indices, sorted), renumbered."""
        residues = np.asarray(residues, dtype=np.int64)
        remap = np.full(self.n_residues, -1, dtype=np.int64)
        remap[residues] = np.arange(len(residues))
        keep = remap[self.atom_res] >= 0
        return Structure(
            self.name, self.xyz[keep], self.weight[keep],
            remap[self.atom_res[keep]].astype(np.int32),
            self.ca[residues], self.ss[residues], self.res_chain[residues], self.chains,
        )

    def transformed(self, rotation: np.ndarray, shift: np.ndarray) -> Structure:
        """Rigid motion x -> R x + t applied to atoms and Cα."""
        rot = np.asarray(rotation, dtype=np.float32)
        t = np.asarray(shift, dtype=np.float32)
        return Structure(
            self.name, self.xyz @ rot.T + t, self.weight, self.atom_res, self.ca @ rot.T + t,
            self.ss, self.res_chain, self.chains,
        )

    def to_npz(self, path: Path) -> None:
        with atomic_path(path, suffix=".npz") as tmp:  # savez would append .npz to any other
            np.savez(tmp, xyz=self.xyz, weight=self.weight, atom_res=self.atom_res, ca=self.ca,
                     ss=self.ss, res_chain=self.res_chain, chains=np.array(self.chains),
                     name=np.array(self.name))

    @classmethod
    def from_npz(cls, path: Path) -> Structure:
        with np.load(path) as z:
            return cls(str(z["name"]), z["xyz"], z["weight"], z["atom_res"], z["ca"], z["ss"],
                       z["res_chain"], [str(c) for c in z["chains"]])


def _read_gemmi(gemmi, path: Path):
    """gemmi's structure of a (gzipped) PDB or mmCIF file, the format told from its content:
    an mmCIF file (as the PDB now deposits large models) has a ``data_`` line, after comments."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as f:
        text = f.read()
    if re.search(r"(?m)^data_", text):
        return gemmi.make_structure_from_block(gemmi.cif.read_string(text).sole_block())
    return gemmi.read_pdb_string(_pdb_text(text))


def _pdb_text(text: str) -> str:
    lines = [ln for ln in text.splitlines()
             if ln.startswith(("ATOM", "HETATM", "MODEL", "ENDMDL"))]
    # Columns 73-80 hold segment ids in old files; elements (77-78) are kept only when the
    # segment field is blank, otherwise gemmi infers them from the atom name.
    out = []
    for ln in lines:
        if len(ln) > 72 and ln[72:76].strip():
            ln = ln[:72]
        out.append(ln)
    return "\n".join(out) + "\nEND\n"


def _element(atom) -> str:
    el = atom.element.name.upper()
    return el if el != "X" else atom.name.strip()[:1].upper()


def read_structure(path: str | Path, dssp: bool = True) -> Structure:
    """Read a (gzipped) PDB or mmCIF file leniently: first model, first altloc, no H, no water.

    Args:
        path: PDB or mmCIF file, either gzipped.
        dssp: compute DSSP classes (else every residue is OTHER).

    Raises:
        ValueError: the file holds no amino-acid residue with a backbone.
    """
    import gemmi

    path = Path(path)
    st = _read_gemmi(gemmi, path)
    st.remove_alternative_conformations()
    st.remove_hydrogens()
    st.remove_waters()
    model = st[0]
    xyz, weight, atom_res, ca, res_chain, chains = [], [], [], [], [], []
    backbone_records = []  # (chain index, residue index, name, atom name, x, y, z)
    for chain in model:
        ci = len(chains)
        chains.append(chain.name)
        for res in chain:
            info = gemmi.find_tabulated_residue(res.name)
            if info is None or not info.is_amino_acid():
                continue
            ri = len(ca)
            ca_atom = res.find_atom("CA", "*")
            ca.append(ca_atom.pos.tolist() if ca_atom else [np.nan] * 3)
            res_chain.append(ci)
            for atom in res:
                xyz.append(atom.pos.tolist())
                weight.append(ELEMENT_WEIGHT.get(_element(atom), DEFAULT_WEIGHT))
                atom_res.append(ri)
            if all(res.find_atom(a, "*") for a in BACKBONE):
                std = info.one_letter_code.upper() != "X"
                rname = res.name if std else "ALA"
                for a in BACKBONE:
                    p = res.find_atom(a, "*").pos
                    backbone_records.append((ci, ri, rname, a, p.x, p.y, p.z))
    if not ca or not backbone_records:
        raise ValueError("no amino-acid residue with a backbone")
    ss = np.full(len(ca), OTHER, dtype=np.uint8)
    if dssp:
        ss = dssp_classes(backbone_records, len(ca))
    return Structure(
        structure_name(path), np.asarray(xyz, np.float32), np.asarray(weight, np.float32),
        np.asarray(atom_res, np.int32), np.asarray(ca, np.float32), ss,
        np.asarray(res_chain, np.int32), chains,
    )


def dssp_classes(backbone_records: list[tuple], n_residues: int) -> np.ndarray:
    """DSSP (mdtraj, full alphabet) mapped to HELIX / SHEET / OTHER per residue.

    ``backbone_records`` are (chain index, residue index, residue name, atom, x, y, z) of
    residues with a full N/CA/C/O backbone; other residues stay OTHER. mdtraj reads the
    cleaned file we write: renumbered atoms and residues, one chain id per chain, TER between
    chains, so its residue order is our record order.
    """
    import mdtraj

    lines, order = [], []
    last_chain, last_res, serial, resseq = None, None, 0, 0
    chain_ids = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    for ci, ri, rname, aname, x, y, z in backbone_records:
        if ci != last_chain and last_chain is not None:
            lines.append("TER")
        if ri != last_res:
            resseq = resseq + 1 if ci == last_chain else 1
            order.append(ri)
        last_chain, last_res = ci, ri
        serial += 1
        lines.append(
            f"ATOM  {serial % 100000:5d}  {aname:<3s} {rname:>3s} {chain_ids[ci % 62]}"
            f"{resseq % 10000:4d}"
            f"    {x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00           {aname[0]}"
        )
    lines += ["TER", "END"]
    fd, tmp = tempfile.mkstemp(suffix=".pdb")
    try:
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        traj = mdtraj.load_pdb(tmp, standard_names=False)
    finally:
        os.unlink(tmp)
    codes = mdtraj.compute_dssp(traj, simplified=False)[0]
    if len(codes) != len(order):
        raise ValueError(f"mdtraj read {len(codes)} residues, expected {len(order)}")
    ss = np.full(n_residues, OTHER, dtype=np.uint8)
    for ri, code in zip(order, codes):
        ss[ri] = DSSP_CLASS.get(code, OTHER)
    return ss


def structure_name(path: str | Path) -> str:
    """File name without ``.pdb``/``.gz`` (``1JPS_l_u.pdb.2.gz`` -> ``1JPS_l_u.2``)."""
    return Path(path).name.replace(".gz", "").replace(".pdb", "")


def cached_structure(path: Path, cache_dir: Path) -> Structure | None:
    """Read ``path`` once: the parsed structure and its DSSP live in ``cache_dir/<name>.npz``.

    Returns None (and logs why) for a structure that cannot be read; the failure is cached as
    an empty ``.failed`` file so it is not retried.
    """
    name = structure_name(path)
    npz = cache_dir / f"{name}.npz"
    failed = cache_dir / f"{name}.failed"
    if npz.exists():
        return Structure.from_npz(npz)
    if failed.exists():
        return None
    try:
        s = read_structure(path)
    except Exception as exc:  # any parser failure skips the structure, as the brief asks
        log.warning("skipping %s: %s", Path(path).name, exc)
        cache_dir.mkdir(parents=True, exist_ok=True)
        failed.write_text(str(exc))
        return None
    cache_dir.mkdir(parents=True, exist_ok=True)
    s.to_npz(npz)
    return s
