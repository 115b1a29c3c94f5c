"""Placeholder until this command is built."""

import typer


def export() -> None:
    """Not built yet."""
    typer.echo("detente export: not built yet", err=True)
    raise typer.Exit(2)
