"""Batched inference: tokenise once, sort by length, pad per batch, run under inference_mode."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from detente.model.batching import predict_in_batches
from detente.model.modeling import DetenteModel


def set_threads(threads: int | None = None) -> int:
    """Use the cores this process may run on (at most what the caller asks)."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    count = max(1, min(threads or available or 1, available or 1))
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count


def encode_pairs(
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    targets: Sequence[str | None],
    max_length: int,
) -> list[dict[str, list[int]]]:
    """Tokenise `[CLS] target [SEP] text [SEP]` (or `[CLS] text [SEP]` without a target)."""
    if len(texts) != len(targets):
        raise ValueError(f"{len(texts)} texts but {len(targets)} targets")
    encoded: list[dict[str, list[int]]] = [{} for _ in texts]
    paired = [i for i, target in enumerate(targets) if target]
    single = [i for i, target in enumerate(targets) if not target]
    if paired:
        batch = tokenizer(
            [targets[i] for i in paired],
            [texts[i] for i in paired],
            truncation="only_second",
            max_length=max_length,
        )
        for row, index in enumerate(paired):
            encoded[index] = {key: values[row] for key, values in batch.items()}
    if single:
        batch = tokenizer([texts[i] for i in single], truncation=True, max_length=max_length)
        for row, index in enumerate(single):
            encoded[index] = {key: values[row] for key, values in batch.items()}
    return encoded


class TorchPredictor:
    """Stance and sentiment probabilities from a PyTorch detente model (fp32 or bf16)."""

    name = "torch"

    def __init__(
        self,
        model: DetenteModel,
        tokenizer: PreTrainedTokenizerBase,
        dtype: torch.dtype = torch.float32,
        threads: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.model = model.eval()
        self.device = torch.device(device)
        self.tokenizer = tokenizer
        self.dtype = dtype
        self.config = model.config
        set_threads(threads)

    def predict_probs(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None],
        batch_size: int = 32,
        show_progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (stance probs, sentiment probs), rows in input order, columns in label order."""
        encoded = encode_pairs(self.tokenizer, texts, targets, self.config.max_length)
        autocast = self.dtype != torch.float32

        def run(indices: list[int]) -> tuple[np.ndarray, np.ndarray]:
            batch = self.tokenizer.pad([encoded[i] for i in indices], return_tensors="pt")
            with torch.autocast(self.device.type, dtype=self.dtype, enabled=autocast):
                output = self.model(**{k: v.to(self.device) for k, v in batch.items()})
            return (
                torch.softmax(output.stance_logits.float(), -1).cpu().numpy(),
                torch.softmax(output.sentiment_logits.float(), -1).cpu().numpy(),
            )

        lengths = [len(e["input_ids"]) for e in encoded]
        with torch.inference_mode():
            return predict_in_batches(self.config, lengths, run, batch_size, show_progress)
