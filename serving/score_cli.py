"""`detente score INPUT... [--output FILE] [--format jsonl|csv|parquet|table] [--model DIR]`.

Inputs: text or HTML files, directories of them (searched recursively), JSONL / CSV / TSV /
Parquet files with an id and a text column, or `-` for standard input (one article, or JSONL
when its first line is a JSON object). Output: one record per article (JSONL, Parquet), one row
per sentence (CSV), or a readable table with the summary (table). Articles stream through:
memory stays bounded whatever the input size, and each one is written as soon as it is scored.

Re-running with the same --output skips articles whose id is already there (resume). An input
that cannot be read, or a record without text, is reported on one line and skipped; the exit
code is then 1. Bad options or an unloadable model: exit code 2.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from detente.serving.errors import fail, loading_model

if TYPE_CHECKING:
    from detente.serving.results import ArticleResult
    from detente.serving.scorer import Article

TEXT_SUFFIXES = {".txt", ".text", ".md", ".html", ".htm", ".xhtml"}
RECORD_SUFFIXES = {".jsonl", ".ndjson", ".csv", ".tsv", ".parquet", ".pq"}
PARQUET_ROWS_PER_GROUP = 64

Report = Callable[[str], None]


class OutputFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"
    table = "table"


class InputError(Exception):
    """An input file or record that cannot be used; the message names file and line."""


# --------------------------------------------------------------------------- reading inputs


def _article(text: str, id: str, format: str = "auto") -> Article:
    from detente.serving.scorer import Article

    return Article(text=text, id=id, format=format)


def _record_article(record: Any, where: str, id_column: str, text_column: str) -> Article:
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(record).__name__}")
    text = record.get(text_column)
    if not isinstance(text, str):
        raise InputError(f"{where}: field '{text_column}' is missing or not a string")
    raw_id = record.get(id_column)
    return _article(text, where if raw_id in (None, "") else str(raw_id))


def _read_text_file(path: Path) -> Article:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    is_html = path.suffix.lower() in {".html", ".htm", ".xhtml"}
    return _article(text, str(path), "html" if is_html else "auto")


def _jsonl_lines(
    lines: Iterable[tuple[int, str]], name: str, id_column: str, text_column: str, report: Report
) -> Iterator[Article]:
    for number, line in lines:
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            record = json.loads(line)
            yield _record_article(record, where, id_column, text_column)
        except json.JSONDecodeError as exc:
            report(f"{where}: invalid JSON ({exc.msg}, column {exc.colno})")
        except InputError as exc:
            report(str(exc))


def _read_jsonl(path: Path, id_column: str, text_column: str, report: Report) -> Iterator[Article]:
    with path.open(encoding="utf-8-sig") as handle:
        yield from _jsonl_lines(enumerate(handle, 1), str(path), id_column, text_column, report)


def _read_csv(path: Path, id_column: str, text_column: str, report: Report) -> Iterator[Article]:
    csv.field_size_limit(sys.maxsize)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        columns = reader.fieldnames or []
        if text_column not in columns:
            found = ", ".join(columns) or "none"
            raise InputError(f"{path}: no '{text_column}' column (columns: {found})")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            try:
                yield _record_article(row, where, id_column, text_column)
            except InputError as exc:
                report(str(exc))


def _read_parquet(path: Path, id_column: str, text_column: str) -> Iterator[Article]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
        if text_column not in names:
            found = ", ".join(names) or "none"
            raise InputError(f"{path}: no '{text_column}' column (columns: {found})")
        columns = [text_column] + ([id_column] if id_column in names else [])
        row = 0
        for batch in parquet.iter_batches(batch_size=256, columns=columns):
            for record in batch.to_pylist():
                row += 1
                where = f"{path}:row {row}"
                if not isinstance(record.get(text_column), str):
                    raise InputError(f"{where}: field '{text_column}' is not text")
                yield _record_article(record, where, id_column, text_column)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: unreadable Parquet ({exc})") from None


def _read_stdin(id_column: str, text_column: str, report: Report) -> Iterator[Article]:
    from detente.serving.scorer import article_id

    stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig")
    head: list[str] = []
    for line in stream:
        head.append(line)
        if line.strip():
            break
    first = head[-1].strip() if head else ""
    if first.startswith("{"):
        try:
            json.loads(first)
            is_jsonl = True
        except json.JSONDecodeError:
            is_jsonl = False
        if is_jsonl:
            lines = enumerate(_chain(head, stream), 1)
            yield from _jsonl_lines(lines, "<stdin>", id_column, text_column, report)
            return
    text = "".join(head) + stream.read()
    if text.strip():
        yield _article(text, f"stdin-{article_id(text)}")
    else:
        report("<stdin>: empty input")


def _chain(head: list[str], rest: Iterable[str]) -> Iterator[str]:
    yield from head
    yield from rest


def _files_under(directory: Path, exclude: Path | None) -> list[Path]:
    found = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory).parts
        if any(part.startswith(".") for part in relative) or not path.is_file():
            continue
        if path.suffix.lower() not in TEXT_SUFFIXES | RECORD_SUFFIXES:
            continue
        if exclude is not None and path.resolve() == exclude:
            continue
        found.append(path)
    return found


def _read_path(path: Path, id_column: str, text_column: str, report: Report) -> Iterator[Article]:
    suffix = path.suffix.lower()
    try:
        if suffix in {".jsonl", ".ndjson"}:
            yield from _read_jsonl(path, id_column, text_column, report)
        elif suffix in {".csv", ".tsv"}:
            yield from _read_csv(path, id_column, text_column, report)
        elif suffix in {".parquet", ".pq"}:
            yield from _read_parquet(path, id_column, text_column)
        else:
            yield _read_text_file(path)
    except UnicodeDecodeError as exc:
        report(f"{path}: not UTF-8 text (byte {exc.start})")
    except OSError as exc:
        report(f"{path}: {exc.strerror or exc}")
    except InputError as exc:
        report(str(exc))


def read_inputs(
    inputs: Iterable[str],
    report: Report,
    id_column: str = "id",
    text_column: str = "text",
    exclude: Path | None = None,
) -> Iterator[Article]:
    """Every article in the inputs, lazily; problems go to `report` and are skipped."""
    for name in inputs:
        if name == "-":
            try:
                yield from _read_stdin(id_column, text_column, report)
            except UnicodeDecodeError as exc:
                report(f"<stdin>: not UTF-8 text (byte {exc.start} of a read block)")
            continue
        path = Path(name)
        if path.is_dir():
            files = _files_under(path, exclude)
            if not files:
                report(f"{path}: no text, HTML, JSONL, CSV or Parquet files in this directory")
            for file in files:
                yield from _read_path(file, id_column, text_column, report)
        elif path.exists():
            yield from _read_path(path, id_column, text_column, report)
        else:
            report(f"{path}: no such file or directory")


# --------------------------------------------------------------------------- writing outputs


def _truncate_partial_line(path: Path) -> None:
    """Drop an unfinished last line left by an interrupted write."""
    with path.open("rb+") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        position = size
        while position > 0:
            step = min(1 << 16, position)
            handle.seek(position - step)
            chunk = handle.read(step)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                handle.truncate(position - step + newline + 1)
                return
            position -= step
        handle.truncate(0)


class JsonlSink:
    """One JSON object per article and line."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle

    @staticmethod
    def done_ids(path: Path, report: Report) -> set[str]:
        _truncate_partial_line(path)
        done = set()
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    done.add(str(json.loads(line)["id"]))
                except (json.JSONDecodeError, KeyError, TypeError):
                    if line.strip():
                        report(f"{path}:{number}: not a scored article; left as it is")
        return done

    def write(self, result: ArticleResult) -> None:
        self.handle.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.flush()


def csv_columns(stance_labels: list[str], sentiment_labels: list[str]) -> list[str]:
    return [
        "id",
        "sentence_index",
        "sentence_count",
        "start",
        "end",
        "paragraph",
        "boilerplate",
        "boilerplate_reason",
        "stance",
        *[f"stance_{label}" for label in stance_labels],
        "sentiment",
        *[f"sentiment_{label}" for label in sentiment_labels],
        "speaker",
        "speaker_text",
        "attribution",
        "target",
        "text",
    ]


class CsvSink:
    """One row per sentence; an article without sentences gets one row with sentence_count 0."""

    def __init__(self, handle: IO[str], columns: list[str], write_header: bool) -> None:
        self.handle = handle
        self.columns = columns
        self.writer = csv.writer(handle)
        if write_header:
            self.writer.writerow(columns)
            handle.flush()

    @staticmethod
    def done_ids(path: Path, columns: list[str]) -> set[str]:
        """Ids whose last sentence row is present; a half-written last article is removed."""
        _truncate_partial_line(path)
        csv.field_size_limit(sys.maxsize)
        complete: set[str] = set()
        partial: set[str] = set()
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None:
                return complete
            if reader.fieldnames != columns:
                raise InputError(
                    f"{path}: its columns are not those of this model's CSV output; "
                    "use another --output or --overwrite"
                )
            try:
                for row in reader:
                    count = int(row["sentence_count"] or 0)
                    last = count == 0 or int(row["sentence_index"]) == count - 1
                    (complete if last else partial).add(row["id"])
            except (ValueError, TypeError, csv.Error) as exc:
                raise InputError(
                    f"{path}:{reader.line_num}: damaged row ({exc}); cannot resume, "
                    "use --overwrite or another --output"
                ) from None
        partial -= complete
        if partial:
            _rewrite_csv_without(path, partial)
        return complete

    def write(self, result: ArticleResult) -> None:
        rows = csv_rows(result)
        buffer = io.StringIO()
        csv.writer(buffer).writerows([[row.get(c, "") for c in self.columns] for row in rows])
        self.handle.write(buffer.getvalue())
        self.handle.flush()

    def close(self) -> None:
        self.handle.flush()


def _rewrite_csv_without(path: Path, ids: set[str]) -> None:
    staging = path.with_name(f".{path.name}.resume")
    with (
        path.open(encoding="utf-8", newline="") as source,
        staging.open("w", encoding="utf-8", newline="") as target,
    ):
        reader, writer = csv.reader(source), csv.writer(target)
        header = next(reader)
        writer.writerow(header)
        id_index = header.index("id")
        writer.writerows(row for row in reader if row[id_index] not in ids)
    os.replace(staging, path)


def csv_rows(result: ArticleResult) -> list[dict[str, Any]]:
    base = {"id": result.id, "sentence_count": len(result.sentences), "target": result.target}
    if not result.sentences:
        return [base]
    rows = []
    for index, sentence in enumerate(result.sentences):
        row = dict(base)
        row.update(
            sentence_index=index,
            start=sentence.start,
            end=sentence.end,
            paragraph=sentence.paragraph,
            boilerplate=sentence.boilerplate,
            boilerplate_reason=sentence.boilerplate_reason or "",
            stance=sentence.stance.label,
            sentiment=sentence.sentiment.label,
            speaker=sentence.speaker or "",
            speaker_text=sentence.speaker_text or "",
            attribution=sentence.attribution or "",
            text=sentence.text,
        )
        row.update({f"stance_{k}": v for k, v in sentence.stance.probs.items()})
        row.update({f"sentiment_{k}": v for k, v in sentence.sentiment.probs.items()})
        rows.append(row)
    return rows


def parquet_schema(stance_labels: list[str], sentiment_labels: list[str]):
    """Arrow schema of one article record (probabilities and counts as label-named fields)."""
    import pyarrow as pa

    def scores(labels: list[str]) -> pa.DataType:
        probs = pa.struct([(label, pa.float64()) for label in labels])
        return pa.struct([("label", pa.string()), ("probs", probs)])

    def counts(labels: list[str], kind: pa.DataType) -> pa.DataType:
        return pa.struct([(label, kind) for label in labels])

    highlight = pa.struct(
        [
            ("index", pa.int64()),
            ("text", pa.string()),
            ("start", pa.int64()),
            ("end", pa.int64()),
            ("prob", pa.float64()),
        ]
    )
    sentence = pa.struct(
        [
            ("text", pa.string()),
            ("start", pa.int64()),
            ("end", pa.int64()),
            ("paragraph", pa.int64()),
            ("boilerplate", pa.bool_()),
            ("boilerplate_reason", pa.string()),
            ("stance", scores(stance_labels)),
            ("sentiment", scores(sentiment_labels)),
            ("speaker", pa.string()),
            ("speaker_text", pa.string()),
            ("attribution", pa.string()),
        ]
    )
    speaker = pa.struct(
        [
            ("speaker", pa.string()),
            ("sentences", pa.list_(pa.int64())),
            ("stance_counts", counts(stance_labels, pa.int64())),
            ("sentiment_counts", counts(sentiment_labels, pa.int64())),
            ("overall_stance", pa.string()),
        ]
    )
    summary = pa.struct(
        [
            ("sentences", pa.int64()),
            ("body_sentences", pa.int64()),
            ("boilerplate_sentences", pa.int64()),
            ("stance_counts", counts(stance_labels, pa.int64())),
            ("stance_shares", counts(stance_labels, pa.float64())),
            ("sentiment_counts", counts(sentiment_labels, pa.int64())),
            ("sentiment_shares", counts(sentiment_labels, pa.float64())),
            ("overall_stance", pa.string()),
            ("most_favor", highlight),
            ("most_against", highlight),
            ("by_speaker", pa.list_(speaker)),
        ]
    )
    return pa.schema(
        [
            ("id", pa.string()),
            ("target", pa.string()),
            ("sentiment_target", pa.string()),
            ("source_format", pa.string()),
            ("text", pa.string()),
            ("sentences", pa.list_(sentence)),
            ("summary", summary),
        ]
    )


class ParquetSink:
    """One row per article, written a row group at a time to a staging file.

    The staging file replaces the output on close (also after Ctrl-C); on resume the rows
    already in the output are copied over first, a row group at a time.
    """

    def __init__(self, path: Path, schema: Any, keep_existing: bool) -> None:
        import pyarrow.parquet as pq

        self.path = path
        self.schema = schema
        self.staging = path.with_name(f".{path.name}.partial")
        self.writer = pq.ParquetWriter(self.staging, schema)
        self.rows: list[dict[str, Any]] = []
        if keep_existing and path.exists():
            existing = pq.ParquetFile(path)
            for group in range(existing.num_row_groups):
                self.writer.write_table(existing.read_row_group(group).cast(schema))

    @staticmethod
    def done_ids(path: Path) -> set[str]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
            ids = set()
            for batch in parquet.iter_batches(columns=["id"]):
                ids.update(str(value) for value in batch.column(0).to_pylist())
            return ids
        except (OSError, pa.ArrowException, KeyError) as exc:
            raise InputError(
                f"{path}: exists but is not readable Parquet output ({exc}); "
                "use another --output or --overwrite"
            ) from None

    def write(self, result: ArticleResult) -> None:
        self.rows.append(result.to_dict())
        if len(self.rows) >= PARQUET_ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> None:
        self._flush()
        self.writer.close()
        os.replace(self.staging, self.path)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


SPEAKER_WIDTH = 18


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(result: ArticleResult, width: int = 120) -> str:
    """A readable sentence-by-sentence table of one article and its summary."""
    summary = result.summary
    assert summary is not None
    lines = [
        f"== {result.id}  ({summary.sentences} sentences, {summary.boilerplate_sentences} "
        f"boilerplate; stance toward {result.target!r})",
        f"{'#':>3} {'par':>3}  {'stance':<13} {'sentiment':<14} {'speaker':<{SPEAKER_WIDTH}} "
        "sentence",
    ]
    indent = 3 + 1 + 3 + 2 + 13 + 1 + 14 + 1 + SPEAKER_WIDTH + 1
    wrap_width = max(40, width - indent)
    for index, s in enumerate(result.sentences, 1):
        stance = f"{s.stance.label} {s.stance.probs[s.stance.label]:.2f}"
        sentiment = f"{s.sentiment.label} {s.sentiment.probs[s.sentiment.label]:.2f}"
        text = " ".join(s.text.split())
        if s.boilerplate:
            text = f"[boilerplate: {s.boilerplate_reason}] {text}"
        wrapped = textwrap.wrap(text, wrap_width) or [""]
        speaker = _clip(s.speaker or "-", SPEAKER_WIDTH)
        lines.append(
            f"{index:>3} {s.paragraph:>3}  {stance:<13} {sentiment:<14} "
            f"{speaker:<{SPEAKER_WIDTH}} {wrapped[0]}"
        )
        lines.extend(" " * indent + more for more in wrapped[1:])

    def shares(counts: dict[str, int], share: dict[str, float]) -> str:
        return "   ".join(f"{k} {v} ({_pct(share[k])})" for k, v in counts.items())

    favor = summary.stance_counts.get("favor", 0)
    against = summary.stance_counts.get("against", 0)
    lines += [
        "",
        f"Summary over {summary.body_sentences} body sentences "
        f"({summary.boilerplate_sentences} boilerplate left out):",
        f"  stance      {shares(summary.stance_counts, summary.stance_shares)}",
        f"  sentiment   {shares(summary.sentiment_counts, summary.sentiment_shares)}",
        f"  overall stance: {summary.overall_stance}  (favor {favor} vs against {against}; "
        "a side needs a 2:1 majority, else mixed)",
    ]
    if summary.by_speaker:
        lines.append("  by speaker (overall stance by the same rule; sentence numbers):")
    for entry in summary.by_speaker:
        counts = ", ".join(f"{k} {v}" for k, v in entry.stance_counts.items() if v)
        where = " ".join(f"#{i + 1}" for i in entry.sentences)
        lines.append(
            f"    {_clip(entry.speaker, 30):<30} {entry.overall_stance:<8} ({counts})  {where}"
        )
    for name, highlight in (("favor", summary.most_favor), ("against", summary.most_against)):
        if highlight is None:
            lines.append(f"  most {name + ':':<9} (no sentence labelled {name})")
        else:
            text = " ".join(highlight.text.split())
            first, *rest = textwrap.wrap(f"#{highlight.index + 1}: {text}", width - 24)
            lines.append(f"  most {name + ':':<9} ({highlight.prob:.2f})  {first}")
            lines.extend(" " * 24 + more for more in rest)
    return "\n".join(lines) + "\n\n"


class TableSink:
    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.width = min(160, shutil.get_terminal_size((120, 24)).columns)

    def write(self, result: ArticleResult) -> None:
        self.handle.write(render_table(result, self.width))
        self.handle.flush()

    def close(self) -> None:
        self.handle.flush()


# --------------------------------------------------------------------------- the command


def _infer_format(output: Path | None) -> OutputFormat:
    suffix = output.suffix.lower() if output is not None else ""
    return {
        ".csv": OutputFormat.csv,
        ".parquet": OutputFormat.parquet,
        ".pq": OutputFormat.parquet,
        ".txt": OutputFormat.table,
    }.get(suffix, OutputFormat.jsonl)


def _open_sink(
    fmt: OutputFormat,
    output: Path | None,
    labels: tuple[list[str], list[str]],
    overwrite: bool,
    report: Report,
) -> tuple[Any, set[str]]:
    """The writer for the output, and the ids already in it (resume)."""
    if output is None:
        if fmt is OutputFormat.parquet:
            raise fail("--format parquet needs --output FILE")
        handle = sys.stdout
        sinks = {
            OutputFormat.jsonl: lambda: JsonlSink(handle),
            OutputFormat.csv: lambda: CsvSink(handle, csv_columns(*labels), True),
            OutputFormat.table: lambda: TableSink(handle),
        }
        return sinks[fmt](), set()
    if output.is_dir():
        raise fail(f"--output {output} is a directory; give a file name")
    output.parent.mkdir(parents=True, exist_ok=True)
    resume = output.exists() and output.stat().st_size > 0 and not overwrite
    done: set[str] = set()
    try:
        if fmt is OutputFormat.parquet:
            if resume:
                done = ParquetSink.done_ids(output)
            return ParquetSink(output, parquet_schema(*labels), keep_existing=resume), done
        if fmt is OutputFormat.jsonl and resume:
            done = JsonlSink.done_ids(output, report)
        elif fmt is OutputFormat.csv and resume:
            done = CsvSink.done_ids(output, csv_columns(*labels))
        handle = output.open("a" if resume else "w", encoding="utf-8", newline="")
    except InputError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{output}: {exc.strerror or exc}") from None
    if fmt is OutputFormat.csv:
        return CsvSink(handle, csv_columns(*labels), write_header=not resume), done
    if fmt is OutputFormat.table:
        return TableSink(handle), done
    return JsonlSink(handle), done


def load_scorer_or_exit(model: str, backend: str, batch_size: int):
    """Load the model, or raise a CliError naming it (the boundary prints one line, code 2)."""
    from transformers.utils import logging as hf_logging

    from detente.model.backends import resolve_model_dir
    from detente.serving.errors import CliError
    from detente.serving.scorer import Scorer

    hf_logging.disable_progress_bar()
    directory = resolve_model_dir(model)
    if str(model) == "default" and not (directory / "detente_config.json").is_file():
        raise CliError(
            f"the default model is not installed (expected at {directory}); use --model DIR"
        )
    with loading_model(model):
        return Scorer.load(model, backend=backend, batch_size=batch_size)


def score(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Text/HTML files, directories, JSONL/CSV/TSV/Parquet files, or - for stdin.",
            metavar="INPUT",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output file (default: stdout). Re-runs resume."),
    ] = None,
    format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="jsonl/parquet: one record per article; csv: one row per sentence; "
            "table: readable. Default: from the output's suffix, else jsonl.",
        ),
    ] = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model directory, 'default' or 'accurate'.")
    ] = "default",
    target: Annotated[
        str | None,
        typer.Option("--target", "-t", help="Stance target (default: the model's, negotiations)."),
    ] = None,
    sentiment_target: Annotated[
        str | None,
        typer.Option("--sentiment-target", help="Score sentiment toward this instead."),
    ] = None,
    id_column: Annotated[str, typer.Option(help="Id field of JSONL/CSV/Parquet input.")] = "id",
    text_column: Annotated[
        str, typer.Option(help="Text field of JSONL/CSV/Parquet input.")
    ] = "text",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Sentences per batch.")] = 32,
    backend: Annotated[str, typer.Option(help="Inference backend.")] = "torch",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Start the output afresh instead of resuming.")
    ] = False,
) -> None:
    """Score articles sentence by sentence: stance toward a target and sentiment."""
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise fail("--batch-size must be at least 1")
    fmt = format or _infer_format(output)
    scorer = load_scorer_or_exit(model, backend, batch_size)
    labels = (scorer.stance_labels, scorer.sentiment_labels)

    failures = 0

    def report(message: str) -> None:
        nonlocal failures
        failures += 1
        tqdm.write(f"error: {message}", file=sys.stderr)

    sink, done = _open_sink(fmt, output, labels, overwrite, report)
    failures = 0  # a note about the existing output is not an input failure
    skipped = 0

    def pending() -> Iterator[Article]:
        nonlocal skipped
        exclude = output.resolve() if output is not None else None
        seen: set[str] = set()
        for article in read_inputs(inputs, report, id_column, text_column, exclude):
            article_id = str(article.id)
            if article_id in seen:
                report(f"{article_id}: duplicate id; only its first article is scored")
            elif article_id in done:
                skipped += 1
            else:
                seen.add(article_id)
                yield article

    to_terminal = output is None and sys.stdout.isatty()
    progress = tqdm(
        unit="article",
        desc="scoring",
        file=sys.stderr,
        disable=not sys.stderr.isatty() or to_terminal,
    )
    written = 0
    try:
        for result in scorer.score_articles(
            pending(), target=target, sentiment_target=sentiment_target
        ):
            sink.write(result)
            written += 1
            progress.update()
    except KeyboardInterrupt:
        progress.close()
        sink.close()
        typer.echo(f"interrupted after {written} articles; run again to resume", err=True)
        raise typer.Exit(130) from None
    progress.close()
    sink.close()
    where = f" (already in {output})" if output is not None else ""
    typer.echo(
        f"detente score: {_plural(written, 'article')} scored, {skipped} skipped{where}, "
        f"{_plural(failures, 'input')} failed",
        err=True,
    )
    if failures:
        raise typer.Exit(1)
