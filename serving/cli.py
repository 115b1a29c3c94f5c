"""The `detente` command. Each subcommand lives beside the code it drives."""

from __future__ import annotations

import typer

from detente.serving.export_cli import export
from detente.serving.score_cli import score
from detente.serving.serve_cli import serve
from detente.training.evaluation.cli import evaluate
from detente.training.train_cli import train

app = typer.Typer(
    help="Stance toward negotiations and sentiment, sentence by sentence, for news.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("train")(train)
app.command("evaluate")(evaluate)
app.command("score")(score)
app.command("serve")(serve)
app.command("export")(export)


def main() -> None:
    app()
