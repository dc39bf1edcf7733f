"""The weights' JSON sidecar: what the network expects, checked before it is used.

Weights are data: ``deepssetracer.onnx`` plus ``deepssetracer.json`` beside it (same stem). The
sidecar carries the preprocessing facts (voxel size, normalisation), the tiling facts (largest
tile edge, size multiple) and the ONNX file's sha256, so a stale or swapped ONNX is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .classes import NAMES
from .errors import InputError
from .normalize import METHODS, check_clip

FORMAT = 1


def default_weights_path() -> Path:
    """The shipped ONNX weights: ``src/weights/deepssetracer.onnx`` inside the package."""
    return Path(__file__).resolve().parents[1] / "weights" / "deepssetracer.onnx"


def sidecar_path(onnx_path: str | os.PathLike[str]) -> Path:
    """The JSON sidecar beside an ONNX file (same stem)."""
    return Path(onnx_path).with_suffix(".json")


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class ModelSpec:
    """The sidecar's content (see docs/architecture.md for the file)."""

    onnx: str
    onnx_sha256: str
    voxel_size: float
    normalization: dict[str, Any]
    tile_size: int
    size_multiple: int
    classes: list[str] = field(default_factory=lambda: list(NAMES))
    input_name: str = "density"
    output_name: str = "logits"
    format: int = FORMAT
    network: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    path: Path | None = field(default=None, compare=False)  # where it was loaded from

    @classmethod
    def load(cls, json_path: str | os.PathLike[str]) -> ModelSpec:
        """Read and check a sidecar.

        Raises:
            InputError: missing file, bad JSON, missing or invalid fields (named).
        """
        json_path = Path(json_path)
        if not json_path.is_file():
            raise InputError(json_path, "weights sidecar not found (it must sit beside the "
                                        ".onnx file, with the same name)")
        try:
            raw = json.loads(json_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InputError(json_path, f"not a readable JSON sidecar ({err})") from None
        if not isinstance(raw, dict):
            raise InputError(json_path, "sidecar must be a JSON object")
        names = {f.name for f in dataclasses.fields(cls)} - {"path"}
        missing = sorted(n for n in ("onnx", "onnx_sha256", "voxel_size", "normalization",
                                     "tile_size", "size_multiple") if n not in raw)
        if missing:
            raise InputError(json_path, f"sidecar lacks {', '.join(missing)}")
        try:
            spec = cls(**{k: v for k, v in raw.items() if k in names}, path=json_path)
            spec.check()
        except (TypeError, ValueError) as err:
            raise InputError(json_path, f"invalid sidecar: {err}") from None
        return spec

    def check(self) -> None:
        """Raise ValueError naming the first field that does not make sense."""
        if self.format != FORMAT:
            raise ValueError(f"format {self.format!r} (this version reads {FORMAT})")
        if list(self.classes) != list(NAMES):
            raise ValueError(f"classes {self.classes!r} (expected {list(NAMES)})")
        if not (isinstance(self.voxel_size, (int, float)) and 0 < self.voxel_size <= 4):
            raise ValueError(f"voxel_size {self.voxel_size!r} (expected Å in (0, 4])")
        for name in ("tile_size", "size_multiple"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} {value!r} (expected a positive integer)")
        if self.tile_size % self.size_multiple:
            raise ValueError(f"tile_size {self.tile_size} is not a multiple of size_multiple "
                             f"{self.size_multiple}")
        if not isinstance(self.normalization, dict):
            raise ValueError(f"normalization {self.normalization!r} (expected an object)")
        if self.normalization.get("method") not in METHODS:
            raise ValueError(f"normalization method {self.normalization.get('method')!r} "
                             f"(known: {', '.join(METHODS)})")
        if self.normalization.get("clip") is not None:
            check_clip(self.normalization["clip"])

    def to_dict(self) -> dict[str, Any]:
        """The sidecar as JSON-ready data (what `save` writes)."""
        d = dataclasses.asdict(self)
        d.pop("path")
        first = ("format", "onnx", "onnx_sha256", "classes")  # the order architecture.md shows
        return {**{k: d.pop(k) for k in first}, **d}

    def save(self, json_path: str | os.PathLike[str]) -> Path:
        """Write the sidecar (training's ONNX export uses this)."""
        self.check()
        json_path = Path(json_path)
        json_path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return json_path

    def verify_onnx(self, onnx_path: str | os.PathLike[str]) -> None:
        """Raise InputError if the ONNX file's sha256 is not the sidecar's."""
        digest = sha256_of(onnx_path)
        if digest != self.onnx_sha256:
            raise InputError(onnx_path, f"sha256 {digest[:12]}… does not match its sidecar's "
                                        f"{str(self.onnx_sha256)[:12]}… (weights and sidecar "
                                        "are from different exports)")


def load_spec(onnx_path: str | os.PathLike[str]) -> ModelSpec:
    """The checked sidecar of an ONNX file, its sha256 verified."""
    onnx_path = Path(onnx_path)
    spec = ModelSpec.load(sidecar_path(onnx_path))
    spec.verify_onnx(onnx_path)
    return spec
