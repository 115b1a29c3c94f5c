"""detente.model: the stance-and-sentiment classifier, its configuration, storage and inference.

Importing the package is light (no torch): the torch-based parts load on first use, so a
serving process on the ONNX backend never imports torch.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from detente.model.config import (
    DEFAULT_TARGET,
    SENTIMENT_LABELS,
    STANCE_LABELS,
    DetenteConfig,
    LoraSettings,
)

if TYPE_CHECKING:
    from detente.model.modeling import DetenteModel
    from detente.model.predict import TorchPredictor
    from detente.model.serialization import ModelLoadError, load_model, save_model

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default"

_LAZY = {
    "DetenteModel": "detente.model.modeling",
    "TorchPredictor": "detente.model.predict",
    "ModelLoadError": "detente.model.serialization",
    "load_model": "detente.model.serialization",
    "save_model": "detente.model.serialization",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'detente.model' has no attribute {name!r}")


__all__ = [
    "DEFAULT_MODEL_DIR",
    "DEFAULT_TARGET",
    "SENTIMENT_LABELS",
    "STANCE_LABELS",
    "DetenteConfig",
    "DetenteModel",
    "LoraSettings",
    "ModelLoadError",
    "TorchPredictor",
    "load_model",
    "save_model",
]
