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

from .devices import DEVICES
from .errors import InputError
from .weights import ModelSpec, default_weights_path, load_spec

log = logging.getLogger(__name__)

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
        threads: the intra-op threads onnxruntime runs the CPU work on: `threads` when given;
            otherwise its own choice, counted as the threads the session started (Linux) plus
            the caller's; None where that cannot be told.
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
        # nor the CPU arena, which keeps a pass's peak after it (300³ whole map: 2.1 -> 1.3 GB
        # peak, 7.9 -> 8.0 s end to end; docs/benchmark.md)
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 3  # errors only: no provider chatter on stderr
        before = _thread_count()
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as err:  # onnxruntime raises its own exception types
            problem = f"cannot load the ONNX model ({_first_line(err)})"
            raise InputError(self.path, problem) from None
        started = None if before is None else (_thread_count() or before) - before
        self.threads = threads or (started + 1 if started is not None and started >= 0
                                   else None)
        used = self.session.get_providers()
        self.device = "cuda" if used and used[0] in GPU_PROVIDERS else "cpu"
        if device == "cuda" and self.device != "cuda":
            raise InputError(self.path, "device cuda: the CUDA provider failed to start")
        self._check_signature()
        log.debug("onnxruntime session on %s (%s)", self.device, used)

    def _check_signature(self) -> None:
        """Refuse, at load, a graph that cannot map ``[N, 1, D, H, W]`` to ``[N, 3, D, H, W]``.

        Tiles differ in size, so D, H and W must be free (symbolic) dimensions; a fixed size,
        another rank or another channel count would fail only in the middle of a prediction.
        """
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = {o.name: o for o in self.session.get_outputs()}
        spec = self.spec
        if spec.input_name not in inputs or spec.output_name not in outputs:
            raise InputError(self.path, f"model has inputs {list(inputs)} and outputs "
                                        f"{list(outputs)}; the sidecar names "
                                        f"{spec.input_name!r} and {spec.output_name!r}")
        for arg, channels, what in ((inputs[spec.input_name], 1, "input"),
                                    (outputs[spec.output_name], len(spec.classes), "output")):
            shape = list(arg.shape)
            if arg.type != "tensor(float)":
                raise InputError(self.path, f"model {what} {arg.name!r} is {arg.type}; "
                                            "float32 is needed")
            if len(shape) != 5:
                raise InputError(self.path, f"model {what} {arg.name!r} has shape {shape}; a "
                                            f"5-D [N, {channels}, D, H, W] tensor is needed")
            if isinstance(shape[1], int) and shape[1] != channels:
                raise InputError(self.path, f"model {what} {arg.name!r} has {shape[1]} "
                                            f"channels; {channels} are needed")
            if what == "input" and any(isinstance(d, int) for d in shape[2:]):
                raise InputError(self.path, f"model input {arg.name!r} has a fixed shape "
                                            f"{shape}; D, H and W must be free dimensions "
                                            "(export it with dynamic axes)")

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Logits of a batch.

        Raises:
            MemoryError: onnxruntime could not allocate its buffers.
            InputError: onnxruntime failed, or the logits have the wrong shape or are not
                finite (broken weights): one line naming the weights file.
        """
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        try:
            (logits,) = self.session.run([self.spec.output_name], {self.spec.input_name: batch})
        except Exception as err:  # onnxruntime raises its own exception types
            text = _first_line(err)
            if "bad_alloc" in text or "Failed to allocate" in text:
                raise MemoryError(f"onnxruntime: {text}") from None
            raise InputError(self.path, f"onnxruntime failed to run the model ({text})") from None
        expected = (batch.shape[0], len(self.spec.classes), *batch.shape[2:])
        if tuple(logits.shape) != expected:
            raise InputError(self.path, f"model returned logits of shape {list(logits.shape)} "
                                        f"for input {list(batch.shape)}; expected "
                                        f"{list(expected)} (same D, H, W as the input)")
        if not np.isfinite(logits).all():
            bad = int(np.count_nonzero(~np.isfinite(logits)))
            cause = ("the weights are broken" if np.isfinite(batch).all()
                     else "its input was not finite")
            raise InputError(self.path, f"model returned {bad} NaN or Inf logits of "
                                        f"{logits.size}: {cause}")
        return logits


def _thread_count() -> int | None:
    """Threads of this process (Linux's ``/proc/self/task``), or None elsewhere."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


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
