"""Running the network: the `Network` protocol, the ONNX Runtime session, and the softmax.

Anything that maps a float32 batch ``[N, 1, D, H, W]`` to logits ``[N, 3, D, H, W]`` is a
`Network`: `OnnxNetwork` in the tool, a wrapped torch model in training, plain numpy functions
in tests. Softmax lives here only.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import InputError
from .weights import ModelSpec, default_weights_path, load_spec

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
GPU_PROVIDERS = ("CUDAExecutionProvider",)


@runtime_checkable
class Network(Protocol):
    """A callable from a ``[N, 1, D, H, W]`` float32 batch to ``[N, 3, D, H, W]`` logits."""

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...


def softmax(logits: np.ndarray, axis: int = 1) -> np.ndarray:
    """Class probabilities from logits along `axis` (stable: the maximum is subtracted first)."""
    z = logits - logits.max(axis=axis, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=axis, keepdims=True)
    return z


class OnnxNetwork:
    """An ONNX Runtime session behind the `Network` interface.

    Args:
        onnx_path: the ``.onnx`` file.
        spec: its sidecar (input and output names).
        device: ``"auto"`` (CUDA when onnxruntime has it, else CPU), ``"cpu"`` or ``"cuda"``.
        threads: intra-op threads (default None: onnxruntime uses every core).

    Attributes:
        device: the device actually used, ``"cpu"`` or ``"cuda"``.
    """

    def __init__(self, onnx_path: str | os.PathLike[str], spec: ModelSpec, device: str = "auto",
                 threads: int | None = None):
        import onnxruntime as ort  # here, so importing the core stays cheap

        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.path = Path(onnx_path)
        self.spec = spec
        available = ort.get_available_providers()
        gpu = [p for p in GPU_PROVIDERS if p in available]
        if device == "cuda" and not gpu:
            raise InputError(self.path, "device cuda: this onnxruntime has no CUDA provider "
                                        f"(has {', '.join(available)}); install onnxruntime-gpu")
        providers = (gpu if device != "cpu" else []) + ["CPUExecutionProvider"]

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # tiles vary in shape, so memory-pattern planning only adds peak memory (18-21 % less
        # without it, no time cost: benchmarks/results/tune-session-112-shipped-quiet.json)
        options.enable_mem_pattern = False
        options.log_severity_level = 3  # errors only: no provider chatter on stderr
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as err:  # onnxruntime raises its own exception types
            problem = f"cannot load the ONNX model ({_first_line(err)})"
            raise InputError(self.path, problem) from None
        used = self.session.get_providers()
        self.device = "cuda" if used and used[0] in GPU_PROVIDERS else "cpu"
        if device == "cuda" and self.device != "cuda":
            raise InputError(self.path, "device cuda: the CUDA provider failed to start")
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        if spec.input_name not in inputs or spec.output_name not in outputs:
            raise InputError(self.path, f"model has inputs {inputs} and outputs {outputs}; "
                                        f"the sidecar names {spec.input_name!r} and "
                                        f"{spec.output_name!r}")
        log.debug("onnxruntime session on %s (%s)", self.device, used)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        (logits,) = self.session.run([self.spec.output_name], {self.spec.input_name: batch})
        return logits


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def load_network(weights_path: str | os.PathLike[str] | None = None, device: str = "auto",
                 threads: int | None = None) -> tuple[OnnxNetwork, ModelSpec]:
    """Load the ONNX weights (default: the shipped ones) and their checked sidecar.

    Raises:
        InputError: weights or sidecar missing, sha256 mismatch, or an unloadable model.
    """
    if weights_path is None:
        path = default_weights_path()
        if not path.is_file():
            raise InputError(path, "no trained weights are installed; pass --weights PATH "
                                   "(an .onnx file with its .json sidecar beside it)")
    else:
        path = Path(weights_path)
        if not path.is_file():
            raise InputError(path, "weights file not found")
    spec = load_spec(path)
    return OnnxNetwork(path, spec, device=device, threads=threads), spec
