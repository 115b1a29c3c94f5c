"""`detente manifest DIR [--check]`: write (or check) a model directory's manifest.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def manifest(
    directory: Annotated[Path, typer.Argument(help="Model directory.", show_default=False)],
    check: Annotated[
        bool, typer.Option("--check", help="Check the files against the manifest instead.")
    ] = False,
) -> None:
    """Write DIR/manifest.json with the SHA-256 of every model file (checked at load)."""
    from detente.model.manifest import MANIFEST_NAME, read_manifest, verify_manifest, write_manifest
    from detente.serving.errors import CliError

    if not directory.is_dir():
        raise CliError(f"{directory}: no such directory")
    if check:
        if not verify_manifest(directory):
            raise CliError(f"{directory}: no {MANIFEST_NAME} to check")
        count = len((read_manifest(directory) or {"files": {}})["files"])
        typer.echo(f"{directory}: {count} files match {MANIFEST_NAME}")
        return
    path = write_manifest(directory)
    count = len((read_manifest(directory) or {"files": {}})["files"])
    typer.echo(f"wrote {path} ({count} files)")
