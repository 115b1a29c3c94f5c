"""Placeholder until this command is built."""

import typer


def evaluate() -> None:
    """Not built yet."""
    typer.echo("detente evaluate: not built yet", err=True)
    raise typer.Exit(2)
