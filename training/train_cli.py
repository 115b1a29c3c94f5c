"""Placeholder until this command is built."""

import typer


def train() -> None:
    """Not built yet."""
    typer.echo("detente train: not built yet", err=True)
    raise typer.Exit(2)
