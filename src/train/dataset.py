"""The cached simulated dataset: one npz per box, ``index.json`` and ``stats.json``.

Box ``i`` draws everything from ``np.random.default_rng([seed, i])``, so the dataset does not
depend on the number of workers. Structures are parsed (with DSSP) once into a structure
cache. Crowding neighbours of a box come from its own split only.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..core.classes import HELIX, IGNORE, SHEET
from ..core.lowpass import lowpass
from . import boxes, labels, simulate, splits
from .jsonio import write_json
from .structures import Structure, cached_structure, structure_name

log = logging.getLogger(__name__)

VERSION = 1
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
DB55 = SHARED / "data" / "structures" / "db55"
CROWDED_FRACTION = 0.4  # boxes packed to 50-90 % protein
SOME_NEIGHBOURS_FRACTION = 0.2  # boxes with a few neighbours (20-45 % protein)


@dataclass
class Catalog:
    """Readable structures per split and their candidate central chains (>= 30 residues)."""

    names: dict[str, list[str]] = field(default_factory=dict)  # split -> structure names
    chains: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # name -> chains


def _parse_one(job: tuple[str, str]) -> tuple[str, list[int]]:
    path, cache = job
    s = cached_structure(Path(path), Path(cache))
    if s is None:
        return structure_name(path), []
    good = []
    for c in range(len(s.chains)):
        r = s.chain_residues(c)
        if np.isfinite(s.ca[r]).all(axis=1).sum() >= boxes.MIN_RESIDUES:
            good.append(c)
    return s.name, good


#: A DB5.5 structure file: ``<complex>_<r|l>_<b|u>.pdb[.gz]``, one per complex, role and form.
DB55_FILE = re.compile(r"[0-9A-Za-z]{4}_[rl]_[bu]\.pdb(\.gz)?")


def list_structures(db55: Path) -> list[Path]:
    """The DB5.5 files to simulate from, sorted: one per (complex, receptor/ligand, bound/unbound).

    Other ``*.pdb*`` files are skipped with a warning. DB5.5 has one extra model file,
    ``1JPS_l_u.pdb.2.gz``: a second copy of the unbound ligand in the same frame, a
    near-duplicate that would double that protein's share of the draws. 247 complexes x 4
    files = 988 structures (docs/data.md, "Structure list").
    """
    files, extra = [], []
    for f in sorted(db55.glob("*.pdb*")):
        (files if DB55_FILE.fullmatch(f.name) else extra).append(f)
    if extra:
        log.warning("skipped %d file(s) outside the DB5.5 naming (one model per complex, role "
                    "and form): %s", len(extra), ", ".join(f.name for f in extra))
    return files


def build_catalog(db55: Path, cache: Path, split: dict[str, list[str]], workers: int) -> Catalog:
    """Parse every DB55 file into ``cache`` (once) and list candidate chains per split."""
    from tqdm import tqdm

    files = list_structures(db55)
    if not files:
        raise FileNotFoundError(f"no PDB files in {db55}")
    cache.mkdir(parents=True, exist_ok=True)
    jobs = [(str(f), str(cache)) for f in files]
    with Pool(workers) as pool:
        results = list(tqdm(pool.imap(_parse_one, jobs, chunksize=4), total=len(jobs),
                            desc="structures", unit="file"))
    which = splits.split_of(split)
    cat = Catalog({k: [] for k in splits.SPLITS}, {})
    n_failed = 0
    for name, good in results:
        if not (cache / f"{name}.npz").exists():
            n_failed += 1
            continue
        k = which.get(splits.complex_id(name))
        if k is None:
            log.warning("%s: complex not in the split list; skipped", name)
            continue
        cat.names[k].append(name)
        cat.chains[name] = good
    log.info("structures: %d readable, %d failed", sum(map(len, cat.names.values())), n_failed)
    return cat


# ---- worker state (set once per process by _init) ----
_W: dict = {}


def _init(cat: Catalog, cache: str, out: str, seed: int) -> None:
    _W.update(cat=cat, cache=Path(cache), out=Path(out), seed=seed, loaded={})


def _load(name: str) -> Structure | None:
    loaded = _W["loaded"]
    if name not in loaded:  # every structure of a split fits in memory (~60 MB in all)
        loaded[name] = Structure.from_npz(_W["cache"] / f"{name}.npz")
    return loaded[name]


def box_splits(n_boxes: int, wanted: list[str]) -> list[str]:
    """Split of each box: contiguous runs in proportion to the split fractions."""
    frac = np.array([splits.FRACTIONS[splits.SPLITS.index(k)] for k in wanted], float)
    cuts = np.rint(np.cumsum(frac) / frac.sum() * n_boxes).astype(int)
    out, start = [], 0
    for k, end in zip(wanted, cuts):
        out += [k] * (end - start)
        start = end
    return out


def _partners(name: str, names: list[str]) -> list[str]:
    """The other bound file of the same complex (receptor <-> ligand), same frame."""
    if not name.endswith("_b"):
        return []
    other = name[:5] + ("l" if name[5] == "r" else "r") + "_b"
    return [other] if other in names else []


def make_box(job: tuple[int, str]) -> dict | None:
    """Simulate box ``i`` of ``split``; write ``box_<i>.npz``; return its index entry.

    The box depends on (seed, ``i``) only: one generator, drawn in a fixed order (the
    simulation's parameters, the crowding target, the central chain, the noise).
    """
    i, split = job
    rng = np.random.default_rng([_W["seed"], i])
    p = simulate.sample_params(rng)
    crowd = _crowd_target(rng)
    picked = _pick_case(rng, split, crowd, p.masked)
    if picked is None:
        log.warning("box %d: no usable central chain", i)
        return None
    case, name, s, chain = picked
    protein = case.group != boxes.UNMODELLED
    pmask = protein_mask(case.xyz[protein], case.origin, case.shape)
    density = simulate.simulate_map(case.xyz, case.weight, case.group, case.origin, case.shape,
                                    p, rng, protein_mask=pmask, mask_xyz=case.central_xyz)
    lab = np.full(case.shape, IGNORE, np.uint8)
    inner = case.inner_slices()
    lab[inner] = labels.label_grid(case.shape, tuple(case.origin), (1.0, 1.0, 1.0),
                                   case.ca, case.ss)[inner]
    ca_box = case.ca - case.origin
    central = ((ca_box >= case.inner_lo - 0.5) & (ca_box < case.inner_hi - 0.5)).all(axis=1)
    fname = f"box_{i:06d}.npz"
    np.savez(_W["out"] / fname, density=density, labels=lab,
             ca_xyz=ca_box[central].astype(np.float32), ca_class=case.ss[central],
             origin=np.asarray(case.origin, np.float32))
    inner_lab = lab[inner]
    lo, hi = case.inner_lo, case.inner_hi
    return {
        "file": fname, "index": i, "complex": splits.complex_id(name), "structure": name,
        "chain": s.chains[chain], "split": split, "resolution": round(p.resolution, 3),
        "filter": p.filter, "noise": p.noise, "masked": p.masked,
        "crowding": round(float(pmask.mean()), 4),
        "crowding_central": round(float(pmask[inner].mean()), 4),
        "crowd_target": round(float(crowd), 3),
        "helix_share": round(float((inner_lab == HELIX).mean()), 4),
        "sheet_share": round(float((inner_lab == SHEET).mean()), 4),
        "shape": list(case.shape), "inner": [lo.tolist(), hi.tolist()],
        "n_central_residues": case.n_central, "n_labelled_residues": int(central.sum()),
        "n_neighbours": case.n_neighbours, "extras": case.extras, "params": p.to_dict(),
    }


def _crowd_target(rng: np.random.Generator) -> float:
    """The box's crowding target: 0.5-0.9 for `CROWDED_FRACTION` of the boxes, 0.2-0.45 for
    `SOME_NEIGHBOURS_FRACTION`, else 0 (no neighbours)."""
    u = rng.random()
    if u < CROWDED_FRACTION:
        return rng.uniform(0.5, 0.9)
    if u < CROWDED_FRACTION + SOME_NEIGHBOURS_FRACTION:
        return rng.uniform(0.2, 0.45)
    return 0.0


def _pick_case(rng: np.random.Generator, split: str, crowd: float,
               masked: bool) -> tuple[boxes.Case, str, Structure, int] | None:
    """A central chain of `split` (a complex drawn uniformly, then a structure and a chain of
    it) and its box, with its name, structure and chain index; None after 10 unusable
    draws."""
    cat: Catalog = _W["cat"]
    names = cat.names[split]
    by_complex: dict[str, list[str]] = {}
    for n in names:
        if cat.chains.get(n):
            by_complex.setdefault(splits.complex_id(n), []).append(n)
    complexes = sorted(by_complex)

    def draw(r: np.random.Generator) -> Structure | None:
        return _load(names[r.integers(0, len(names))])

    for _ in range(10):
        cid = complexes[rng.integers(0, len(complexes))]
        name = by_complex[cid][rng.integers(0, len(by_complex[cid]))]
        chain = cat.chains[name][rng.integers(0, len(cat.chains[name]))]
        s = _load(name)
        partners = [_load(n) for n in _partners(name, names)]
        case = boxes.build_case(rng, s, chain, partners, draw, crowd, masked)
        if case is not None:
            return case, name, s, chain
    return None


def protein_mask(xyz: np.ndarray, origin: np.ndarray, shape) -> np.ndarray:
    """bool [z, y, x]: voxels inside protein (smoothed atom counts above half the interior
    density); crowding is its mean."""
    counts = simulate.splat(xyz, np.ones(len(xyz)), np.asarray(origin, np.float64), shape)
    counts = ndimage.gaussian_filter(counts, 1.5, mode="constant")
    return counts > 0.5 * boxes.PROTEIN_ATOM_DENSITY


def simulate_dataset(out: Path, n_boxes: int, seed: int = 0, workers: int = 2,
                     wanted: list[str] | None = None, db55: Path = DB55,
                     cache: Path | None = None, split_file: Path = splits.SPLIT_FILE) -> dict:
    """Write ``n_boxes`` simulated boxes, ``index.json`` and ``stats.json`` to ``out``."""
    from tqdm import tqdm

    wanted = wanted or list(splits.SPLITS)
    out.mkdir(parents=True, exist_ok=True)
    cache = cache or out / "structures"
    split = splits.load_split(split_file)
    cat = build_catalog(db55, cache, split, workers)
    jobs = list(enumerate(box_splits(n_boxes, wanted)))
    with Pool(workers, initializer=_init, initargs=(cat, str(cache), str(out), seed)) as pool:
        entries = list(tqdm(pool.imap(make_box, jobs), total=len(jobs), desc="boxes",
                            unit="box"))
    entries = [e for e in entries if e is not None]
    index = {"version": VERSION, "seed": seed, "voxel_size": 1.0, "split_file": str(split_file),
             "boxes": entries}
    write_json(out / "index.json", index)
    stats = dataset_stats(entries)
    write_json(out / "stats.json", stats)
    return stats


def dataset_stats(entries: list[dict]) -> dict:
    """Summary: boxes per split, class voxel shares, resolution and crowding histograms."""
    def hist(key: str, edges: list[float]) -> dict:
        v = np.array([e[key] for e in entries], float)
        counts, _ = np.histogram(v, bins=edges)
        return {"edges": edges, "counts": counts.tolist()}

    vox = np.array([np.prod(e["shape"]) for e in entries], float)
    inner = np.array([np.prod(np.subtract(e["inner"][1], e["inner"][0])) for e in entries], float)
    helix = np.array([e["helix_share"] for e in entries]) * inner
    sheet = np.array([e["sheet_share"] for e in entries]) * inner
    return {
        "boxes": len(entries),
        "boxes_per_split": {k: sum(e["split"] == k for e in entries) for k in splits.SPLITS},
        "complexes_per_split": {k: len({e["complex"] for e in entries if e["split"] == k})
                                for k in splits.SPLITS},
        "voxels": int(vox.sum()), "labelled_voxels": int(inner.sum()),
        "class_share_labelled": {
            "helix": round(float(helix.sum() / inner.sum()), 4),
            "sheet": round(float(sheet.sum() / inner.sum()), 4),
            "background": round(float(1 - (helix.sum() + sheet.sum()) / inner.sum()), 4)},
        "noise": {k: sum(e["noise"] == k for e in entries) for k in ("coloured", "smooth")},
        "filter": {k: sum(e["filter"] == k for e in entries) for k in ("gaussian", "cutoff")},
        "masked": sum(e["masked"] for e in entries),
        "with_unmodelled_density": sum(bool(e["extras"]) for e in entries),
        "resolution_hist": hist("resolution", [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
        "crowding_hist": hist("crowding", [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]),
        "median_shape": np.median(np.array([e["shape"] for e in entries]), axis=0).tolist(),
    }


# ---- real validation pairs ----
#: Nominal resolutions of the real pairs (../shared/data/README.md); None: not stated.
REAL_RESOLUTION = {"emd8518_5u8s_A": 6.1, "emd3491_5mdx_L": 5.3, "emd3491_5mdx_X": 5.3,
                   "emd1657_4v5h_AM": None, "emd21457_6vyb_ntd": 3.2, "emd3488_5me2": 3.2}
LOWPASS = (6.0, 8.0)  # the sharp real maps are also given low-passed to these


def _stated_resolution(folder: Path) -> float | None:
    """The resolution in ``folder/resolution.txt`` (Å), or None."""
    path = folder / "resolution.txt"
    return float(path.read_text().split()[0]) if path.exists() else None


def prepare_real(out: Path, src: Path) -> list[dict]:
    """Real map/model pairs as npz like the simulated boxes, plus low-passed sharp maps.

    Maps are resampled to 1 Å (same voxel [0, 0, 0]); labels come from the model by the
    simulation's label code on that grid. No voxel is ignored (255): the real boxes are
    single-chain boxes or segments whose Cα all lie inside, so the whole box is scored.

    A folder with a map and no model gives an unlabelled box (every voxel ignored, entry
    ``"labelled": false``): what a consistency pool needs (`config.Consistency.data`), never a
    validation box. Its resolution, when no `REAL_RESOLUTION` entry states it, comes from an
    optional ``SUB/resolution.txt`` (one number, Å).
    """
    from ..core.mapio import read_map
    from ..core.resample import resample
    from .structures import read_structure

    if not src.is_dir():
        raise FileNotFoundError(f"{src}: no real data folder")
    folders = sorted(p for p in src.iterdir() if (p / "map.mrc").exists())
    if not folders:
        raise ValueError(f"{src}: no subfolder holds a map.mrc (each pair is SUB/map.mrc + "
                         "SUB/model.pdb)")
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for folder in folders:
        dm = read_map(folder / "map.mrc")
        density = resample(dm.data, dm.voxel_size, (1.0, 1.0, 1.0))
        origin = np.asarray(dm.origin, np.float64)
        labelled = (folder / "model.pdb").exists()
        if labelled:
            s = read_structure(folder / "model.pdb")
            ok = np.isfinite(s.ca).all(axis=1)
            ca, ss = s.ca[ok], s.ss[ok]
            lab = labels.label_grid(density.shape, tuple(origin), (1.0, 1.0, 1.0), ca, ss)
        else:
            ca, ss = np.zeros((0, 3), np.float32), np.zeros(0, np.uint8)
            lab = np.full(density.shape, IGNORE, np.uint8)
        res = REAL_RESOLUTION.get(folder.name, _stated_resolution(folder))
        variants = [(folder.name, density, res)]
        if res is not None and res < 5.0:  # the 3.2 Å maps
            variants += [(f"{folder.name}_lp{r:g}", lowpass(density, (1.0, 1.0, 1.0), r), r)
                         for r in LOWPASS]
        for name, d, r in variants:
            np.savez(out / f"{name}.npz", density=d, labels=lab,
                     ca_xyz=(ca - origin).astype(np.float32), ca_class=ss,
                     origin=origin.astype(np.float32))
            entries.append({
                "file": f"{name}.npz", "name": name, "source": folder.name, "resolution": r,
                "voxel_size_in": list(dm.voxel_size), "shape": list(d.shape),
                "labelled": labelled,
                "helix_share": round(float((lab == HELIX).mean()), 4),
                "sheet_share": round(float((lab == SHEET).mean()), 4),
                "n_residues": len(ca),
                "crowding": round(float(protein_mask(s.xyz, origin, d.shape).mean()), 4)
                if labelled else None,
            })
            log.info("real %s: shape %s, %d residues", name, d.shape, len(ca))
    write_json(out / "index.json", {"version": VERSION, "voxel_size": 1.0, "ignore": "none",
                                     "boxes": entries})
    return entries
