"""`detente train --config configs/NAME.yaml [--output DIR] [--resume]`.

Reads top to bottom: validate the arguments and the config, set the seed, load the corpora,
train with dev selection, write the model and its metrics as JSON.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer


def dev_metrics(predictor, records) -> dict[str, float]:
    """Per-epoch dev metrics (the evaluation module's fast path)."""
    from detente.training.evaluation.evaluator import DevEvaluator

    return DevEvaluator(records)(predictor)


def train(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML experiment config.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Model directory to write (default: the config's)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the last checkpoint.")
    ] = False,
) -> None:
    """Fine-tune a stance-and-sentiment model on the corpora named in a config."""
    from detente.serving.errors import fail
    from detente.training.corpora import DataError, load_corpus
    from detente.training.trainer import Trainer, set_seed
    from detente.training.training_args import load_config

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        experiment = load_config(config)
        if not experiment.corpora:
            raise DataError(f"{config}: no corpora")
        output_dir = output or Path(experiment.output_dir)
        set_seed(experiment.training.seed)
        train_records = {
            c.name: load_corpus(c, "train", experiment.data_root) for c in experiment.corpora
        }
        dev_records = [
            r
            for c in experiment.eval_corpora("dev")
            for r in load_corpus(c, "dev", experiment.data_root)
        ]
    except DataError as exc:
        raise fail(str(exc)) from None
    if not dev_records:
        typer.echo(f"error: {config}: the corpora have no dev split to select on", err=True)
        raise typer.Exit(2)
    for name, records in train_records.items():
        typer.echo(f"train {name}: {len(records)} records", err=True)
    typer.echo(f"dev: {len(dev_records)} records", err=True)

    trainer = Trainer(experiment, train_records, dev_records, output_dir, dev_metrics)
    try:
        summary = trainer.train(resume=resume)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    typer.echo(json.dumps(summary["best"], indent=2))
    typer.echo(f"model written to {output_dir}", err=True)
