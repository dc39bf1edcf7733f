"""Secondary-structure elements from the helix / sheet probability maps (numpy only).

A model builder wants sticks and planes to place, not surfaces: helices as axis segments and
sheets as flat patches, in Å in the map's own frame. The recipe:

1. voxels where the class reaches ``level`` (0.5) and beats the other class; for helices, when
   the density the network saw is given, only the rod cores: voxels whose density reaches
   ``CORE_FRACTION`` of the highest helix density within ``CORE_RADIUS``. The probability is
   about 1 across packed helices and the valley between them, so their masks merge into slabs
   that no cut parts; the density still dips between their axes;
2. 6-connected components (a vectorised union-find: scipy is not a run-time dependency); for
   helices, neighbours join only when their local axes (the spread of the mask around each
   voxel) agree within ``LINK_ANGLE``;
3. per component, a principal-axis fit by SVD: a line for helices, a plane for sheets (how far
   a voxel may lie off it, and how thick a piece must stay, is the element's `Shape`: a
   probability rod, a thinner density core or a slab);
4. split in two, recursively, while a two-piece fit explains the voxels much better than one
   (``SPLIT_GAIN``): cuts across each principal axis at several places are tried, which parts a
   kinked helix (cut along its axis), two helices touching side by side or in a V (cut across
   it), a curved sheet or a sandwich of two sheets;
5. keep rod-like pieces at least two turns long (``HELIX_MIN_LENGTH``) and patches of at least
   ``SHEET_MIN_AREA``; then rejoin neighbouring pieces whose union fits one element (the two
   arms of an X).

A helix's direction is not visible in density (N to C is unknown), so ``start`` and ``end`` are
ordered only to be deterministic; likewise a sheet's normal.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

LEVEL = 0.5
HELIX_MIN_LENGTH = 10.8  # Å: two turns of 3.6 residues at 1.5 Å rise
MAX_EXCESS = 1.5  # Å rms residual above which a piece is a blob, not an element
SPLIT_FLOOR = 0.5  # Å rms residual below which a piece is never split
SPLIT_GAIN = 0.5  # split when two pieces leave under this fraction of one fit's residual
# Å²: the smallest sheet medium-resolution density shows, two paired strands of three residues
# (4.8 Å apart, Cα 3.3 Å along them) as the labels draw them, widened by their 3 Å radius
SHEET_MIN_AREA = (4.8 + 2 * 3.0) * (2 * 3.3 + 2 * 3.0)  # 136 Å²
SPLIT_QUANTILES = np.linspace(0.15, 0.85, 15)
LOCAL_RADIUS = 7.0  # Å half-width of the box whose spread gives a voxel's local helix axis
LINK_ANGLE = 30.0  # degrees: neighbouring voxels with local axes further apart are not joined
MIN_ELONGATION = 1.3  # a helix is this many times longer than it is wide (a ball is not)
MIN_PIECE_A3 = 120.0  # Å³: smallest piece a split may leave (a sphere of 3 Å radius)
SHEET_POINT_SPACING = 3.0  # Å: sheet points are voxel means on a grid of this spacing
AREA_CELL = 2.0  # Å: raster of the projection that measures a patch's area
#: a helix core: density at least this fraction of the highest helix density within
#: ``CORE_RADIUS`` Å (packed helices lie 8-10 Å apart, so the valley between two is within
#: reach of both axes and falls below it)
CORE_FRACTION = 0.7
CORE_RADIUS = 5.0
MESH_SPACING = 1.5  # Å between the vertices of a drawn sheet patch
MESH_REACH = 3.0  # Å (in the plane) a patch extends round its points: half a strand's width


@dataclass(frozen=True)
class Shape:
    """What the voxels of one kind of element look like.

    Attributes:
        dims: 1, a line (helix), or 2, a plane (sheet).
        tolerance: Å a voxel may lie off the line / plane before it counts as residual (the
            element's own radius or half thickness is no error).
        min_spread: Å rms across its thinnest axis that each piece of a split keeps, as a whole
            rod or slab does; one halved lengthwise does not.
        merge_reach: Å between pieces (of 3 Å-cell means) that may be joined again: the gap
            that an element crossing another leaves in it.
    """

    dims: int
    tolerance: float
    min_spread: float
    merge_reach: float = 4.0


ROD = Shape(1, 4.0, 1.3)  # helix voxels at p >= 0.5: a rod about 4 Å in radius (rms ~2)
#: helix density cores: about 2.5 Å in radius (rms ~1.3, halves 0.7), so a crossing core's
#: 5 Å width and a cell each side part the two halves of the other
CORE = Shape(1, 2.5, 0.9, merge_reach=6.0)
SLAB = Shape(2, 3.0, 1.3)  # sheet voxels: a slab about 6 Å thick (rms 1.7, halves ~1)


@dataclass(frozen=True)
class Helix:
    """A helix axis segment: ends (x, y, z) Å and the mean helix probability of its voxels."""

    start: tuple[float, float, float]
    end: tuple[float, float, float]
    probability: float

    @property
    def length(self) -> float:
        return float(np.linalg.norm(np.subtract(self.end, self.start)))

    def as_dict(self) -> dict:
        return {"start": _rounded(self.start), "end": _rounded(self.end),
                "length": round(self.length, 2), "probability": round(self.probability, 3)}


@dataclass(frozen=True)
class Sheet:
    """A sheet patch: voxel-mean points (P, 3), centroid, unit normal, area (Å²), probability."""

    points: np.ndarray
    centroid: tuple[float, float, float]
    normal: tuple[float, float, float]
    area: float
    probability: float

    def as_dict(self) -> dict:
        return {"points": [_rounded(p) for p in self.points], "centroid": _rounded(self.centroid),
                "normal": _rounded(self.normal, 4), "area": round(self.area, 1),
                "probability": round(self.probability, 3)}


@dataclass
class Elements:
    """The helices and sheets of one prediction."""

    helices: list[Helix] = field(default_factory=list)
    sheets: list[Sheet] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"helices": [h.as_dict() for h in self.helices],
                "sheets": [s.as_dict() for s in self.sheets]}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=1) + "\n"

    def to_pdb(self) -> str:
        """Pseudo-atoms any viewer opens: each helix two bonded CA (chain H), each sheet's points
        as O atoms (chain S, one residue per patch); B-factor holds the probability."""
        lines = ["REMARK   1 DEEPSSETRACER ELEMENTS: HELIX AXES (CHAIN H), SHEET POINTS (CHAIN S)"]
        conect = []
        serial = 0
        for i, h in enumerate(self.helices):
            for k, p in enumerate((h.start, h.end)):
                serial += 1
                lines.append(_atom(serial, "CA", "HLX", "H", 2 * i + k + 1, p, h.probability,
                                   "C"))
            conect.append(f"CONECT{serial - 1:5d}{serial:5d}")
        for i, s in enumerate(self.sheets):
            for p in s.points:
                serial += 1
                lines.append(_atom(serial, "O", "SHT", "S", i + 1, p, s.probability, "O"))
        return "\n".join(lines + conect + ["END"]) + "\n"

    def summary(self) -> str:
        nh, ns = len(self.helices), len(self.sheets)
        return f"{nh} heli{'x' if nh == 1 else 'ces'}, {ns} sheet{'s' * (ns != 1)}"


def _atom(serial: int, name: str, resname: str, chain: str, resseq: int, xyz, b: float,
          element: str) -> str:
    x, y, z = (float(v) for v in xyz)
    return (f"HETATM{serial % 100000:5d}  {name:<3s} {resname:>3s} {chain}{resseq % 10000:4d}    "
            f"{x:8.3f}{y:8.3f}{z:8.3f}{1.0:6.2f}{b:6.2f}          {element:>2s}")


def _rounded(values, digits: int = 3) -> list[float]:
    return [round(float(v), digits) for v in values]


# ---------------------------------------------------------------------------------------------
# Extraction


def extract_elements(helix: np.ndarray, sheet: np.ndarray, voxel_size: Sequence[float],
                     origin: Sequence[float], level: float = LEVEL,
                     density: np.ndarray | None = None) -> Elements:
    """Helix segments and sheet patches of ``[z, y, x]`` probability maps on one grid.

    Args:
        helix, sheet: probabilities 0-1 (`Prediction.helix`, `.sheet`).
        voxel_size, origin: the grid's (x, y, z) Å; origin is voxel [0, 0, 0]'s centre.
        level: probability a voxel must reach (default 0.5), besides beating the other class.
        density: the map on the same grid, as the network saw it (low-passed when it was;
            `predict.find_elements` gives it): helices are then traced through their density
            cores (`helix_cores`), which parts packed helices. None: the probabilities alone.
    """
    helix, sheet = np.asarray(helix), np.asarray(sheet)
    if helix.shape != sheet.shape or helix.ndim != 3:
        raise ValueError(f"helix {helix.shape} and sheet {sheet.shape} must be one 3-D shape")
    grid = _Grid(helix.shape, voxel_size, origin)
    helix_mask = (helix >= level) & (helix >= sheet)
    if density is not None:
        if np.shape(density) != helix.shape:
            raise ValueError(f"density {np.shape(density)} and helix {helix.shape} must be one "
                             "shape")
        helix_mask = helix_cores(helix_mask, density, voxel_size)
    rod = ROD if density is None else CORE
    helices = [h for pts, p in _pieces(helix_mask, helix, grid, rod)
               if (h := _helix(pts, p, rod)) is not None]
    sheets = [s for pts, p in _pieces((sheet >= level) & (sheet > helix), sheet, grid, SLAB)
              if (s := _sheet(pts, p, grid)) is not None]
    helices.sort(key=lambda h: -h.length)
    sheets.sort(key=lambda s: -s.area)
    return Elements(helices, sheets)


def helix_cores(mask: np.ndarray, density: np.ndarray, voxel_size: Sequence[float],
                fraction: float = CORE_FRACTION, radius: float = CORE_RADIUS) -> np.ndarray:
    """The voxels of ``mask`` whose density reaches ``fraction`` of the highest density of
    ``mask`` within a box of half-width ``radius`` Å: the rod cores. Only helix voxels count
    for the maximum, so denser neighbours (RNA, a sheet) do not hide a helix."""
    local = np.where(mask, np.asarray(density, dtype=np.float32), np.float32(-np.inf))
    for axis in range(3):
        local = _box_max(local, max(1, int(round(radius / voxel_size[2 - axis]))), axis)
    return mask & (density >= fraction * local)


def _box_max(a: np.ndarray, half: int, axis: int) -> np.ndarray:
    """Maximum of ``a`` over ``[i - half, i + half]`` along ``axis`` (clipped at the edges)."""
    out = a.copy()
    n = a.shape[axis]
    for k in range(1, min(half, n - 1) + 1):
        hi = [slice(None)] * a.ndim
        lo = [slice(None)] * a.ndim
        hi[axis], lo[axis] = slice(k, None), slice(None, n - k)
        hi, lo = tuple(hi), tuple(lo)
        np.maximum(out[hi], a[lo], out=out[hi])
        np.maximum(out[lo], a[hi], out=out[lo])
    return out


@dataclass(frozen=True)
class _Grid:
    shape: tuple[int, int, int]
    voxel_size: Sequence[float]
    origin: Sequence[float]

    @property
    def voxel_volume(self) -> float:
        return float(np.prod(self.voxel_size))

    def xyz(self, flat: np.ndarray) -> np.ndarray:
        """(N, 3) x, y, z Å of flat ``[z, y, x]`` voxel indices."""
        zyx = np.stack(np.unravel_index(flat, self.shape), axis=1)
        return np.asarray(self.origin) + zyx[:, ::-1] * np.asarray(self.voxel_size)


def _pieces(mask: np.ndarray, prob: np.ndarray, grid: _Grid, shape: Shape):
    """(points, probabilities) of each piece: components of ``mask``, split where needed,
    then rejoined where a split went too far."""
    flat = np.flatnonzero(mask)
    axes = local_axes(mask, flat, grid.voxel_size) if shape.dims == 1 else None
    flat, comp = connected_components(mask, axes)
    order = np.argsort(comp, kind="stable")
    bounds = np.flatnonzero(np.diff(comp[order])) + 1
    min_points = max(4, int(np.ceil(MIN_PIECE_A3 / grid.voxel_volume)))
    pieces = []
    for members in np.split(order, bounds) if len(order) else []:
        pts = grid.xyz(flat[members])
        p = prob.reshape(-1)[flat[members]].astype(np.float64)
        pieces += [(pts[i], p[i]) for i in split_recursively(pts, shape, min_points)]
    return merge_pieces(pieces, shape)


def merge_pieces(pieces: list[tuple[np.ndarray, np.ndarray]],
                 shape: Shape) -> list[tuple[np.ndarray, np.ndarray]]:
    """Join pieces within ``shape.merge_reach`` Å of each other whose union fits one line /
    plane (residual under ``SPLIT_FLOOR``): the two arms of a crossing split in four, a helix
    broken in two."""
    pieces = list(pieces)
    merged = True
    while merged:
        merged = False
        thin = [_thinned(p) for p, _ in pieces]
        for i in range(len(pieces)):
            for j in range(i + 1, len(pieces)):
                gap = np.sqrt(((thin[i][:, None] - thin[j][None]) ** 2).sum(-1).min())
                if gap > shape.merge_reach:
                    continue
                union = np.concatenate([pieces[i][0], pieces[j][0]])
                if fit(union, shape)[2] / len(union) <= SPLIT_FLOOR**2:
                    pieces[i] = (union, np.concatenate([pieces[i][1], pieces[j][1]]))
                    del pieces[j]
                    merged = True
                    break
            if merged:
                break
    return pieces


def connected_components(mask: np.ndarray, directions: np.ndarray | None = None,
                         max_angle: float = LINK_ANGLE) -> tuple[np.ndarray, np.ndarray]:
    """6-connected components of a boolean ``[z, y, x]`` mask.

    Args:
        directions: optional (N, 3) unit local axis of each mask voxel (flat order); neighbours
            then join only when their axes lie within ``max_angle`` degrees.

    Returns:
        ``(flat, comp)``: flat indices of the mask's voxels (ascending) and each one's component
        number, 0 .. n-1 in order of first voxel.
    """
    mask = np.asarray(mask, dtype=bool)
    flat = np.flatnonzero(mask)
    u, v = _neighbour_pairs(mask, flat)
    if directions is not None:
        same = np.abs((directions[u] * directions[v]).sum(axis=1)) >= np.cos(np.radians(max_angle))
        u, v = u[same], v[same]
    parent = np.arange(len(flat))
    while True:  # hook each root onto the smallest neighbouring root, then flatten the trees
        pu, pv = parent[u], parent[v]
        differ = pu != pv
        if not differ.any():
            break
        np.minimum.at(parent, np.maximum(pu, pv)[differ], np.minimum(pu, pv)[differ])
        while not np.array_equal(grand := parent[parent], parent):
            parent = grand
    return flat, np.unique(parent, return_inverse=True)[1].reshape(-1)


def local_axes(mask: np.ndarray, flat: np.ndarray, voxel_size: Sequence[float],
               radius: float = LOCAL_RADIUS) -> np.ndarray:
    """(N, 3) unit x, y, z direction of greatest spread of the mask within a box of half-width
    ``radius`` Å around each voxel ``flat``: the local helix axis, which tells apart touching
    helices that cross (box sums of the second moments by cumulative sums)."""
    vs = np.asarray(voxel_size, dtype=np.float64)
    m = mask.astype(np.float64)
    zyx = np.meshgrid(*[np.arange(n) * vs[2 - a] for a, n in enumerate(mask.shape)],
                      indexing="ij", sparse=True)
    xyz = zyx[::-1]
    half = [max(1, int(round(radius / vs[2 - a]))) for a in range(3)]

    def gathered(field: np.ndarray) -> np.ndarray:
        for axis in range(3):
            field = _box_sum(field, half[axis], axis)
        return field.reshape(-1)[flat]

    n = gathered(m)
    mean = np.stack([gathered(m * c) for c in xyz], axis=1) / n[:, None]
    cov = np.empty((len(flat), 3, 3))
    for i in range(3):
        for j in range(i, 3):
            cov[:, i, j] = cov[:, j, i] = gathered(m * xyz[i] * xyz[j]) / n \
                - mean[:, i] * mean[:, j]
    return np.linalg.eigh(cov)[1][:, :, -1]


def _box_sum(a: np.ndarray, half: int, axis: int) -> np.ndarray:
    """Sum of ``a`` over ``[i - half, i + half]`` along ``axis`` (clipped at the edges)."""
    n = a.shape[axis]
    c = np.cumsum(a, axis=axis)
    c = np.concatenate([np.zeros_like(np.take(c, [0], axis=axis)), c], axis=axis)
    i = np.arange(n)
    return np.take(c, np.minimum(i + half + 1, n), axis=axis) - np.take(
        c, np.maximum(i - half, 0), axis=axis)


def _neighbour_pairs(mask: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``flat`` of each pair of face-neighbouring mask voxels."""
    u, v = [], []
    for axis in range(mask.ndim):  # pairs of neighbours along each axis
        lo = [slice(None)] * mask.ndim
        hi = [slice(None)] * mask.ndim
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        first = np.flatnonzero(mask[tuple(lo)] & mask[tuple(hi)])
        first = np.ravel_multi_index(np.unravel_index(first, mask[tuple(lo)].shape), mask.shape)
        u.append(np.searchsorted(flat, first))
        v.append(np.searchsorted(flat, first + mask.strides[axis] // mask.itemsize))
    return np.concatenate(u), np.concatenate(v)


def fit(points: np.ndarray, shape: Shape) -> tuple[np.ndarray, np.ndarray, float]:
    """Centroid, principal axes (rows, by SVD, largest spread first) and the residual: the
    summed squared distance of ``points`` from the line or plane through the centroid beyond
    ``shape.tolerance``."""
    centre = points.mean(axis=0)
    d = points - centre
    axes = np.linalg.svd(d, full_matrices=False)[2]
    off = np.linalg.norm(d @ axes[shape.dims:].T, axis=1)
    return centre, axes, float((np.maximum(off - shape.tolerance, 0.0) ** 2).sum())


def split_recursively(points: np.ndarray, shape: Shape, min_points: int) -> list[np.ndarray]:
    """Index arrays of ``points`` parted until no cut in two explains them much better.

    Cuts are planes across each principal axis at the 15th-85th percentiles; one is taken when
    the two pieces' summed squared residual falls under ``SPLIT_GAIN`` times the whole's and the
    whole's residual exceeds ``SPLIT_FLOOR`` rms.
    """
    out, todo = [], [np.arange(len(points))]
    while todo:
        idx = todo.pop()
        cut = _best_cut(points[idx], shape, min_points)
        if cut is None:
            out.append(idx)
        else:
            todo += [idx[cut], idx[~cut]]
    return sorted(out, key=lambda i: i[0])


def _best_cut(points: np.ndarray, shape: Shape, min_points: int) -> np.ndarray | None:
    if len(points) < 2 * min_points:
        return None
    centre, axes, sse = fit(points, shape)
    if sse / len(points) <= SPLIT_FLOOR**2:
        return None
    best, best_sse = None, SPLIT_GAIN * sse
    for axis in axes:
        t = (points - centre) @ axis
        axis_best, axis_sse = None, np.inf
        for cut in np.quantile(t, SPLIT_QUANTILES):
            left = t < cut
            n = int(left.sum())
            if n < min_points or len(t) - n < min_points:
                continue
            total = fit(points[left], shape)[2] + fit(points[~left], shape)[2]
            if total < axis_sse:
                axis_best, axis_sse = left, total
        if axis_best is None:
            continue
        if axis_sse < best_sse and _thick(points[axis_best], shape.min_spread) \
                and _thick(points[~axis_best], shape.min_spread):
            best, best_sse = axis_best, axis_sse
    return best


def _thick(points: np.ndarray, min_spread: float) -> bool:
    """The piece is at least ``min_spread`` Å (rms) across along its thinnest axis, as a whole
    helix or sheet is; a rod or slab cut lengthwise is not."""
    d = points - points.mean(axis=0)
    return np.linalg.svd(d, compute_uv=False)[-1] / np.sqrt(len(points)) >= min_spread


def _canonical(v: np.ndarray) -> np.ndarray:
    """``v`` or ``-v``, whichever has its largest component positive (a fixed sign)."""
    return v if v[np.argmax(np.abs(v))] > 0 else -v


def _helix(points: np.ndarray, prob: np.ndarray, shape: Shape) -> Helix | None:
    if len(points) < 2:
        return None
    centre, axes, sse = fit(points, shape)
    if sse / len(points) > MAX_EXCESS**2:
        return None  # a blob, not a rod
    axis = _canonical(axes[0])
    t = (points - centre) @ axis
    lo, hi = np.percentile(t, [1, 99])
    off = np.linalg.norm((points - centre) @ axes[1:].T, axis=1)
    diameter = 2 * np.sqrt(2 * (off**2).mean())  # of a solid rod with this rms off the axis
    if hi - lo < max(HELIX_MIN_LENGTH, MIN_ELONGATION * diameter):
        return None
    return Helix(tuple(centre + lo * axis), tuple(centre + hi * axis), float(prob.mean()))


def _sheet(points: np.ndarray, prob: np.ndarray, grid: _Grid) -> Sheet | None:
    if len(points) < 3:
        return None
    centre, axes, sse = fit(points, SLAB)
    if sse / len(points) > MAX_EXCESS**2:
        return None
    cell = max(AREA_CELL, *grid.voxel_size)
    flat2d = np.floor((points - centre) @ axes[:2].T / cell)
    area = len(np.unique(flat2d, axis=0)) * cell**2
    if area < SHEET_MIN_AREA:
        return None
    return Sheet(_thinned(points), tuple(centre), tuple(_canonical(axes[2])), float(area),
                 float(prob.mean()))


def _thinned(points: np.ndarray, spacing: float = SHEET_POINT_SPACING) -> np.ndarray:
    """Mean position of the points in each cell of a ``spacing`` grid (a few per strand)."""
    cells = np.floor((points - points.min(axis=0)) / spacing)
    _, inverse, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    sums = np.zeros((len(counts), 3))
    np.add.at(sums, inverse, points)
    return sums / counts[:, None]


def sheet_mesh(sheet: Sheet, spacing: float = MESH_SPACING,
               reach: float = MESH_REACH) -> tuple[np.ndarray, np.ndarray]:
    """A surface a viewer draws for ``sheet``: (V, 3) float32 vertices, (T, 3) int32 triangles.

    A height field over the patch's plane: vertices on a ``spacing`` grid in the plane, kept
    within ``reach`` Å of a patch point, each lifted to the distance-weighted mean height of
    those points, so a twisted or curved sheet is drawn as it lies rather than as its flat fit.
    """
    pts = np.asarray(sheet.points, dtype=np.float64).reshape(-1, 3)
    centre, normal = np.asarray(sheet.centroid, float), np.asarray(sheet.normal, float)
    u = np.cross(normal, np.eye(3)[np.argmin(np.abs(normal))])
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    a, b, h = ((pts - centre) @ w for w in (u, v, normal))
    ga, gb = (np.arange(c.min() - reach, c.max() + reach + spacing, spacing) for c in (a, b))
    grid_a, grid_b = np.meshgrid(ga, gb, indexing="ij")
    d2 = (grid_a[..., None] - a) ** 2 + (grid_b[..., None] - b) ** 2
    weight = np.clip(1.0 - d2 / reach**2, 0.0, None)
    total = weight.sum(axis=-1)
    inside = total > 0
    height = (weight * h).sum(axis=-1) / np.where(inside, total, 1.0)
    vertices = (centre + grid_a[..., None] * u + grid_b[..., None] * v
                + height[..., None] * normal).reshape(-1, 3)
    index = np.arange(inside.size).reshape(inside.shape)
    quad = inside[:-1, :-1] & inside[1:, :-1] & inside[:-1, 1:] & inside[1:, 1:]
    c00, c10, c01, c11 = (index[i][quad] for i in ((slice(None, -1), slice(None, -1)),
                                                   (slice(1, None), slice(None, -1)),
                                                   (slice(None, -1), slice(1, None)),
                                                   (slice(1, None), slice(1, None))))
    triangles = np.concatenate([np.stack([c00, c10, c11], 1), np.stack([c00, c11, c01], 1)])
    used, triangles = np.unique(triangles, return_inverse=True)
    return (vertices[used].astype(np.float32),
            triangles.reshape(-1, 3).astype(np.int32))
