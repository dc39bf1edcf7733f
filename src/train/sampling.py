"""Training boxes in memory and the random crops the network learns from.

Each box is normalised whole, once, with the same global normalisation inference uses; the
network then sees random ``crop``-sided cubes in one of the 24 proper rotations (never a
mirror: a mirror turns right-handed helices left-handed). About ``sheet_fraction`` of the
crops are centred near a sheet voxel, since sheets are the rare, hard class (optionally only in
boxes of a ``sheet_resolution`` range, where a sheet still looks like one); with a `Context`
crops may reach beyond the box into solvent, and pure-noise boxes join the draw.

A view of a box (crowded, filtered: `context`) remembers the box it shows (``view_of``), so
`CropSampler.pairs` can cut the same crop from both: the consistency term of `trainer` asks the
network to answer the view as a teacher answers the box, which is what the zoo measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core.classes import BACKGROUND, HELIX, IGNORE, SHEET
from ..core.prepare import AUTO, prepare
from ..core.resample import resample, same_step
from ..core.rotations import ROTATIONS, rotate
from .cache import load_npz
from .context import (
    Context,
    crowded_view,
    cut_tight,
    filtered_view,
    noise_box,
    noise_sigma,
    smooth_noise,
)
from .labels import resample_labels

CENTRES_PER_CLASS = 4096  # candidate crop centres kept per box and class (memory bound)
PAD_VALUE = 0.0  # crop padding: the normalised solvent level, as core.tiling pads at inference


@dataclass
class Box:
    """One normalised training box held in memory (float16 density, uint8 labels)."""

    name: str
    density: np.ndarray
    labels: np.ndarray
    centres: dict[int, np.ndarray]  # class -> (K, 3) int32 voxel indices [z, y, x]
    noise: float = 0.0  # the solvent noise's standard deviation, normalised units
    resolution: float = 6.0  # Å, the grain of the noise that may surround it
    view_of: Box | None = None  # the box this one is a view of (crowded, filtered)
    offset: tuple[int, int, int] = (0, 0, 0)  # its first voxel's [z, y, x] index in view_of


def load_training_box(data_dir: Path, entry: dict[str, Any], norm: dict[str, Any],
                      rng: np.random.Generator, data_voxel: float = 1.0,
                      model_voxel: float = 1.0, context: Context | None = None,
                      lowpass: float | str | None = AUTO, views: int = 1) -> list[Box]:
    """The box on the network's grid, prepared as `core.predict.predict_map` prepares a map
    (`core.prepare`: scaled, clipped, low-passed as ``lowpass`` says, normalised), and, with chance
    ``context.crowded_fraction``, a noisy crowded view of it (`context.crowded_view`), with
    chance ``context.filtered_fraction`` a blurred or sharpened one (`context.filtered_view`);
    ``views`` such draws of each (a few real maps need many views, a thousand simulated boxes
    one)."""
    density, labels = load_npz(data_dir, entry)
    if density.shape != labels.shape:
        raise ValueError(f"{entry['file']}: density {density.shape} and labels "
                         f"{labels.shape} differ")
    if not same_step(model_voxel, data_voxel):
        density = resample(density, (data_voxel,) * 3, (model_voxel,) * 3)
        labels = resample_labels(labels, model_voxel / data_voxel, density.shape)
    resolution = float(entry.get("resolution") or 6.0)  # None: not stated
    whole = _prepared_box(entry["file"], density, labels, norm, rng, model_voxel, resolution,
                          lowpass)
    out = [whole]

    def add_view(kind: str, x: np.ndarray, y: np.ndarray,
                 start: tuple[int, int, int] = (0, 0, 0)) -> None:
        try:
            view = _prepared_box(f"{entry['file']}:{kind}", x, y, norm, rng, model_voxel,
                                 resolution, lowpass)
        except ValueError:  # nothing above the solvent level in this view: none then
            return
        view.view_of, view.offset = whole, start
        out.append(view)

    crowded = context.crowded_fraction if context is not None else 0.0
    filtered = context.filtered_fraction if context is not None else 0.0
    for _ in range(views):
        if crowded > 0 and rng.random() < crowded:
            x, y, start = crowded_view(rng, density, labels, model_voxel, resolution,
                                       context.crowded_sd)
            add_view("crowded", x, y, start)
        if filtered > 0 and rng.random() < filtered:
            add_view("filtered", filtered_view(rng, density, model_voxel, context.filtered_b),
                     labels)
    return out


def _prepared_box(name: str, density: np.ndarray, labels: np.ndarray, norm: dict[str, Any],
                  rng: np.random.Generator, model_voxel: float, resolution: float,
                  lowpass: float | str | None) -> Box:
    x, record = prepare(density, (model_voxel,) * 3, model_voxel, norm, lowpass=lowpass,
                        assess=False)
    levels = record.levels if norm.get("method") == "foreground" else None
    noise = levels.noise / levels.molecule if levels else 0.0
    centres = {}
    for k in (HELIX, SHEET):
        idx = np.flatnonzero(labels.reshape(-1) == k)
        if len(idx) > CENTRES_PER_CLASS:
            idx = rng.choice(idx, CENTRES_PER_CLASS, replace=False)
        centres[k] = np.stack(np.unravel_index(idx, labels.shape), axis=1).astype(np.int32)
    return Box(name, x.astype(np.float16), labels, centres, noise, resolution)


def make_noise_boxes(ctx: Context, norm: dict[str, Any], voxel_size: float,
                     rng: np.random.Generator, lowpass: float | str | None = AUTO) -> list[Box]:
    """``ctx.noise_boxes`` boxes with no molecule, labelled background throughout."""
    out = []
    for i in range(ctx.noise_boxes):
        x = noise_box(rng, ctx.noise_box_size, voxel_size, norm, lowpass)
        labels = np.full(x.shape, BACKGROUND, np.uint8)
        empty = {k: np.zeros((0, 3), np.int32) for k in (HELIX, SHEET)}
        out.append(Box(f"noise_{i}", x.astype(np.float16), labels, empty))
    return out


class CropSampler:
    """Random rotated cubic crops with sheet-biased centres, from boxes held in memory."""

    def __init__(self, boxes: list[Box], crop: int, sheet_fraction: float,
                 helix_fraction: float, context: Context | None = None,
                 noise_boxes: list[Box] | None = None, voxel_size: float = 1.0,
                 sheet_resolution: tuple[float, float] | None = None,
                 pair_boxes: list[Box] | None = None, pair_share: float = 0.0,
                 levels: tuple[float, tuple[float, float], tuple[float, float],
                               tuple[float, float] | None] | None = None) -> None:
        if not boxes:
            raise ValueError("no training boxes")
        self.boxes, self.crop = boxes, crop
        self.views = [b for b in boxes if b.view_of is not None]
        self.clean = [b for b in boxes if b.view_of is None]
        # boxes (real maps) that serve `pair` only, with chance pair_share: never labels
        self.pair_views = [b for b in pair_boxes or [] if b.view_of is not None]
        self.pair_clean = [b for b in pair_boxes or [] if b.view_of is None]
        self.pair_share = pair_share if pair_boxes else 0.0
        # (share, offset range, scale range, the normalisation's clip) of mis-levelled views
        self.levels = levels
        self.fractions = (sheet_fraction, helix_fraction)
        self.context, self.noise_boxes = context, noise_boxes or []
        self.margin = int(round(context.margin / voxel_size)) if context else 0
        self.voxel_size = voxel_size
        self.with_class = {k: [i for i, b in enumerate(boxes) if len(b.centres[k])]
                           for k in (HELIX, SHEET)}
        if sheet_resolution is not None:  # sheet-centred crops only where sheets can be seen
            lo, hi = sheet_resolution
            self.with_class[SHEET] = [i for i in self.with_class[SHEET]
                                      if lo <= boxes[i].resolution <= hi]

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
        src, dst = _window(start, box.labels.shape, c, recentre=self.context is None)
        if all(d.stop > d.start for d in dst):  # with context, a crop may be all solvent
            ctx = self.context  # the tight-crop draw only where tight crops are configured
            tight = ctx is not None and ctx.tight_fraction > 0 and rng.random() < ctx.tight_fraction
            fill = x.copy() if tight else None  # what lies beyond the box, for the cut faces
            x[tuple(dst)] = box.density[tuple(src)]
            y[tuple(dst)] = box.labels[tuple(src)]
            if fill is not None:
                cut_tight(rng, x, y, fill, self.voxel_size, (HELIX, SHEET))
        k = int(rng.integers(len(ROTATIONS)))
        ctx = self.context  # noise last: the crop's other draws are those of a clean crop
        if ctx is not None and ctx.noisy_fraction > 0 and rng.random() < ctx.noisy_fraction:
            sd = np.float32(rng.uniform(0.0, ctx.noisy_sd))
            x += sd * smooth_noise(rng, x.shape, noise_sigma(box.resolution, self.voxel_size))
        return np.ascontiguousarray(rotate(x, k)), np.ascontiguousarray(rotate(y, k))

    def pair(self, rng: np.random.Generator, identity: float = 0.0
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One crop of a view and the same crop of the box it shows, in one rotation, and
        where the view holds data (a crowded view is a sub-box: beyond its faces the crop is
        padding there and the box's density here, and the two need not agree). With chance
        ``identity`` the view is a box itself (the network's answer to the box is anchored
        too). Centres are drawn as `sample` draws them, without ``sheet_resolution``; beyond a
        view's faces lies exact solvent, never noise: the consistency term reads only inside.
        With chance ``pair_share`` the pair comes from ``pair_boxes`` instead, centred anywhere
        in the view: their labels are never read. With the chance ``levels`` gives, the view is
        its box with the levels set wrong (`config.Consistency`) and clipped again as the
        normalisation clips: inside only, since beyond a map's faces prediction pads with its
        own solvent level, 0, whatever that level is."""
        own = not (self.pair_share > 0 and rng.random() < self.pair_share)
        clean, views = (self.clean, self.views) if own else (self.pair_clean, self.pair_views)
        share, offsets, scales, clip = self.levels or (0.0, (0.0, 0.0), (1.0, 1.0), None)
        misleveled = share > 0 and rng.random() < share
        if misleveled or identity > 0 and rng.random() < identity or not views:
            view = box = clean[rng.integers(len(clean))]
        else:
            view = views[rng.integers(len(views))]
            box = view.view_of
        u, (sheet_f, helix_f), c = rng.random(), self.fractions, self.crop
        k = SHEET if u < sheet_f else HELIX if u < sheet_f + helix_f else None
        if own and k is not None and len(view.centres[k]):
            centre = view.centres[k][rng.integers(len(view.centres[k]))]
        else:
            centre = np.array([rng.integers(s) for s in view.labels.shape])
        start = centre - c // 2 + rng.integers(-(c // 4), c // 4 + 1, size=3)
        xv, xb = (np.full((c, c, c), PAD_VALUE, np.float32) for _ in range(2))
        inside = np.zeros((c, c, c), bool)
        src, dst = _window(start, view.labels.shape, c)
        xv[dst], inside[dst] = view.density[src], True
        src, dst = _window(start + np.asarray(view.offset), box.labels.shape, c)
        xb[dst] = box.density[src]
        if misleveled:
            xv[inside] = (xv[inside] - rng.uniform(*offsets)) / rng.uniform(*scales)
            if clip is not None:  # as the normalisation clips a mis-levelled map
                np.clip(xv, *clip, out=xv)
        r = int(rng.integers(len(ROTATIONS)))
        return tuple(np.ascontiguousarray(rotate(a, r)) for a in (xv, xb, inside))

    def pairs(self, rng: np.random.Generator, n: int, identity: float = 0.0
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``n`` `pair` draws as ``(views [n, 1, c, c, c], boxes [n, 1, c, c, c],
        inside [n, c, c, c])``.

        Raises:
            ValueError: no box has a view (the config's context makes none) and not every
                pair is a box itself.
        """
        if not self.views and identity < 1:
            raise ValueError("consistency needs views of the boxes: set the config's context "
                             "crowded_fraction or filtered_fraction above 0")
        xv, xb, inside = zip(*(self.pair(rng, identity) for _ in range(n)))
        return (torch.from_numpy(np.stack(xv)[:, None]), torch.from_numpy(np.stack(xb)[:, None]),
                torch.from_numpy(np.stack(inside)))

    def batch(self, rng: np.random.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = zip(*(self.sample(rng) for _ in range(n)))
        return (torch.from_numpy(np.stack(xs)[:, None]),
                torch.from_numpy(np.stack(ys).astype(np.int64)))


def _window(start: np.ndarray, shape: tuple[int, ...], c: int, recentre: bool = False
            ) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """``(source, destination)`` slices of a ``c``-sided cube from ``start`` ([z, y, x]; may
    reach beyond a box of ``shape``): the box's part it holds, and where that lies in the cube.
    With ``recentre`` an axis the cube misses altogether is taken from the box's start."""
    src, dst = [], []
    for s, n in zip((int(v) for v in start), shape):
        a, b = max(s, 0), min(s + c, n)
        if b <= a and recentre:
            a, b, s = 0, min(c, n), 0
        src.append(slice(a, max(a, b)))
        dst.append(slice(a - s, max(a, b) - s))
    return tuple(src), tuple(dst)
