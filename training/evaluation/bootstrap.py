"""Seeded percentile bootstrap confidence intervals for confusion-matrix statistics."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from detente.training.evaluation.metrics import confusion

Statistic = Callable[[np.ndarray], float]


def bootstrap_ci(
    gold: np.ndarray,
    pred: np.ndarray,
    n_classes: int,
    statistics: dict[str, Statistic],
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """Percentile CI of each statistic (a function of the confusion matrix) over resamples.

    Examples are resampled with replacement, `n_resamples` times with a fixed seed, so the same
    inputs always give the same interval. All statistics share the same resamples.
    """
    gold = np.asarray(gold, dtype=int)
    pred = np.asarray(pred, dtype=int)
    if gold.size == 0 or n_resamples < 1:
        raise ValueError("bootstrap needs at least one example and one resample")
    rng = np.random.default_rng(seed)
    values = {name: np.empty(n_resamples) for name in statistics}
    for r in range(n_resamples):
        sample = rng.integers(0, gold.size, gold.size)
        matrix = confusion(gold[sample], pred[sample], n_classes)
        for name, statistic in statistics.items():
            values[name][r] = statistic(matrix)
    alpha = (1 - confidence) / 2 * 100
    return {
        name: (float(np.percentile(v, alpha)), float(np.percentile(v, 100 - alpha)))
        for name, v in values.items()
    }
