"""detente.model: the stance-and-sentiment classifier, its configuration, storage and inference."""

from pathlib import Path

from detente.model.config import (
    DEFAULT_TARGET,
    SENTIMENT_LABELS,
    STANCE_LABELS,
    DetenteConfig,
    LoraSettings,
)
from detente.model.modeling import DetenteModel
from detente.model.predict import TorchPredictor
from detente.model.serialization import ModelLoadError, load_model, save_model

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default"

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
