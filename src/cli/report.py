"""``deepssetracer predict --json FILE``: what each map's run wrote and how, for scripts.

One record per input map, in the order given: a map that was refused carries its one-line
``error`` instead of results. The file is written once, at the end (also after Ctrl-C, with
the maps done so far), atomically (`mapio.write_maps`, as a one-file set), so a script never
reads half of it. A file name that is not UTF-8 is recorded with its odd bytes as ``\\xff``
escapes, as the error lines print it (JSON text is UTF-8). Each ``input`` is as given, beside
the run's working folder (``cwd``); outputs, removed files and the weights are absolute paths.
``threads`` is what onnxruntime runs on (asked, or its own choice: `OnnxNetwork.threads`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .. import __version__
from ..core.errors import InputError, printable, unescaped
from ..core.mapio import write_maps
from ..core.predict import OUTPUT_SUFFIXES, FileResult

FORMAT = 1
LEVEL = 0.5  # the probability the volumes are counted at (`FileResult.volumes`)


def check_target(path: Path) -> None:
    """Refuse, before any prediction, a ``--json`` path that cannot be written.

    Raises:
        InputError: it is a folder, or its folder is missing or not writable.
    """
    folder = path.parent
    if path.is_dir():
        raise InputError(path, "--json names a folder; give a file name")
    if not folder.is_dir():
        raise InputError(path, f"--json folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(path, f"--json folder {folder} is not writable")


def map_record(result: FileResult, *, lowpass_asked: float | str | None,
               threads: int | None, model: Path | None = None,
               around: Path | None = None) -> dict[str, Any]:
    """The JSON record of one map that was predicted (`model`: the ``--model`` file;
    `around`: the ``--around`` map)."""
    return {
        "input": str(result.map_path),
        "ok": True,
        "outputs": {kind: os.path.abspath(p) for p in result.outputs
                    for kind, suffix in OUTPUT_SUFFIXES.items() if p.name.endswith(suffix)},
        "removed": [os.path.abspath(p) for p in result.removed],
        "volumes_A3": {k: round(v, 3) for k, v in result.volumes.items()},
        "level": LEVEL,
        "settings": {
            "weights": os.path.abspath(result.weights) if result.weights else None,
            "weights_sha256": result.weights_sha256,
            "device": result.device,
            "threads": result.threads if result.threads is not None else threads,
            "tta_rotations": result.rotations,
            "tiles": result.tiles,
            "lowpass_asked": "off" if lowpass_asked is None else lowpass_asked,
            "lowpass_applied_A": result.lowpass,
            "lowpass_automatic": result.auto_lowpass,
            "resolution_estimate_A": result.resolution,
            "around": os.path.abspath(around) if around is not None else None,
        },
        "timings_s": {k: round(v, 4) for k, v in {**result.timings,
                                                   "total": result.seconds}.items()},
        "warnings": list(result.warnings),
        "notes": list(result.notes),
        "model": None if model is None or result.model_check is None else {
            "path": str(model), **result.model_check},
    }


def failure_record(map_path: Path, message: str) -> dict[str, Any]:
    """The JSON record of a map that was refused or failed (`message`: its error line)."""
    return {"input": str(map_path), "ok": False, "error": printable(message)}


def write_report(path: Path, records: list[dict[str, Any]], *, interrupted: bool = False) -> None:
    """Write the report atomically."""
    doc = {"format": FORMAT, "tool": "deepssetracer predict", "version": __version__,
           "cwd": _cwd(), "maps": records, "failed": sum(not r["ok"] for r in records),
           "interrupted": interrupted}
    write_maps({Path(path): json.dumps(_encodable(doc), indent=1, ensure_ascii=False) + "\n"},
               overwrite=True)


def _cwd() -> str | None:
    """The working folder that relative ``input`` paths start from (None if it is gone)."""
    try:
        return os.getcwd()
    except OSError:
        return None


def _encodable(value: Any) -> Any:
    """`value` with every string UTF-8 can hold: a file name's bytes that are not UTF-8 (its
    surrogate escapes) as ``\\xff`` (`errors.unescaped`), as the error lines print them."""
    if isinstance(value, str):
        return unescaped(value)
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encodable(v) for v in value]
    return value
