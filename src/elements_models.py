"""Helix axes and sheet patches as ChimeraX models, beside the probability maps.

A model builder places sticks and planes, so ``deepssetracer MAP elements true`` adds the
core's `extract_elements` result under the prediction's parent model: the helix axes as a
marker set (two markers joined by a link of the helix's radius per axis: a cylinder the user
can select, measure or save as a .cmm file) and the sheets as one surface of patches that
follow each sheet's curvature (`core.elements.sheet_mesh`). Both are in the map's own frame,
as the parent is placed with the map.
"""

from __future__ import annotations

import numpy as np

from .core.elements import Elements, sheet_mesh

HELIX_RGBA = (255, 255, 0, 255)  # yellow, as the helix surface
SHEET_RGBA = (0, 255, 255, 255)  # cyan, as the sheet surface
HELIX_RADIUS = 2.3  # Å: the Cα cylinder of an α-helix, thinner than its density (about 5 Å)


def prediction_to_map(points, volume) -> np.ndarray:
    """(N, 3) points of the prediction's frame (voxel corner + index x voxel size, as the core
    computes them) in `volume`'s own coordinates, which include its grid's axis rotation and
    cell angles."""
    d = volume.data
    ijk = (np.asarray(points, dtype=np.float64).reshape(-1, 3) - d.origin) / d.step
    return d.ijk_to_xyz_transform.transform_points(ijk)


def map_to_prediction(points, volume) -> np.ndarray:
    """The inverse of `prediction_to_map`."""
    d = volume.data
    ijk = d.xyz_to_ijk_transform.transform_points(np.asarray(points, dtype=np.float64))
    return np.asarray(d.origin) + ijk * np.asarray(d.step)


def add_element_models(session, parent, elements: Elements, volume, base_name: str) -> list:
    """Add ``"<map> helix axes"`` (markers) and ``"<map> sheet patches"`` (a surface) under
    `parent`, leaving out an empty one. `volume` is a probability map of the prediction (its
    grid gives the frame). Returns the models added."""
    models = []
    if elements.helices:
        models.append(_helix_markers(session, elements, volume, f"{base_name} helix axes"))
    if elements.sheets:
        models.append(_sheet_surface(session, elements, volume, f"{base_name} sheet patches"))
    if models:
        parent.add(models)
    return models


def _helix_markers(session, elements: Elements, volume, name: str):
    from chimerax.markers import MarkerSet, create_link

    markers = MarkerSet(session, name=name)
    for h in elements.helices:
        start, end = prediction_to_map([h.start, h.end], volume)
        a = markers.create_marker(start, HELIX_RGBA, HELIX_RADIUS)
        b = markers.create_marker(end, HELIX_RGBA, HELIX_RADIUS)
        create_link(a, b, HELIX_RGBA, HELIX_RADIUS)
    return markers


def _sheet_surface(session, elements: Elements, volume, name: str):
    from chimerax.core.models import Surface
    from chimerax.surface import calculate_vertex_normals

    vertices, triangles, offset = [], [], 0
    for s in elements.sheets:
        v, t = sheet_mesh(s)
        vertices.append(prediction_to_map(v, volume).astype(np.float32))
        triangles.append(t + offset)
        offset += len(v)
    v = np.concatenate(vertices)
    t = np.concatenate(triangles).astype(np.int32)
    surface = Surface(name, session)
    surface.set_geometry(v, calculate_vertex_normals(v, t), t)
    surface.color = SHEET_RGBA
    return surface


def elements_message(elements: Elements, models: list) -> str:
    """One line for the log: what was found and where it went."""
    ids = ", ".join(f"#{m.id_string}" for m in models)
    text = elements.summary()
    if elements.helices:
        text += f" (longest axis {elements.helices[0].length:.0f} Å)"
    if elements.sheets:
        text += f", sheet area {sum(s.area for s in elements.sheets):.0f} Å²"
    return f"{text} → {ids}" if ids else f"{text}: nothing to show"
