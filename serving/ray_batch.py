"""Scale-out batch scoring on Ray Data: the engine behind `detente batch`.

    INPUT_DIR/**/*.jsonl|.ndjson|.parquet|.pq   articles: `id`, `text`
        -> Ray Data read (one read task streams whole files, records numbered by line / row)
        -> map_batches on a pool of actors, each loading the model once (detente Scorer)
        -> OUT_DIR/<same relative path>.parquet  one row per sentence

Output rows hold the article's fields (`id`, `target`, `sentiment_target`, `source_format`
and any later scalar field of `ArticleResult`), `sentence_index`, `sentence_count` and every
field of `SentenceResult` (stance and sentiment as `{label, probs}` structs), derived from the
dataclasses in `detente.serving.results`, so a field added there reaches the output without
a change here. An article without sentences gets one row with `sentence_count` 0. The
article's full text and its summary are not repeated on every sentence row (the summary is
`detente.serving.summary.summarize` over the rows).

Resume: one output file per input file. The driver writes it under a hidden temporary name
and renames it when the input file's last article has arrived, so a file under its final
name is always complete, and a re-run skips input files whose output exists. An input file
with an unusable record (bad JSON, no `id` or `text`, a duplicate id) gets no output; each
problem is reported on one line naming file, line (or Parquet row) and field, the other
files are scored, and the exit code is 1.

This is the only module of the project that imports Ray, and only inside functions: install
it with `pip install -e '.[ray]'`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import time
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detente.serving.results import ArticleResult, LabelScores, SentenceResult

INPUT_SUFFIXES = {".jsonl", ".ndjson", ".parquet", ".pq"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
RECORDS_PER_BLOCK = 256  # articles per block a read task yields
ARTICLES_PER_BATCH = 32  # articles per map_batches call on an actor
ROWS_PER_GROUP = 8192  # output Parquet row group size (sentences)
ERRORS_SHOWN_PER_FILE = 5
READ_CHUNK_BYTES = 1 << 20
LOCAL_START_ATTEMPTS = 3

# The article fields not put on sentence rows: exploded, or too big to repeat per sentence.
ARTICLE_FIELDS_LEFT_OUT = {"sentences", "text", "summary"}
CONTROL_COLUMNS = ["_path", "_line", "_kind", "_error"]
INSTALL_HINT = "pip install -e '.[ray]'"

Report = Callable[[str], None]


class RayMissingError(RuntimeError):
    """Ray (the `ray` extra) is not installed."""


class BatchError(RuntimeError):
    """A problem with the command's input or output directories (one line)."""


def import_ray() -> Any:
    """`ray` with Ray Data, or RayMissingError naming the extra to install."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise RayMissingError(
            f"Ray is not installed ({exc.msg}); install the extra: {INSTALL_HINT}"
        ) from None
    return ray


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class InputFile:
    path: Path
    relative: str  # path relative to the input directory, for messages and metadata
    output: Path

    @property
    def staging(self) -> Path:
        return staging_path(self.output)


def staging_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.partial")


def output_path(out_dir: Path, relative: Path) -> Path:
    return out_dir / relative.parent / f"{relative.stem}.parquet"


def list_inputs(input_dir: Path, out_dir: Path) -> list[InputFile]:
    """The JSONL and Parquet files under `input_dir` (hidden ones and `out_dir` left out)."""
    if not input_dir.is_dir():
        raise BatchError(f"{input_dir}: not a directory")
    out_resolved = out_dir.resolve()
    found: list[InputFile] = []
    outputs: dict[Path, str] = {}
    for path in sorted(input_dir.rglob("*")):
        relative = path.relative_to(input_dir)
        if any(part.startswith((".", "_")) for part in relative.parts):
            continue
        if path.suffix.lower() not in INPUT_SUFFIXES or not path.is_file():
            continue
        resolved = path.resolve()
        if resolved == out_resolved or out_resolved in resolved.parents:
            continue
        output = output_path(out_dir, relative)
        if output in outputs:
            raise BatchError(
                f"{input_dir / relative} and {input_dir / outputs[output]} would both be "
                f"written to {output}; rename one of them"
            )
        outputs[output] = str(relative)
        found.append(InputFile(path, str(relative), output))
    return found


def plan(input_dir: Path, out_dir: Path) -> tuple[list[InputFile], list[InputFile]]:
    """(pending, done): input files without and with a complete output."""
    files = list_inputs(input_dir, out_dir)
    pending = [f for f in files if not f.output.exists()]
    done = [f for f in files if f.output.exists()]
    return pending, done


# --------------------------------------------------------------------------- reading records


def _record(path: str, line: int, kind: str, error: str | None = None, **values: Any) -> dict:
    return {"_path": path, "_line": line, "_kind": kind, "_error": error, **values}


class _RecordCheck:
    """Turns raw records into article rows or one-line error rows; ids unique per file."""

    def __init__(self, path: str, name: str, id_column: str, text_column: str) -> None:
        self.path, self.name = path, name
        self.id_column, self.text_column = id_column, text_column
        self.seen: dict[str, str] = {}
        self.articles = 0

    def row(self, where: str, number: int, record: Any) -> dict:
        if not isinstance(record, dict):
            kind = type(record).__name__
            return self.error(number, f"{where}: expected a JSON object, got {kind}")
        text = record.get(self.text_column)
        if not isinstance(text, str):
            return self.error(number, f"{where}: field '{self.text_column}' is missing or not text")
        raw_id = record.get(self.id_column)
        if raw_id is None or raw_id == "":
            return self.error(number, f"{where}: field '{self.id_column}' is missing or empty")
        article_id = str(raw_id)
        if article_id in self.seen:
            return self.error(
                number,
                f"{where}: field '{self.id_column}': duplicate id {article_id!r} "
                f"(first at {self.seen[article_id]})",
            )
        place = where.rsplit(":", 1)[-1]
        self.seen[article_id] = place if place.startswith("row") else f"line {place}"
        self.articles += 1
        return _record(self.path, number, "article", id=article_id, text=text)

    def error(self, number: int, message: str) -> dict:
        return _record(self.path, number, "error", message)

    def end(self) -> dict:
        return _record(self.path, self.articles, "end")


def _lines(stream: Any) -> Iterator[bytes]:
    """Lines of a binary stream that only has `read` (pyarrow input streams)."""
    rest = b""
    while True:
        chunk = stream.read(READ_CHUNK_BYTES)
        if not chunk:
            break
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def jsonl_records(
    stream: Any, path: str, name: str, id_column: str = "id", text_column: str = "text"
) -> Iterator[dict]:
    """Article, error and (last) end rows of a JSONL stream; `name` is used in messages."""
    check = _RecordCheck(path, name, id_column, text_column)
    for number, raw in enumerate(_lines(stream), 1):
        where = f"{name}:{number}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield check.error(number, f"{where}: not UTF-8 text (byte {exc.start} of the line)")
            continue
        if number == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield check.error(number, f"{where}: invalid JSON ({exc.msg}, column {exc.colno})")
            continue
        yield check.row(where, number, record)
    yield check.end()


def parquet_records(
    source: Any, path: str, name: str, id_column: str = "id", text_column: str = "text"
) -> Iterator[dict]:
    """Article, error and (last) end rows of a Parquet file (rows numbered from 1)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    check = _RecordCheck(path, name, id_column, text_column)
    try:
        parquet = pq.ParquetFile(source)
        names = parquet.schema_arrow.names
        missing = [c for c in (id_column, text_column) if c not in names]
        if missing:
            found = ", ".join(names) or "none"
            yield check.error(0, f"{name}: no '{missing[0]}' column (columns: {found})")
        else:
            number = 0
            for batch in parquet.iter_batches(
                batch_size=RECORDS_PER_BLOCK, columns=[id_column, text_column]
            ):
                for record in batch.to_pylist():
                    number += 1
                    yield check.row(f"{name}:row {number}", number, record)
    except (OSError, pa.ArrowException) as exc:
        yield check.error(0, f"{name}: unreadable Parquet ({exc})")
    yield check.end()


def _input_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("_path", pa.string()),
            ("_line", pa.int64()),
            ("_kind", pa.string()),
            ("_error", pa.string()),
            ("id", pa.string()),
            ("text", pa.string()),
        ]
    )


def record_blocks(records: Iterator[dict]) -> Iterator[Any]:
    """Records as pyarrow tables of at most RECORDS_PER_BLOCK rows."""
    import pyarrow as pa

    schema = _input_schema()
    block: list[dict] = []
    for record in records:
        block.append(record)
        if len(block) >= RECORDS_PER_BLOCK:
            yield pa.Table.from_pylist(block, schema=schema)
            block = []
    if block:
        yield pa.Table.from_pylist(block, schema=schema)


# --------------------------------------------------------------------------- output rows


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _arrow_type(hint: Any, path: tuple[str, ...], labels: dict[str, list[str]]) -> Any:
    """The Arrow type of a results field, from its type hint."""
    import pyarrow as pa

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        present = [a for a in args if a is not type(None)]
        if len(present) == 1:
            return _arrow_type(present[0], path, labels)
    elif hint is str:
        return pa.string()
    elif hint is bool:
        return pa.bool_()
    elif hint is int:
        return pa.int64()
    elif hint is float:
        return pa.float64()
    elif origin is list:
        return pa.list_(_arrow_type(args[0], path, labels))
    elif origin is dict and args[0] is str:
        value = _arrow_type(args[1], path, labels)
        if len(path) >= 2 and path[-1] == "probs" and path[-2] in labels:
            return pa.struct([(label, value) for label in labels[path[-2]]])
        return pa.map_(pa.string(), value)
    elif dataclasses.is_dataclass(hint):
        hints = _hints(hint)
        return pa.struct(
            [
                (f.name, _arrow_type(hints[f.name], (*path, f.name), labels))
                for f in dataclasses.fields(hint)
            ]
        )
    raise TypeError(
        f"results field {'.'.join(path)} has type {hint!r}, which has no Parquet column type "
        "here; extend detente.serving.ray_batch._arrow_type"
    )


def article_fields() -> list[str]:
    return [
        f.name for f in dataclasses.fields(ArticleResult) if f.name not in ARTICLE_FIELDS_LEFT_OUT
    ]


def sentence_fields() -> list[str]:
    return [f.name for f in dataclasses.fields(SentenceResult)]


def _article_column(name: str) -> str:
    """An article field's column; prefixed where a sentence field has the same name."""
    return f"article_{name}" if name in sentence_fields() else name


def output_schema(stance_labels: list[str], sentiment_labels: list[str]) -> Any:
    """Arrow schema of the sentence rows, derived from ArticleResult and SentenceResult."""
    import pyarrow as pa

    labels = {"stance": list(stance_labels), "sentiment": list(sentiment_labels)}
    article_hints, sentence_hints = _hints(ArticleResult), _hints(SentenceResult)
    columns = [
        (_article_column(name), _arrow_type(article_hints[name], (name,), labels))
        for name in article_fields()
    ]
    columns += [("sentence_index", pa.int64()), ("sentence_count", pa.int64())]
    columns += [
        (name, _arrow_type(sentence_hints[name], (name,), labels)) for name in sentence_fields()
    ]
    assert LabelScores in (sentence_hints["stance"], sentence_hints["sentiment"])
    return pa.schema(columns)


def sentence_rows(result: ArticleResult) -> list[dict[str, Any]]:
    """One row per sentence of a scored article (one row with sentence_count 0 if none)."""
    record = result.to_dict()
    base = {_article_column(name): record[name] for name in article_fields()}
    base["sentence_count"] = len(record["sentences"])
    if not record["sentences"]:
        return [base]
    return [
        {**base, "sentence_index": index, **sentence}
        for index, sentence in enumerate(record["sentences"])
    ]


# --------------------------------------------------------------------------- the actors


def pack_model(directory: Path) -> dict[str, bytes]:
    """Every file of a model directory, by relative path (what the actors unpack)."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


class ScoreBatches:
    """A Ray Data actor: loads the model once, then scores batches of article rows."""

    def __init__(
        self,
        model_ref: list[Any],
        backend: str,
        threads: int,
        batch_size: int,
        target: str | None,
        sentiment_target: str | None,
    ) -> None:
        import ray

        from detente.serving.scorer import Scorer

        files: dict[str, bytes] = ray.get(model_ref[0])
        with tempfile.TemporaryDirectory(prefix="detente-model-") as directory:
            for relative, data in files.items():
                path = Path(directory, relative)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            self.scorer = Scorer.load(
                directory, backend=backend, threads=threads, batch_size=batch_size
            )
        self.target, self.sentiment_target = target, sentiment_target
        self.schema = batch_schema(self.scorer.stance_labels, self.scorer.sentiment_labels)

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        from detente.serving.scorer import Article

        records = batch.to_pylist()
        articles = [Article(text=r["text"], id=r["id"]) for r in records if r["_kind"] == "article"]
        results = self.scorer.score_articles(
            articles, target=self.target, sentiment_target=self.sentiment_target
        )
        rows: list[dict[str, Any]] = []
        for record in records:
            control = {c: record[c] for c in CONTROL_COLUMNS}
            if record["_kind"] == "article":
                control["_kind"] = "sentence"
                rows.extend({**control, **row} for row in sentence_rows(next(results)))
            else:
                rows.append(control)
        return pa.Table.from_pylist(rows, schema=self.schema)


def batch_schema(stance_labels: list[str], sentiment_labels: list[str]) -> Any:
    """Control columns (file, line, kind, error) and the output columns."""
    import pyarrow as pa

    control = _input_schema().field
    return pa.schema(
        [control(c) for c in CONTROL_COLUMNS] + list(output_schema(stance_labels, sentiment_labels))
    )


def article_datasource(paths: list[str], names: dict[str, str], id_column: str, text_column: str):
    """A Ray Data datasource over JSONL and Parquet files yielding checked article rows."""
    from ray.data.datasource import FileBasedDatasource

    class ArticleFiles(FileBasedDatasource):
        def _open_input_source(self, filesystem: Any, path: str, **open_args: Any) -> Any:
            if Path(path).suffix.lower() in PARQUET_SUFFIXES:
                return filesystem.open_input_file(path)  # Parquet needs random access
            return super()._open_input_source(filesystem, path, **open_args)

        def _read_stream(self, f: Any, path: str) -> Iterator[Any]:
            key = str(Path(path).resolve())  # the driver's name for the file
            name = names.get(key, path)
            read = (
                parquet_records if Path(path).suffix.lower() in PARQUET_SUFFIXES else jsonl_records
            )
            yield from record_blocks(read(f, key, name, id_column, text_column))

    return ArticleFiles(paths)


# --------------------------------------------------------------------------- the driver


def start_ray(address: str | None, num_cpus: int | None = None) -> bool:
    """Connect to `address` ("auto", "ray://HOST:PORT", ...) or start a local Ray instance
    with `num_cpus` CPUs and no dashboard. Returns False when Ray was already initialised."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
        "configure_logging": True,
    }
    if address:
        ray.init(address=address, **options)
        return True
    # The raylet gives its Python agents a hard-coded 15 s to report their ports and exits
    # when they are slower, as on a machine whose cores are busy (ray-project/ray#65983): try
    # again a few times before giving up.
    for attempt in range(LOCAL_START_ATTEMPTS):
        try:
            ray.init(num_cpus=num_cpus, **options)
            return True
        except Exception as exc:
            ray.shutdown()
            if attempt + 1 == LOCAL_START_ATTEMPTS or "timed out during startup" not in str(exc):
                raise
    return True


def cluster_cpus() -> int:
    ray = import_ray()
    return int(ray.cluster_resources().get("CPU", 1))


@dataclass
class _OpenFile:
    item: InputFile
    schema: Any
    metadata: dict[str, str]
    writer: Any | None = None
    pending: list[Any] = field(default_factory=list)
    pending_rows: int = 0
    articles: int = 0
    sentences: int = 0
    errors: list[str] = field(default_factory=list)

    def write(self, table: Any, articles: int) -> None:
        if self.errors:
            return
        self.articles += articles
        self.sentences += sum(1 for c in table.column("sentence_count").to_pylist() if c)
        self.pending.append(table)
        self.pending_rows += table.num_rows
        if self.pending_rows >= ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:
            self.item.output.parent.mkdir(parents=True, exist_ok=True)
            schema = self.schema.with_metadata(self.metadata)
            self.writer = pq.ParquetWriter(self.item.staging, schema)
        if self.pending:
            self.writer.write_table(pa.concat_tables(self.pending))
        self.pending, self.pending_rows = [], 0

    def finish(self) -> None:
        """Close the staging file and give it its final name."""
        self._flush()
        self.writer.close()
        with open(self.item.staging, "rb") as handle:  # on disk before it has its final name
            os.fsync(handle.fileno())
        os.replace(self.item.staging, self.item.output)

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.item.staging.unlink(missing_ok=True)


@dataclass
class BatchSummary:
    files_scored: int = 0
    files_skipped: int = 0
    files_failed: int = 0
    articles: int = 0
    sentences: int = 0
    seconds: float = 0.0
    failed: list[str] = field(default_factory=list)


def run_batch(
    input_dir: Path,
    out_dir: Path,
    *,
    model: str | Path = "default",
    backend: str = "torch",
    workers: int = 1,
    cpus_per_worker: int = 1,
    batch_size: int = 32,
    target: str | None = None,
    sentiment_target: str | None = None,
    id_column: str = "id",
    text_column: str = "text",
    report: Report = print,
    progress: Report | None = None,
) -> BatchSummary:
    """Score every pending input file on the Ray instance this process is connected to."""
    ray = import_ray()
    from detente.model.backends import resolve_model_dir
    from detente.model.config import DetenteConfig

    started = time.perf_counter()
    summary = BatchSummary()
    pending, done = plan(input_dir, out_dir)
    summary.files_skipped = len(done)
    for item in pending:
        item.staging.unlink(missing_ok=True)  # left by a killed run
    if not pending:
        summary.seconds = time.perf_counter() - started
        return summary

    directory = resolve_model_dir(model)
    config = DetenteConfig.from_json_file(directory / "detente_config.json")
    schema = output_schema(list(config.stance_labels), list(config.sentiment_labels))
    output_columns = schema.names

    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    if hasattr(context, "print_on_execution_start"):
        context.print_on_execution_start = False

    by_path = {str(item.path.resolve()): item for item in pending}
    names = {path: str(item.path) for path, item in by_path.items()}
    model_ref = ray.put(pack_model(directory))
    dataset = ray.data.read_datasource(
        article_datasource(list(by_path), names, id_column, text_column)
    ).map_batches(
        ScoreBatches,
        fn_constructor_kwargs={
            "model_ref": [model_ref],
            "backend": backend,
            "threads": cpus_per_worker,
            "batch_size": batch_size,
            "target": target,
            "sentiment_target": sentiment_target,
        },
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=cpus_per_worker,
        batch_size=ARTICLES_PER_BATCH,
        batch_format="pyarrow",
    )

    metadata = {"detente.model": str(model)}
    open_files: dict[str, _OpenFile] = {}

    def opened(path: str) -> _OpenFile:
        if path not in open_files:
            item = by_path[path]
            open_files[path] = _OpenFile(
                item, schema, {**metadata, "detente.source": item.relative}
            )
        return open_files[path]

    finished: set[str] = set()

    def end(path: str, expected: int) -> None:
        state = opened(path)
        del open_files[path]
        finished.add(path)
        name = str(state.item.path)
        if not state.errors and state.articles != expected:
            state.errors.append(f"{name}: {state.articles} of {expected} articles came back")
        if state.errors:
            state.discard()
            for message in state.errors[:ERRORS_SHOWN_PER_FILE]:
                report(message)
            if len(state.errors) > ERRORS_SHOWN_PER_FILE:
                more = len(state.errors) - ERRORS_SHOWN_PER_FILE
                report(f"{name}: {more} more problems; no output written for this file")
            summary.files_failed += 1
            summary.failed.append(state.item.relative)
            return
        state.finish()
        summary.files_scored += 1
        summary.articles += state.articles
        summary.sentences += state.sentences
        if progress is not None:
            progress(
                f"{name}: {state.articles} articles, {state.sentences} sentences "
                f"-> {state.item.output}"
            )

    try:
        for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
            paths = batch.column("_path").to_pylist()
            kinds = batch.column("_kind").to_pylist()
            lines = batch.column("_line").to_pylist()
            errors = batch.column("_error").to_pylist()
            indexes = batch.column("sentence_index").to_pylist()
            start = 0
            for i in range(1, len(paths) + 1):
                if i < len(paths) and paths[i] == paths[start] and kinds[i] == kinds[start]:
                    continue
                path, kind = paths[start], kinds[start]
                if kind == "sentence":
                    articles = sum(1 for j in range(start, i) if indexes[j] in (0, None))
                    table = batch.slice(start, i - start).select(output_columns)
                    opened(path).write(table, articles)
                else:
                    for j in range(start, i):
                        if kind == "error":
                            opened(path).errors.append(errors[j])
                        elif kind == "end":
                            end(path, lines[j])
                start = i
        unfinished = [item for path, item in by_path.items() if path not in finished]
        for item in unfinished:  # never expected: every file ends with an "end" row
            report(f"{item.path}: its last rows did not come back; run again to redo it")
            summary.files_failed += 1
            summary.failed.append(item.relative)
    finally:
        for state in open_files.values():  # interrupted, or failed: nothing half-written stays
            state.discard()
    summary.seconds = time.perf_counter() - started
    return summary
