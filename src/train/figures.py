"""``deepssetracer data figure``: docs/figures/sim_vs_real.png, simulated boxes against real maps.

Radial power spectra, density histograms and central slices (matplotlib, imported here only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .simulate import radial_power

SIM_KINDS = {"gaussian + noise": lambda e: e["filter"] == "gaussian",
             "cut-off + noise": lambda e: e["filter"] == "cutoff" and e["noise"] == "coloured",
             "smooth cut-off": lambda e: e["noise"] == "smooth",
             "crowded (>= 50 %)": lambda e: e["crowding"] >= 0.5}
REAL_SLICES = ("emd8518_5u8s_A", "emd3488_5me2", "emd3488_5me2_lp6", "emd21457_6vyb_ntd_lp8",
               "emd1657_4v5h_AM", "emd3491_5mdx_L")


def _zscore(d: np.ndarray) -> np.ndarray:
    return (d - d.mean()) / (d.std() or 1.0)


def figure(sim: Path, real: Path, out: Path, n_per_kind: int = 40) -> Path:
    """``out/sim_vs_real.png``: radial power spectra, density histograms, central slices.

    Simulated boxes (grouped by kind, 5-8 Å) against every prepared real map; spectra are
    normalised to their low-frequency power, histograms are of z-scored densities.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sim_index = json.loads((sim / "index.json").read_text())["boxes"]
    real_index = json.loads((real / "index.json").read_text())["boxes"]
    fig = plt.figure(figsize=(15, 9.5))
    grid = fig.add_gridspec(3, 6, height_ratios=[1.3, 1, 1])
    ax_p, ax_h = fig.add_subplot(grid[0, :3]), fig.add_subplot(grid[0, 3:])
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    sim_examples = _plot_sim(ax_p, ax_h, sim, sim_index, colours, n_per_kind)
    _plot_real(ax_p, ax_h, real, real_index)
    reals = [(e["name"], e["file"]) for e in real_index if e["name"] in REAL_SLICES]
    _plot_slices(fig, grid, ((real, reals[:6]), (sim, sim_examples[:4])), sim_index)
    fig.suptitle("Simulated training boxes against the real validation maps (7 chains: a sanity "
                 "check, not a benchmark)", fontsize=11)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "sim_vs_real.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _plot_sim(ax_p, ax_h, sim: Path, sim_index: list[dict[str, Any]], colours: list[str],
              n_per_kind: int) -> list[tuple[str, str]]:
    """Median spectrum and histogram of each kind of simulated box; one example of each."""
    sim_examples: list[tuple[str, str]] = []
    for (label, pick), colour in zip(SIM_KINDS.items(), colours):
        chosen = [e for e in sim_index if pick(e) and 5.0 <= e["resolution"] <= 8.0
                  and not e["masked"]][:n_per_kind]
        if not chosen:
            continue
        spectra, values = [], []
        for e in chosen:
            d = np.load(sim / e["file"])["density"]
            s, p = radial_power(d)
            spectra.append(p / p[1:4].mean())
            values.append(_zscore(d).ravel()[::7])
        ax_p.semilogy(s, np.median(spectra, axis=0), color=colour, lw=2,
                      label=f"sim {label} (median of {len(chosen)})")
        ax_h.hist(np.concatenate(values), bins=120, range=(-3, 8), density=True, histtype="step",
                  color=colour, lw=2, label=f"sim {label}")
        example = next(e for e in chosen if e["file"] not in {f for _, f in sim_examples})
        sim_examples.append((f"sim {label}\n{example['resolution']:.1f} Å, crowding "
                             f"{example['crowding']:.2f}", example["file"]))
    return sim_examples


def _plot_real(ax_p, ax_h, real: Path, real_index: list[dict[str, Any]]) -> None:
    """Every real map's spectrum and histogram (black), and the two panels' labels."""
    for k, e in enumerate(real_index):
        d = np.load(real / e["file"])["density"]
        s, p = radial_power(d)
        style = dict(color="k", lw=1, ls=["-", "--", ":", "-."][k % 4], alpha=0.8)
        ax_p.semilogy(s, p / p[1:4].mean(), label=f"real {e['name']}", **style)
        ax_h.hist(_zscore(d).ravel(), bins=120, range=(-3, 8), density=True, histtype="step",
                  **style)
    ax_p.set(xlabel="spatial frequency s (1/Å)", ylabel="power / low-s power", ylim=(1e-6, 10),
             title="radial power spectra")
    ax_p.legend(fontsize=6.5, ncol=2)
    ax_h.set(xlabel="density (z-score over the box)", ylabel="density of voxels", yscale="log",
             title="density histograms (real: black)")
    ax_h.legend(fontsize=7)


def _plot_slices(fig, grid, rows, sim_index: list[dict[str, Any]]) -> None:
    """Central slices: real maps on the first row, simulated examples on the second."""
    for row, (folder, items) in enumerate(rows):
        if row == 1:  # two more simulated examples: a masked box and a 3-5 Å box
            extra = [e for e in sim_index if e["masked"]][:1] + [
                e for e in sim_index if e["resolution"] < 5 and not e["masked"]][:1]
            items = items + [(f"sim {'masked' if e['masked'] else 'sharp'}\n"
                              f"{e['resolution']:.1f} Å", e["file"]) for e in extra]
        for col, (title, fname) in enumerate(items[:6]):
            d = np.load(folder / fname)["density"]
            ax = fig.add_subplot(grid[1 + row, col])
            ax.imshow(d[d.shape[0] // 2], cmap="gray", origin="lower")
            ax.set_title(title if row else f"real {title}", fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
