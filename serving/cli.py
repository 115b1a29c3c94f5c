"""The `detente` command. Each subcommand lives beside the code it drives; every one runs
inside the error boundary of `serving/errors.py` (one exit code, one line per expected error).
"""

from __future__ import annotations

import typer

from detente.serving.batch_cli import batch
from detente.serving.errors import guarded
from detente.serving.export_cli import export
from detente.serving.manifest_cli import manifest
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
app.command("train")(guarded(train))
app.command("evaluate")(guarded(evaluate))
app.command("score")(guarded(score))
app.command("serve")(guarded(serve))
app.command("export")(guarded(export))
app.command("manifest")(guarded(manifest))
app.command("batch")(guarded(batch))


def main() -> None:
    app()
