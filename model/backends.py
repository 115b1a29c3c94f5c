"""Choosing how a saved model is executed: `load_predictor(directory, backend)`.

Every predictor has `.config` (a DetenteConfig: labels, default target, max length), `.name`
(the backend) and
`predict_probs(texts, targets, batch_size=32, show_progress=False) -> (stance, sentiment)`
returning float32 arrays of probabilities, rows in input order, columns in label order.

Backends:
  torch      PyTorch, fp32: the reference every other backend is checked against.
  bf16       PyTorch with the encoder cast to bfloat16 (pooling and heads stay fp32). Needs a
             CPU with bf16 instructions (AMX or AVX512-BF16); refused elsewhere, where it would
             be emulated and slow.
  onnx       ONNX Runtime over the fp32 graph written by `detente export`. Never imports torch.
  onnx-int8  ONNX Runtime over the int8 (dynamically quantised) graph. Never imports torch.
  auto       the fastest that is available and checked: onnx-int8 when an up-to-date export
             exists and its measured agreement with fp32 (stored by `detente export`) is at
             least AGREEMENT_FLOOR on both heads; else bf16 on a CPU with AMX; else onnx when
             exported; else torch.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from detente.model.config import DetenteConfig

BACKENDS = ("torch", "bf16", "onnx", "onnx-int8", "auto")
AGREEMENT_FLOOR = 0.99  # share of labels a reduced-precision backend must keep (per head)

log = logging.getLogger(__name__)


class Predictor(Protocol):
    config: DetenteConfig
    name: str

    def predict_probs(
        self,
        texts: list[str],
        targets: list[str | None],
        batch_size: int = 32,
        show_progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]: ...


def resolve_model_dir(model: str | Path | None) -> Path:
    """`None` or "default" is the shipped default model; anything else is a directory."""
    from detente.model import DEFAULT_MODEL_DIR

    if model is None or str(model) == "default":
        return DEFAULT_MODEL_DIR
    return Path(model)


# -- what this machine can do -------------------------------------------------------------------


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def bf16_support() -> str | None:
    """ "amx" (fast bf16 matrix units), "avx512_bf16" (bf16 dot products) or None.

    `DETENTE_BF16=0` turns bf16 off (for testing the fallbacks)."""
    if os.environ.get("DETENTE_BF16", "").strip() == "0":
        return None
    flags = cpu_flags()
    if "amx_bf16" in flags:
        return "amx"
    if "avx512_bf16" in flags:
        return "avx512_bf16"
    return None


def onnx_runtime_available() -> bool:
    from importlib.util import find_spec

    return find_spec("onnxruntime") is not None and find_spec("tokenizers") is not None


def export_agreement_ok(info: dict[str, Any], backend: str) -> bool:
    """True when the agreement stored with an export is unknown or at least the floor."""
    measured = (info.get("agreement") or {}).get(backend)
    if not measured:
        return True
    return all(measured.get(head, 1.0) >= AGREEMENT_FLOOR for head in ("stance", "sentiment"))


def choose_backend(directory: Path) -> str:
    """The backend "auto" resolves to for this model on this machine (see the module doc)."""
    exported: dict[str, Any] = {}
    if onnx_runtime_available() and (directory / "model.safetensors").is_file():
        from detente.model.onnx_backend import find_export

        found = find_export(directory)
        if found is not None:
            export_dir, info = found
            for name, file in (info.get("files") or {}).items():
                if (export_dir / file).is_file():
                    exported[name] = info
    if "onnx-int8" in exported and export_agreement_ok(exported["onnx-int8"], "onnx-int8"):
        return "onnx-int8"
    if bf16_support() == "amx":
        return "bf16"
    if "onnx" in exported:
        return "onnx"
    return "torch"


# -- loading ------------------------------------------------------------------------------------


def load_predictor(
    model: str | Path | None = None, backend: str = "torch", threads: int | None = None
) -> Predictor:
    """Load the model in `model` (a directory, or None / "default") for `backend`."""
    directory = resolve_model_dir(model)
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = choose_backend(directory)
        log.info("backend auto: %s", backend)
    if backend in ("onnx", "onnx-int8"):
        from detente.model.onnx_backend import OnnxExportError, OnnxPredictor

        try:
            return OnnxPredictor(directory, quantized=backend == "onnx-int8", threads=threads)
        except OnnxExportError as exc:
            raise ValueError(str(exc)) from exc
    if backend == "bf16":
        return _bf16_predictor(directory, threads)
    from detente.model.predict import TorchPredictor
    from detente.model.serialization import load_model

    return TorchPredictor(*load_model(directory), threads=threads)


def _bf16_predictor(directory: Path, threads: int | None) -> Predictor:
    if bf16_support() is None:
        raise ValueError(
            "backend bf16 needs a CPU with AMX or AVX512-BF16 instructions (this one has "
            "neither, so bf16 would be emulated and slower than fp32); use torch or onnx-int8"
        )
    from detente.model.predict import TorchPredictor
    from detente.model.serialization import load_model

    model, tokenizer = load_model(directory)
    model.encoder = bf16_encoder(model.encoder)
    predictor = TorchPredictor(model, tokenizer, threads=threads)  # fp32 outside the encoder
    predictor.name = "bf16"
    return predictor


def bf16_encoder(encoder: Any) -> Any:
    """The encoder cast to bfloat16, handing float32 hidden states to pooling and the heads
    (a cast model is faster than autocast on CPU, and the heads keep full precision)."""
    import torch

    class Bf16Encoder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner.to(torch.bfloat16)
            self.config = inner.config

        def forward(self, **kwargs: Any) -> Any:
            output = self.inner(**kwargs)
            output.last_hidden_state = output.last_hidden_state.float()
            return output

    return Bf16Encoder(encoder)


# -- agreement ----------------------------------------------------------------------------------


def label_agreement(
    reference: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray]
) -> dict[str, float]:
    """Share of rows whose arg-max label is the same, per head, and the largest probability
    difference (`max_abs_diff`)."""
    result: dict[str, float] = {}
    for head, ref, probs in zip(("stance", "sentiment"), reference, other, strict=True):
        result[head] = float((ref.argmax(1) == probs.argmax(1)).mean()) if len(ref) else 1.0
    result["max_abs_diff"] = float(
        max((np.abs(r - o).max() if len(r) else 0.0) for r, o in zip(reference, other, strict=True))
    )
    return result


def torch_imported() -> bool:
    return "torch" in sys.modules


def check_agreement(
    directory: Path,
    texts: Sequence[str],
    targets: Sequence[str | None],
    backends: Sequence[str],
    threads: int | None = None,
    batch_size: int = 32,
) -> dict[str, dict[str, float]]:
    """Label agreement of each backend with torch fp32 on the same sentences."""
    reference = load_predictor(directory, "torch", threads).predict_probs(
        list(texts), list(targets), batch_size
    )
    found: dict[str, dict[str, float]] = {}
    for backend in backends:
        predictor = load_predictor(directory, backend, threads)
        probs = predictor.predict_probs(list(texts), list(targets), batch_size)
        found[backend] = {**label_agreement(reference, probs), "n": len(texts)}
    return found
