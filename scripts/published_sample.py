"""Score DeepSSETracer 1.1's own published sample against ours, on the same voxels.

    python scripts/published_sample.py --dir DIR [--model MODEL] [--weights ONNX] [--threads 2]
        [--json OUT.json] [--figure OUT.png]

DIR holds the published tool's sample (github Yongcheng123/DeepSSETracer,
``sample_input_output``): ``cropped_35448.mrc`` (its input: a crop of EMD-35448, protein to
every face), ``pre_helix.mrc`` and ``pre_sheet.mrc`` (its output masks on the crop's grid),
``35448_8ihl.mrc`` (the larger box the crop was cut from) and the fitted model (``35448_8ihl.cif``,
PDB 8IHL). Truth is the model's DSSP on the crop's grid, as ``evaluate`` labels a pair. Four
answers are scored on the crop's voxels and residues: the published tool's masks; ours on the
crop as a file (the CLI); ours on the crop with the larger box's solvent level
(`core.predict.read_solvent`), as ``predict --around`` and the ChimeraX command for a region
of an open map prepare it; and
ours on the larger box interpolated onto the crop's grid (what the crop's voxels get when the
molecule around them is there).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from chimerax.deepssetracer.core import metrics
from chimerax.deepssetracer.core.classes import BACKGROUND, HELIX, SHEET
from chimerax.deepssetracer.core.inference import load_network
from chimerax.deepssetracer.core.mapio import read_map
from chimerax.deepssetracer.core.predict import predict_map, read_solvent
from chimerax.deepssetracer.train.evaluate import read_model
from chimerax.deepssetracer.train.labels import label_grid
from scipy import ndimage


def _on_grid(values: np.ndarray, src, dst) -> np.ndarray:
    """``values`` on ``src``'s grid, linearly interpolated at ``dst``'s grid points."""
    idx = np.indices(dst.data.shape, dtype=np.float64)  # z, y, x
    coords = [(dst.origin[a] + idx[2 - a] * dst.voxel_size[a] - src.origin[a]) / src.voxel_size[a]
              for a in (2, 1, 0)]  # [z, y, x] indices into src
    return ndimage.map_coordinates(values, coords, order=1, mode="nearest")


def _row(name: str, pred: np.ndarray, crop, truth: np.ndarray, ca, cls) -> dict:
    vox = metrics.voxel_counts(pred, truth)
    res = metrics.residue_counts(pred, crop.voxel_size, crop.origin, ca, cls, true_labels=truth)
    return {"answer": name,
            **{f"voxel_{k}": round(vox[k].f1, 3) for k in ("helix", "sheet")},
            **{f"residue_{k}": round(res[k].f1, 3) for k in ("helix", "sheet")},
            **{f"called_{k}_A3": round(float((pred == c).sum() * np.prod(crop.voxel_size)))
               for k, c in (("helix", HELIX), ("sheet", SHEET))}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--model", type=Path, default=None, help="default DIR/35448_8ihl.cif")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--figure", type=Path, default=None,
                    help="a PNG of the truth and the answers, projected along z")
    args = ap.parse_args()
    crop = read_map(args.dir / "cropped_35448.mrc")
    whole = read_map(args.dir / "35448_8ihl.mrc")
    s = read_model(args.model or args.dir / "35448_8ihl.cif")
    ok = np.isfinite(s.ca).all(axis=1)
    truth = label_grid(crop.data.shape, crop.origin, crop.voxel_size, s.ca[ok], s.ss[ok])
    net, spec = load_network(args.weights, threads=args.threads)
    helix = read_map(args.dir / "pre_helix.mrc").data > 0.5
    sheet = read_map(args.dir / "pre_sheet.mrc").data > 0.5
    published = np.full(truth.shape, BACKGROUND, np.uint8)
    published[sheet], published[helix] = SHEET, HELIX
    ours = predict_map(crop, net, spec, name="crop")
    region = predict_map(crop, net, spec, name="crop",
                         solvent=read_solvent(args.dir / "35448_8ihl.mrc", spec))
    big = predict_map(whole, net, spec, name="whole")
    cut = replace(ours, helix=_on_grid(big.helix, whole, crop),
                  sheet=_on_grid(big.sheet, whole, crop))
    rows = [_row("DeepSSETracer 1.1 (published output)", published, crop, truth, s.ca[ok],
                 s.ss[ok]),
            _row("ours on the crop", ours.labels(), crop, truth, s.ca[ok], s.ss[ok]),
            _row("ours on the crop, the larger box's solvent level (--around; ChimeraX region)",
                 region.labels(), crop, truth, s.ca[ok], s.ss[ok]),
            _row("ours on the larger box, at the crop's voxels", cut.labels(), crop, truth,
                 s.ca[ok], s.ss[ok])]
    true = {k: int((truth == c).sum()) for k, c in (("helix", HELIX), ("sheet", SHEET))}
    print(f"crop {crop.data.shape[::-1]} voxels of {crop.voxel_size[0]:g} Å; true voxels {true}")
    print("warnings on the crop:", "; ".join(ours.preparation.warnings) or "none")
    print("| answer | voxel F1 helix | sheet | residue F1 helix | sheet | called helix Å³ "
          "| sheet Å³ |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(v) for v in r.values()) + " |")
    if args.json:
        args.json.write_text(json.dumps({"true_voxels": true, "rows": rows}, indent=1) + "\n")
    if args.figure:
        _figure(args.figure, crop.data, [("truth (8IHL, DSSP)", truth), *zip(
            ("DeepSSETracer 1.1", "ours, the crop as a file", "ours, the whole map's solvent"),
            (published, ours.labels(), region.labels()))])


def _figure(path: Path, density: np.ndarray, panels: list[tuple[str, np.ndarray]]) -> None:
    """Each answer projected along z over the density's projection: yellow where a column
    holds helix, cyan sheet, the stronger the more of the column."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grey = density.mean(axis=0)
    grey = (grey - grey.min()) / np.ptp(grey)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6))
    for ax, (title, labels) in zip(axes, panels):
        rgb = np.repeat(grey[..., None], 3, axis=2) * 0.8
        for cls, colour in ((SHEET, (0.0, 1.0, 1.0)), (HELIX, (1.0, 1.0, 0.0))):
            share = (labels == cls).mean(axis=0)[..., None]
            alpha = np.clip(3 * share, 0, 1)
            rgb = rgb * (1 - alpha) + np.array(colour) * alpha
        ax.imshow(rgb, origin="lower")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("EMD-35448, the crop DeepSSETracer 1.1 ships as its sample (projected along z;"
                 " helix yellow, sheet cyan)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
