"""One encoder, two heads: stance toward a target and sentiment, from one forward pass.

Input is the pair `[CLS] target [SEP] sentence [SEP]`. The stance head reads stance toward the
target. The sentiment head reads the sentiment of the sentence as focused by the first
segment: for a stance target such as "negotiations" (the default) it is trained on
sentence-level sentiment, for a mention such as "Trump" (NewsMTSC) on sentiment toward that
mention. So the common case, stance toward a target plus the sentence's own sentiment, costs one
pass; sentiment toward another target costs a second pass over the pair with that target.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedTokenizerBase

from detente.model.base import base_sha256, resolve_base_path
from detente.model.config import BaseModelInfo, DetenteConfig


@dataclass
class ModelOutput:
    stance_logits: torch.Tensor
    sentiment_logits: torch.Tensor
    loss: torch.Tensor | None = None


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-6)


class DetenteModel(nn.Module):
    """Transformer encoder with a stance head and a sentiment head over mean-pooled tokens."""

    def __init__(self, config: DetenteConfig, encoder: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(config.dropout)
        self.stance_head = nn.Linear(hidden, len(config.stance_labels))
        self.sentiment_head = nn.Linear(hidden, len(config.sentiment_labels))

    @classmethod
    def from_base(cls, config: DetenteConfig, load_weights: bool = True) -> DetenteModel:
        """Build a model around the base encoder (pretrained weights, new heads, LoRA if set)."""
        path = resolve_base_path(config.base.name)
        if load_weights:
            encoder = AutoModel.from_pretrained(path, attn_implementation="eager")
        else:
            encoder = AutoModel.from_config(
                AutoConfig.from_pretrained(path), attn_implementation="eager"
            )
        if config.method == "lora":
            from peft import LoraConfig, get_peft_model

            assert config.lora is not None
            encoder = get_peft_model(
                encoder,
                LoraConfig(
                    r=config.lora.r,
                    lora_alpha=config.lora.alpha,
                    lora_dropout=config.lora.dropout,
                    target_modules=list(config.lora.target_modules),
                    bias="none",
                ),
            )
        elif config.freeze_embeddings:
            for param in encoder.embeddings.parameters():
                param.requires_grad = False
        return cls(config, encoder)

    @staticmethod
    def new_config(base_name: str, **kwargs) -> DetenteConfig:
        path = resolve_base_path(base_name)
        return DetenteConfig(base=BaseModelInfo(name=base_name, sha256=base_sha256(path)), **kwargs)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        stance_labels: torch.Tensor | None = None,
        sentiment_labels: torch.Tensor | None = None,
        stance_weight: torch.Tensor | None = None,
        sentiment_weight: torch.Tensor | None = None,
        stance_soft: torch.Tensor | None = None,
        sentiment_soft: torch.Tensor | None = None,
    ) -> ModelOutput:
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**kwargs).last_hidden_state
        pooled = self.dropout(mean_pool(hidden, attention_mask))
        output = ModelOutput(self.stance_head(pooled), self.sentiment_head(pooled))
        if stance_labels is not None or sentiment_labels is not None:
            output.loss = masked_loss(output.stance_logits, stance_labels, stance_weight) + (
                masked_loss(output.sentiment_logits, sentiment_labels, sentiment_weight)
            )
        if stance_soft is not None or sentiment_soft is not None:
            soft = soft_loss(output.stance_logits, stance_soft) + soft_loss(
                output.sentiment_logits, sentiment_soft
            )
            output.loss = soft if output.loss is None else output.loss + soft
        return output

    def merge_adapters(self) -> None:
        """Fold LoRA weights into the encoder for inference (no-op for full fine-tuning)."""
        if hasattr(self.encoder, "merge_and_unload"):
            self.encoder = self.encoder.merge_and_unload()


IGNORE = -100


def masked_loss(
    logits: torch.Tensor, labels: torch.Tensor | None, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy over the rows that carry this head's label (label -100 = missing).

    A batch with no label for the head contributes zero, so corpora labelled for only one head
    train the shared encoder through the other head alone.
    """
    if labels is None or not bool((labels != IGNORE).any()):
        return logits.sum() * 0.0
    return nn.functional.cross_entropy(logits.float(), labels, weight=weight, ignore_index=IGNORE)


def soft_loss(logits: torch.Tensor, soft: torch.Tensor | None) -> torch.Tensor:
    """Cross-entropy against a teacher's probabilities, over the rows that have them.

    `soft` is (batch, classes); a row whose first entry is negative has no soft label. The loss
    is averaged over the rows that have one, like `masked_loss` over labelled rows.
    """
    if soft is None:
        return logits.sum() * 0.0
    rows = soft[:, 0] >= 0
    if not bool(rows.any()):
        return logits.sum() * 0.0
    log_probs = nn.functional.log_softmax(logits[rows].float(), dim=-1)
    return -(soft[rows].float() * log_probs).sum(-1).mean()


def load_tokenizer(path: Path) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(path)
