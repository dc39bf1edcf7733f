"""``elements true`` and ``model #N`` in a real headless ChimeraX, on a real map and its model.

EMD-8518 with its fitted chain 5U8S A (../shared/data/real): the cylinders and patches must be
the core's elements where the map is, and the residue colours and the logged agreement must be
the core's vote against ChimeraX's own secondary structure.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import SHARED

PAIR = SHARED / "data" / "real" / "emd8518_5u8s_A"


def run(session, text):
    from chimerax.core.commands import run as cx_run

    return cx_run(session, text, log=False)


@pytest.fixture
def pair(cx):
    if not (PAIR / "map.mrc").is_file() or not (PAIR / "model.pdb").is_file():
        pytest.skip(f"no real map and model at {PAIR} (../shared is absent)")
    (v,) = run(cx, f"open {PAIR / 'map.mrc'}")
    (m,) = run(cx, f"open {PAIR / 'model.pdb'}")
    return v, m


def core_elements(v, helix_volume, sheet_volume):
    """The core's elements of the whole map `v`, prepared as the command prepares it."""
    from chimerax.deepssetracer.core.grid import DensityMap
    from chimerax.deepssetracer.core.predict import Prediction, find_elements
    from chimerax.deepssetracer.core.prepare import prepare

    d = helix_volume.data
    _, record = prepare(v.full_matrix(), d.step, 2.0, {"method": "foreground"})
    pred = Prediction(helix_volume.full_matrix(), sheet_volume.full_matrix(),
                      voxel_size=d.step, origin=d.origin, preparation=record)
    return find_elements(DensityMap(v.full_matrix(), d.step, d.origin), pred)


def test_elements_are_cylinders_and_patches_where_the_map_is(cx, pair, weights_kw, log_lines):
    from chimerax.core.models import Surface
    from chimerax.deepssetracer.core.elements import sheet_mesh
    from chimerax.geometry import rotation, translation
    from chimerax.markers import MarkerSet

    v, _ = pair
    v.position = translation((5.0, -3.0, 8.0)) * rotation((1, 0, 0), 40)
    helix, sheet, axes, patches = run(cx, f"deepssetracer #1 elements true{weights_kw}")
    parent = helix.parent
    assert axes.parent is parent and patches.parent is parent
    assert [m.id for m in (axes, patches)] == [(3, 3), (3, 4)]
    assert isinstance(axes, MarkerSet) and axes.name == f"{v.name} helix axes"
    assert isinstance(patches, Surface) and patches.name == f"{v.name} sheet patches"

    found = core_elements(v, helix, sheet)
    assert found.helices and found.sheets  # this map has both
    ends = np.array([p for h in found.helices for p in (h.start, h.end)])
    markers = axes.atoms
    assert len(markers) == len(ends) and len(axes.bonds) == len(found.helices)
    # placed with the map: scene positions are the map's transform of the core's points
    assert np.allclose(markers.scene_coords, v.scene_position.transform_points(ends), atol=1e-3)
    assert (markers.colors == (255, 255, 0, 255)).all()
    assert np.allclose(axes.bonds.radii, 2.3) and np.allclose(markers.radii, 2.3)

    assert tuple(patches.color) == (0, 255, 255, 255)
    want = np.concatenate([sheet_mesh(s)[0] for s in found.sheets])
    assert np.allclose(patches.vertices, want, atol=1e-4)
    assert len(patches.triangles) > 0 and patches.display

    line = next(ln for ln in log_lines if "→ #3.3, #3.4" in ln)
    assert f"{len(found.helices)} helices, {len(found.sheets)} sheet" in line


def test_no_elements_unless_asked_and_a_rerun_replaces_them(cx, pair, weights_kw):
    assert len(run(cx, f"deepssetracer #1{weights_kw}")) == 2
    models = run(cx, f"deepssetracer #1 elements true{weights_kw}")
    assert [m.id for m in models] == [(3, 1), (3, 2), (3, 3), (3, 4)]
    again = run(cx, f"deepssetracer #1 elements true{weights_kw}")
    assert all(m.deleted for m in models)
    assert [m.id for m in again] == [(3, 1), (3, 2), (3, 3), (3, 4)]


def test_model_is_coloured_by_the_vote_and_checked_against_its_ss(cx, pair, weights_kw,
                                                                  log_lines):
    from chimerax.atomic import Residue
    from chimerax.deepssetracer.core.metrics import residue_votes
    from chimerax.deepssetracer.core.predict import Prediction

    v, m = pair
    m.residues.ribbon_colors = (255, 0, 255, 255)  # magenta: any residue left so is unvoted
    helix, sheet = run(cx, f"deepssetracer #1 model #2{weights_kw}")
    d = helix.data
    labels = Prediction(helix.full_matrix(), sheet.full_matrix()).labels()
    protein = m.residues[m.residues.polymer_types == Residue.PT_AMINO]
    ca = np.array([r.find_atom("CA").coord for r in protein])  # the model sits on the map
    votes = residue_votes(labels, d.step, d.origin, ca)
    assert (votes != 255).all()  # every residue of the chain lies on the map
    colours = {0: (255, 255, 0, 255), 1: (0, 255, 255, 255), 2: (170, 170, 170, 255)}
    want = np.array([colours[int(k)] for k in votes])
    assert (protein.ribbon_colors == want).all()
    atoms = protein.atoms
    assert (atoms.colors == want[protein.indices(atoms.residues)]).all()

    own = np.array([0 if r.is_helix else 1 if r.is_strand else 2 for r in protein])
    agree = float(np.mean(own == votes))
    line = next(ln for ln in log_lines if "agreement with ChimeraX's secondary structure" in ln)
    assert f"{100 * agree:.0f} % of {len(protein)} residues" in line
    assert f"{int((votes == 0).sum())} helix, {int((votes == 1).sum())} sheet" in line
    stretches = next(ln for ln in log_lines if "longest disagreeing stretches" in ln)
    lengths = [int(n) for n in re.findall(r"\((\d+) residues?:", stretches)]
    assert len(lengths) == 5 and lengths == sorted(lengths, reverse=True)
    assert lengths[0] == _longest_run(own, votes, list(protein.chain_ids))


def _longest_run(own: np.ndarray, votes: np.ndarray, chains: list[str]) -> int:
    """Longest run of disagreeing residues of one chain and one class of the model."""
    best = length = 0
    for i in range(len(own)):
        if own[i] == votes[i]:
            length = 0
        elif i and own[i - 1] != votes[i - 1] and chains[i] == chains[i - 1] \
                and own[i] == own[i - 1]:
            length += 1
        else:
            length = 1
        best = max(best, length)
    return best


def test_model_must_be_an_atomic_model(cx, pair, weights_kw):
    from chimerax.core.errors import UserError

    with pytest.raises(UserError):
        run(cx, f"deepssetracer #1 model #1{weights_kw}")


def test_a_model_closed_during_a_background_run_is_not_coloured(cx, pair, weights_kw,
                                                                ui_thread, gui_mode,
                                                                log_lines):
    from chimerax.deepssetracer.cmd import running_job

    with gui_mode():
        run(cx, f"deepssetracer #1 model #2 elements true{weights_kw}")
    job = running_job(cx)
    run(cx, "close #2")
    ui_thread(lambda: job.state != "running")
    assert job.state == "finished" and len(job.models) == 4
    assert any("the model to check was closed" in ln for ln in log_lines)
