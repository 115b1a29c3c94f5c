"""The batching loop every backend shares (no torch here, so the ONNX path stays light)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from detente.model.config import DetenteConfig

BatchRunner = Callable[[list[int]], tuple[np.ndarray, np.ndarray]]


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def predict_in_batches(
    config: DetenteConfig,
    lengths: Sequence[int],
    run_batch: BatchRunner,
    batch_size: int = 32,
    show_progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Run `run_batch(indices) -> (stance rows, sentiment rows)` over length-sorted batches and
    put the rows back in input order."""
    stance = np.zeros((len(lengths), len(config.stance_labels)), dtype=np.float32)
    sentiment = np.zeros((len(lengths), len(config.sentiment_labels)), dtype=np.float32)
    batches = length_batches(lengths, max(1, batch_size))
    for indices in tqdm(batches, disable=not show_progress, desc="scoring", unit="batch"):
        stance[indices], sentiment[indices] = run_batch(indices)
    return stance, sentiment
