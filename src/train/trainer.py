"""`deepssetracer train CONFIG`: train the U-Net on a simulated dataset, validate, export.

A run folder (``--out``) records everything: ``config.json`` (the config as run),
``train.log`` (one line per ``log_every`` steps), ``metrics.json`` (loss and validation
curves), ``checkpoint.pt`` (model, optimiser, schedule, step and every RNG state, so
``--resume`` continues exactly), ``best.pt`` (the best model by the mean of helix and sheet
voxel F1 on simulated validation boxes), and at the end ``deepssetracer.onnx`` + ``.json``
(exported from best.pt) and ``curves.png``.

With a ``consistency`` entry (`config.Consistency`) each step adds a term (`losses.consistency`)
that asks the network to answer a crop of a view of a box (noisy and crowded, or filtered) as a
teacher (the averaged weights, or the frozen ``init_from`` weights) answers the same crop of the
box: the zoo's question (same molecule, same answer) asked in training, against a network's own
answer rather than the labels.

A run may start from earlier weights (``init_from``: a ``.pt`` holding a ``model`` state
dict, such as a run's best.pt) to fine-tune them. With ``ema_decay`` > 0 an exponential moving
average of the weights is kept beside them; validation, best.pt and the export use the
average, which smooths the step-to-step swings that small, sparse-label batches cause.

The rooms: `config` (`TrainConfig`), `sampling` (boxes and crops), `validation` (scoring
through `core.predict.predict_map`), `finish` (export and curves); this module runs the loop.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core.atomic import atomic_path
from ..core.weights import ModelSpec
from ..model.export import build_spec
from ..model.unet import UNet3D, count_parameters
from .cache import read_index, split_entries
from .config import Consistency, TrainConfig
from .context import Context
from .finish import finish
from .jsonio import write_json
from .losses import consistency
from .sampling import Box, CropSampler, load_training_box, make_noise_boxes
from .validation import ValBox, load_val_boxes, validate
from .widen import widen_into

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but torch sees no CUDA device")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def lr_lambda(cfg: TrainConfig):
    def factor(step: int) -> float:
        if cfg.lr_schedule == "cosine":
            t = min(step / max(cfg.steps, 1), 1.0)
            return cfg.lr_min_ratio + (1 - cfg.lr_min_ratio) * 0.5 * (1 + math.cos(math.pi * t))
        if cfg.lr_schedule == "step":
            return cfg.lr_step_gamma ** (step // cfg.lr_step_every)
        return 1.0
    return factor


def model_spec(cfg: TrainConfig, net: UNet3D) -> ModelSpec:
    """The spec validation predicts with: what the exported sidecar will say."""
    return build_spec(net, None, cfg.normalization, cfg.tile_size, {}, cfg.voxel_size)


@torch.no_grad()
def update_ema(ema: torch.nn.Module, net: torch.nn.Module, decay: float, step: int) -> None:
    """ema ← d·ema + (1 − d)·net over weights and BatchNorm statistics (counters copied);
    d ramps up from 0 as (1 + step) / (10 + step) so early averages are not stuck at the start."""
    d = min(decay, (1 + step) / (10 + step))
    for e, p in zip(ema.state_dict().values(), net.state_dict().values()):
        if e.dtype.is_floating_point:
            e.lerp_(p, 1 - d)
        else:
            e.copy_(p)


def train_mode(net: torch.nn.Module, freeze_batchnorm: bool = False) -> None:
    """Put ``net`` in training mode; with ``freeze_batchnorm`` its BatchNorm layers stay in
    evaluation mode, normalising with the statistics they hold and never updating them.

    Why: a fine-tune's batches (32³ crops of a few real maps, or views of them) differ from the
    boxes the statistics were estimated on. Re-estimated from them, the statistics move every
    answer, those to boxes the loss holds to a teacher included: in training the loss sees the
    batch's statistics, in use the network the running ones (model card, try X9)."""
    net.train()
    if freeze_batchnorm:
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()


def load_init(net: UNet3D, path: str, widen: bool = False) -> None:
    """Start from earlier weights: a run's best.pt or checkpoint.pt, or a bare state dict;
    with ``widen``, those of a narrower network (`widen.widen_into`)."""
    try:
        s = torch.load(path, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError) as e:
        raise ValueError(f"{path}: cannot read the init_from weights ({e})") from e
    state = s["model"] if "model" in s else s
    try:
        if widen:
            widen_into(net, state)
        else:
            net.load_state_dict(state)
    except (RuntimeError, ValueError) as e:
        raise ValueError(f"{path}: weights do not fit the config's network ({e})") from e


def _save(path: Path, obj: dict[str, Any]) -> None:
    """`torch.save` through a temporary file and a rename (`core.atomic.atomic_path`)."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


class Trainer:
    """One training run in ``run_dir`` (see the module docstring for what it writes)."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, config_path: str = "",
                 device: str = "auto") -> None:
        self.cfg, self.run_dir, self.config_path = cfg, Path(run_dir), config_path
        self.device = resolve_device(device)
        torch.set_num_threads(cfg.threads)
        seed_everything(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.net = UNet3D(**cfg.network).to(self.device)
        if cfg.init_from:
            load_init(self.net, cfg.init_from, cfg.init_widen)
        self.ema = copy.deepcopy(self.net).eval() if cfg.ema_decay else None
        self.consistency = Consistency.from_dict(cfg.consistency)
        self.teacher = None  # the frozen init_from weights, when they teach
        if self.consistency is not None and self.consistency.teacher == "init":
            self.teacher = copy.deepcopy(self.net).eval().requires_grad_(False)
        self.loss_fn = cfg.make_loss()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lr_lambda(cfg))
        self.step = 0
        self.history: dict[str, Any] = {"train": [], "val": [], "best": None}
        self.consistency_terms: list[float] = []  # since the last log line (unweighted)
        self.spec = model_spec(cfg, self.net)

    # -- state ---------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "step": self.step, "model": self.net.state_dict(), "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(), "history": self.history,
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "config": asdict(self.cfg),
            "rng": {"numpy_data": self.rng.bit_generator.state, "numpy": np.random.get_state(),
                    "python": random.getstate(), "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
        }

    def load_state(self, path: Path) -> None:
        s = torch.load(path, map_location=self.device, weights_only=False)
        self.net.load_state_dict(s["model"])
        self.opt.load_state_dict(s["optimizer"])
        self.sched.load_state_dict(s["scheduler"])
        if self.ema is not None:
            self.ema.load_state_dict(s["ema"])
        self.step, self.history = int(s["step"]), s["history"]
        r = s["rng"]
        self.rng.bit_generator.state = r["numpy_data"]
        np.random.set_state(r["numpy"])
        random.setstate(r["python"])
        torch.set_rng_state(r["torch"])
        if r["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(r["cuda"])

    # -- run -----------------------------------------------------------------------------------
    def _log(self, line: str) -> None:
        log.info(line)
        with open(self.run_dir / "train.log", "a") as f:
            f.write(line + "\n")

    def _data(self) -> tuple[CropSampler, list[ValBox], list[ValBox]]:
        data = Path(self.cfg.data)
        t = time.perf_counter()
        entries = split_entries(data, "train")
        if not entries:
            raise ValueError(f"{data}/index.json lists no 'train' boxes")
        data_rng = np.random.default_rng(self.cfg.seed + 1)  # own stream: resume-independent
        ctx = Context.from_dict(self.cfg.context)

        def load(folder: Path, listed: list[dict[str, Any]], views: int = 1) -> list[Box]:
            """The listed boxes of a dataset folder and their views, on the network's grid."""
            voxel = float(read_index(folder).get("voxel_size", 1.0))
            return [b for e in listed
                    for b in load_training_box(folder, e, self.cfg.normalization, data_rng,
                                               voxel, self.cfg.voxel_size, ctx, self.cfg.lowpass,
                                               views)]

        boxes = load(data, entries)
        noise = (make_noise_boxes(ctx, self.cfg.normalization, self.cfg.voxel_size, data_rng,
                                  self.cfg.lowpass) if ctx else [])
        cons, pair_boxes = self.consistency, []
        if cons is not None and cons.data:
            extra = Path(cons.data)
            pair_boxes = load(extra, split_entries(extra, None), cons.views)
            if not pair_boxes:
                raise ValueError(f"{extra}/index.json lists no boxes (consistency data)")
        sampler = CropSampler(boxes, self.cfg.crop, self.cfg.sheet_fraction,
                              self.cfg.helix_fraction, ctx, noise, self.cfg.voxel_size,
                              self.cfg.sheet_resolution, pair_boxes,
                              cons.data_share if cons is not None else 0.0,
                              (cons.levels, cons.offset, cons.scale,
                               self.cfg.normalization.get("clip"))
                              if cons is not None and cons.levels > 0 else None)
        val = load_val_boxes(data, "val", self.cfg.max_val_boxes)
        real = []
        if self.cfg.real_val and (Path(self.cfg.real_val) / "index.json").exists():
            real = load_val_boxes(Path(self.cfg.real_val), None, None)
        elif self.cfg.real_val:
            self._log(f"real-val {self.cfg.real_val}/index.json not found: "
                      "real validation skipped")
        mb = sum(b.density.nbytes + b.labels.nbytes for b in boxes) / 2**20
        self._log(f"data {len(boxes)} train boxes ({mb:.0f} MiB), {len(val)} val, "
                  f"{len(real)} real-val"
                  + (f", {len(pair_boxes)} consistency boxes" if pair_boxes else "")
                  + f", loaded in {time.perf_counter() - t:.1f} s")
        return sampler, val, real

    @property
    def eval_net(self) -> torch.nn.Module:
        """The weights validation scores and export ships: the average when one is kept."""
        return self.ema if self.ema is not None else self.net

    def _validate(self, val: list[ValBox], real: list[ValBox]) -> None:
        t = time.perf_counter()
        sim_scores, real_scores = validate(self.eval_net, self.device, self.spec, val), \
            validate(self.eval_net, self.device, self.spec, real)
        rec = {"step": self.step, "sim": sim_scores, "real": real_scores}
        self.history["val"].append(rec)
        score = sim_scores.get("mean", float("nan"))
        best = self.history["best"]
        if sim_scores and not math.isnan(score) and (best is None or score > best["score"]):
            self.history["best"] = {"step": self.step, "score": score}
            _save(self.run_dir / "best.pt", {"model": self.eval_net.state_dict(),
                                              "step": self.step, "score": score,
                                              "config": asdict(self.cfg)})

        def fmt(s: dict[str, Any]) -> str:
            return f"helix {s['helix']:.3f} sheet {s['sheet']:.3f}" if s else "-"
        self._log(f"val step {self.step} sim {fmt(sim_scores)} real {fmt(real_scores)} "
                  f"({time.perf_counter() - t:.1f} s)")

    def run(self, resume: bool = False) -> None:
        """Train to ``cfg.steps`` (from the checkpoint with `resume`), then `finish`."""
        ckpt = self.run_dir / "checkpoint.pt"
        self._start(ckpt, resume)
        sampler, val, real = self._data()
        cfg = self.cfg
        train_mode(self.net, self.cfg.freeze_batchnorm)
        t_last, n_last, losses = time.perf_counter(), 0, []
        while self.step < cfg.steps:
            losses.append(self._train_step(sampler))
            n_last += 1
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                now = time.perf_counter()
                mean = float(np.mean(losses))
                rec = {"step": self.step, "loss": mean}
                extra = ""
                if self.consistency_terms:  # "loss" is the sum optimised, weighted term in
                    rec["consistency"] = float(np.mean(self.consistency_terms))
                    extra = f" consistency {rec['consistency']:.4f}"
                    self.consistency_terms = []
                self.history["train"].append(rec)
                self._log(f"step {self.step} loss {mean:.4f}{extra} "
                          f"lr {self.sched.get_last_lr()[0]:.2e} "
                          f"s/step {(now - t_last) / n_last:.2f}")
                t_last, n_last, losses = now, 0, []
            if self.step % cfg.val_every == 0 or self.step == cfg.steps:
                self._validate(val, real)
                train_mode(self.net, self.cfg.freeze_batchnorm)
            if self.step % cfg.ckpt_every == 0 or self.step == cfg.steps:
                _save(ckpt, self.state())
                write_json(self.run_dir / "metrics.json", self.history)
                t_last = time.perf_counter()  # checkpoint/validation time is not step time
        write_json(self.run_dir / "metrics.json", self.history)
        finish(self.run_dir, self.config_path)

    def _start(self, ckpt: Path, resume: bool) -> None:
        """Resume from `ckpt`, or begin a new run (refused where one already is)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if resume:
            if not ckpt.exists():
                raise ValueError(f"{ckpt}: no checkpoint to resume from")
            self.load_state(ckpt)
            self._log(f"resumed at step {self.step}")
        elif ckpt.exists():
            raise ValueError(f"{self.run_dir} already holds a run; use --resume or another --out")
        else:
            write_json(self.run_dir / "config.json", asdict(self.cfg))
            self._log(f"network unet3d widths {self.net.widths} "
                      f"({count_parameters(self.net)} parameters), loss {self.cfg.loss}, "
                      f"device {self.device}, threads {self.cfg.threads}"
                      + (f", from {self.cfg.init_from}" if self.cfg.init_from else "")
                      + (" (widened)" if self.cfg.init_widen else "")
                      + (f", EMA {self.cfg.ema_decay}" if self.cfg.ema_decay else ""))

    def _train_step(self, sampler: CropSampler) -> float:
        """One optimiser step on a fresh batch; the loss."""
        cons = self.consistency
        labels = cons is None or cons.labels > 0
        if labels:
            x, y = sampler.batch(self.rng, self.cfg.batch)
            x, y = x.to(self.device), y.to(self.device)
        self.opt.zero_grad(set_to_none=True)
        if cons is not None:
            views, boxes, inside = (t.to(self.device) for t in
                                    sampler.pairs(self.rng, cons.pairs, cons.identity))
            with torch.no_grad():
                net = self.teacher if self.teacher is not None else self.eval_net
                teacher = net(boxes)
            # one pass for both: BatchNorm's batch statistics include the views' crops
            out = self.net(torch.cat([x, views]) if labels else views)
            n = len(x) if labels else 0
            term = consistency(out[n:], teacher, inside, cons.foreground, cons.either)
            self.consistency_terms.append(term.item())
            loss = cons.weight * term
            if labels:
                loss = loss + cons.labels * self.loss_fn(out[:n], y)
        else:
            loss = self.loss_fn(self.net(x), y)
        if not torch.isfinite(loss):
            raise RuntimeError(f"loss is {loss.item()} at step {self.step + 1}")
        loss.backward()
        self.opt.step()
        self.sched.step()
        if self.ema is not None:
            update_ema(self.ema, self.net, self.cfg.ema_decay, self.step)
        self.step += 1
        return loss.item()
