"""A fitted atomic model coloured by the prediction, and checked against its own assignment.

``deepssetracer MAP model #2`` votes each protein residue's class exactly as the CLI's
``--model`` and residue F1 do (`core.residues.check_residues`: the voxels within 3 Å of its Cα),
colours the residue's atoms and ribbon by that vote, and compares it with ChimeraX's own
secondary structure (``Residue.is_helix`` / ``is_strand``: the file's HELIX/SHEET records, or
ChimeraX's DSSP when it has none). The longest disagreeing stretches are logged: where a model
builder looks first.
"""

from __future__ import annotations

import numpy as np

from .core.classes import HELIX, RESIDUE_NAMES, SHEET
from .core.metrics import class_counts
from .core.predict import Prediction
from .core.residues import ModelResidues, ResidueCheck, check_residues
from .elements_models import HELIX_RGBA, SHEET_RGBA, map_to_prediction

OTHER_RGBA = (170, 170, 170, 255)  # neutral grey
CLASS_RGBA = {"helix": HELIX_RGBA, "sheet": SHEET_RGBA, "other": OTHER_RGBA}
STRETCHES = 5  # disagreeing stretches logged


def model_residues(structure, volume) -> tuple[ModelResidues, object]:
    """The protein residues of `structure` with their Cα in the prediction's frame (`volume`
    is one of its maps) and ChimeraX's assignment; and the ChimeraX ``Residues``, same order."""
    from chimerax.atomic import Residue

    residues = structure.residues
    protein = residues[residues.polymer_types == Residue.PT_AMINO]
    ca = np.full((len(protein), 3), np.nan)
    for i, r in enumerate(protein):
        atom = r.find_atom("CA")
        if atom is not None:
            ca[i] = atom.scene_coord
    found = np.isfinite(ca).all(axis=1)
    if found.any():
        to_map = volume.scene_position.inverse()
        ca[found] = map_to_prediction(to_map.transform_points(ca[found]), volume)
    model = ["helix" if r.is_helix else "sheet" if r.is_strand else "other" for r in protein]
    res = ModelResidues(list(protein.chain_ids), [f"{n}{c.strip()}" for n, c in
                                                  zip(protein.numbers, protein.insertion_codes)],
                        list(protein.names), ca, model)
    return res, protein


def colour_by_prediction(structure, prediction: Prediction, volume) -> ResidueCheck:
    """Vote, colour (atoms and ribbons; residues off the map keep their colours) and return
    the check of `structure` against `prediction` (`volume`: one of its maps)."""
    res, protein = model_residues(structure, volume)
    check = check_residues(prediction.labels(), prediction.voxel_size, prediction.origin, res)
    voted = np.array([p != "" for p in check.predicted], dtype=bool)
    if voted.any():
        rgba = np.array([CLASS_RGBA.get(p, OTHER_RGBA) for p in check.predicted], np.uint8)
        shown = protein[voted]
        shown.ribbon_colors = rgba[voted]
        atoms = shown.atoms
        atoms.colors = rgba[voted][shown.indices(atoms.residues)]
    return check


def check_message(structure, check: ResidueCheck, map_name: str) -> list[str]:
    """Log lines: agreement and residue F1 with ChimeraX's assignment, then the stretches."""
    name = f"{structure.name} #{structure.id_string}"
    predicted = check.predicted
    voted = sum(p != "" for p in predicted)
    if not voted:
        return [f"DeepSSETracer: no residue of {name} lies on the predicted region of "
                f"{map_name}; nothing coloured"]
    counts = {n: predicted.count(n) for n in RESIDUE_NAMES}
    frac, n = check.agreement()
    code = {name: k for k, name in enumerate(RESIDUE_NAMES)}
    keep = check.compared
    f1 = class_counts(np.array([code[p] for p, k in zip(predicted, keep) if k], np.uint8),
                      np.array([code[m] for m, k in zip(check.residues.model, keep) if k],
                               np.uint8), (HELIX, SHEET))
    off = len(predicted) - voted
    lines = [f"DeepSSETracer {name} coloured by the prediction of {map_name}: "
             + ", ".join(f"{counts[c]} {c}" for c in RESIDUE_NAMES)
             + (f" ({off} residues off the map left as they were)" if off else "")
             + f"; agreement with ChimeraX's secondary structure {100 * frac:.0f} % of {n} "
             f"residues (residue F1 helix {f1['helix'].f1:.2f}, sheet {f1['sheet'].f1:.2f})"]
    stretches = check.stretches(STRETCHES)
    if stretches:
        lines.append("DeepSSETracer: longest disagreeing stretches: "
                     + "; ".join(str(s) for s in stretches))
    return lines
