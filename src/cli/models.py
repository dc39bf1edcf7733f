"""Reading a fitted model (PDB or mmCIF) for ``predict --model``, with gemmi.

gemmi is the field's reader (PDB and mmCIF alike, HELIX/SHEET and _struct_conf /
_struct_sheet_range included); it is an optional extra (``pip install gemmi``, or the package's
``[model]`` extra), so it is imported here only, never by the core.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..core.residues import ModelResidues

INSTALL_HINT = "reading models needs gemmi (pip install gemmi)"


def read_model(path: str | Path) -> ModelResidues:
    """The protein residues of the first model (first altloc) and the file's assignment.

    Raises:
        InputError: gemmi is missing, the file cannot be read or holds no protein residue.
    """
    path = Path(path)
    try:
        import gemmi
    except ImportError:
        raise InputError(path, INSTALL_HINT) from None
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        st = _read_structure(gemmi, path)
    except (RuntimeError, ValueError, TypeError) as err:
        raise InputError(path, f"cannot read the model ({err})") from None
    except OSError as err:
        raise InputError(path, f"cannot read the model ({err.strerror or err})") from None
    st.remove_alternative_conformations()
    if len(st) == 0:
        raise InputError(path, "no model in the file")
    chain, number, name, ca, keys = [], [], [], [], []
    for ch in st[0]:
        for res in ch:
            info = gemmi.find_tabulated_residue(res.name)
            if info is None or not info.is_amino_acid():
                continue
            atom = res.find_atom("CA", "*")
            chain.append(ch.name)
            number.append(f"{res.seqid.num}{res.seqid.icode.strip()}")
            name.append(res.name)
            ca.append(atom.pos.tolist() if atom else [np.nan] * 3)
            keys.append((ch.name, res.seqid.num, res.seqid.icode.strip()))
    if not chain:
        raise InputError(path, "no protein residue in the model")
    model = _assignment(st, keys) if (len(st.helices) or len(st.sheets)) else None
    return ModelResidues(chain, number, name, np.asarray(ca, dtype=np.float64), model)


def _read_structure(gemmi, path: Path):
    """gemmi's structure of `path`. gemmi takes a name only as UTF-8 text, so a name that is not
    (its bytes as Python's surrogate escapes) is read here, unzipped if ``.gz``, and handed to
    gemmi as the file's content, the format told from it."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return gemmi.read_structure(str(path))
    if not hasattr(gemmi, "read_structure_string"):  # an older gemmi
        raise InputError(path, "cannot read the model: its name is not UTF-8 text, which this "
                               "gemmi cannot open; rename the file")
    data = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise InputError(path, f"corrupt gzip file ({err})") from None
    return gemmi.read_structure_string(data, format=gemmi.CoorFormat.Detect)


def _assignment(st, keys: list[tuple[str, int, str]]) -> list[str]:
    """'helix' / 'sheet' / 'other' per residue from the file's helix and strand ranges."""
    where = {k: i for i, k in enumerate(keys)}
    out = ["other"] * len(keys)

    def mark(start, end, cls: str) -> None:
        a = where.get((start.chain_name, start.res_id.seqid.num, start.res_id.seqid.icode.strip()))
        b = where.get((end.chain_name, end.res_id.seqid.num, end.res_id.seqid.icode.strip()))
        if a is None or b is None or keys[a][0] != keys[b][0]:
            return
        for i in range(min(a, b), max(a, b) + 1):
            out[i] = cls

    for h in st.helices:
        mark(h.start, h.end, "helix")
    for sheet in st.sheets:
        for strand in sheet.strands:
            mark(strand.start, strand.end, "sheet")
    return out
