"""`detente serve [--host 127.0.0.1] [--port 8000] [--model DIR|default]`: the HTTP service.

The model is loaded once, before the server starts, so a model that cannot be loaded is a
one-line error (exit code 2) rather than a server that never becomes ready. The server binds
127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="Address to bind (0.0.0.0: every interface).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model directory, 'default' or 'accurate'.")
    ] = "default",
    backend: Annotated[str, typer.Option(help="Inference backend.")] = "torch",
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", help="Largest request body accepted (else 413).")
    ] = 1_000_000,
    max_batch: Annotated[
        int, typer.Option("--max-batch", help="Most articles in one batch request.")
    ] = 64,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Sentences per batch.")] = 32,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds a scoring request may take (else 504).")
    ] = 60.0,
    max_pending: Annotated[
        int,
        typer.Option("--max-pending", help="Scoring requests admitted at once (else 503)."),
    ] = 32,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the scoring API, its docs (/docs) and the page (/) over HTTP."""
    import uvicorn

    from detente.serving.errors import CliError
    from detente.serving.http import create_app
    from detente.serving.score_cli import load_scorer_or_exit

    if not 0 <= port <= 65535:
        raise CliError(f"--port {port} is not a port number")
    if min(max_bytes, max_batch, batch_size, max_pending) < 1 or not timeout > 0:
        raise CliError(
            "--max-bytes, --max-batch, --batch-size, --max-pending and --timeout must be positive"
        )
    scorer = load_scorer_or_exit(model, backend, batch_size)
    app = create_app(
        scorer, max_bytes=max_bytes, max_batch=max_batch, timeout_s=timeout, max_pending=max_pending
    )
    typer.echo(f"detente: serving on http://{host}:{port} (docs: /docs, page: /)", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
