"""``deepssetracer data figure``: docs/figures/sim_vs_real.png, simulated boxes against real maps.

Radial power spectra, density histograms and central slices (matplotlib, imported here only).
Each real chain is shown as deposited; its low-passed copies join the curves as one group, so
the key stays short enough to read.
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
SHARP = 4.5  # Å: real maps at or below this are drawn as "sharp"
REAL_GROUPS = {  # label: line style, in the key's order
    "real, 5–8 Å or unstated": dict(color="black", lw=1.3, ls="-"),
    "real, 3.2 Å as deposited": dict(color="black", lw=1.3, ls="--"),
    "real, low-passed to 6 or 8 Å": dict(color="0.45", lw=1.1, ls=":"),
}
FONT_SIZE = 12


def real_group(entry: dict[str, Any]) -> str:
    """Which of `REAL_GROUPS` a real map's curves belong to."""
    labels = list(REAL_GROUPS)
    if entry["name"] != entry["source"]:
        return labels[2]
    sharp = entry["resolution"] is not None and entry["resolution"] <= SHARP
    return labels[1] if sharp else labels[0]


def real_chains(real_index: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every real chain once, as deposited (its low-passed copies left out)."""
    return [e for e in real_index if e["name"] == e["source"]]


def _zscore(d: np.ndarray) -> np.ndarray:
    return (d - d.mean()) / (d.std() or 1.0)


def low_s_normalised(power: np.ndarray) -> np.ndarray:
    """``power`` over its mean at the three lowest sampled non-zero frequencies.

    Those are bins 1-3 of `simulate.radial_power` for a box of 80 Å or more along every axis;
    a smaller box leaves some of them unsampled (NaN), and its next sampled bins stand in.
    """
    sampled = np.flatnonzero(np.isfinite(power))
    low = sampled[sampled > 0][:3]
    return power / power[low].mean()


def figure(sim: Path, real: Path, out: Path, n_per_kind: int = 40) -> Path:
    """``out/sim_vs_real.png``: radial power spectra, density histograms, central slices.

    Simulated boxes (grouped by kind, 5-8 Å) against every prepared real map; spectra are
    normalised to their low-frequency power, histograms are of z-scored densities. Below, a
    central slice of every real chain and of six simulated boxes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sim_index = json.loads((sim / "index.json").read_text())["boxes"]
    real_index = json.loads((real / "index.json").read_text())["boxes"]
    chains = real_chains(real_index)
    with plt.rc_context({"font.size": FONT_SIZE}):
        fig = plt.figure(figsize=(16, 12.5))
        grid = fig.add_gridspec(4, max(6, len(chains)), height_ratios=[1.5, 0.22, 1, 1])
        ax_p, ax_h = fig.add_subplot(grid[0, :3]), fig.add_subplot(grid[0, 3:])
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        sim_examples = _plot_sim(ax_p, ax_h, sim, sim_index, colours, n_per_kind)
        _plot_real(ax_p, ax_h, real, real_index)
        handles, labels = ax_p.get_legend_handles_labels()
        key = fig.add_subplot(grid[1, :])
        key.set_axis_off()
        key.legend(handles, labels, loc="center", ncol=4, frameon=False, fontsize=FONT_SIZE)
        reals = [(f"{_display_name(e['name'])}\n{_resolution(e)}", e["file"]) for e in chains]
        _plot_slices(fig, grid, ((real, reals), (sim, sim_examples)), sim_index)
        fig.suptitle(f"Simulated training boxes against the real validation maps ({len(chains)} "
                     "maps: a sanity check, not a benchmark)", fontsize=FONT_SIZE + 2)
        fig.tight_layout()
        out.mkdir(parents=True, exist_ok=True)
        path = out / "sim_vs_real.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return path


def _display_name(name: str) -> str:
    """``EMD-8518 / 5U8S A`` (map / model) for ``emd8518_5u8s_A`` (the folders' naming)."""
    emd, pdb, *rest = name.split("_")
    return " ".join([f"EMD-{emd[3:]} / {pdb.upper()}", *rest])


def _resolution(entry: dict[str, Any]) -> str:
    return "resolution unstated" if entry["resolution"] is None else f"{entry['resolution']:g} Å"


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
            spectra.append(low_s_normalised(p))
            values.append(_zscore(d).ravel()[::7])
        ax_p.semilogy(s, np.median(spectra, axis=0), color=colour, lw=2.5,
                      label=f"sim {label} (median of {len(chosen)})")
        ax_h.hist(np.concatenate(values), bins=120, range=(-3, 8), density=True, histtype="step",
                  color=colour, lw=2.5)
        example = next(e for e in chosen if e["file"] not in {f for _, f in sim_examples})
        sim_examples.append((f"{label}\n{example['resolution']:.1f} Å, crowding "
                             f"{example['crowding']:.2f}", example["file"]))
    return sim_examples


def _plot_real(ax_p, ax_h, real: Path, real_index: list[dict[str, Any]]) -> None:
    """Every real map's spectrum and histogram, styled by `REAL_GROUPS` (one key entry each),
    and the two panels' labels."""
    keyed: set[str] = set()
    for e in real_index:
        d = np.load(real / e["file"])["density"]
        s, p = radial_power(d)
        group = real_group(e)
        style = dict(REAL_GROUPS[group], alpha=0.85)
        n = sum(real_group(x) == group for x in real_index)
        label = f"{group} ({n} maps)" if group not in keyed else None
        keyed.add(group)
        ax_p.semilogy(s, low_s_normalised(p), label=label, **style)
        ax_h.hist(_zscore(d).ravel(), bins=120, range=(-3, 8), density=True, histtype="step",
                  **style)
    ax_p.set(xlabel="spatial frequency s (1/Å)", ylabel="power / low-s power", ylim=(1e-6, 10),
             title="radial power spectra")
    ax_h.set(xlabel="density (z-score over the box)", ylabel="density of voxels", yscale="log",
             title="density histograms")


def _plot_slices(fig, grid, rows, sim_index: list[dict[str, Any]]) -> None:
    """Central slices: real maps on the first row, simulated examples on the second, each row
    named on its left."""
    for row, (folder, items) in enumerate(rows):
        if row == 1:  # two more simulated examples: a masked box and a 3-5 Å box
            extra = [e for e in sim_index if e["masked"]][:1] + [
                e for e in sim_index if e["resolution"] < 5 and not e["masked"]][:1]
            items = items + [(f"{'masked' if e['masked'] else 'sharp'}\n"
                              f"{e['resolution']:.1f} Å", e["file"]) for e in extra]
        for col, (title, fname) in enumerate(items[:grid.get_geometry()[1]]):
            d = np.load(folder / fname)["density"]
            ax = fig.add_subplot(grid[2 + row, col])
            ax.imshow(d[d.shape[0] // 2], cmap="gray", origin="lower")
            ax.set_title(title, fontsize=FONT_SIZE - 1)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(("real maps", "simulated boxes")[row], fontsize=FONT_SIZE + 1)
