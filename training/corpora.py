"""Loading labelled corpora into `Record`s, driven by config entries rather than code.

A `CorpusConfig` names files per split, their format, which columns hold the text, target and
labels, how raw labels map to detente's labels, the encoding, and a fixed target. Formats:
csv, tsv, jsonl, parquet, datasets (a `save_to_disk` directory), lines (one example per line,
parsed by a regex with named groups), parallel (a text file and a label file, line by line) and
negotiation (the project's reference corpus under data/negotiation_stance).

Rows are never dropped silently: a row that cannot be read, has an empty text or an unknown
label stops the run with `DataError` naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detente.model.config import SENTIMENT_LABELS, STANCE_LABELS
from detente.training.records import Record

FORMATS = (
    "csv",
    "tsv",
    "jsonl",
    "parquet",
    "datasets",
    "lines",
    "parallel",
    "negotiation",
    "soft",
)
SPLITS = ("train", "dev")


class DataError(ValueError):
    """A corpus that cannot be loaded; the message names file, line and field."""


@dataclass
class LabelView:
    """Where one record's target and labels sit in a row (a row may hold several targets)."""

    target_column: str | None = None
    stance_column: str | None = None
    sentiment_column: str | None = None
    target: str | None = None


@dataclass
class CorpusConfig:
    """One corpus entry of a config file.

    Attributes:
        name: short name used in logs and metrics.
        format: one of FORMATS.
        files: split name ("train", "dev") -> path or list of paths, relative to the data root.
        text_column: column (or dotted JSON path) holding the statement.
        id_column: optional column with a row id; otherwise `name:file:line`.
        target: fixed target for every row (e.g. "Hillary Clinton"), unless a target column is set.
        target_column / stance_column / sentiment_column: where target and labels are.
        views: several (target, labels) views per row, e.g. RUW's Target 1 / Target 2.
        stance_map / sentiment_map: raw value -> detente label; a raw value missing from the map
            is an error (values already valid pass unchanged). Map a value to null to mark
            "no label for this head" explicitly.
        encoding: file encoding (utf-8, gb18030, latin-1, ...).
        line_pattern: for `lines`: regex with named groups `text` and `stance`/`sentiment`.
        label_file: for `parallel`: [old, new] replacement turning the text path into the label
            file path (e.g. ["_text", "_labels"]).
        explode: for jsonl: a list field whose items become one record each; `explode_match`
            keeps only items whose key equals a row field (e.g. {"Input.gid": "primary_gid"}).
        unwrap_lines: undo a spreadsheet's mangling: each line wrapped in quotes with doubled
            inner quotes and a trailing run of semicolons.
        filter: keep only rows whose column equals the given value, e.g. {"split": "train"}.
        dev_fraction: when the corpus has no dev file, hold out this fraction by a stable hash.
        max_rows: keep at most this many training rows (deterministic sample).
        weight: relative sampling weight when mixing corpora (1.0 = natural size).
        root: where this corpus's paths start, overriding the config's data_root.
    """

    name: str
    format: str
    files: dict[str, str | list[str]]
    text_column: str = "text"
    id_column: str | None = None
    target: str | None = None
    target_column: str | None = None
    stance_column: str | None = None
    sentiment_column: str | None = None
    views: list[LabelView] = field(default_factory=list)
    stance_map: dict[str, str | None] = field(default_factory=dict)
    sentiment_map: dict[str, str | None] = field(default_factory=dict)
    encoding: str = "utf-8"
    line_pattern: str | None = None
    label_file: list[str] | None = None
    explode: str | None = None
    explode_match: dict[str, str] = field(default_factory=dict)
    unwrap_lines: bool = False
    filter: dict[str, str] = field(default_factory=dict)
    dev_fraction: float | None = None
    max_rows: int | None = None
    weight: float = 1.0
    root: str | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise DataError(f"corpus {self.name!r}: format {self.format!r} is not one of {FORMATS}")
        self.views = [LabelView(**v) if isinstance(v, dict) else v for v in self.views]
        if not self.views:
            self.views = [LabelView(self.target_column, self.stance_column, self.sentiment_column)]
        for view in self.views:
            view.target = view.target or self.target
        self.stance_map = {str(k): v for k, v in self.stance_map.items()}
        self.sentiment_map = {str(k): v for k, v in self.sentiment_map.items()}
        if self.format == "lines" and not self.line_pattern:
            raise DataError(f"corpus {self.name!r}: format 'lines' needs line_pattern")
        if self.format == "parallel" and not self.label_file:
            raise DataError(f"corpus {self.name!r}: format 'parallel' needs label_file")


# --- reading rows -------------------------------------------------------------------------


def _open_text(path: Path, encoding: str) -> str:
    try:
        return path.read_text(encoding=encoding)
    except FileNotFoundError as exc:
        raise DataError(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: cannot decode as {encoding}: {exc.reason}") from exc


def _unwrap(text: str) -> str:
    lines = []
    for line in text.splitlines():
        line = line.rstrip(";")
        if len(line) >= 2 and line.startswith('"') and line.endswith('"'):
            line = line[1:-1].replace('""', '"')
        lines.append(line)
    return "\n".join(lines)


def _csv_rows(path: Path, cfg: CorpusConfig, delimiter: str) -> Iterator[tuple[int, dict]]:
    text = _open_text(path, cfg.encoding)
    if cfg.unwrap_lines:
        text = _unwrap(text)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if not reader.fieldnames:
        raise DataError(f"{path}: empty file (no header row)")
    line = 1
    try:
        for row in reader:
            if None in row:
                raise DataError(f"{path}:{line + 1}: more fields than the header has")
            yield line + 1, row
            line = reader.line_num
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: unreadable CSV row: {exc}") from exc


def _jsonl_rows(path: Path, cfg: CorpusConfig) -> Iterator[tuple[int, dict]]:
    for number, line in enumerate(_open_text(path, cfg.encoding).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: invalid JSON: {exc.msg}") from exc
        if not isinstance(row, dict):
            raise DataError(f"{path}:{number}: expected a JSON object")
        if not cfg.explode:
            yield number, row
            continue
        items = row.get(cfg.explode)
        if not isinstance(items, list):
            raise DataError(f"{path}:{number}: field {cfg.explode!r} is not a list")
        for item in items:
            if all(item.get(k) == row.get(v) for k, v in cfg.explode_match.items()):
                yield number, {**row, **item}


def _lines_rows(path: Path, cfg: CorpusConfig) -> Iterator[tuple[int, dict]]:
    pattern = re.compile(cfg.line_pattern or "")
    for number, line in enumerate(_open_text(path, cfg.encoding).splitlines(), start=1):
        if not line.strip():
            continue
        match = pattern.match(line)
        if not match:
            raise DataError(
                f"{path}:{number}: line does not match line_pattern {pattern.pattern!r}"
            )
        yield number, match.groupdict()


def _parallel_rows(path: Path, cfg: CorpusConfig) -> Iterator[tuple[int, dict]]:
    assert cfg.label_file is not None
    old, new = cfg.label_file
    label_path = path.with_name(path.name.replace(old, new))
    texts = _open_text(path, cfg.encoding).splitlines()
    labels = _open_text(label_path, cfg.encoding).splitlines()
    if len(texts) != len(labels):
        raise DataError(
            f"{path}: {len(texts)} lines but {label_path.name} has {len(labels)} labels"
        )
    for number, (text, label) in enumerate(zip(texts, labels, strict=True), start=1):
        yield number, {"text": text, "label": label.strip()}


def _table_rows(path: Path, cfg: CorpusConfig) -> Iterator[tuple[int, dict]]:
    if cfg.format == "parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: unreadable Parquet file: {exc}") from exc
        rows = table.to_pylist()
    else:
        import datasets

        try:
            rows = datasets.load_from_disk(str(path))
        except (OSError, ValueError, FileNotFoundError) as exc:
            raise DataError(f"{path}: not a datasets directory: {exc}") from exc
    for number, row in enumerate(rows, start=1):
        yield number, dict(row)


def read_rows(path: Path, cfg: CorpusConfig) -> Iterator[tuple[int, dict]]:
    """(line or row number, raw row) pairs from one file."""
    if cfg.format in ("csv", "tsv"):
        yield from _csv_rows(path, cfg, "," if cfg.format == "csv" else "\t")
    elif cfg.format == "jsonl":
        yield from _jsonl_rows(path, cfg)
    elif cfg.format == "lines":
        yield from _lines_rows(path, cfg)
    elif cfg.format == "parallel":
        yield from _parallel_rows(path, cfg)
    else:
        yield from _table_rows(path, cfg)


# --- rows to records ------------------------------------------------------------------------


def _get(row: dict, column: str) -> Any:
    """A column, or a dotted path into nested JSON (`targets.0.mention` style keys)."""
    if column in row:
        return row[column]
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(column)
        value = value[part]
    return value


def _label(
    raw: Any, mapping: dict[str, str | None], valid: tuple[str, ...], where: str, field_: str
) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    key = str(raw).strip()
    if key in mapping:
        return mapping[key]
    if key in valid:
        return key
    known = sorted(set(mapping) | set(valid))
    raise DataError(f"{where}: field {field_!r}: unknown label {key!r} (known: {', '.join(known)})")


def row_records(cfg: CorpusConfig, path: Path, number: int, row: dict) -> list[Record]:
    where = f"{path}:{number}"
    try:
        text = _get(row, cfg.text_column)
    except KeyError:
        raise DataError(f"{where}: no column {cfg.text_column!r} (text)") from None
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: field {cfg.text_column!r}: empty text")
    row_id = str(_get(row, cfg.id_column)) if cfg.id_column else f"{cfg.name}:{path.name}:{number}"
    records = []
    for index, view in enumerate(cfg.views):
        values: dict[str, Any] = {}
        for key, column in (
            ("target", view.target_column),
            ("stance", view.stance_column),
            ("sentiment", view.sentiment_column),
        ):
            try:
                values[key] = _get(row, column) if column else None
            except KeyError:
                raise DataError(f"{where}: no column {column!r} ({key})") from None
        record = Record(
            text=text.strip(),
            target=(str(values["target"]).strip() if values["target"] else None) or view.target,
            stance=_label(values["stance"], cfg.stance_map, STANCE_LABELS, where, "stance"),
            sentiment=_label(
                values["sentiment"], cfg.sentiment_map, SENTIMENT_LABELS, where, "sentiment"
            ),
            id=row_id if len(cfg.views) == 1 else f"{row_id}#{index}",
        )
        labelled = view.stance_column or view.sentiment_column
        if labelled and record.stance is None and record.sentiment is None:
            raise DataError(f"{where}: no stance or sentiment label in this row")
        records.append(record)
    return records


def _stable_fraction(key: str) -> float:
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF


def _paths(cfg: CorpusConfig, split: str, root: Path) -> list[Path]:
    entry = cfg.files.get(split)
    if entry is None:
        return []
    return [root / p for p in ([entry] if isinstance(entry, str) else entry)]


def load_corpus(cfg: CorpusConfig, split: str, root: Path | str = ".") -> list[Record]:
    """All records of one split of one corpus (`root` is where relative paths start)."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {SPLITS}")
    root = Path(cfg.root) if cfg.root is not None else Path(root)
    if cfg.format == "soft":
        return [r for path in _paths(cfg, split, root) for r in _soft_records(cfg, path)]
    if cfg.format == "negotiation":
        from detente.training.negotiation_corpus import load_negotiation_corpus

        corpus_dir = _paths(cfg, "train", root) or _paths(cfg, "all", root)
        shared = _paths(cfg, "shared", root)
        return load_negotiation_corpus(corpus_dir[0], shared[0] if shared else None, split)
    source_split = split
    if split == "dev" and "dev" not in cfg.files and cfg.dev_fraction:
        source_split = "train"
    records: list[Record] = []
    for path in _paths(cfg, source_split, root):
        if not path.exists():
            raise DataError(f"corpus {cfg.name!r}: {path}: file not found")
        for number, row in read_rows(path, cfg):
            if any(str(row.get(k)) != str(v) for k, v in cfg.filter.items()):
                continue
            records.extend(row_records(cfg, path, number, row))
    if cfg.dev_fraction and "dev" not in cfg.files:
        held_out = [r for r in records if _stable_fraction(r.text) < cfg.dev_fraction]
        kept = [r for r in records if _stable_fraction(r.text) >= cfg.dev_fraction]
        records = held_out if split == "dev" else kept
    if split == "train" and cfg.max_rows and len(records) > cfg.max_rows:
        records = random.Random(cfg.name).sample(records, cfg.max_rows)
    return records


def _soft_records(cfg: CorpusConfig, path: Path) -> list[Record]:
    """A `soft` corpus: JSONL lines {"text", "target", "stance_probs", "sentiment_probs"} with a
    teacher's probabilities (training/distill.py writes them)."""
    if not path.exists():
        raise DataError(f"corpus {cfg.name!r}: {path}: file not found")
    records = []
    for number, row in _jsonl_rows(path, cfg):
        where = f"corpus {cfg.name!r}: {path}:{number}"
        probs = {}
        for key in ("stance_probs", "sentiment_probs"):
            value = row.get(key)
            if not (isinstance(value, list) and len(value) == 3 and min(value) >= 0):
                raise DataError(f"{where}: field {key} must be a list of 3 probabilities")
            probs[key] = [float(v) for v in value]
        text = row.get(cfg.text_column)
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: field {cfg.text_column!r} is missing or empty")
        records.append(Record(text=text, target=row.get("target") or cfg.target, **probs))
    if cfg.max_rows and len(records) > cfg.max_rows:
        records = random.Random(cfg.name).sample(records, cfg.max_rows)
    return records


# --- records from a plain file, for evaluation and quick experiments -----------------------


def canonical_file_config(path: Path) -> CorpusConfig:
    """Config for a file already in canonical columns: text, target, stance, sentiment, id."""
    suffix = path.suffix.lower().lstrip(".")
    fmt = {"csv": "csv", "tsv": "tsv", "jsonl": "jsonl", "json": "jsonl", "parquet": "parquet"}
    if path.is_dir():
        fmt_name = "datasets"
    elif suffix in fmt:
        fmt_name = fmt[suffix]
    else:
        raise DataError(f"{path}: unknown data file type (use .csv, .tsv, .jsonl or .parquet)")
    columns = _columns(path, fmt_name)
    return CorpusConfig(
        name=path.stem,
        format=fmt_name,
        files={"dev": str(path)},
        id_column="id" if "id" in columns else None,
        target_column="target" if "target" in columns else None,
        stance_column="stance" if "stance" in columns else None,
        sentiment_column="sentiment" if "sentiment" in columns else None,
    )


def _columns(path: Path, fmt: str) -> set[str]:
    if fmt in ("csv", "tsv"):
        with path.open(encoding="utf-8") as handle:
            header = handle.readline()
        return set(next(csv.reader([header], delimiter="," if fmt == "csv" else "\t"), []))
    if fmt == "jsonl":
        keys: set[str] = set()
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    try:
                        keys |= set(json.loads(line))
                    except (json.JSONDecodeError, TypeError):
                        break
        return keys
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return set(pq.read_schema(path).names)
    return {"id", "target", "stance", "sentiment"}


def load_data_spec(spec: str | Path, split: str = "dev") -> list[Record]:
    """Records from a data file in canonical columns, or from a YAML config's corpora."""
    path = Path(spec)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.suffix.lower() in (".yaml", ".yml"):
        from detente.training.training_args import load_config

        config = load_config(path)
        records: list[Record] = []
        for corpus in config.eval_corpora(split):
            records.extend(load_corpus(corpus, split, config.data_root))
    else:
        records = load_corpus(canonical_file_config(path), "dev")
    if not records:
        raise DataError(f"{path}: no records in split {split!r} (empty file?)")
    return records


def load_training_corpora(config_path: str | Path) -> list[Record]:
    """Training records of a YAML config ([] for a plain data file)."""
    path = Path(config_path)
    if path.suffix.lower() not in (".yaml", ".yml"):
        return []
    from detente.training.training_args import load_config

    config = load_config(path)
    return [r for c in config.corpora for r in load_corpus(c, "train", config.data_root)]
