"""A weighted average of networks fine-tuned from one start ("model soup", Wortsman et al. 2022;
WiSE-FT, Wortsman et al. 2022), exported as a run is.

Why: every fine-tune of the shipped weights for the real-user zoo (noisy crowded crops,
filtered maps) gained on what it was made for and lost elsewhere, most on held-out Frh's sheets
(model card, tries N-R). Fine-tunes of one network stay in one basin, where an average of their
weights keeps most of each one's gains and the start's figures; it costs no training.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from .finish import finish


def parse_part(text: str) -> tuple[Path, float]:
    """``"PATH:WEIGHT"`` (or ``"PATH"``, weight 1) as ``(path, weight)``."""
    path, sep, weight = text.rpartition(":")
    if not sep or not path:
        return Path(text), 1.0
    try:
        w = float(weight)
    except ValueError:
        return Path(text), 1.0  # a colon in the path itself
    if not w > 0:
        raise ValueError(f"{text}: a part's weight must be > 0, got {weight}")
    return Path(path), w


def average(parts: Sequence[tuple[Path, float]]) -> tuple[dict[str, torch.Tensor], dict]:
    """The parts' weights (their EMA where they hold one), averaged by their relative weight;
    integer buffers (batch counts) are the first part's. Returns the state dict and the first
    part's config.

    Raises:
        ValueError: no parts, or parts of different networks.
    """
    if not parts:
        raise ValueError("a soup needs at least one checkpoint")
    total = sum(w for _, w in parts)
    mix: dict[str, torch.Tensor] = {}
    config = None
    for path, w in parts:
        saved = torch.load(path, map_location="cpu", weights_only=False)
        state = saved.get("ema") or saved["model"]
        if config is None:
            config = saved["config"]
            mix = {k: (v.double() * (w / total) if v.is_floating_point() else v.clone())
                   for k, v in state.items()}
            continue
        if state.keys() != mix.keys() or any(state[k].shape != mix[k].shape for k in mix):
            raise ValueError(f"{path}: not the same network as {parts[0][0]}")
        for k, v in state.items():
            if v.is_floating_point():
                mix[k] += v.double() * (w / total)
    return {k: v.float() if v.is_floating_point() else v for k, v in mix.items()}, config


def make_soup(parts: Sequence[tuple[Path, float]], run_dir: Path) -> Path:
    """Write the average as ``run_dir/best.pt`` (its config the first part's, its description
    naming the parts) and export it (`finish`). Returns the sidecar's path."""
    state, config = average(parts)
    total = sum(w for _, w in parts)
    recipe = " + ".join(f"{w / total:.3g} x {p.name if p.name != 'best.pt' else p.parent.name}"
                        for p, w in parts)
    config = {**config, "description": f"weight average (soup) of {recipe}"}
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"model": state, "step": 0, "score": None, "config": config},
               run_dir / "best.pt")
    return finish(run_dir)
