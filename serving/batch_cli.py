"""`detente batch INPUT_DIR -o OUT_DIR [--address auto|ray://HOST:PORT] [--workers N]`.

Scores a directory of JSONL / Parquet article files (`id`, `text`) on Ray Data, one Parquet
file of sentence rows per input file (see detente.serving.ray_batch). Without --address it
starts a local Ray instance (workers x cpus-per-worker + 1 CPUs, no dashboard). A re-run skips
input files whose output is complete. Exit codes: 0 all scored, 1 some input files failed
(each problem on one line), 2 bad options, no Ray, an unloadable model or a failed Ray run,
130 interrupted.
Needs the `ray` extra: pip install -e '.[ray]'.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer


def _last_line(exc: BaseException) -> str:
    """Ray's errors carry remote tracebacks: their last line says what went wrong."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1].strip() if lines else ''}"


def batch(
    input_dir: Annotated[
        Path,
        typer.Argument(
            help="Directory of JSONL / Parquet files (searched recursively).", show_default=False
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Output directory: one Parquet file per input file."),
    ],
    address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to use: 'auto' (this node's), or ray://HOST:PORT. Default: "
            "start a local Ray instance."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Scoring actors, each with its own copy of the model. Default: the CPUs "
            "(local: this machine's, else the cluster's) / cpus-per-worker, less one."
        ),
    ] = None,
    cpus_per_worker: Annotated[
        int, typer.Option("--cpus-per-worker", help="CPUs (and torch threads) per actor.")
    ] = 1,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model directory, 'default' or 'accurate'.")
    ] = "default",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Sentences per batch.")] = 32,
    backend: Annotated[
        str,
        typer.Option(help="Inference backend of every actor (onnx needs `detente export` there)."),
    ] = "torch",
    target: Annotated[
        str | None,
        typer.Option("--target", "-t", help="Stance target (default: the model's, negotiations)."),
    ] = None,
    sentiment_target: Annotated[
        str | None,
        typer.Option("--sentiment-target", help="Score sentiment toward this instead."),
    ] = None,
    id_column: Annotated[str, typer.Option(help="Id field of the input records.")] = "id",
    text_column: Annotated[str, typer.Option(help="Text field of the input records.")] = "text",
) -> None:
    """Score a directory of article files on Ray: Parquet out, one row per sentence."""
    from detente.serving import ray_batch
    from detente.serving.errors import CliError
    from detente.serving.score_cli import load_scorer_or_exit

    if batch_size < 1 or cpus_per_worker < 1 or (workers is not None and workers < 1):
        raise CliError("--batch-size, --cpus-per-worker and --workers must be at least 1")
    try:
        ray_batch.import_ray()
        pending, done = ray_batch.plan(input_dir, output)
    except (ray_batch.RayMissingError, ray_batch.BatchError) as exc:
        raise CliError(str(exc)) from None
    if not pending and not done:
        raise CliError(f"{input_dir}: no .jsonl, .ndjson, .parquet or .pq files in this directory")
    if not pending:
        typer.echo(
            f"detente batch: all {len(done)} input files already scored in {output}", err=True
        )
        return
    load_scorer_or_exit(model, backend, batch_size)  # a bad model: one line, before Ray starts

    local_cpus = None
    if address is None:
        workers = workers or max(1, (os.cpu_count() or 2) // cpus_per_worker - 1)
        local_cpus = workers * cpus_per_worker + 1
    try:
        started = ray_batch.start_ray(address, local_cpus)
    except Exception as exc:  # a wrong address, a cluster that is down
        raise CliError(f"cannot start or reach Ray ({_last_line(exc)})") from None
    if workers is None:
        workers = max(1, ray_batch.cluster_cpus() // cpus_per_worker - 1)
    where = address or f"a local Ray instance ({local_cpus} CPUs)"
    typer.echo(
        f"detente batch: {len(pending)} input files to score ({len(done)} already done) "
        f"with {workers} workers on {where}",
        err=True,
    )

    def report(message: str) -> None:
        typer.echo(f"error: {message}", err=True)

    def progress(message: str) -> None:
        typer.echo(f"scored {message}", err=True)

    try:
        summary = ray_batch.run_batch(
            input_dir,
            output,
            model=model,
            backend=backend,
            workers=workers,
            cpus_per_worker=cpus_per_worker,
            batch_size=batch_size,
            target=target,
            sentiment_target=sentiment_target,
            id_column=id_column,
            text_column=text_column,
            report=report,
            progress=progress,
        )
    except KeyboardInterrupt:
        typer.echo("interrupted; completed files are kept, run again to resume", err=True)
        raise typer.Exit(130) from None
    except (ray_batch.import_ray().exceptions.RayError, OSError) as exc:  # else: a bug, traceback
        raise CliError(f"the Ray run failed ({_last_line(exc)}); run again to resume") from None
    finally:
        if started:
            ray_batch.import_ray().shutdown()
    rate = summary.articles / summary.seconds if summary.seconds else 0.0
    typer.echo(
        f"detente batch: {summary.files_scored} files scored ({summary.articles} articles, "
        f"{summary.sentences} sentences, {rate:.1f} articles/s), {summary.files_skipped} "
        f"skipped (already in {output}), {summary.files_failed} failed",
        err=True,
    )
    if summary.files_failed:
        raise typer.Exit(1)
