"""Writing an evaluation: metrics.json, report.md (with PNG plots), misclassified.jsonl, and a
short plain-text table for the terminal."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from detente.training.evaluation.evaluator import HEADS, Evaluation

SUMMARY_HEADER = ("head", "system", "n", "accuracy", "macro-F1 [95% CI]", "F_avg [95% CI]", "ECE")
BASELINE_NAMES = {"majority": "majority class", "tfidf_lr": "TF-IDF + LR", "vader": "VADER"}


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _with_ci(metrics: dict[str, Any], key: str) -> str:
    if key not in metrics:
        return "-"
    ci = metrics.get("ci", {}).get(key)
    return f"{metrics[key]:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def summary_rows(metrics: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per head and system (the model first, then each baseline that ran)."""
    rows = []
    for head in HEADS:
        model = metrics["heads"].get(head)
        if model is None:
            continue
        ece = model["calibration"]["ece"]
        rows.append(
            (
                head,
                "model",
                str(model["n"]),
                _num(model["accuracy"]),
                _with_ci(model, "macro_f1"),
                _with_ci(model, "f_avg"),
                _num(ece),
            )
        )
        for name, per_head in metrics.get("baselines", {}).items():
            entry = per_head.get(head)
            if entry is None or "accuracy" not in entry:
                continue
            rows.append(
                (
                    head,
                    BASELINE_NAMES.get(name, name),
                    str(entry["n"]),
                    _num(entry["accuracy"]),
                    _with_ci(entry, "macro_f1"),
                    _with_ci(entry, "f_avg"),
                    "-",
                )
            )
    return rows


def _aligned(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def per_target_rows(per_target: dict[str, Any], group: str = "target") -> list[tuple[str, ...]]:
    """Header and one row per target (or conflict): n, and accuracy / macro-F1 per head, with
    F_avg and F1 against for stance."""
    heads = [h for h in HEADS if any(h in entry for entry in per_target.values())]
    header = [group, "n"]
    for head in heads:
        header += [f"{head} acc", f"{head} macro-F1"]
        header += ["F_avg", "F1 against"] if head == "stance" else []
    rows = [tuple(header)]
    for target, entry in per_target.items():
        row = [target, str(entry["n"])]
        for head in heads:
            m = entry.get(head, {})
            row += [_num(m.get("accuracy")), _num(m.get("macro_f1"))]
            if head == "stance":
                row += [_num(m.get("f_avg")), _num(m.get("f1_against"))]
        rows.append(tuple(row))
    return rows


def terminal_table(metrics: dict[str, Any]) -> str:
    """Aligned plain-text summary (model and baselines per head), then the per-target table."""
    lines = _aligned([SUMMARY_HEADER, *summary_rows(metrics)])
    if "per_target" in metrics:
        lines += ["", *_aligned(per_target_rows(metrics["per_target"]))]
    if "per_conflict" in metrics:
        lines += ["", *_aligned(per_target_rows(metrics["per_conflict"], "conflict"))]
    return "\n".join(lines)


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _head_section(head: str, m: dict[str, Any], plots: dict[str, str]) -> list[str]:
    labels = m["labels"]
    per_class = [
        (
            label,
            _num(c["precision"]),
            _num(c["recall"]),
            _num(c["f1"]),
            str(c["support"]),
            str(c["predicted"]),
        )
        for label, c in m["per_class"].items()
    ]
    confusion = [
        (f"**{label}**", *map(str, row)) for label, row in zip(labels, m["confusion"], strict=True)
    ]
    bins = [
        (
            f"{'[' if b['lower'] == 0 else '('}{b['lower']:.2f}, {b['upper']:.2f}]",
            str(b["count"]),
            _num(b.get("confidence")),
            _num(b.get("accuracy")),
        )
        for b in m["calibration"]["bins"]
    ]
    out = [f"## {head}", "", f"{m['n']} examples with a gold {head} label.", ""]
    out += [f"Accuracy {m['accuracy']:.3f}; macro-F1 {_with_ci(m, 'macro_f1')}"]
    if "f_avg" in m:
        out[-1] += f"; F_avg (F1 favor + F1 against) / 2 {_with_ci(m, 'f_avg')}"
    out += [
        "",
        "### Per class",
        "",
        _md_table(("class", "precision", "recall", "F1", "support", "predicted"), per_class),
    ]
    out += ["", "### Confusion matrix (rows gold, columns predicted)", ""]
    out += [_md_table(("gold \\ predicted", *labels), confusion), ""]
    if "confusion" in plots:
        out += [f"![{head} confusion matrix]({plots['confusion']})", ""]
    out += [
        "### Calibration",
        "",
        f"Expected calibration error: {m['calibration']['ece']:.4f} "
        f"({m['calibration']['n_bins']} equal-width bins over the top-class probability).",
        "",
    ]
    if "reliability" in plots:
        out += [f"![{head} reliability diagram]({plots['reliability']})", ""]
    out += [_md_table(("confidence bin", "count", "mean confidence", "accuracy"), bins), ""]
    return out


def _per_target_section(per_target: dict[str, Any], group: str = "target") -> list[str]:
    header, *rows = per_target_rows(per_target, group)
    return [f"## Per {group}", "", _md_table(header, rows), ""]


def _shorten(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown_report(
    evaluation: Evaluation,
    plots: dict[str, dict[str, str]],
    title_lines: list[str],
    worst: int = 10,
) -> str:
    metrics = evaluation.metrics
    out = ["# detente evaluation", "", *[f"- {line}" for line in title_lines], ""]
    out += ["## Summary", "", _md_table(SUMMARY_HEADER, summary_rows(metrics)), ""]
    settings = metrics["settings"]
    intervals = (
        f"Intervals: {settings['confidence']:.0%} percentile bootstrap over examples "
        f"({settings['bootstrap_resamples']} resamples, seed {settings['seed']})."
        if settings["bootstrap_resamples"]
        else "No bootstrap intervals (--bootstrap 0)."
    )
    out += [
        f"{intervals} Macro-F1 averages the classes present in gold or predictions; "
        "F_avg = (F1 favor + F1 against) / 2.",
        "",
    ]
    for head in HEADS:
        if head in metrics["heads"]:
            out += _head_section(head, metrics["heads"][head], plots.get(head, {}))
    if "per_target" in metrics:
        out += _per_target_section(metrics["per_target"])
    if "per_conflict" in metrics:
        out += _per_target_section(metrics["per_conflict"], "conflict")
    if "baselines" in metrics:
        out += ["## Baselines", ""]
        for name, per_head in metrics["baselines"].items():
            for head, entry in per_head.items():
                out.append(f"- {BASELINE_NAMES.get(name, name)} ({head}): {entry['note']}")
        out.append("")
    wrong = evaluation.misclassified
    out += [
        "## Misclassified",
        "",
        f"{len(wrong)} wrong predictions in `misclassified.jsonl`, "
        f"worst first (lowest probability on the gold label). The {min(worst, len(wrong))} worst:",
        "",
    ]
    rows = [
        (
            r["head"],
            _shorten(r["text"]),
            r["target"],
            r["gold"],
            r["predicted"],
            f"{r['gold_probability']:.3f}",
        )
        for r in wrong[:worst]
    ]
    out += [_md_table(("head", "text", "target", "gold", "predicted", "p(gold)"), rows), ""]
    if metrics.get("notes"):
        out += ["## Notes", "", *[f"- {note}" for note in metrics["notes"]], ""]
    return "\n".join(out)


def write_report(
    evaluation: Evaluation,
    directory: Path,
    title_lines: list[str] | None = None,
    with_plots: bool = True,
) -> dict[str, Path]:
    """Write metrics.json, misclassified.jsonl, report.md and the PNGs into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "metrics": directory / "metrics.json",
        "misclassified": directory / "misclassified.jsonl",
        "report": directory / "report.md",
    }
    paths["metrics"].write_text(
        json.dumps(evaluation.metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    with paths["misclassified"].open("w", encoding="utf-8") as handle:
        for row in evaluation.misclassified:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    plots: dict[str, dict[str, str]] = {}
    if with_plots:
        from detente.training.evaluation.plots import plot_confusion, plot_reliability

        for head, m in evaluation.metrics["heads"].items():
            confusion = plot_confusion(
                m["confusion"],
                m["labels"],
                f"{head}: confusion",
                directory / f"{head}_confusion.png",
            )
            reliability = plot_reliability(
                m["calibration"], f"{head}: reliability", directory / f"{head}_reliability.png"
            )
            plots[head] = {"confusion": confusion.name, "reliability": reliability.name}
            paths[f"{head}_confusion"], paths[f"{head}_reliability"] = confusion, reliability
    paths["report"].write_text(
        markdown_report(evaluation, plots, title_lines or []) + "\n", encoding="utf-8"
    )
    return paths
