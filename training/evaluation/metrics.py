"""Classification metrics for one head, from gold and predicted label indices.

Conventions (a class absent from gold or from predictions never crashes):
- per-class precision / recall / F1 use scikit-learn with `zero_division=0`, for every label of
  the head; a class with no gold examples has support 0, recall 0 and F1 0.
- macro-F1 averages over the classes that occur in gold or in the predictions (scikit-learn's
  default label set); a class absent from both is undefined and left out of the mean.
- F_avg (SemEval-2016 Task 6) = (F1 favor + F1 against) / 2, always over both classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

F_AVG_CLASSES = ("favor", "against")


def has_f_avg(labels: Sequence[str]) -> bool:
    return all(name in labels for name in F_AVG_CLASSES)


def macro_f1_from_confusion(matrix: np.ndarray) -> float:
    """Macro-F1 from a confusion matrix (rows gold, columns predicted), classes seen only."""
    tp = np.diag(matrix).astype(float)
    gold = matrix.sum(axis=1)
    pred = matrix.sum(axis=0)
    seen = (gold + pred) > 0
    if not seen.any():
        return 0.0
    f1 = 2 * tp[seen] / (gold[seen] + pred[seen])
    return float(f1.mean())


def f1_per_class_from_confusion(matrix: np.ndarray) -> np.ndarray:
    """Per-class F1 = 2 TP / (2 TP + FP + FN), 0 where a class is absent from gold and predictions."""
    tp = np.diag(matrix).astype(float)
    denominator = matrix.sum(axis=1) + matrix.sum(axis=0)
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)


def confusion(gold: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrix by bincount (fast; used inside the bootstrap)."""
    flat = np.bincount(gold * n_classes + pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def f_avg_from_confusion(matrix: np.ndarray, labels: Sequence[str]) -> float:
    f1 = f1_per_class_from_confusion(matrix)
    return float(np.mean([f1[list(labels).index(name)] for name in F_AVG_CLASSES]))


def head_metrics(gold: np.ndarray, pred: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class P/R/F1/support, confusion matrix, and F_avg for stance.

    `gold` and `pred` are integer indices into `labels`; they must be non-empty.
    """
    gold = np.asarray(gold, dtype=int)
    pred = np.asarray(pred, dtype=int)
    if gold.shape != pred.shape or gold.size == 0:
        raise ValueError("gold and predictions must be non-empty and of equal length")
    indices = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, pred, labels=indices, zero_division=0
    )
    seen = sorted(set(gold.tolist()) | set(pred.tolist()))
    result: dict[str, Any] = {
        "n": int(gold.size),
        "accuracy": float(accuracy_score(gold, pred)),
        "macro_f1": float(np.mean([f1[i] for i in seen])),
        "labels": list(labels),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
                "predicted": int((pred == i).sum()),
            }
            for i, name in enumerate(labels)
        },
        "confusion": confusion_matrix(gold, pred, labels=indices).tolist(),
    }
    if has_f_avg(labels):
        result["f_avg"] = float(np.mean([f1[list(labels).index(c)] for c in F_AVG_CLASSES]))
    return result
