"""A torch module as a `core.inference.Network`, so validation runs the shipping predict path.

``predict_map`` calls a Network with float32 numpy batches ``[N, 1, D, H, W]`` and expects
logits ``[N, 3, D, H, W]``; this adapter runs the module in eval mode without gradients and
restores its train/eval mode afterwards.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class TorchNetwork:
    """Callable batch -> logits around ``module`` on ``device``."""

    def __init__(self, module: nn.Module, device: torch.device | str = "cpu") -> None:
        self.module = module
        self.device = torch.device(device)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
                return self.module(x).float().cpu().numpy()
        finally:
            self.module.train(was_training)
