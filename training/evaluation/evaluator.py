"""Evaluating a predictor on labelled records: full reports and fast per-epoch dev metrics.

`run_evaluation` does everything the report needs (metrics, calibration, bootstrap CIs,
baselines, per-target breakdown, misclassified examples); `evaluate_records` returns just its
metrics dict. `DevEvaluator(records)(predictor)` is the fast path training calls every epoch:
one scoring pass and the headline metrics, nothing else.

Targets: a record without a target is scored with the model's default target; `target`
overrides every record's target. Both heads are scored in the same pass with the same target.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detente.model.backends import Predictor
from detente.training.evaluation import baselines as bl
from detente.training.evaluation.bootstrap import bootstrap_ci
from detente.training.evaluation.calibration import calibration
from detente.training.evaluation.metrics import (
    f_avg_from_confusion,
    has_f_avg,
    head_metrics,
    macro_f1_from_confusion,
)
from detente.training.records import Record

HEADS = ("stance", "sentiment")


class EvaluationError(ValueError):
    """Records that cannot be evaluated (none, no gold labels, a label the model lacks)."""


@dataclass
class HeadResult:
    """One head's evaluated examples: which records, gold, prediction and probabilities."""

    name: str
    labels: list[str]
    rows: np.ndarray  # indices into the evaluated records that have a gold label for this head
    gold: np.ndarray
    probs: np.ndarray
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def pred(self) -> np.ndarray:
        return self.probs.argmax(axis=1)


@dataclass
class Evaluation:
    """Everything a report is made of; `metrics` is what metrics.json holds."""

    metrics: dict[str, Any]
    heads: dict[str, HeadResult]
    misclassified: list[dict[str, Any]]
    records: list[Record]
    targets: list[str]


def head_labels(predictor: Predictor, head: str) -> list[str]:
    return list(getattr(predictor.config, f"{head}_labels"))


def resolve_targets(records: Sequence[Record], default: str, override: str | None) -> list[str]:
    return [override or record.target or default for record in records]


def check_records(records: Sequence[Record]) -> None:
    """Raise EvaluationError unless there are records and at least one head has gold labels."""
    if not records:
        raise EvaluationError("no records to evaluate")
    if not any(getattr(r, head) is not None for r in records for head in HEADS):
        raise EvaluationError("no gold labels for any head (stance or sentiment) in the data")


def _gold(records: Sequence[Record], head: str, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    rows, gold = [], []
    for i, record in enumerate(records):
        value = getattr(record, head)
        if value is None:
            continue
        if value not in labels:
            where = f"record {record.id or i}"
            raise EvaluationError(
                f"{where}: unknown {head} label {value!r} (the model knows {', '.join(labels)})"
            )
        rows.append(i)
        gold.append(labels.index(value))
    return np.array(rows, dtype=int), np.array(gold, dtype=int)


def score_heads(
    predictor: Predictor,
    records: Sequence[Record],
    targets: list[str],
    batch_size: int = 32,
    show_progress: bool = False,
) -> dict[str, HeadResult]:
    """Validate gold labels, score all records once, and split the result per labelled head."""
    check_records(records)
    gold = {head: _gold(records, head, head_labels(predictor, head)) for head in HEADS}
    probs = dict(
        zip(
            HEADS,
            predictor.predict_probs(
                [r.text for r in records],
                targets,
                batch_size=batch_size,
                show_progress=show_progress,
            ),
            strict=True,
        )
    )
    return {
        head: HeadResult(head, head_labels(predictor, head), rows, g, np.asarray(probs[head])[rows])
        for head, (rows, g) in gold.items()
        if rows.size
    }


def flat_head_metrics(head: str, metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    keys = ("accuracy", "macro_f1", "f_avg")
    return {f"{prefix}{head}.{k}": metrics[k] for k in keys if k in metrics}


def mean_macro_f1(flat: dict[str, Any]) -> float:
    values = [flat[f"{head}.macro_f1"] for head in HEADS if f"{head}.macro_f1" in flat]
    return float(np.mean(values))


class Evaluator:
    """Something training can call with a predictor to get a flat dict of scores."""

    primary_metric: str = "mean_macro_f1"
    greater_is_better: bool = True

    def __call__(self, predictor: Predictor) -> dict[str, float]:
        raise NotImplementedError


class DevEvaluator(Evaluator):
    """Fast dev metrics: one scoring pass; accuracy, macro-F1 (and F_avg) per labelled head.

    Keys: `stance.accuracy`, `stance.macro_f1`, `stance.f_avg`, `sentiment.accuracy`,
    `sentiment.macro_f1` (for the heads with gold labels), `mean_macro_f1` (the mean of the
    heads' macro-F1, the default `primary_metric`) and `n`.
    """

    def __init__(
        self, records: Sequence[Record], target: str | None = None, batch_size: int = 64
    ) -> None:
        check_records(records)
        self.records = list(records)
        self.target = target
        self.batch_size = batch_size

    def __call__(self, predictor: Predictor) -> dict[str, float]:
        targets = resolve_targets(self.records, predictor.config.default_target, self.target)
        heads = score_heads(predictor, self.records, targets, self.batch_size)
        flat: dict[str, float] = {"n": float(len(self.records))}
        for head, result in heads.items():
            flat.update(
                flat_head_metrics(head, head_metrics(result.gold, result.pred, result.labels))
            )
        flat["mean_macro_f1"] = mean_macro_f1(flat)
        return flat


def _intervals(
    result: HeadResult, n_resamples: int, confidence: float, seed: int
) -> dict[str, tuple[float, float]]:
    statistics = {"macro_f1": macro_f1_from_confusion}
    if has_f_avg(result.labels):
        statistics["f_avg"] = lambda matrix: f_avg_from_confusion(matrix, result.labels)
    return bootstrap_ci(
        result.gold, result.pred, len(result.labels), statistics, n_resamples, confidence, seed
    )


def _baselines(
    heads: dict[str, HeadResult],
    records: Sequence[Record],
    targets: list[str],
    train_records: Sequence[Record],
    default_target: str,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """Baseline name -> head -> metrics (or a skip note)."""
    out: dict[str, dict[str, Any]] = {"majority": {}, "tfidf_lr": {}}
    train_pairs = [bl.pair_text(r.text, r.target or default_target) for r in train_records]
    for head, result in heads.items():
        eval_pairs = [bl.pair_text(records[i].text, targets[i]) for i in result.rows]
        train_gold = [getattr(r, head) for r in train_records]
        predictions = {
            "majority": bl.majority(
                [y for y in train_gold if y is not None], result.gold, result.labels
            ),
            "tfidf_lr": bl.tfidf_lr(train_pairs, train_gold, eval_pairs, result.labels, seed),
        }
        if head == "sentiment":
            predictions["vader"] = bl.vader([records[i].text for i in result.rows], result.labels)
        for name, (pred, note) in predictions.items():
            entry: dict[str, Any] = {"note": note}
            if pred is not None:
                entry.update(head_metrics(result.gold, pred, result.labels))
            out.setdefault(name, {})[head] = entry
    return out


def _per_group(heads: dict[str, HeadResult], groups: list[str]) -> dict[str, dict[str, Any]]:
    """Metrics per value of `groups` (one key per record: its target, or its conflict)."""
    per: dict[str, dict[str, Any]] = {}
    for name in sorted(set(groups), key=lambda t: (-groups.count(t), t)):
        entry: dict[str, Any] = {"n": groups.count(name)}
        for head, result in heads.items():
            mask = np.array([groups[i] == name for i in result.rows], dtype=bool)
            if mask.any():
                metrics = head_metrics(result.gold[mask], result.pred[mask], result.labels)
                entry[head] = {
                    k: metrics[k] for k in ("n", "accuracy", "macro_f1", "f_avg") if k in metrics
                }
                if "against" in metrics["per_class"]:
                    entry[head]["f1_against"] = metrics["per_class"]["against"]["f1"]
        per[name] = entry
    return per


def _misclassified(
    heads: dict[str, HeadResult], records: Sequence[Record], targets: list[str]
) -> list[dict[str, Any]]:
    """Wrong predictions of every head, worst first (lowest probability given to the gold label)."""
    rows = []
    for head, result in heads.items():
        pred = result.pred
        for k in np.flatnonzero(pred != result.gold):
            i = int(result.rows[k])
            probs = result.probs[k]
            rows.append(
                {
                    "id": records[i].id,
                    "head": head,
                    "text": records[i].text,
                    "target": targets[i],
                    "gold": result.labels[result.gold[k]],
                    "predicted": result.labels[pred[k]],
                    "gold_probability": round(float(probs[result.gold[k]]), 4),
                    "probabilities": {
                        label: round(float(p), 4)
                        for label, p in zip(result.labels, probs, strict=True)
                    },
                }
            )
    rows.sort(key=lambda row: (row["gold_probability"], -max(row["probabilities"].values())))
    return rows


def run_evaluation(
    predictor: Predictor,
    records: Sequence[Record],
    *,
    target: str | None = None,
    train_records: Sequence[Record] | None = None,
    baselines: bool = True,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    n_bins: int = 10,
    max_targets: int = 20,
    seed: int = 0,
    batch_size: int = 32,
    show_progress: bool = False,
) -> Evaluation:
    """The full evaluation behind `detente evaluate` (see the module docstring)."""
    records = list(records)
    default_target = predictor.config.default_target
    targets = resolve_targets(records, default_target, target)
    heads = score_heads(predictor, records, targets, batch_size, show_progress)
    notes: list[str] = []
    untargeted = sum(1 for r in records if r.target is None)
    if target:
        notes.append(f"every record scored with target {target!r} (--target)")
    elif untargeted:
        notes.append(f"{untargeted} records without a target scored with {default_target!r}")

    flat: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    for head, result in heads.items():
        metrics = head_metrics(result.gold, result.pred, result.labels)
        metrics["calibration"] = calibration(result.probs, result.gold, n_bins)
        flat.update(flat_head_metrics(head, metrics))
        flat[f"{head}.n"] = metrics["n"]
        flat[f"{head}.ece"] = metrics["calibration"]["ece"]
        for label, row in metrics["per_class"].items():
            flat[f"{head}.f1.{label}"] = row["f1"]
        if n_bootstrap > 0:
            metrics["ci"] = _intervals(result, n_bootstrap, confidence, seed)
            for name, (low, high) in metrics["ci"].items():
                flat[f"{head}.{name}_ci_low"], flat[f"{head}.{name}_ci_high"] = low, high
        result.metrics = metrics
        detail[head] = metrics
    flat["mean_macro_f1"] = mean_macro_f1(flat)

    output: dict[str, Any] = {**flat, "heads": detail}
    if baselines:
        output["baselines"] = _baselines(
            heads, records, targets, train_records or [], default_target, seed
        )
        for name, per_head in output["baselines"].items():
            for head, metrics in per_head.items():
                flat_b = flat_head_metrics(head, metrics, prefix=f"baseline.{name}.")
                output.update(flat_b)
    distinct = len(set(targets))
    if 1 < distinct <= max_targets:
        output["per_target"] = _per_group(heads, targets)
    elif distinct > max_targets:
        notes.append(f"{distinct} distinct targets: per-target breakdown skipped (> {max_targets})")
    conflicts = [r.conflict for r in records]
    if any(conflicts):
        output["per_conflict"] = _per_group(heads, [c or "unknown" for c in conflicts])
    output["data"] = {
        "n_records": len(records),
        "n_targets": distinct,
        "gold_counts": {
            head: dict(Counter(result.labels[g] for g in result.gold))
            for head, result in heads.items()
        },
    }
    output["settings"] = {
        "target": target,
        "default_target": default_target,
        "bootstrap_resamples": n_bootstrap,
        "confidence": confidence,
        "calibration_bins": n_bins,
        "seed": seed,
    }
    output["notes"] = notes
    return Evaluation(output, heads, _misclassified(heads, records, targets), records, targets)


def evaluate_records(predictor: Predictor, records: Sequence[Record], **kwargs: Any) -> dict:
    """The metrics dict of `run_evaluation` (same keyword arguments)."""
    return run_evaluation(predictor, records, **kwargs).metrics
