"""`detente export --model DIR|default [--quantize/--no-quantize] [--check-data FILE ...]`.

Writes the model as ONNX graphs for ONNX Runtime (`model.onnx`, and `model.int8.onnx` with int8
weights) plus `onnx_export.json`, into the model directory (or, for the shipped default model or
a read-only directory, the user cache: `$DETENTE_CACHE_DIR` or ~/.cache/detente), then scores a check set with PyTorch fp32 and with each graph and prints how many
labels agree. Backends "onnx", "onnx-int8" and "auto" use these files; "auto" uses the int8
graph only when its measured agreement is at least 99% on both heads.

Check data: `.txt` files (articles or one sentence a line; split into sentences), `.jsonl`
files (field `text`, `sentence` or `sentence_normalized`, optional `target`). Without
`--check-data`, the example articles and the team-written statements are looked for under
the current directory (`../shared/data/examples`, `data/negotiation_stance/written`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_CHECK_GLOBS = (
    "../shared/data/examples/*.txt",
    "data/negotiation_stance/written/*.jsonl",
    "examples/*.txt",
)
BUILTIN_CHECK = [
    "Both sides said the talks in Geneva were constructive and agreed to meet again next week.",
    "The ministry rejected any negotiations while troops remain on its territory.",
    "Critics called the ceasefire proposal a trap that would only reward the aggressor.",
    "Diplomats gathered in Paris on Wednesday for talks about the ongoing tensions.",
    "Heavy shelling continued overnight in the east of the country, officials said.",
    "The president welcomed the mediation offer and said dialogue was the only way forward.",
    "Markets rose after reports that a prisoner exchange had been agreed.",
    "Talks collapsed after the delegation walked out, accusing the other side of bad faith.",
]
TEXT_FIELDS = ("text", "sentence", "sentence_normalized")


def _sentences_of(text: str) -> list[str]:
    from detente.serving.segment import segment

    return [s.text for s in segment(text) if len(s.text.split()) >= 3]


def read_check_data(paths: Iterable[Path]) -> tuple[list[str], list[str | None]]:
    """Sentences (and their targets, None: the model's default) from .txt and .jsonl files."""
    texts: list[str] = []
    targets: list[str | None] = []
    for path in paths:
        path = Path(path)
        if path.suffix == ".jsonl":
            with path.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except ValueError as exc:
                        raise ValueError(f"{path}:{number}: not JSON: {exc}") from None
                    text = next(
                        (record[f] for f in TEXT_FIELDS if isinstance(record.get(f), str)), None
                    )
                    if text is None:
                        raise ValueError(f"{path}:{number}: no {'/'.join(TEXT_FIELDS)} field")
                    target = record.get("target")
                    texts.append(" ".join(text.split()))
                    targets.append(target if isinstance(target, str) and target else None)
        else:
            for sentence in _sentences_of(path.read_text(encoding="utf-8", errors="replace")):
                texts.append(" ".join(sentence.split()))
                targets.append(None)
    return texts, targets


def default_check_files() -> list[Path]:
    found: list[Path] = []
    for pattern in DEFAULT_CHECK_GLOBS:
        found.extend(sorted(Path().glob(pattern)))
    return found


def export(
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model directory, 'default' or 'accurate'.")
    ] = "default",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the files (default: the model directory if writable and not "
            "the shipped default, else the cache). Backends find them only there or in the cache.",
        ),
    ] = None,
    quantize: Annotated[
        bool, typer.Option("--quantize/--no-quantize", help="Also write the int8 graph.")
    ] = True,
    check_data: Annotated[
        list[Path] | None,
        typer.Option(
            "--check-data",
            help="Sentences to check agreement with fp32 on (.txt or .jsonl; repeatable).",
        ),
    ] = None,
    check_limit: Annotated[
        int, typer.Option("--check-limit", help="Most check sentences to score.")
    ] = 2000,
    threads: Annotated[
        int | None, typer.Option("--threads", help="CPU threads (default: all).")
    ] = None,
) -> None:
    """Export a model to ONNX (fp32 and int8) and check agreement with PyTorch fp32."""
    import warnings

    from transformers.utils import logging as hf_logging

    from detente.model.backends import AGREEMENT_FLOOR, choose_backend, resolve_model_dir
    from detente.model.onnx_backend import cache_root, check_export, export_onnx, find_export
    from detente.serving.errors import CliError, loading_model

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    directory = resolve_model_dir(model)
    if not (directory / "detente_config.json").is_file():
        raise CliError(f"{directory} is not a detente model directory")
    if check_limit < 1:
        raise CliError("--check-limit must be at least 1")
    files = list(check_data or [])
    for path in files:
        if not path.is_file():
            raise CliError(f"--check-data {path}: no such file")
    try:
        texts, targets = read_check_data(files or default_check_files())
    except ValueError as exc:
        raise CliError(str(exc)) from None

    with loading_model(model), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = export_onnx(directory, output, quantize=quantize)
    for backend, path in result.files.items():
        typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {backend})")
    typer.echo(f"export took {result.seconds:.1f} s")
    found = find_export(directory)
    if found is None or found[0].resolve() != result.directory.resolve():
        typer.echo(
            f"note: backends look for the files in {directory} or under {cache_root()} only",
            err=True,
        )

    if not texts:
        texts, targets = list(BUILTIN_CHECK), [None] * len(BUILTIN_CHECK)
        typer.echo(
            f"note: no check data found; checking on {len(texts)} built-in sentences only "
            "(pass --check-data FILE for a real check)",
            err=True,
        )
    texts, targets = texts[:check_limit], targets[:check_limit]
    typer.echo(f"checking agreement with torch fp32 on {len(texts)} sentences")
    source = {"files": [str(p) for p in files or default_check_files()]}
    agreement = check_export(directory, result.directory, texts, targets, threads, source=source)
    for backend, found in agreement.items():
        typer.echo(
            f"{backend:10s} stance {found['stance']:.2%}  sentiment {found['sentiment']:.2%}  "
            f"max |p - p_fp32| {found['max_abs_diff']:.4f}  ({found['sentences_per_s']:.0f} "
            "sentences/s)"
        )
        if found["stance"] < AGREEMENT_FLOOR or found["sentiment"] < AGREEMENT_FLOOR:
            typer.echo(
                f"note: {backend} keeps fewer than {AGREEMENT_FLOOR:.0%} of the fp32 labels on "
                "one head; backend auto will not use it",
                err=True,
            )
    typer.echo(f"backend auto now resolves to {choose_backend(directory)}")
