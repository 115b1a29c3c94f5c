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
  auto       the fastest that is available and checked, in this order: bf16 on a CPU with AMX
             (unless `detente export` measured it below AGREEMENT_FLOOR); onnx-int8 when an
             up-to-date export exists and the agreement with fp32 that `detente export`
             measured and stored is at least AGREEMENT_FLOOR on both heads; onnx when exported
             (same labels as fp32, no torch in the process); else torch.

Measured on this project's 2-core AMX machine (benchmarks/README.md): bf16 is the fastest and
keeps >= 99% of labels; dynamic int8 is faster than fp32 but changes several percent of labels
(activations are quantised with one scale per tensor), so auto passes it over unless a check
says otherwise.
"""

from __future__ import annotations

import contextlib
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
    """`None` or "default" is the shipped default model, "accurate" the shipped accurate model
    (all-mpnet-base-v2; needs the mpnet extra); anything else is a directory."""
    from detente.model import DEFAULT_MODEL_DIR

    if model is None or str(model) == "default":
        return DEFAULT_MODEL_DIR
    if str(model) == "accurate":
        return DEFAULT_MODEL_DIR.parent / "accurate"
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
    """The CPU's bf16 support: "amx" (bf16 matrix units), "avx512_bf16" (bf16 dot products)
    or None. `DETENTE_BF16=0` turns bf16 off (to test or force the fallbacks)."""
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


def agreement_ok(info: dict[str, Any] | None, backend: str, required: bool) -> bool:
    """Whether the agreement `detente export` stored for `backend` is at least the floor on
    both heads; when none is stored, `not required`."""
    measured = ((info or {}).get("agreement") or {}).get(backend)
    if not measured:
        return not required
    return all(measured.get(head, 0.0) >= AGREEMENT_FLOOR for head in ("stance", "sentiment"))


def choose_backend(directory: Path) -> str:
    """The backend "auto" resolves to for this model on this machine (see the module doc)."""
    info: dict[str, Any] | None = None
    exported: set[str] = set()
    if onnx_runtime_available() and (directory / "model.safetensors").is_file():
        from detente.model.onnx_backend import find_export

        found = find_export(directory)
        if found is not None:
            export_dir, info = found
            files = info.get("files") or {}
            exported = {name for name, file in files.items() if (export_dir / file).is_file()}
    if bf16_support() == "amx" and agreement_ok(info, "bf16", required=False):
        return "bf16"
    if "onnx-int8" in exported and agreement_ok(info, "onnx-int8", required=True):
        return "onnx-int8"
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
    from detente.model.serialization import load_model

    model, tokenizer = load_model(directory)
    if not (directory / "tokenizer.json").is_file():  # no fast tokenizer file: the slow path
        from detente.model.predict import TorchPredictor

        model.encoder = bf16_encoder(model.encoder)
        predictor = TorchPredictor(model, tokenizer, threads=threads)
        predictor.name = "bf16"
        return predictor
    return Bf16Predictor(model, directory / "tokenizer.json", threads)


def bf16_encoder(encoder: Any) -> Any:
    """The encoder cast to bfloat16 with PyTorch's fused attention, handing float32 hidden
    states to pooling and the heads (which stay fp32). A cast model is faster than autocast on
    CPU; the attention mask keeps padding out exactly as in fp32."""
    import torch

    class Bf16Encoder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            # fused attention where transformers offers it; eager otherwise (same results)
            with contextlib.suppress(AttributeError, ValueError, ImportError):
                inner.set_attn_implementation("sdpa")
            self.inner = inner.to(torch.bfloat16)
            self.config = inner.config

        def forward(self, **kwargs: Any) -> Any:
            output = self.inner(**kwargs)
            output.last_hidden_state = output.last_hidden_state.float()
            return output

    return Bf16Encoder(encoder)


class Bf16Predictor:
    """PyTorch with a bf16 encoder, fed by the fast `tokenizers` path: tokenise once, sort by
    length, pad each batch with NumPy to a multiple of 16 (AMX tiles work on 16 rows, and
    fewer distinct shapes means fewer kernels for oneDNN to build)."""

    name = "bf16"
    pad_multiple = 16

    def __init__(self, model: Any, tokenizer_file: Path, threads: int | None = None) -> None:
        from detente.model.onnx_backend import PairTokenizer
        from detente.model.predict import set_threads

        model.encoder = bf16_encoder(model.encoder)
        self.model = model.eval()
        self.config = model.config
        self.tokenizer = PairTokenizer(tokenizer_file, self.config.max_length)
        set_threads(threads)

    def predict_probs(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None],
        batch_size: int = 32,
        show_progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (stance probs, sentiment probs), rows in input order, columns in label order."""
        import torch

        from detente.model.batching import predict_in_batches

        encodings = self.tokenizer.encode(texts, targets) if len(texts) else []

        def run(indices: list[int]) -> tuple[np.ndarray, np.ndarray]:
            feed = self.tokenizer.pad([encodings[i] for i in indices], self.pad_multiple)
            output = self.model(**{k: torch.from_numpy(v) for k, v in feed.items()})
            return (
                torch.softmax(output.stance_logits.float(), -1).numpy(),
                torch.softmax(output.sentiment_logits.float(), -1).numpy(),
            )

        lengths = [len(e.ids) for e in encodings]
        with torch.inference_mode():
            return predict_in_batches(self.config, lengths, run, batch_size, show_progress)


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
