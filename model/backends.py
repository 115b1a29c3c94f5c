"""Choosing how a saved model is executed: `load_predictor(directory, backend)`.

Every predictor has `.config` (a DetenteConfig: labels, default target, max length) and
`predict_probs(texts, targets, batch_size=32, show_progress=False) -> (stance, sentiment)`
returning float32 arrays of probabilities, rows in input order, columns in label order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
from detente.model.config import DetenteConfig

BACKENDS = ("torch",)


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


def load_predictor(
    model: str | Path | None = None, backend: str = "torch", threads: int | None = None
) -> Predictor:
    directory = resolve_model_dir(model)
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    from detente.model.predict import TorchPredictor
    from detente.model.serialization import load_model

    return TorchPredictor(*load_model(directory), threads=threads)
