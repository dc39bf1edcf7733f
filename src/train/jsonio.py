"""Atomic JSON writing for run folders and dataset indexes (a reader never sees half a file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.atomic import atomic_path


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` through a temporary file and a rename."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1) + "\n")
