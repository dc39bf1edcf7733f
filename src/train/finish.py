"""The end of a run: export best.pt (else the last checkpoint) to ONNX + sidecar, plot curves.

``deepssetracer train --export RUNDIR`` calls `finish` alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..model.export import export_with_sidecar
from ..model.unet import UNet3D
from .cache import read_index
from .config import TrainConfig


def finish(run_dir: Path, config_path: str = "") -> Path:
    """Export best.pt (else the last checkpoint) to ONNX + sidecar and plot the curves."""
    run_dir = Path(run_dir)
    src = run_dir / "best.pt" if (run_dir / "best.pt").exists() else run_dir / "checkpoint.pt"
    if not src.exists():
        raise ValueError(f"{run_dir}: neither best.pt nor checkpoint.pt to export")
    s = torch.load(src, map_location="cpu", weights_only=False)
    cfg = TrainConfig.from_dict(s["config"])
    net = UNet3D(**cfg.network)
    net.load_state_dict(s.get("ema") or s["model"])
    index = read_index(Path(cfg.data)) if (Path(cfg.data) / "index.json").exists() else {}
    n_train = sum(1 for b in index.get("boxes", []) if b.get("split") == "train")
    training = {
        "loss": cfg.loss["name"], "gamma": cfg.gamma,
        **{k: v for k, v in cfg.loss.items() if k not in ("name", "gamma")},
        "learning_rate": cfg.lr, "lr_schedule": cfg.lr_schedule, "steps": int(s["step"]),
        "steps_planned": cfg.steps, "batch": cfg.batch, "crop": cfg.crop,
        "data": cfg.description or f"{cfg.data} ({n_train} train boxes, seed {index.get('seed')})",
        "config": config_path, "seed": cfg.seed, "selected_from": src.name,
        "val_score": s.get("score"), "init_from": cfg.init_from, "ema_decay": cfg.ema_decay,
    }
    sidecar = export_with_sidecar(net, run_dir / "deepssetracer.onnx", cfg.normalization,
                                  cfg.tile_size, training, voxel_size=cfg.voxel_size)
    metrics_path = run_dir / "metrics.json"
    if metrics_path.exists():
        plot_curves(json.loads(metrics_path.read_text()), run_dir / "curves.png")
    return sidecar


def plot_curves(history: dict[str, Any], path: Path) -> None:
    """Train loss and validation F1 (helix/sheet, simulated and real) against step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_l, ax_f) = plt.subplots(1, 2, figsize=(11, 4))
    tr = history.get("train", [])
    ax_l.plot([r["step"] for r in tr], [r["loss"] for r in tr], lw=1)
    ax_l.set(xlabel="step", ylabel="train loss", title="training loss")
    val = history.get("val", [])
    for key, style in (("sim", "-"), ("real", "--")):
        for cls, colour in (("helix", "tab:red"), ("sheet", "tab:blue")):
            pts = [(r["step"], r[key][cls]) for r in val if r.get(key)]
            if pts:
                ax_f.plot(*zip(*pts), style, color=colour, label=f"{cls} {key}")
    ax_f.set(xlabel="step", ylabel="voxel F1", title="validation", ylim=(0, 1))
    if val:
        ax_f.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
