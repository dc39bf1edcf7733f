"""Where the network can run: the device names every front end offers.

Standard library only (nothing imported), so ``deepssetracer --help`` can build its
``--device`` choices without numpy or onnxruntime; `inference` re-exports `DEVICES` and
resolves them.
"""

from __future__ import annotations

DEVICES = ("auto", "cpu", "cuda")
