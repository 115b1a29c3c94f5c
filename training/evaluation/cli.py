"""`detente evaluate --model DIR|default --data FILE_OR_CONFIG [--target TEXT] [--output DIR]`.

Loads the labelled split (a data file in canonical columns, or a YAML config's corpora), scores
it, and writes metrics.json, report.md with PNG plots, and misclassified.jsonl into the output
directory; prints a short table. Bad input is a one-line error and exit code 2.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer


def evaluate(
    data: Annotated[
        str,
        typer.Option(
            "--data", "-d", help="Labelled data file (csv/tsv/jsonl/parquet) or YAML config."
        ),
    ],
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model directory, 'default' or 'accurate'.")
    ] = "default",
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="Score every record with this target.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Report directory (default: runs/eval-<timestamp>)."),
    ] = None,
    split: Annotated[
        str, typer.Option("--split", help="Split of a config's corpora to evaluate.")
    ] = "dev",
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Bootstrap resamples for CIs (0: none).")
    ] = 1000,
    baselines: Annotated[
        bool, typer.Option("--baselines/--no-baselines", help="Also score the baselines.")
    ] = True,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Scoring batch size.")] = 32,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and baselines.")] = 0,
) -> None:
    """Evaluate a model on a labelled set and write a report."""
    from detente.model.backends import load_predictor, resolve_model_dir
    from detente.serving.errors import CliError, loading_model
    from detente.training.corpora import DataError, load_data_spec, load_training_corpora
    from detente.training.evaluation.evaluator import check_records, run_evaluation
    from detente.training.evaluation.report import terminal_table, write_report

    if bootstrap < 0 or batch_size < 1:
        raise CliError("--bootstrap must be >= 0 and --batch-size >= 1")
    records = load_data_spec(data, split)  # errors: one line from the CLI's boundary
    check_records(records)
    train_records, train_note = [], None
    if baselines:
        try:
            train_records = load_training_corpora(data)
        except (DataError, OSError) as exc:
            train_note = f"TF-IDF baseline has no training data: {exc}"
    model_dir = resolve_model_dir(model)
    if model == "default" and not model_dir.is_dir():
        raise CliError(
            f"the default model is not installed (expected at {model_dir}); use --model DIR"
        )
    with loading_model(model):
        predictor = load_predictor(model)

    typer.echo(f"evaluating {model_dir} on {len(records)} records from {data}", err=True)
    evaluation = run_evaluation(
        predictor,
        records,
        target=target,
        train_records=train_records,
        baselines=baselines,
        n_bootstrap=bootstrap,
        seed=seed,
        batch_size=batch_size,
        show_progress=True,
    )
    if train_note:
        evaluation.metrics["notes"].append(train_note)
    evaluation.metrics["model"] = str(model_dir)
    evaluation.metrics["data"]["spec"] = str(data)
    evaluation.metrics["data"]["split"] = split

    directory = output or Path("runs") / f"eval-{time.strftime('%Y%m%d-%H%M%S')}"
    title = [
        f"model: `{model_dir}`",
        f"data: `{data}` (split {split}), {len(records)} records",
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S')}",
    ]
    try:
        paths = write_report(evaluation, directory, title)
    except OSError as exc:
        raise CliError(f"cannot write the report to {directory}: {exc}") from None
    typer.echo(terminal_table(evaluation.metrics))
    for note in evaluation.metrics["notes"]:
        typer.echo(f"note: {note}")
    typer.echo(f"report written to {paths['report']}", err=True)
