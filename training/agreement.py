"""Inter-annotator agreement of a double-annotation file, overall, per class and per conflict.

    python -m detente.training.agreement data/negotiation_stance/agreement/round2_double_annotation.jsonl

A double-annotation file has one line per item: ``{"id", "stance_1", "stance_2", "stance",
"sentiment_1", "sentiment_2", "sentiment"}`` (first pass, blind second pass, settled label).
Kappa is Cohen's (scikit-learn); a class's kappa is the kappa of "this class or not". The
conflict of an item is read from the corpus (`--corpus`), so per-conflict figures need no text.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from sklearn.metrics import cohen_kappa_score

from detente.training.negotiation_corpus import (
    SENTIMENTS,
    STANCES,
    CorpusError,
    read_entries,
    read_jsonl,
)

HEADS = {"stance": STANCES, "sentiment": SENTIMENTS}


def _kappa(first: list[str], second: list[str]) -> float | None:
    if len(set(first) | set(second)) < 2:
        return None
    return float(cohen_kappa_score(first, second))


def head_agreement(rows: list[dict[str, Any]], head: str) -> dict[str, Any]:
    """n, raw agreement, kappa and per-class kappa of one head over `rows`."""
    first = [r[f"{head}_1"] for r in rows]
    second = [r[f"{head}_2"] for r in rows]
    return {
        "n": len(rows),
        "agreement": sum(a == b for a, b in zip(first, second, strict=True)) / max(len(rows), 1),
        "kappa": _kappa(first, second),
        "per_class": {
            label: _kappa([a == label for a in first], [b == label for b in second])
            for label in HEADS[head]
        },
    }


def agreement_report(path: Path, corpus_dir: Path) -> dict[str, Any]:
    rows = [obj for _, obj in read_jsonl(path)]
    conflicts = {e.id: e.conflict for e in read_entries(corpus_dir)}
    by_conflict: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["id"] not in conflicts:
            raise CorpusError(f"{path}: id {row['id']!r} is not in the corpus {corpus_dir}")
        by_conflict[conflicts[row["id"]]].append(row)
    return {
        head: {
            "all": head_agreement(rows, head),
            "conflicts": {
                name: head_agreement(group, head)
                for name, group in sorted(by_conflict.items(), key=lambda kv: -len(kv[1]))
            },
            "changed_by_settling": sum(r[head] != r[f"{head}_1"] for r in rows),
        }
        for head in HEADS
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_report(report: dict[str, Any]) -> str:
    lines = []
    for head, labels in HEADS.items():
        entry = report[head]
        lines.append(f"{head}: settling changed {entry['changed_by_settling']} first-pass labels")
        lines.append(
            f"  {'group':<16}{'n':>6}{'agree':>8}{'kappa':>8}"
            + "".join(f"{label:>10}" for label in labels)
        )
        for name, stats in [("all", entry["all"]), *entry["conflicts"].items()]:
            lines.append(
                f"  {name:<16}{stats['n']:>6}{stats['agreement']:>8.3f}{_fmt(stats['kappa']):>8}"
                + "".join(f"{_fmt(stats['per_class'][label]):>10}" for label in labels)
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m detente.training.agreement", description=__doc__
    )
    parser.add_argument("path", type=Path, help="double-annotation JSONL")
    parser.add_argument("--corpus", type=Path, default=Path("data/negotiation_stance"))
    args = parser.parse_args(argv)
    try:
        print(format_report(agreement_report(args.path, args.corpus)))
    except (CorpusError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
