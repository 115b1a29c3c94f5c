"""Placeholder until this command is built."""

import typer


def serve() -> None:
    """Not built yet."""
    typer.echo("detente serve: not built yet", err=True)
    raise typer.Exit(2)
