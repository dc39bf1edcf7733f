"""Where the shipped weights find β-sheets and where they call them helix (issue 13, item 1).

    python scripts/sheet_failures.py --real ../shared/data/real --sim /work/data/sim_v2 \
        --threads 1 -o docs/figures/sheet_failures.png --json docs/results/sheet_failures.json

Cases: the spike NTD (EMD-21457, 3.2 Å) low-passed to 6 and 8 Å, EMD-8518 and EMD-1657 (4V5H)
as deposited and low-passed to 8 Å (as `deepssetracer evaluate --lowpass` builds them), and a
few β-rich simulated test boxes. Truth is `train.evaluate`'s (DSSP of the fitted model, voxels
within 3 Å of a helix / sheet Cα); predictions are `core.predict.predict_map`'s with the
shipped weights (real maps with the molecule check, as `evaluate` scores them; simulated boxes
without it, "network alone", as the model card scores the simulated test).

Per map: a voxel confusion table (truth helix / sheet / other × predicted). Per strand (a run
of DSSP-sheet residues; strands whose Cα pairs lie within 5.5 Å form a sheet): which class
its true voxels were given (found: mostly sheet; called helix: mostly helix; missed: mostly
background), and measurements on the map the network saw (after its low-pass): normalised
density (`core.normalize` levels: solvent 0, molecule 1), density profiles across the strand
in the sheet plane and along the sheet normal, a Hessian shape index (slab vs rod), strand
length, sheet size, twist to the neighbouring strands, distance to the facing sheet, and
density the model does not explain (at least the molecule level, over 6 Å from every Cα)
near the strand. Each measurement's power to separate found from called-helix strands is
the Mann-Whitney AUC. Markdown tables go to stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from chimerax.deepssetracer.core import metrics  # noqa: E402
from chimerax.deepssetracer.core.classes import (  # noqa: E402
    BACKGROUND,
    COLORS,
    HELIX,
    IGNORE,
    SHEET,
)
from chimerax.deepssetracer.core.grid import DensityMap  # noqa: E402
from chimerax.deepssetracer.core.inference import load_network  # noqa: E402
from chimerax.deepssetracer.core.lowpass import lowpass  # noqa: E402
from chimerax.deepssetracer.core.normalize import density_levels  # noqa: E402
from chimerax.deepssetracer.core.predict import Prediction, predict_map  # noqa: E402
from chimerax.deepssetracer.train.evaluate import (  # noqa: E402
    Case,
    cases_from_dataset,
    cases_from_pairs,
    lowpassed,
)
from matplotlib.patches import Patch  # noqa: E402
from scipy import ndimage  # noqa: E402
from scipy.sparse.csgraph import connected_components  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402
from scipy.stats import mannwhitneyu, spearmanr  # noqa: E402

#: (pair folder, resolutions: None = as deposited, else low-passed to that many Å)
REAL_CASES = (("emd21457_6vyb_ntd", (6.0, 8.0)), ("emd8518_5u8s_A", (None, 8.0)),
              ("emd1657_4v5h_AM", (None, 8.0)))
#: β-rich simulated test boxes at 5.4-7.7 Å (DB55 structure and chain in the tables)
SIM_BOXES = ("box_000958", "box_000973", "box_000940", "box_000979", "box_000937")
#: cases drawn in the figure (the rest are measured only)
FIGURE_CASES = ("emd21457_6vyb_ntd_lp6", "emd21457_6vyb_ntd_lp8", "emd8518_5u8s_A",
                "emd8518_5u8s_A_lp8", "box_000958", "box_000940", "box_000979", "box_000937")
#: the spike NTD re-filtered: (low-pass Å, extra B-factor blur Å²)
SWEEP = ((5.0, 0), (6.0, 0), (7.0, 0), (8.0, 0), (10.0, 0), (6.0, 200), (8.0, 200))
MIN_VOXELS = 20  # true voxels a strand needs inside the scored box to get an outcome
CALLED = 0.3  # share of a strand's voxels that must be called helix or sheet (else: missed)

STRAND_GAP = 4.3  # Å: consecutive Cα further apart are a chain break
PAIR_REACH = 5.5  # Å: Cα of neighbouring strands in a sheet (about 4.8-5.5 Å apart)
PAIR_MIN = 2  # Cα pairs that make two strands neighbours
PROFILE_HALF = 10.0  # Å each side of the Cα
PROFILE_STEP = 0.5  # Å
UNEXPLAINED_LEVEL = 1.0  # normalised density (the molecule's typical level)
UNEXPLAINED_DIST = 6.0  # Å from every Cα of the model
NEAR = 8.0  # Å: unexplained density counted within this distance of a strand's Cα
HESSIAN_SIGMA = 1.0  # Å: smoothing before the Hessian
OUTCOMES = ("found", "called helix", "missed")


@dataclass
class Strand:
    """One strand's facts and measurements."""

    case: str
    index: int
    residues: np.ndarray  # indices into the case's Cα
    sheet: int = -1
    adjacent: list[int] = field(default_factory=list)  # indices of neighbouring strands
    values: dict[str, float] = field(default_factory=dict)
    outcome: str = ""
    profiles: dict[str, np.ndarray] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# cases and predictions


def real_cases(folder: Path) -> list[Case]:
    by_name = {c.name: c for c in cases_from_pairs(folder)}
    out = []
    for name, resolutions in REAL_CASES:
        for r in resolutions:
            out.append(by_name[name] if r is None else lowpassed(by_name[name], r))
    return out


def sim_cases(folder: Path, names: tuple[str, ...]) -> tuple[list[Case], dict[str, dict]]:
    index = {Path(b["file"]).stem: b
             for b in json.loads((folder / "index.json").read_text())["boxes"]}
    by_name = {c.name: c for c in cases_from_dataset(folder, "test") if c.name in names}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ValueError(f"{folder}: no test boxes {', '.join(missing)}")
    return [by_name[n] for n in names], index


def seen_map(case: Case, pred: Prediction) -> np.ndarray:
    """The density as the network saw it (after `predict_map`'s low-pass), on the case grid,
    normalised by `core.normalize` levels: solvent 0, the molecule's typical density 1."""
    data = case.dmap.data
    if pred.lowpass is not None:
        data = lowpass(data, case.dmap.voxel_size, pred.lowpass)
    lv = density_levels(data, float(np.mean(case.dmap.voxel_size)))
    return ((data - lv.solvent) / lv.molecule).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# strands and sheets


def find_strands(case: Case) -> list[Strand]:
    """Runs of at least two consecutive sheet residues (no chain break), grouped into sheets."""
    ca, cls = case.ca_xyz.astype(np.float64), np.asarray(case.ca_class)
    step = np.r_[np.inf, np.linalg.norm(np.diff(ca, axis=0), axis=1)]
    runs, current = [], []
    for i in range(len(ca)):
        if cls[i] == SHEET and (current and step[i] < STRAND_GAP):
            current.append(i)
            continue
        if len(current) >= 2:
            runs.append(current)
        current = [i] if cls[i] == SHEET else []
    if len(current) >= 2:
        runs.append(current)
    strands = [Strand(case.name, k, np.array(r)) for k, r in enumerate(runs)]
    n = len(strands)
    pair = np.zeros((n, n), dtype=int)
    if n:
        trees = [cKDTree(ca[s.residues]) for s in strands]
        for i in range(n):
            for j in range(i + 1, n):
                pair[i, j] = pair[j, i] = trees[i].count_neighbors(trees[j], PAIR_REACH)
    adjacent = pair >= PAIR_MIN
    _, sheet_of = connected_components(adjacent, directed=False) if n else (0, [])
    for s, sh in zip(strands, sheet_of):
        s.sheet = int(sh)
    for i, s in enumerate(strands):
        s.values["partners"] = float(adjacent[i].sum())
        s.adjacent = [int(j) for j in np.flatnonzero(adjacent[i])]
    return strands


def strand_direction(ca: np.ndarray) -> np.ndarray:
    centred = ca - ca.mean(axis=0)
    return np.linalg.svd(centred, full_matrices=False)[2][0]


def local_normal(ca_sheet: np.ndarray, at: np.ndarray, reach: float = 8.0) -> np.ndarray | None:
    """Normal of the plane through the sheet's Cα within ``reach`` of ``at`` (None: too few)."""
    near = ca_sheet[np.linalg.norm(ca_sheet - at, axis=1) <= reach]
    if len(near) < 4:
        return None
    return np.linalg.svd(near - near.mean(axis=0), full_matrices=False)[2][2]


# ---------------------------------------------------------------------------------------------
# measurements


def sample(density: np.ndarray, dmap: DensityMap, xyz: np.ndarray) -> np.ndarray:
    """Trilinear density at (..., 3) x, y, z Å positions (0 outside the box)."""
    ijk = (np.asarray(xyz) - np.asarray(dmap.origin)) / np.asarray(dmap.voxel_size)
    zyx = ijk[..., ::-1].reshape(-1, 3).T
    return ndimage.map_coordinates(density, zyx, order=1, mode="constant",
                                   cval=0.0).reshape(ijk.shape[:-1])


def fwhm(profile: np.ndarray, step: float) -> float:
    """Full width at half the centre value (linear crossings); a side that never falls to half
    counts as the profile's half-length (censored: the slab goes on); NaN if the centre is
    not above the solvent."""
    c = len(profile) // 2
    peak = profile[c]
    if not peak > 0:
        return math.nan
    half = 0.5 * peak
    widths = []
    for side in (profile[c:], profile[c::-1]):
        below = np.flatnonzero(side < half)
        if not below.size:
            widths.append((len(side) - 1) * step)
            continue
        k = below[0]
        frac = (side[k - 1] - half) / (side[k - 1] - side[k])
        widths.append((k - 1 + frac) * step)
    return float(sum(widths))


def rodness_map(density: np.ndarray, dmap: DensityMap) -> np.ndarray:
    """λ2/λ1 of the density's Hessian (λ1 the most negative) at every voxel: 0 for a flat
    slab (one strongly curved direction), 1 for a round rod (two); NaN where the density is
    not a ridge (λ1 >= 0)."""
    vs = np.asarray(dmap.voxel_size)[::-1]  # z, y, x
    smooth = ndimage.gaussian_filter(density.astype(np.float64), HESSIAN_SIGMA / vs)
    grads = np.gradient(smooth, *vs)
    h = np.empty(density.shape + (3, 3))
    for a in range(3):
        second = np.gradient(grads[a], *vs)
        for b in range(3):
            h[..., a, b] = second[b]
    lam = np.linalg.eigvalsh(0.5 * (h + np.swapaxes(h, -1, -2)))  # ascending
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(lam[..., 0] < 0, np.clip(lam[..., 1] / lam[..., 0], -1, 1),
                        np.nan).astype(np.float32)


def unexplained_mask(density: np.ndarray, dmap: DensityMap, ca: np.ndarray) -> np.ndarray:
    """Voxels at least the molecule level and over `UNEXPLAINED_DIST` Å from every Cα."""
    mask = density >= UNEXPLAINED_LEVEL
    idx = np.argwhere(mask)
    if len(idx):
        d, _ = cKDTree(ca).query(dmap.xyz(idx), k=1)
        far = d > UNEXPLAINED_DIST
        mask[:] = False
        mask[tuple(idx[far].T)] = True
    return mask


def measure(case: Case, pred_labels: np.ndarray, density: np.ndarray,
            glycans: np.ndarray | None) -> tuple[list[Strand], dict]:
    """Strands with their outcome and measurements; voxel-level facts of the case."""
    dmap, ca = case.dmap, case.ca_xyz.astype(np.float64)
    strands = find_strands(case)
    labels = case.labels
    sheet_res = np.flatnonzero(np.asarray(case.ca_class) == SHEET)
    owner = np.full(len(ca), -1)
    for s in strands:
        owner[s.residues] = s.index
    # each true sheet voxel belongs to the strand of its nearest sheet Cα (as the labels do)
    true_sheet = np.argwhere(labels == SHEET)
    _, nearest = cKDTree(ca[sheet_res]).query(dmap.xyz(true_sheet), k=1)
    voxel_strand = owner[sheet_res[nearest]]
    voxel_pred = pred_labels[tuple(true_sheet.T)]
    unexplained = unexplained_mask(density, dmap, ca)
    un_xyz = dmap.xyz(np.argwhere(unexplained))
    un_tree = cKDTree(un_xyz) if len(un_xyz) else None
    voxel_a3 = float(np.prod(dmap.voxel_size))
    rod = rodness_map(density, dmap)
    t = np.arange(-PROFILE_HALF, PROFILE_HALF + 1e-6, PROFILE_STEP)
    by_sheet: dict[int, list[Strand]] = {}
    for s in strands:
        by_sheet.setdefault(s.sheet, []).append(s)
    dirs = {s.index: strand_direction(ca[s.residues]) for s in strands}
    for s in strands:
        mine = voxel_strand == s.index
        got = np.bincount(voxel_pred[mine], minlength=3)[:3] if mine.any() else np.zeros(3)
        total = max(int(got.sum()), 1)
        s.values.update(n_res=float(len(s.residues)), true_voxels=float(got.sum()),
                        frac_sheet=got[SHEET] / total, frac_helix=got[HELIX] / total,
                        frac_background=got[BACKGROUND] / total)
        s.outcome = _outcome(got)
        mates = by_sheet[s.sheet]
        s.values["sheet_strands"] = float(len(mates))
        s.values["sheet_residues"] = float(sum(len(m.residues) for m in mates))
        angles = [math.degrees(math.acos(min(1.0, abs(float(dirs[s.index] @ dirs[j])))))
                  for j in s.adjacent]
        s.values["twist_deg"] = float(np.mean(angles)) if angles else math.nan
        res_xyz = ca[s.residues]
        s.values["density"] = float(np.mean(density[tuple(true_sheet[mine].T)])) \
            if mine.any() else math.nan
        s.values["density_ca"] = float(np.mean(sample(density, dmap, res_xyz)))
        s.values["rodness"] = _nanmedian(rod[tuple(true_sheet[mine].T)])
        # profiles: along the sheet normal and across the strand within the sheet plane
        sheet_ca = ca[np.concatenate([m.residues for m in mates])]
        across, normal = [], []
        for p in res_xyz:
            n = local_normal(sheet_ca, p)
            if n is None:
                continue
            u = dirs[s.index] - (dirs[s.index] @ n) * n
            u /= np.linalg.norm(u)
            w = np.cross(n, u)
            across.append(sample(density, dmap, p + t[:, None] * w))
            normal.append(sample(density, dmap, p + t[:, None] * n))
        if across:
            s.profiles = {"across": np.mean(across, axis=0), "normal": np.mean(normal, axis=0)}
            s.values["width_across"] = fwhm(s.profiles["across"], PROFILE_STEP)
            s.values["width_normal"] = fwhm(s.profiles["normal"], PROFILE_STEP)
            s.values["width_ratio"] = s.values["width_across"] / s.values["width_normal"]
        other = np.flatnonzero((owner >= 0) & np.isin(owner, [m.index for m in strands
                                                              if m.sheet != s.sheet]))
        s.values["facing_sheet_A"] = float(np.median(cKDTree(ca[other]).query(res_xyz)[0])) \
            if len(other) else math.nan
        s.values["unexplained_near_A3"] = (
            float(len(set().union(*un_tree.query_ball_point(res_xyz, NEAR)))) * voxel_a3
            if un_tree is not None else 0.0)
        if glycans is not None and len(glycans):
            s.values["glycan_A"] = float(cKDTree(glycans).query(res_xyz)[0].min())
    groups = {o: tuple(true_sheet[voxel_pred == c].T)
              for o, c in zip(OUTCOMES, (SHEET, HELIX, BACKGROUND))}
    helix_found = (labels == HELIX) & (pred_labels == HELIX)
    facts = {"unexplained_A3": float(unexplained.sum()) * voxel_a3,
             "voxel_density": {o: _quartiles(density[g]) for o, g in groups.items()},
             "voxel_rodness": {o: _quartiles(rod[g]) for o, g in groups.items()},
             "helix_found_density": _quartiles(density[helix_found]),
             "helix_found_rodness": _quartiles(rod[helix_found]),
             "auc_density": auc(density[groups["found"]], density[groups["called helix"]]),
             "auc_rodness": auc(rod[groups["found"]], rod[groups["called helix"]]),
             "sheets": sheet_rows(strands, ca, voxel_strand, voxel_pred)}
    strands = [s for s in strands if s.outcome]
    return strands, facts


def sheet_rows(strands: list[Strand], ca: np.ndarray, voxel_strand: np.ndarray,
               voxel_pred: np.ndarray) -> list[dict]:
    """Per sheet of at least two strands: size, strand length, how far its Cα leave one
    plane (rms Å: a flat sheet about 1, a twisted one 2-3, a barrel more), the share of its
    true voxels called sheet / helix."""
    rows = []
    for sh in sorted({s.sheet for s in strands}):
        mates = [s for s in strands if s.sheet == sh]
        res = np.concatenate([s.residues for s in mates])
        mine = np.isin(voxel_strand, [s.index for s in mates])
        if len(mates) < 2 or mine.sum() < 3 * MIN_VOXELS:
            continue
        x = ca[res] - ca[res].mean(axis=0)
        got = np.bincount(voxel_pred[mine], minlength=3)[:3] / mine.sum()
        rows.append({"sheet": sh, "strands": len(mates), "residues": len(res),
                     "mean_strand": len(res) / len(mates),
                     "out_of_plane_A": float(np.linalg.svd(x, compute_uv=False)[2]
                                             / np.sqrt(len(x))),
                     "true_voxels": int(mine.sum()), "to_sheet": float(got[SHEET]),
                     "to_helix": float(got[HELIX])})
    return rows


def _outcome(got: np.ndarray) -> str:
    """found / called helix / missed from a strand's voxel counts per predicted class ("" when
    too few of its voxels are scored)."""
    total = got.sum()
    if total < MIN_VOXELS:
        return ""
    if (got[SHEET] + got[HELIX]) < CALLED * total:
        return "missed"
    return "found" if got[SHEET] >= got[HELIX] else "called helix"


def _nanmedian(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else math.nan


def _quartiles(x: np.ndarray) -> list[float] | None:
    """[q1, median, q3, n] of the finite values (None if none)."""
    x = x[np.isfinite(x)]
    return [round(float(q), 3) for q in np.quantile(x, [0.25, 0.5, 0.75])] + [int(x.size)] \
        if x.size else None


def confusion(case: Case, pred_labels: np.ndarray) -> np.ndarray:
    """3 × 3 voxel counts: rows truth helix / sheet / other, columns predicted helix / sheet /
    background (voxels labelled 255 left out)."""
    keep = case.labels != IGNORE
    t, p = case.labels[keep].astype(np.int64), pred_labels[keep].astype(np.int64)
    return np.bincount(t * 3 + p, minlength=9).reshape(3, 3)


def read_glycans(model: Path) -> np.ndarray:
    """(N, 3) atoms of N-glycan residues (NAG, MAN, BMA, FUC, GAL) in a PDB file."""
    keep = {"NAG", "MAN", "BMA", "FUC", "GAL", "NDG"}
    out = [[float(ln[30:38]), float(ln[38:46]), float(ln[46:54])]
           for ln in model.read_text().splitlines()
           if ln.startswith("HETATM") and ln[17:20].strip() in keep]
    return np.asarray(out, dtype=np.float64).reshape(-1, 3)


# ---------------------------------------------------------------------------------------------
# figure


def _slice(case: Case) -> tuple[int, int]:
    """(axis, index) of the axis-aligned slice holding the most true sheet voxels."""
    sheet = case.labels == SHEET
    return max(((a, int(np.argmax(sheet.sum(axis=tuple(b for b in range(3) if b != a)))))
                for a in range(3)),
               key=lambda ai: np.take(sheet, ai[1], axis=ai[0]).sum())


def _crop(truth: np.ndarray, margin: int = 10) -> tuple[slice, slice]:
    """Rows and columns around the slice's true sheet (within the scored box)."""
    scored = truth != IGNORE
    rows, cols = np.nonzero(truth == SHEET)
    sr, sc = np.nonzero(scored)
    r0, r1 = max(rows.min() - margin, sr.min()), min(rows.max() + margin, sr.max()) + 1
    c0, c1 = max(cols.min() - margin, sc.min()), min(cols.max() + margin, sc.max()) + 1
    return slice(r0, r1), slice(c0, c1)


def _overlay(ax, grey: np.ndarray, labels: np.ndarray, outline: np.ndarray | None,
             step: float) -> None:
    extent = (0, grey.shape[1] * step, 0, grey.shape[0] * step)
    ax.imshow(grey, cmap="gray", vmin=-0.3, vmax=2.0, origin="lower", extent=extent,
              interpolation="nearest")
    rgba = np.zeros(labels.shape + (4,))
    for k, name in ((HELIX, "helix"), (SHEET, "sheet")):
        rgba[labels == k] = (*COLORS[name][:3], 0.5)
    ax.imshow(rgba, origin="lower", extent=extent, interpolation="nearest")
    if outline is not None and outline.any():
        ax.contour(outline.astype(float), levels=[0.5], colors=[OUTLINE], linewidths=1.3,
                   origin="lower", extent=extent)
    ax.plot([extent[1] - 12, extent[1] - 2], [2, 2], color="white", lw=2)  # 10 Å bar
    ax.set_xticks([])
    ax.set_yticks([])


OUTLINE = "#0050ff"
# type sizes (points; the PNG is saved at 100 dpi, so 11 pt is 15 px): nothing under 11, so the
# figure reads at the width docs/sheet_failures.md shows it
FONT = {"small": 11, "text": 12, "title": 13, "case": 14, "suptitle": 16}
STYLES = {"found": "#008b8b", "called helix": "#c9a000", "missed": "0.45"}


def figure(results: list[dict], out: Path) -> None:
    rc = {"font.size": FONT["text"], "xtick.labelsize": FONT["small"],
          "ytick.labelsize": FONT["small"], "legend.fontsize": FONT["small"]}
    with plt.rc_context(rc):
        _figure(results, out)


def _figure(results: list[dict], out: Path) -> None:
    shown = sorted((r for r in results if r["case"].name in FIGURE_CASES),
                   key=lambda r: FIGURE_CASES.index(r["case"].name))
    nrow = math.ceil(len(shown) / 2)
    height = 4.3 * nrow + 6.7
    fig = plt.figure(figsize=(15, height))
    gs = fig.add_gridspec(nrow + 1, 4, height_ratios=[1] * nrow + [1.25], hspace=0.55,
                          wspace=0.06, top=1 - 2.7 / height)  # inches kept for title and key
    for i, r in enumerate(shown):
        case, pred, dens = r["case"], r["pred_labels"], r["density"]
        a, k = _slice(case)
        truth = np.take(case.labels, k, axis=a)
        rs, cs = _crop(truth)
        grey = np.take(dens, k, axis=a)[rs, cs]
        pl = np.take(pred, k, axis=a)[rs, cs]
        truth = truth[rs, cs]
        truth = np.where(truth == IGNORE, BACKGROUND, truth)
        row, col = divmod(i, 2)
        ax_t = fig.add_subplot(gs[row, 2 * col])
        ax_p = fig.add_subplot(gs[row, 2 * col + 1])
        step = float(case.dmap.voxel_size[0])
        _overlay(ax_t, grey, truth, None, step)
        _overlay(ax_p, grey, pl, truth == SHEET, step)
        m = r["confusion"][1]
        ax_t.set_title(f"model's DSSP (slice {'zyx'[a]} = {k})", fontsize=FONT["text"])
        ax_p.set_title(f"prediction: sheet F1 {r['voxel']['sheet']['f1']:.2f}\n"
                       f"true sheet → sheet {m[SHEET] / m.sum():.0%}, → helix "
                       f"{m[HELIX] / m.sum():.0%}", fontsize=FONT["text"])
        left, right = ax_t.get_position(), ax_p.get_position()
        fig.text((left.x0 + right.x1) / 2, left.y1 + 0.034, r["title"], ha="center",
                 va="bottom", fontsize=FONT["case"], weight="bold")
    _bottom_panels(fig, gs[nrow, :], results)
    handles = [Patch(color=COLORS["helix"][:3], alpha=0.6, label="helix"),
               Patch(color=COLORS["sheet"][:3], alpha=0.6, label="sheet"),
               plt.Line2D([], [], color=OUTLINE, lw=1.3, label="the model's sheet, outlined "
                          "on the prediction"),
               plt.Line2D([], [], color="0.3", lw=2, label="white bar in each panel: 10 Å")]
    fig.legend(handles=handles, loc="upper center", ncol=4, fontsize=FONT["text"],
               frameon=False, bbox_to_anchor=(0.5, 1 - 0.75 / height))
    fig.suptitle("Shipped weights on β-sheets: density as the network saw it (grey), the "
                 "model's secondary structure (left)\nand the prediction (right)",
                 y=1 - 0.05 / height, fontsize=FONT["suptitle"])
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)


def _bottom_panels(fig, slot, results: list[dict]) -> None:
    sub = slot.subgridspec(1, 3, wspace=0.3)
    t = np.arange(-PROFILE_HALF, PROFILE_HALF + 1e-6, PROFILE_STEP)
    groups = (("spike NTD", "-", lambda n: n.startswith("emd21457")),
              ("simulated", ":", lambda n: n.startswith("box_")))
    for j, key in enumerate(("across", "normal")):
        ax = fig.add_subplot(sub[0, j])
        for gname, ls, sel in groups:
            for outcome, colour in STYLES.items():
                prof = [s.profiles[key] for r in results if sel(r["case"].name)
                        for s in r["strands"] if s.outcome == outcome and s.profiles]
                if len(prof) >= 2:
                    ax.plot(t, np.mean(prof, axis=0), color=colour, ls=ls,
                            label=f"{outcome}, {gname} ({len(prof)} strands)")
        ax.axhline(0, color="0.8", lw=0.8)
        ax.set_xlabel("Å from the strand's Cα,\n" + ("across the strand in the sheet plane"
                                                       if key == "across" else
                                                       "along the sheet normal"),
                      fontsize=FONT["text"])
        ax.set_ylabel("density (molecule level = 1)", fontsize=FONT["text"])
        ax.set_title("mean density across strands" if key == "across"
                     else "mean density through the sheet", fontsize=FONT["title"])
        if j == 0:  # one key for both profile panels, below them
            ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.3), ncol=2,
                      fontsize=FONT["small"], frameon=False)
    ax = fig.add_subplot(sub[0, 2])
    for x, r in enumerate(results):
        f = r["facts"]
        for o, dx in (("found", -0.15), ("called helix", 0.15)):
            q = f["voxel_rodness"][o]
            if q:
                ax.errorbar(x + dx, q[1], yerr=[[q[1] - q[0]], [q[2] - q[1]]], fmt="o",
                            color=STYLES[o], ms=5, lw=1)
        q = f["helix_found_rodness"]
        if q:
            ax.plot(x, q[1], marker="_", color="#7a6000", ms=14, mew=2)
    ax.set_xticks(range(len(results)))
    ax.set_xticklabels([r["short"] for r in results], rotation=60, ha="right",
                       fontsize=FONT["small"])
    ax.set_ylabel("Hessian λ2/λ1 (0 slab, 1 rod)", fontsize=FONT["text"])
    ax.set_title("how rod-like the sheet's density is", fontsize=FONT["title"])
    ax.set_ylim(0.0, 1.0)  # the ratio's whole range; the key sits above the points
    ax.legend(handles=[Patch(color=STYLES["found"], label="true sheet voxels found"),
                       Patch(color=STYLES["called helix"], label="true sheet voxels called "
                             "helix"),
                       plt.Line2D([], [], color="#7a6000", marker="_", lw=0, ms=12, mew=2,
                                  label="true helix voxels found")], fontsize=FONT["small"],
              loc="upper left", ncol=1, frameon=False)


# ---------------------------------------------------------------------------------------------
# tables


MEASURES = (("density", "mean density of its voxels"), ("density_ca", "density at its Cα"),
            ("rodness", "Hessian λ2/λ1 of its voxels (0 slab, 1 rod)"),
            ("width_across", "FWHM across the strand, in the sheet plane (Å, ≤ 20)"),
            ("width_normal", "FWHM through the sheet (Å, ≤ 20)"),
            ("width_ratio", "FWHM across / through"),
            ("n_res", "strand residues"), ("sheet_strands", "strands in its sheet"),
            ("sheet_residues", "residues in its sheet"), ("partners", "neighbour strands"),
            ("twist_deg", "angle to neighbour strands (°)"),
            ("facing_sheet_A", "distance to the facing sheet (Å)"),
            ("unexplained_near_A3", f"unexplained density within {NEAR:g} Å (Å³)"),
            ("glycan_A", "distance to the nearest glycan atom (Å)"),
            ("resolution", "map resolution (Å)"))


def auc(found, helix) -> float:
    """P(a called-helix value exceeds a found one) (Mann-Whitney); 0.5 is no separation."""
    f = np.asarray(found, dtype=np.float64)
    h = np.asarray(helix, dtype=np.float64)
    f, h = f[np.isfinite(f)], h[np.isfinite(h)]
    if not f.size or not h.size:
        return math.nan
    return float(mannwhitneyu(h, f).statistic / (f.size * h.size))


def measure_table(strands: list[Strand], title: str) -> str:
    groups = {o: [s for s in strands if s.outcome == o] for o in OUTCOMES}
    lines = [f"| {title} | found (n={len(groups['found'])}) | called helix "
             f"(n={len(groups['called helix'])}) | missed (n={len(groups['missed'])}) | "
             "AUC helix > found |", "|---|---|---|---|---|"]
    for key, label in MEASURES:
        vals = {o: [s.values.get(key, math.nan) for s in g] for o, g in groups.items()}
        if not any(np.isfinite(v).any() for v in vals.values() if v):
            continue
        cells = [_median_iqr(vals[o]) for o in OUTCOMES]
        lines.append(f"| {label} | " + " | ".join(cells)
                     + f" | {_fmt(auc(vals['found'], vals['called helix']), 2)} |")
    return "\n".join(lines)


def _median_iqr(x: list[float]) -> str:
    x = np.asarray([v for v in x if np.isfinite(v)])
    if not x.size:
        return "–"
    q1, q2, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    return f"{q2:.3g} ({q1:.3g}–{q3:.3g})"


def confusion_table(results: list[dict]) -> str:
    lines = ["| map | res (Å) | true helix → helix / sheet / background | true sheet → helix / "
             "sheet / background | other → helix / sheet / background |",
             "|---|---|---|---|---|"]
    for r in results:
        m = r["confusion"]
        cells = [" / ".join(f"{v:,}" for v in m[k]) if m[k].sum() else "–" for k in range(3)]
        lines.append(f"| {r['short']} | {r['resolution']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def case_table(results: list[dict]) -> str:
    lines = ["| map | res (Å) | voxel F1 helix | voxel F1 sheet | labelled helix (Å³) | "
             "sheet residues in strands / isolated | strands found / called helix / missed | "
             "unexplained density (Å³) |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        n = [sum(s.outcome == o for s in r["strands"]) for o in OUTCOMES]
        lines.append(f"| {r['short']} | {r['resolution']} | {_fmt(r['voxel']['helix']['f1'])} "
                     f"| {_fmt(r['voxel']['sheet']['f1'])} | {r['helix_A3']:,.0f} | "
                     f"{r['n_sheet_res']} | {n[0]} / {n[1]} / {n[2]} "
                     f"| {r['facts']['unexplained_A3']:,.0f} |")
    return "\n".join(lines)


def voxel_table(results: list[dict]) -> str:
    lines = ["| map | res (Å) | true sheet voxels found / called helix / missed | density: "
             "found / called helix / missed | AUC density | λ2/λ1: found / called helix | "
             "AUC λ2/λ1 | λ2/λ1 of true helix found |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        f = r["facts"]
        n = " / ".join(f"{(q or [0, 0, 0, 0])[3]:,}" for q in f["voxel_density"].values())
        d = " / ".join(_q(f["voxel_density"][o]) for o in OUTCOMES)
        rod = " / ".join(_q(f["voxel_rodness"][o]) for o in OUTCOMES[:2])
        lines.append(f"| {r['short']} | {r['resolution']} | {n} | {d} | "
                     f"{_fmt(f['auc_density'], 2)} | {rod} | {_fmt(f['auc_rodness'], 2)} | "
                     f"{_q(f['helix_found_rodness'])} |")
    return "\n".join(lines)


def _q(q: list[float] | None) -> str:
    return "–" if q is None else f"{q[1]:.2f}"


def sheet_table(results: list[dict]) -> str:
    lines = ["| map | res (Å) | sheet | strands | residues | residues per strand | "
             "out of plane (Å rms) | true voxels → sheet | → helix |",
             "|---|---|---|---|---|---|---|---|---|"]
    rows = []
    for r in results:
        for s in r["facts"]["sheets"]:
            if s["strands"] < 3:
                continue
            rows.append((r, s))
            lines.append(f"| {r['short']} | {r['resolution']} | {s['sheet']} | {s['strands']} "
                         f"| {s['residues']} | {s['mean_strand']:.1f} | "
                         f"{s['out_of_plane_A']:.1f} | {s['to_sheet']:.0%} | "
                         f"{s['to_helix']:.0%} |")
    if len(rows) >= 5:
        helix = [s["to_helix"] for _, s in rows]
        res = [float(r["resolution"]) for r, _ in rows]
        corr = []
        for key, label in (("strands", "strands"), ("residues", "residues"),
                           ("mean_strand", "residues per strand"),
                           ("out_of_plane_A", "out of plane")):
            rho = spearmanr([s[key] for _, s in rows], helix).statistic
            corr.append(f"{label} {rho:+.2f}")
        corr.append(f"resolution {spearmanr(res, helix).statistic:+.2f}")
        lines.append(f"\nSpearman ρ with the share called helix ({len(rows)} sheets of 3 or "
                     "more strands): " + ", ".join(corr))
    return "\n".join(lines)


def sweep_table(rows: list[dict]) -> str:
    lines = ["| spike NTD filtered to | extra blur B (Å²) | voxel F1 sheet | called helix (Å³) "
             "| called sheet (Å³) | true sheet → helix |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['lowpass']:g} Å | {r['b']:g} | {_fmt(r['sheet_f1'])} | "
                     f"{r['helix_A3']:,.0f} | {r['sheet_A3']:,.0f} | {r['to_helix']:.0%} |")
    return "\n".join(lines)


def _fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


# ---------------------------------------------------------------------------------------------


def sweep(case: Case, net, spec, tta: int) -> list[dict]:
    """The spike NTD as deposited, low-passed to each `SWEEP` resolution, optionally blurred
    further by a B factor (a Gaussian, exp(-B s²/4)), predicted and scored."""
    vs = np.asarray(case.dmap.voxel_size)
    rows = []
    for res, b in SWEEP:
        data = lowpass(case.dmap.data, case.dmap.voxel_size, res)
        if b:
            data = ndimage.gaussian_filter(data, math.sqrt(b / (8 * math.pi**2)) / vs[::-1])
        dmap = DensityMap(data, case.dmap.voxel_size, case.dmap.origin)
        labels = predict_map(dmap, net, spec, tta=tta, name=case.name).labels()
        m = confusion(case, labels)
        vox = metrics.voxel_counts(labels, case.labels)
        rows.append({"lowpass": res, "b": b, "sheet_f1": vox["sheet"].f1,
                     "helix_A3": float((labels == HELIX).sum() * vs.prod()),
                     "sheet_A3": float((labels == SHEET).sum() * vs.prod()),
                     "to_helix": float(m[SHEET, HELIX] / m[SHEET].sum())})
    return rows


REAL_TITLES = {"emd21457_6vyb_ntd": "spike NTD (EMD-21457 / 6VYB)",
               "emd8518_5u8s_A": "EMD-8518 / 5U8S chain A",
               "emd1657_4v5h_AM": "EMD-1657 / 4V5H chain AM"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--real", type=Path, default=Path("../shared/data/real"))
    ap.add_argument("--sim", type=Path, default=Path("/work/data/sim_v2"))
    ap.add_argument("--weights", help="ONNX weights (default: the shipped ones)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tta", type=int, default=1)
    ap.add_argument("-o", "--out", type=Path, default=Path("docs/figures/sheet_failures.png"))
    ap.add_argument("--json", type=Path, help="write the per-strand and per-map figures here")
    args = ap.parse_args(argv)

    start = time.perf_counter()
    net, spec = load_network(args.weights, device="cpu", threads=args.threads)
    cases = real_cases(args.real)
    sims, index = sim_cases(args.sim, SIM_BOXES)
    results = []
    for case in cases + sims:
        is_sim = case in sims
        pred = predict_map(case.dmap, net, spec, tta=args.tta, name=case.name,
                           molecule_check=not is_sim)
        labels = pred.labels()
        density = seen_map(case, pred)
        source = case.name.split("_lp")[0]
        glycans = None if is_sim else read_glycans(args.real / source / "model.pdb")
        strands, facts = measure(case, labels, density, glycans)
        if is_sim:
            e = index[case.name]
            res = f"{e['resolution']:.1f}"
            title = f"simulated: {e['structure']} chain {e['chain']} ({case.name}), {res} Å"
            short = f"{case.name} ({e['structure']} {e['chain']})"
        else:
            res = "–" if case.resolution is None else f"{case.resolution:g}"
            how = "as deposited" if "_lp" not in case.name else f"low-passed to {res} Å"
            title = f"{REAL_TITLES[source]}, {how}"
            short = case.name
        for s in strands:
            s.values["resolution"] = math.nan if res == "–" else float(res)
        vox = {k: c.as_dict() for k, c in metrics.voxel_counts(labels, case.labels).items()}
        n_sheet = int(np.count_nonzero(np.asarray(case.ca_class) == SHEET))
        in_strands = sum(len(s.residues) for s in find_strands(case))
        n_e, n_b = in_strands, n_sheet - in_strands
        results.append({"case": case, "title": title, "short": short, "resolution": res,
                        "voxel": vox, "pred_labels": labels, "density": density,
                        "strands": strands, "facts": facts, "confusion": confusion(case, labels),
                        "helix_A3": float((labels == HELIX).sum() * np.prod(case.dmap.voxel_size)),
                        "lowpass": pred.lowpass, "n_sheet_res": f"{n_e} / {n_b}"})
        print(f"{case.name}: {len(strands)} strands, sheet F1 {vox['sheet']['f1']:.3f}",
              file=sys.stderr)
    ntd = next(c for c in cases_from_pairs(args.real) if c.name == "emd21457_6vyb_ntd")
    swept = sweep(ntd, net, spec, args.tta)

    figure(results, args.out)
    ntd_strands = [s for r in results if r["case"].name.startswith("emd21457")
                   for s in r["strands"]]
    sim = [s for r in results if r["case"].name.startswith("box_") for s in r["strands"]]
    print("## Per map\n\n" + case_table(results))
    print("\n## Voxel confusion (truth × predicted, voxels)\n\n" + confusion_table(results))
    print("\n## True sheet voxels by what they were called (medians)\n\n" + voxel_table(results))
    print("\n## Sheets of three or more strands\n\n" + sheet_table(results))
    print("\n## Strands, spike NTD at 6 and 8 Å (median, interquartile range)\n\n"
          + measure_table(ntd_strands, "spike NTD"))
    print("\n## Strands, simulated boxes\n\n" + measure_table(sim, "simulated"))
    print("\n## Spike NTD re-filtered\n\n" + sweep_table(swept))
    print(f"\n{time.perf_counter() - start:.0f} s", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(_finite({"tta": args.tta, "sweep": swept, "maps": [
            {"map": r["case"].name, "title": r["title"], "resolution": r["resolution"],
             "lowpass_applied": r["lowpass"], "voxel": r["voxel"], "helix_A3": r["helix_A3"],
             "confusion": r["confusion"].tolist(), "facts": r["facts"],
             "strands": [{"index": s.index, "sheet": s.sheet, "outcome": s.outcome,
                          "first_residue": int(s.residues[0]), **s.values}
                         for s in r["strands"]]} for r in results]}), indent=1) + "\n")
    return 0


def _finite(obj):
    """JSON-safe: NaN to None, floats rounded, numpy scalars to Python."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return None if not np.isfinite(obj) else round(float(obj), 4)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


if __name__ == "__main__":
    sys.exit(main())
