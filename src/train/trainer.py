"""`deepssetracer train CONFIG`: train the U-Net on a simulated dataset, validate, export.

A run folder (``--out``) records everything: ``config.json`` (the config as run),
``train.log`` (one line per ``log_every`` steps), ``metrics.json`` (loss and validation
curves), ``checkpoint.pt`` (model, optimiser, schedule, step and every RNG state, so
``--resume`` continues exactly), ``best.pt`` (the best model by the mean of helix and sheet
voxel F1 on simulated validation boxes), and at the end ``deepssetracer.onnx`` + ``.json``
(exported from best.pt) and ``curves.png``.

A run may start from earlier weights (``init_from``: a ``.pt`` holding a ``model`` state
dict, such as a run's best.pt) to fine-tune them. With ``ema_decay`` > 0 an exponential moving
average of the weights is kept beside them; validation, best.pt and the export use the
average, which smooths the step-to-step swings that small, sparse-label batches cause.

Each box is normalised whole, once, with the same global normalisation inference uses; the
network then sees random ``crop``-sided cubes in one of the 24 proper rotations (never a
mirror: a mirror turns right-handed helices left-handed). About ``sheet_fraction`` of the
crops are centred near a sheet voxel, since sheets are the rare, hard class. Validation runs
whole boxes through ``core.predict.predict_map`` (the shipping predict path) with the torch
module behind a `core.inference.Network` adapter.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core import metrics
from ..core.classes import BACKGROUND, HELIX, IGNORE, SHEET
from ..core.grid import DensityMap
from ..core.lowpass import lowpass
from ..core.normalize import density_levels, normalize
from ..core.predict import predict_map
from ..core.resample import resample, same_step
from ..core.rotations import ROTATIONS, rotate
from ..core.sharpness import auto_lowpass
from ..core.weights import ModelSpec
from ..model.export import build_spec, export_with_sidecar
from ..model.unet import UNet3D, count_parameters
from .cache import load_npz, read_index, split_entries
from .context import Context, noise_box, noise_sigma, smooth_noise
from .jsonio import write_json
from .labels import resample_labels
from .losses import make_loss
from .torchnet import TorchNetwork

log = logging.getLogger(__name__)

CENTRES_PER_CLASS = 4096  # candidate crop centres kept per box and class (memory bound)
PAD_VALUE = 0.0  # crop padding: the normalised solvent level, as core.tiling pads at inference
DEFAULT_NORMALIZATION = {"method": "foreground", "clip": [-3.0, 5.0]}


@dataclass
class TrainConfig:
    """Training settings, read from a JSON config (unknown keys are refused).

    Paths may start with ``~`` and are otherwise taken relative to the current directory.
    ``network`` holds ``base`` and ``depth``; ``loss`` holds ``name`` (CE, FL, DL, CE_DL,
    FL_DL) and ``gamma``.
    """

    data: str
    real_val: str | None = None
    network: dict[str, int] = field(default_factory=lambda: {"base": 8, "depth": 4})
    loss: dict[str, Any] = field(default_factory=lambda: {"name": "FL_DL", "gamma": 2.0})
    lr: float = 1e-3
    lr_schedule: str = "cosine"  # cosine | step | constant
    lr_min_ratio: float = 0.05  # cosine: final lr / lr
    lr_step_every: int = 1000  # step: multiply by lr_step_gamma every this many steps
    lr_step_gamma: float = 0.5
    weight_decay: float = 0.0
    ema_decay: float = 0.0  # 0: no weight averaging
    init_from: str | None = None  # .pt with a "model" state dict to start from
    steps: int = 2700
    batch: int = 2
    crop: int = 64
    sheet_fraction: float = 0.5
    helix_fraction: float = 0.25
    tile_size: int = 128  # one pass for boxes up to 128 voxels a side
    voxel_size: float = 1.0  # the network's grid (Å); boxes are resampled to it
    val_every: int = 250
    ckpt_every: int = 100
    log_every: int = 10
    max_val_boxes: int = 16
    seed: int = 0
    threads: int = 2
    normalization: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_NORMALIZATION))
    context: dict[str, Any] | None = None  # train.context.Context settings; None: off
    description: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known - {"comment"})
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        cfg = cls(**{k: v for k, v in d.items() if k in known})
        cfg.data = str(Path(cfg.data).expanduser())
        if cfg.real_val:
            cfg.real_val = str(Path(cfg.real_val).expanduser())
        if cfg.init_from:
            cfg.init_from = str(Path(cfg.init_from).expanduser())
        cfg.validate()
        return cfg

    @classmethod
    def load(cls, path: Path | str, overrides: dict[str, Any] | None = None) -> TrainConfig:
        """Read a JSON config; ``overrides`` (command-line values) replace its entries."""
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: cannot read the config ({e})") from e
        return cls.from_dict({**d, **(overrides or {})})

    def validate(self) -> None:
        m = 2 ** (int(self.network.get("depth", 4)) - 1)
        if self.crop % m or self.tile_size % m:
            raise ValueError(f"crop ({self.crop}) and tile_size ({self.tile_size}) must be "
                             f"multiples of 2**(depth-1) = {m}")
        if self.lr_schedule not in ("cosine", "step", "constant"):
            raise ValueError(f"lr_schedule must be cosine, step or constant, "
                             f"got {self.lr_schedule!r}")
        if not 0 <= self.sheet_fraction + self.helix_fraction <= 1:
            raise ValueError("sheet_fraction + helix_fraction must lie in [0, 1]")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"config ema_decay must lie in [0, 1), got {self.ema_decay}")
        Context.from_dict(self.context)
        if not self.voxel_size > 0:
            raise ValueError(f"config voxel_size must be > 0, got {self.voxel_size}")
        for name in ("steps", "batch", "crop", "val_every", "ckpt_every", "log_every", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"config {name} must be >= 1, got {getattr(self, name)}")


# ---------------------------------------------------------------------------------------------
# data


@dataclass
class Box:
    """One normalised training box held in memory (float16 density, uint8 labels)."""

    name: str
    density: np.ndarray
    labels: np.ndarray
    centres: dict[int, np.ndarray]  # class -> (K, 3) int32 voxel indices [z, y, x]
    noise: float = 0.0  # the solvent noise's standard deviation, normalised units
    resolution: float = 6.0  # Å, the grain of the noise that may surround it


def load_training_box(data_dir: Path, entry: dict[str, Any], norm: dict[str, Any],
                      rng: np.random.Generator, data_voxel: float = 1.0,
                      model_voxel: float = 1.0) -> Box:
    """A box on the network's grid: resampled, low-passed if sharp and normalised, as
    `core.predict.predict_map` does."""
    density, labels = load_npz(data_dir, entry)
    if density.shape != labels.shape:
        raise ValueError(f"{entry['file']}: density {density.shape} and labels "
                         f"{labels.shape} differ")
    if not same_step(model_voxel, data_voxel):
        density = resample(density, (data_voxel,) * 3, (model_voxel,) * 3)
        labels = resample_labels(labels, model_voxel / data_voxel, density.shape)
    _, resolution = auto_lowpass(density, model_voxel)
    if resolution is not None:
        density = lowpass(density, (model_voxel,) * 3, resolution)
    x = normalize(density, norm, model_voxel)
    noise = 0.0
    if norm.get("method") == "foreground":
        levels = density_levels(density, model_voxel)
        noise = levels.noise / levels.molecule
    centres = {}
    for k in (HELIX, SHEET):
        idx = np.flatnonzero(labels.reshape(-1) == k)
        if len(idx) > CENTRES_PER_CLASS:
            idx = rng.choice(idx, CENTRES_PER_CLASS, replace=False)
        centres[k] = np.stack(np.unravel_index(idx, labels.shape), axis=1).astype(np.int32)
    return Box(entry["file"], x.astype(np.float16), labels, centres, noise,
               float(entry.get("resolution", 6.0)))


def make_noise_boxes(ctx: Context, norm: dict[str, Any], voxel_size: float,
                     rng: np.random.Generator) -> list[Box]:
    """``ctx.noise_boxes`` boxes with no molecule, labelled background throughout."""
    out = []
    for i in range(ctx.noise_boxes):
        x = noise_box(rng, ctx.noise_box_size, voxel_size, norm)
        labels = np.full(x.shape, BACKGROUND, np.uint8)
        empty = {k: np.zeros((0, 3), np.int32) for k in (HELIX, SHEET)}
        out.append(Box(f"noise_{i}", x.astype(np.float16), labels, empty))
    return out


class CropSampler:
    """Random rotated cubic crops with sheet-biased centres, from boxes held in memory."""

    def __init__(self, boxes: list[Box], crop: int, sheet_fraction: float,
                 helix_fraction: float, context: Context | None = None,
                 noise_boxes: list[Box] | None = None, voxel_size: float = 1.0) -> None:
        if not boxes:
            raise ValueError("no training boxes")
        self.boxes, self.crop = boxes, crop
        self.fractions = (sheet_fraction, helix_fraction)
        self.context, self.noise_boxes = context, noise_boxes or []
        self.margin = int(round(context.margin / voxel_size)) if context else 0
        self.voxel_size = voxel_size
        self.with_class = {k: [i for i, b in enumerate(boxes) if len(b.centres[k])]
                           for k in (HELIX, SHEET)}

    def _centre(self, rng: np.random.Generator) -> tuple[Box, np.ndarray]:
        ctx = self.context
        if ctx and self.noise_boxes and rng.random() < ctx.noise_fraction:
            box = self.noise_boxes[rng.integers(len(self.noise_boxes))]
            return box, np.array([rng.integers(s) for s in box.labels.shape])
        u = rng.random()
        sheet_f, helix_f = self.fractions
        for k, lo, hi in ((SHEET, 0.0, sheet_f), (HELIX, sheet_f, sheet_f + helix_f)):
            if lo <= u < hi and self.with_class[k]:
                box = self.boxes[self.with_class[k][rng.integers(len(self.with_class[k]))]]
                return box, box.centres[k][rng.integers(len(box.centres[k]))]
        box = self.boxes[rng.integers(len(self.boxes))]
        m = self.margin if ctx and rng.random() < ctx.outside_fraction else 0
        return box, np.array([rng.integers(-m, s + m) for s in box.labels.shape])

    def _outside(self, rng: np.random.Generator, box: Box) -> tuple[np.ndarray, int]:
        """What a crop finds beyond its box: density and label (IGNORE without context)."""
        c, ctx = self.crop, self.context
        x = np.full((c, c, c), PAD_VALUE, dtype=np.float32)
        if ctx is None:
            return x, IGNORE
        if box.noise > 0 and rng.random() < ctx.noise_fill:
            sigma = noise_sigma(box.resolution, self.voxel_size)
            x += np.float32(box.noise) * smooth_noise(rng, (c, c, c), sigma)
        return x, BACKGROUND

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One crop: float32 density and uint8 labels, both [crop] * 3."""
        box, centre = self._centre(rng)
        c = self.crop
        jitter = rng.integers(-(c // 4), c // 4 + 1, size=3)
        start = centre - c // 2 + jitter
        x, outside = self._outside(rng, box)
        y = np.full((c, c, c), outside, dtype=np.uint8)
        src, dst = [], []
        for s, n in zip(start, box.labels.shape):
            a, b = max(s, 0), min(s + c, n)
            if b <= a and self.context is None:  # the crop misses the box: recentre on it
                a, b, s = 0, min(c, n), 0
            src.append(slice(a, max(a, b)))
            dst.append(slice(a - s, max(a, b) - s))
        if all(d.stop > d.start for d in dst):  # with context, a crop may be all solvent
            x[tuple(dst)] = box.density[tuple(src)]
            y[tuple(dst)] = box.labels[tuple(src)]
        k = int(rng.integers(len(ROTATIONS)))
        return np.ascontiguousarray(rotate(x, k)), np.ascontiguousarray(rotate(y, k))

    def batch(self, rng: np.random.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = zip(*(self.sample(rng) for _ in range(n)))
        return (torch.from_numpy(np.stack(xs)[:, None]),
                torch.from_numpy(np.stack(ys).astype(np.int64)))


# ---------------------------------------------------------------------------------------------
# validation


@dataclass
class ValBox:
    name: str
    dmap: DensityMap
    labels: np.ndarray


def load_val_boxes(data_dir: Path, split: str | None, limit: int | None) -> list[ValBox]:
    entries = split_entries(data_dir, split)[:limit]
    out = []
    for e in entries:
        density, labels = load_npz(data_dir, e)
        vs = float(e.get("voxel_size", 1.0))
        vs3 = tuple(e["voxel_size"]) if isinstance(e.get("voxel_size"), list) else (vs, vs, vs)
        origin = tuple(e.get("origin", (0.0, 0.0, 0.0)))
        out.append(ValBox(e.get("name", e["file"]), DensityMap(density, vs3, origin), labels))
    return out


def validate(net: torch.nn.Module, device: torch.device, spec: ModelSpec,
             boxes: list[ValBox]) -> dict[str, Any]:
    """Weighted voxel F1 (helix, sheet, their mean) over ``boxes`` via predict_map."""
    if not boxes:
        return {}
    adapter = TorchNetwork(net, device)
    per_map = {"helix": [], "sheet": []}
    for b in boxes:
        pred = predict_map(b.dmap, adapter, spec).labels()
        for cls, c in metrics.voxel_counts(pred, b.labels).items():
            per_map[cls].append(c)
    out = {cls: metrics.weighted_f1(cs) for cls, cs in per_map.items()}
    out["n_true"] = {cls: sum(c.n_true for c in cs) for cls, cs in per_map.items()}
    out["mean"] = float(np.nanmean([out["helix"], out["sheet"]]))
    return out


# ---------------------------------------------------------------------------------------------
# the run


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


def load_init(net: torch.nn.Module, path: str) -> None:
    """Start from earlier weights: a run's best.pt or checkpoint.pt, or a bare state dict."""
    try:
        s = torch.load(path, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError) as e:
        raise ValueError(f"{path}: cannot read the init_from weights ({e})") from e
    try:
        net.load_state_dict(s["model"] if "model" in s else s)
    except RuntimeError as e:
        raise ValueError(f"{path}: weights do not fit the config's network ({e})") from e


def _save(path: Path, obj: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


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
            load_init(self.net, cfg.init_from)
        self.ema = copy.deepcopy(self.net).eval() if cfg.ema_decay else None
        self.loss_fn = make_loss(cfg.loss["name"], float(cfg.loss.get("gamma", 2.0)))
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lr_lambda(cfg))
        self.step = 0
        self.history: dict[str, Any] = {"train": [], "val": [], "best": None}
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
        data_voxel = float(read_index(data).get("voxel_size", 1.0))
        boxes = [load_training_box(data, e, self.cfg.normalization, data_rng, data_voxel,
                                   self.cfg.voxel_size) for e in entries]
        ctx = Context.from_dict(self.cfg.context)
        noise = (make_noise_boxes(ctx, self.cfg.normalization, self.cfg.voxel_size, data_rng)
                 if ctx else [])
        sampler = CropSampler(boxes, self.cfg.crop, self.cfg.sheet_fraction,
                              self.cfg.helix_fraction, ctx, noise, self.cfg.voxel_size)
        val = load_val_boxes(data, "val", self.cfg.max_val_boxes)
        real = []
        if self.cfg.real_val and (Path(self.cfg.real_val) / "index.json").exists():
            real = load_val_boxes(Path(self.cfg.real_val), None, None)
        elif self.cfg.real_val:
            self._log(f"real-val {self.cfg.real_val}/index.json not found: "
                      "real validation skipped")
        mb = sum(b.density.nbytes + b.labels.nbytes for b in boxes) / 2**20
        self._log(f"data {len(boxes)} train boxes ({mb:.0f} MiB), {len(val)} val, "
                  f"{len(real)} real-val, loaded in {time.perf_counter() - t:.1f} s")
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
        self.run_dir.mkdir(parents=True, exist_ok=True)
        ckpt = self.run_dir / "checkpoint.pt"
        if resume:
            if not ckpt.exists():
                raise ValueError(f"{ckpt}: no checkpoint to resume from")
            self.load_state(ckpt)
            self._log(f"resumed at step {self.step}")
        elif ckpt.exists():
            raise ValueError(f"{self.run_dir} already holds a run; use --resume or another --out")
        else:
            write_json(self.run_dir / "config.json", asdict(self.cfg))
            self._log(f"network unet3d base {self.net.base} depth {self.net.depth} "
                      f"({count_parameters(self.net)} parameters), loss {self.cfg.loss}, "
                      f"device {self.device}, threads {self.cfg.threads}"
                      + (f", from {self.cfg.init_from}" if self.cfg.init_from else "")
                      + (f", EMA {self.cfg.ema_decay}" if self.cfg.ema_decay else ""))
        sampler, val, real = self._data()
        cfg = self.cfg
        self.net.train()
        t_last, n_last, losses = time.perf_counter(), 0, []
        while self.step < cfg.steps:
            x, y = sampler.batch(self.rng, cfg.batch)
            x, y = x.to(self.device), y.to(self.device)
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.net(x), y)
            if not torch.isfinite(loss):
                raise RuntimeError(f"loss is {loss.item()} at step {self.step + 1}")
            loss.backward()
            self.opt.step()
            self.sched.step()
            if self.ema is not None:
                update_ema(self.ema, self.net, cfg.ema_decay, self.step)
            self.step += 1
            losses.append(loss.item())
            n_last += 1
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                now = time.perf_counter()
                mean = float(np.mean(losses))
                self.history["train"].append({"step": self.step, "loss": mean})
                self._log(f"step {self.step} loss {mean:.4f} lr {self.sched.get_last_lr()[0]:.2e} "
                          f"s/step {(now - t_last) / n_last:.2f}")
                t_last, n_last, losses = now, 0, []
            if self.step % cfg.val_every == 0 or self.step == cfg.steps:
                self._validate(val, real)
                self.net.train()
            if self.step % cfg.ckpt_every == 0 or self.step == cfg.steps:
                _save(ckpt, self.state())
                write_json(self.run_dir / "metrics.json", self.history)
                t_last = time.perf_counter()  # checkpoint/validation time is not step time
        write_json(self.run_dir / "metrics.json", self.history)
        finish(self.run_dir, self.config_path)


# ---------------------------------------------------------------------------------------------
# export and curves


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
        "loss": cfg.loss["name"], "gamma": float(cfg.loss.get("gamma", 2.0)),
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
