"""Per-residue votes against a model (core/residues.py) follow residue F1's vote."""

from __future__ import annotations

import numpy as np
from chimerax.deepssetracer.core import metrics
from chimerax.deepssetracer.core.residues import ModelResidues, ResidueCheck, check_residues


def _labels():
    labels = np.full((10, 10, 20), 2, np.uint8)  # z, y, x
    labels[:, :, :8] = 0  # helix for x < 8
    labels[:, :, 12:] = 1  # sheet for x >= 12
    return labels


def _model(model=("helix", "helix", "other", "sheet")):
    ca = np.array([[2.0, 5, 5], [6, 5, 5], [10, 5, 5], [16, 5, 5], [50, 5, 5], [np.nan] * 3])
    n = len(ca)
    return ModelResidues(["A"] * n, [str(i) for i in range(1, n)] + ["7B"], ["ALA"] * n, ca,
                         None if model is None else [*model, "sheet", "helix"])


def test_votes_are_residue_f1s_and_agreement_skips_residues_off_the_map():
    res = _model()
    check = check_residues(_labels(), (1, 1, 1), (0, 0, 0), res)
    votes = metrics.residue_votes(_labels(), (1, 1, 1), (0, 0, 0), res.ca)
    assert check.predicted == ["helix", "helix", "other", "sheet", "", ""]
    assert [{"helix": 0, "sheet": 1, "other": 2}.get(p, 255) for p in check.predicted] \
        == list(votes)
    assert check.agreement() == (1.0, 4)
    assert check.summary() == "model agreement 100 % of 4 residues"
    rows = check.to_csv().splitlines()
    assert rows[0] == "chain,residue,name,predicted,model,agree"
    assert rows[1] == "A,1,ALA,helix,helix,yes" and rows[-1] == "A,7B,ALA,,helix,"


def test_without_model_assignment_there_are_no_model_columns():
    check = check_residues(_labels(), (1, 1, 1), (0, 0, 0), _model(None))
    assert check.to_csv().splitlines()[0] == "chain,residue,name,predicted"
    assert "no HELIX/SHEET" in check.summary()


def test_disagreeing_stretches_are_runs_of_one_chain_longest_first():
    predicted = ["helix", "other", "other", "sheet", "helix", "helix", "other", "other"]
    model = ["helix", "helix", "helix", "helix", "helix", "sheet", "sheet", "sheet"]
    chain = ["A"] * 7 + ["B"]
    n = len(chain)
    res = ModelResidues(chain, [str(i) for i in range(1, n)] + ["1A"], ["ALA"] * n,
                        np.zeros((n, 3)), model)
    check = ResidueCheck(res, predicted)
    found = check.stretches()
    assert [(s.chain, s.first, s.last, s.length) for s in found] == [
        ("A", "2", "4", 3), ("A", "6", "7", 2), ("B", "1A", "1A", 1)]
    assert found[0].predicted == ("sheet", "other") and found[0].model == "helix"
    assert str(found[0]) == "/A:2-4 (3 residues: model helix, predicted sheet/other)"
    assert str(found[2]) == "/B:1A (1 residue: model sheet, predicted other)"
    assert check.stretches(limit=1) == found[:1]
    res.model[4], check.predicted[4] = "other", "sheet"  # one run of residues 2-7 ...
    assert [(s.first, s.last) for s in check.stretches()] == [  # ... in three of the model
        ("2", "4"), ("6", "7"), ("5", "5"), ("1A", "1A")]
    check.predicted[3] = ""  # no vote: the run stops there
    assert [s.length for s in check.stretches()] == [2, 2, 1, 1]
