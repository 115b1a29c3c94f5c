"""Placeholder until this command is built."""

import typer


def score() -> None:
    """Not built yet."""
    typer.echo("detente score: not built yet", err=True)
    raise typer.Exit(2)
