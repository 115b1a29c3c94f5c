"""Expected calibration error over the top-label confidence, with equal-width bins.

Confidence is the highest class probability. Bin b covers (b/B, (b+1)/B] (the first bin also
takes 0). ECE = sum over bins of (n_b / N) * |accuracy_b - mean confidence_b|.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def bin_index(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each confidence: ceil(c * B) - 1, clipped to [0, B - 1].

    The product is rounded first so that a boundary such as 0.7 falls in (0.6, 0.7], not in
    (0.7, 0.8] because 0.7 * 10 is 7.000000000000001 in floating point.
    """
    scaled = np.round(np.asarray(confidence, dtype=float) * n_bins, 9)
    return np.clip(np.ceil(scaled).astype(int) - 1, 0, n_bins - 1)


def calibration(probs: np.ndarray, gold: np.ndarray, n_bins: int = 10) -> dict[str, Any]:
    """ECE and the per-bin table behind a reliability diagram.

    `probs` is (N, classes), `gold` holds N class indices. Empty bins are listed with count 0.
    """
    probs = np.asarray(probs, dtype=float)
    gold = np.asarray(gold, dtype=int)
    if probs.ndim != 2 or probs.shape[0] != gold.shape[0] or gold.size == 0:
        raise ValueError("probs must be (N, classes) with N = len(gold) > 0")
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == gold).astype(float)
    bins = bin_index(confidence, n_bins)
    ece = 0.0
    table = []
    for b in range(n_bins):
        mask = bins == b
        count = int(mask.sum())
        row: dict[str, Any] = {"lower": b / n_bins, "upper": (b + 1) / n_bins, "count": count}
        if count:
            row["confidence"] = float(confidence[mask].mean())
            row["accuracy"] = float(correct[mask].mean())
            ece += count / gold.size * abs(row["accuracy"] - row["confidence"])
        table.append(row)
    return {"ece": float(ece), "n_bins": n_bins, "bins": table}
