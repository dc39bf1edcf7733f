"""`TrainConfig`: the settings of a training run, read from a JSON config and checked up front.

Unknown keys (at the top, in ``network``, ``loss`` and ``context``) are refused with one
`ValueError` naming them and the known ones (`keys.refuse_unknown`), so a typo never reaches
the network's constructor as a ``TypeError``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch

from ..core.lowpass import check_resolution
from ..core.prepare import AUTO
from .context import Context
from .keys import refuse_unknown
from .losses import DEFAULT_GAMMA, LOSS_NAMES, make_loss

DEFAULT_NORMALIZATION = {"method": "foreground", "clip": [-3.0, 5.0]}
NETWORK_KEYS = ("base", "depth", "widths")  # model.unet.UNet3D's settings a config may give
LOSS_KEYS = ("name", "gamma", "class_weights", "focal_weight")  # what `make_loss` takes


TEACHERS = ("ema", "init")


@dataclass(frozen=True)
class Consistency:
    """Settings of the config's ``consistency`` entry: a term (`losses.consistency`) that asks
    the network to answer a crop of a view of a box (`context`'s crowded and filtered views) as
    a teacher answers the same crop of the box, which is the zoo's question asked in training.

    Attributes:
        weight: the term's weight.
        pairs: view/box crop pairs a step.
        teacher: ``"ema"``, the averaged weights (`TrainConfig.ema_decay`), or ``"init"``, the
            ``init_from`` weights, frozen: the answer the zoo compares with is theirs.
        identity: share of the pairs whose view is a box itself, so that the answer to a box
            is held to the teacher's as well.
        labels: the label loss's weight beside the term; 0 leaves the labels out (no label
            batch: the network learns from the teacher alone).
        data: a second dataset (real maps, ``deepssetracer data real``) whose boxes and their
            views serve the pairs only, never the label batch: the term needs no labels, so
            real maps can hold the answer where it matters.
        data_share: share of the pairs drawn from ``data``.
        foreground: extra weight of the voxels the teacher calls helix or sheet in the term
            (`losses.consistency`): 0, a plain mean over the voxels.
        either: that weight goes to the voxels either the teacher or the network calls helix
            or sheet, not the teacher alone.
        views: crowded and filtered views drawn of each box of ``data`` (`context`'s chances,
            each draw): a few real maps need many views to show the network more than a few
            crops of each.
        levels: share of the pairs whose view is its box with the solvent and molecule levels
            set wrong, as a crop with no solvent has them set (its mode is the protein's
            density): the view's values become ``(x - offset) / scale``, both drawn uniformly
            from ``offset`` and ``scale`` (molecule units).
    """

    weight: float = 1.0
    pairs: int = 4
    teacher: str = "ema"
    identity: float = 0.0
    labels: float = 1.0
    data: str | None = None
    data_share: float = 0.0
    views: int = 1
    foreground: float = 0.0
    either: bool = False
    levels: float = 0.0
    offset: tuple[float, float] = (0.0, 0.5)
    scale: tuple[float, float] = (0.6, 1.0)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Consistency | None:
        """None (no term) for a missing entry; unknown keys are refused."""
        if d is None:
            return None
        if not isinstance(d, dict):
            raise ValueError(f"config consistency must be an object, got {d!r}")
        refuse_unknown(d, cls.__dataclass_fields__, "config consistency")
        c = cls(**d)
        if not (c.weight > 0 and c.labels >= 0 and c.foreground >= 0):
            raise ValueError(f"config consistency weight must be > 0, labels and foreground >= 0, "
                             f"got {c.weight}, {c.labels} and {c.foreground}")
        for name in ("pairs", "views"):
            value = getattr(c, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"config consistency {name} must be an integer >= 1, got "
                                 f"{value!r}")
        if c.teacher not in TEACHERS:
            raise ValueError(f"config consistency teacher must be one of {', '.join(TEACHERS)}, "
                             f"got {c.teacher!r}")
        if not 0 <= c.identity <= 1:
            raise ValueError(f"config consistency identity must lie in [0, 1], got {c.identity}")
        c = replace(c, offset=_range(c.offset, "offset"), scale=_range(c.scale, "scale"))
        if not 0 <= c.levels <= 1 or not c.scale[0] > 0:
            raise ValueError(f"config consistency levels must lie in [0, 1] and scale above 0, "
                             f"got {c.levels} and {list(c.scale)}")
        if not 0 <= c.data_share <= 1 or (c.data_share > 0) != bool(c.data):
            raise ValueError("config consistency data_share must lie in [0, 1], above 0 exactly "
                             f"when data is given; got {c.data_share} with data {c.data!r}")
        return c


def _range(value: Any, name: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"config consistency {name} must be [lo, hi], got {value!r}") from None
    if not lo <= hi:
        raise ValueError(f"config consistency {name} must have lo <= hi, got {value!r}")
    return lo, hi


@dataclass
class TrainConfig:
    """Training settings, read from a JSON config (unknown keys are refused).

    Paths may start with ``~`` and are otherwise taken relative to the current directory.
    ``network`` holds ``base``, ``depth`` and optionally ``widths`` (`NETWORK_KEYS`); ``loss``
    holds ``name`` (CE, FL, DL, CE_DL, FL_DL), ``gamma`` (default `losses.DEFAULT_GAMMA`) and
    optionally ``class_weights`` (helix, sheet, background) and ``focal_weight`` (`LOSS_KEYS`).
    """

    data: str
    real_val: str | None = None
    network: dict[str, int] = field(default_factory=lambda: {"base": 8, "depth": 4})
    loss: dict[str, Any] = field(default_factory=lambda: {"name": "FL_DL",
                                                          "gamma": DEFAULT_GAMMA})
    lr: float = 1e-3
    lr_schedule: str = "cosine"  # cosine | step | constant
    lr_min_ratio: float = 0.05  # cosine: final lr / lr
    lr_step_every: int = 1000  # step: multiply by lr_step_gamma every this many steps
    lr_step_gamma: float = 0.5
    weight_decay: float = 0.0
    ema_decay: float = 0.0  # 0: no weight averaging
    init_from: str | None = None  # .pt with a "model" state dict to start from
    init_widen: bool = False  # init_from is a narrower U-Net: widen it (`widen.widen_into`)
    # keep init_from's BatchNorm statistics: its layers normalise with them in training too,
    # and no batch of crops re-estimates them (`trainer.train_mode`)
    freeze_batchnorm: bool = False
    steps: int = 2700
    batch: int = 2
    crop: int = 64
    sheet_fraction: float = 0.5
    helix_fraction: float = 0.25
    sheet_resolution: tuple[float, float] | None = None  # Å range of boxes for sheet crops
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
    # the training boxes' low-pass, as core.prepare's: "auto" (6 Å, as a user's map is), null
    # (none: the shipped run's boxes, whose spectra rarely switched the old filter on) or Å
    lowpass: float | str | None = AUTO
    consistency: dict[str, Any] | None = None  # `Consistency` settings; None: off
    description: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = [f.name for f in fields(cls)]
        refuse_unknown(set(d) - {"comment"}, known, "config")
        cfg = cls(**{k: v for k, v in d.items() if k != "comment"})
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

    def make_loss(self) -> torch.nn.Module:
        """The configured loss module."""
        return make_loss(self.loss["name"], self.gamma, self.loss.get("class_weights"),
                         float(self.loss.get("focal_weight", 1.0)))

    @property
    def gamma(self) -> float:
        """The focal loss exponent (`losses.DEFAULT_GAMMA` when the config gives none)."""
        return float(self.loss.get("gamma", DEFAULT_GAMMA))

    def validate(self) -> None:
        """Raise `ValueError` naming the first setting that cannot run."""
        if not isinstance(self.network, dict):
            raise ValueError(f"config network must be an object with {', '.join(NETWORK_KEYS)}, "
                             f"got {self.network!r}")
        refuse_unknown(self.network, NETWORK_KEYS, "config network")
        refuse_unknown(self.loss, LOSS_KEYS, "config loss")
        if "name" not in self.loss:
            raise ValueError(f"config loss needs a name (one of {', '.join(LOSS_NAMES)})")
        self.make_loss()
        m = 2 ** (int(self.network.get("depth", 4)) - 1)
        if self.crop % m or self.tile_size % m:
            raise ValueError(f"crop ({self.crop}) and tile_size ({self.tile_size}) must be "
                             f"multiples of 2**(depth-1) = {m}")
        if self.lr_schedule not in ("cosine", "step", "constant"):
            raise ValueError(f"lr_schedule must be cosine, step or constant, "
                             f"got {self.lr_schedule!r}")
        if not 0 <= self.sheet_fraction + self.helix_fraction <= 1:
            raise ValueError("sheet_fraction + helix_fraction must lie in [0, 1]")
        if self.sheet_resolution is not None:
            r = list(self.sheet_resolution)
            if len(r) != 2 or not 0 < r[0] <= r[1]:
                raise ValueError(f"config sheet_resolution must be [low, high] Å with "
                                 f"0 < low <= high, got {r}")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"config ema_decay must lie in [0, 1), got {self.ema_decay}")
        ctx = Context.from_dict(self.context)
        cons = Consistency.from_dict(self.consistency)
        if cons is not None:
            if cons.identity < 1 and not (ctx and (ctx.crowded_fraction or ctx.filtered_fraction)):
                raise ValueError("config consistency needs views of the boxes: a context with "
                                 "crowded_fraction or filtered_fraction above 0")
            if cons.teacher == "ema" and not self.ema_decay:
                raise ValueError("config consistency teacher \"ema\" needs ema_decay above 0: "
                                 "the averaged weights answer the boxes")
            if cons.teacher == "init" and not self.init_from:
                raise ValueError("config consistency teacher \"init\" needs init_from: the "
                                 "weights that answer the boxes")
        if self.freeze_batchnorm and not self.init_from:
            raise ValueError("config freeze_batchnorm needs init_from: the statistics it keeps")
        if not self.voxel_size > 0:
            raise ValueError(f"config voxel_size must be > 0, got {self.voxel_size}")
        if self.lowpass not in (AUTO, None):
            if not isinstance(self.lowpass, (int, float)) or isinstance(self.lowpass, bool):
                raise ValueError(f"config lowpass must be \"{AUTO}\", null or a resolution in "
                                 f"Å, got {self.lowpass!r}")
            try:  # what core.lowpass would refuse once the boxes load, refused up front
                check_resolution(float(self.lowpass), (self.voxel_size,) * 3)
            except ValueError as err:
                raise ValueError(f"config lowpass must be a resolution the {self.voxel_size:g} "
                                 f"Å grid holds: {err}") from None
        for name in ("steps", "batch", "crop", "val_every", "ckpt_every", "log_every", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"config {name} must be >= 1, got {getattr(self, name)}")
