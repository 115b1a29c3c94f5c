"""The negotiation-stance corpus: team-written statements plus references to real sentences.

Layout (see docs/CORPUS_FORMAT.md for the exact keys)::

    data/negotiation_stance/
        written/<part>.jsonl   team-written statements, full text, always in the train split
        refs/<source>.jsonl    references to sentences of public corpora under ../shared/data;
                               no text, only a locator, a sha1 prefix and the labels

Four locator kinds are resolved by `resolve_reference`:

- text file (``start``/``end``): ``text[start:end]`` of a UTF-8 text file (GDELT articles);
- article collection (``doc_id``/``start``/``end``): ``text[start:end]`` of the ``text`` field of
  the line with that ``id`` in a JSONL file of articles (the BBC/NPR, FA-KES and 2026 web
  collections);
- newsbias JSON (``sentence_id``): the ``content`` of that sentence of an article JSON file;
- UNSCon CSV (``file_id``/``char_offsets``): ``sentence_text`` of the row with that
  ``file_id`` and ``sentence_char_offsets``.

The sha1 prefix is taken over the raw source text (before any normalisation). A missing file, a
missing sentence or row, or a sha1 mismatch raises `CorpusError` naming the refs file, the line,
the id and what did not match. Resolved text has runs of whitespace collapsed to one space and is
stripped; written statements are normalised the same way.

Split rule (deterministic, no state):

- written statements are always ``train`` (dev is real news only);
- a reference goes to ``dev`` when ``int(sha1(article).hexdigest(), 16) % 100 < P`` (article =
  the ``article`` field encoded as UTF-8, e.g. ``"newsbias:article_1"``), else to ``train``.
  P is 25, or 40 for the round-2 collections (``DEV_PERCENT_BY_PREFIX``), so that the dev split
  holds enough real ``against`` and ``favor`` sentences of wars other than Russia-Ukraine.
  Every sentence of one article (a news article, or one UNSCon speech) therefore lands in the same
  split, and adding or relabelling sentences never moves an article between splits.

``split="all"`` returns train and dev together. Every record gets target ``"negotiations"``.

Command line (from the project root)::

    python -m detente.training.negotiation_corpus --shared ../shared/data [--markdown]

validates every file, resolves every reference when ``--shared`` is given, and prints counts per
split, stance, sentiment and source.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detente.training.corpora import DataError
from detente.training.records import Record

logger = logging.getLogger(__name__)

TARGET = "negotiations"
STANCES = ("favor", "against", "none")
SENTIMENTS = ("negative", "neutral", "positive")
SPLITS = ("train", "dev", "all")
DEV_PERCENT = 25
# Round-2 article collections: a larger dev share (article-id prefix -> percent).
DEV_PERCENT_BY_PREFIX = {"bbcnpr": 40, "fakes": 40, "ua26": 40}
# References without a `conflict` field are from the round-1 sources, all Russia-Ukraine.
DEFAULT_CONFLICT = "russia_ukraine"

WRITTEN_DIR = "written"
REFS_DIR = "refs"

WRITTEN_KEYS = ("id", "text", "stance", "sentiment", "conflict", "form", "group", "hard_case")
FORMS = (
    "headline",
    "quote",
    "reported_speech",
    "official_statement",
    "analysis",
    "report",
    "boilerplate",
)
HARD_CASES = (
    "conditional_offer",
    "refusal_until_demand",
    "negated_support",
    "ruse_accusation",
    "so_called_talks",
    "coercion_route",
    "rejected_coercion",
    "historical_mention",
    "unrelated_negotiation",
    "mixed_main_clause",
    "boilerplate",
    "procedural_report",
    "other",
)

# Locator kind -> the keys of a reference line, in the documented order.
REF_KEYS = {
    "text": ("id", "source", "start", "end", "sha1", "article", "stance", "sentiment"),
    "newsbias": ("id", "source", "sentence_id", "sha1", "article", "stance", "sentiment"),
    "unscon": (
        "id",
        "source",
        "file_id",
        "char_offsets",
        "sha1",
        "article",
        "stance",
        "sentiment",
    ),
    "doc": ("id", "source", "doc_id", "start", "end", "sha1", "article", "stance", "sentiment"),
}
# Keys any reference may also carry: the war it is about, the mining list that picked it
# (training/mining.py), and a hard-case tag as for written statements.
OPTIONAL_REF_KEYS = ("conflict", "list", "hard_case")
SHA1_PREFIX_LEN = 10
_SHA1_RE = re.compile(r"^[0-9a-f]{10}$")
_WRITTEN_ID_RE = re.compile(r"^w([A-Z])-(\d{4})$")
_OFFSETS_RE = re.compile(r"^\d+-\d+$")
_WS_RE = re.compile(r"\s+")


class CorpusError(DataError):
    """A corpus file or reference that cannot be used; the message says where and why."""


def normalize_text(text: str) -> str:
    """Collapse runs of whitespace to one space and strip."""
    return _WS_RE.sub(" ", text).strip()


def sha1_prefix(text: str, length: int = SHA1_PREFIX_LEN) -> str:
    """First `length` hex characters of sha1 over the UTF-8 bytes of `text`."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


def split_of_article(article: str) -> str:
    """The split ("train" or "dev") of every reference with this `article` id."""
    value = int(hashlib.sha1(article.encode("utf-8")).hexdigest(), 16)
    percent = DEV_PERCENT_BY_PREFIX.get(article.split(":", 1)[0], DEV_PERCENT)
    return "dev" if value % 100 < percent else "train"


def locator_kind(ref: dict[str, Any]) -> str:
    """ "doc", "text", "newsbias" or "unscon", from the locator keys present in a reference."""
    if "doc_id" in ref:
        return "doc"
    if "start" in ref or "end" in ref:
        return "text"
    if "sentence_id" in ref:
        return "newsbias"
    if "file_id" in ref or "char_offsets" in ref:
        return "unscon"
    raise CorpusError(
        "no locator: expected start/end, doc_id/start/end, sentence_id or file_id/char_offsets"
    )


# --------------------------------------------------------------------------- reading the files


@dataclass
class Entry:
    """One line of a corpus file, validated."""

    kind: str  # "written" or "ref"
    file: Path
    line: int
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def source(self) -> str:
        """ "written/<part>" or "refs/<source>" (the file stem)."""
        return f"{WRITTEN_DIR if self.kind == 'written' else REFS_DIR}/{self.file.stem}"

    @property
    def unit(self) -> str:
        """The unit that splits are made by: a written group or a real article."""
        return self.data["group"] if self.kind == "written" else self.data["article"]

    @property
    def split(self) -> str:
        return "train" if self.kind == "written" else split_of_article(self.data["article"])

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def conflict(self) -> str:
        return self.data.get("conflict") or DEFAULT_CONFLICT


def corpus_files(corpus_dir: Path | str) -> tuple[list[Path], list[Path]]:
    """(written files, refs files), each sorted by name."""
    corpus_dir = Path(corpus_dir)
    written = sorted((corpus_dir / WRITTEN_DIR).glob("*.jsonl"))
    refs = sorted((corpus_dir / REFS_DIR).glob("*.jsonl"))
    return written, refs


def read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; a line that is not a JSON object raises."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CorpusError(f"{path}: cannot read: {error}") from error
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            raise CorpusError(f"{path}:{number}: invalid JSON: {error}") from error
        if not isinstance(obj, dict):
            raise CorpusError(f"{path}:{number}: expected a JSON object")
        rows.append((number, obj))
    return rows


def check_labels(obj: dict[str, Any], where: str) -> None:
    """Stance and sentiment are known labels, and hard_case (if present) is null or a known tag."""
    if obj.get("stance") not in STANCES:
        raise CorpusError(f"{where}: stance {obj.get('stance')!r} not in {STANCES}")
    if obj.get("sentiment") not in SENTIMENTS:
        raise CorpusError(f"{where}: sentiment {obj.get('sentiment')!r} not in {SENTIMENTS}")
    if obj.get("hard_case") is not None and obj["hard_case"] not in HARD_CASES:
        raise CorpusError(f"{where}: hard_case {obj['hard_case']!r} not null or in {HARD_CASES}")


def _check_keys(
    obj: dict[str, Any], expected: tuple[str, ...], where: str, optional: tuple[str, ...] = ()
) -> None:
    missing = [k for k in expected if k not in obj]
    extra = [k for k in obj if k not in expected and k not in optional]
    if missing or extra:
        raise CorpusError(
            f"{where}: keys do not match the format: missing {missing}, extra {extra}"
        )


def _nonempty_str(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CorpusError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value


def validate_written(obj: dict[str, Any], where: str) -> None:
    """Schema of one team-written statement (raises CorpusError)."""
    _check_keys(obj, WRITTEN_KEYS, where)
    ident = _nonempty_str(obj, "id", where)
    if not _WRITTEN_ID_RE.match(ident):
        raise CorpusError(f"{where}: id {ident!r} is not w<PART>-<4 digits>")
    where = f"{where} (id {ident})"
    _nonempty_str(obj, "text", where)
    check_labels(obj, where)
    _nonempty_str(obj, "conflict", where)
    _nonempty_str(obj, "group", where)
    if obj["form"] not in FORMS:
        raise CorpusError(f"{where}: form {obj['form']!r} not in {FORMS}")


def validate_ref(obj: dict[str, Any], where: str) -> str:
    """Schema of one reference (raises CorpusError); returns its locator kind."""
    if "text" in obj:
        raise CorpusError(f"{where}: a reference must not carry text (licences)")
    try:
        kind = locator_kind(obj)
    except CorpusError as error:
        raise CorpusError(f"{where}: {error}") from None
    _check_keys(obj, REF_KEYS[kind], where, OPTIONAL_REF_KEYS)
    ident = _nonempty_str(obj, "id", where)
    where = f"{where} (id {ident})"
    source = _nonempty_str(obj, "source", where)
    if source.startswith("/") or ".." in Path(source).parts:
        raise CorpusError(f"{where}: source {source!r} must be relative to the shared data dir")
    _nonempty_str(obj, "article", where)
    if not isinstance(obj["sha1"], str) or not _SHA1_RE.match(obj["sha1"]):
        raise CorpusError(f"{where}: sha1 {obj['sha1']!r} is not {SHA1_PREFIX_LEN} lowercase hex")
    check_labels(obj, where)
    for key in ("conflict", "list"):
        if key in obj:
            _nonempty_str(obj, key, where)
    if kind == "doc":
        _nonempty_str(obj, "doc_id", where)
    if kind in ("text", "doc"):
        start, end = obj["start"], obj["end"]
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end))
        if not ints or not 0 <= start < end:
            raise CorpusError(f"{where}: start/end must be integers with 0 <= start < end")
    elif kind == "newsbias":
        _nonempty_str(obj, "sentence_id", where)
    else:
        _nonempty_str(obj, "file_id", where)
        offsets = _nonempty_str(obj, "char_offsets", where)
        if not _OFFSETS_RE.match(offsets):
            raise CorpusError(f"{where}: char_offsets {offsets!r} is not <start>-<end>")
    return kind


def read_entries(corpus_dir: Path | str) -> list[Entry]:
    """Every line of every corpus file, validated; ids must be unique across all files."""
    written, refs = corpus_files(corpus_dir)
    if not written and not refs:
        raise CorpusError(f"{corpus_dir}: no {WRITTEN_DIR}/*.jsonl or {REFS_DIR}/*.jsonl files")
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for kind, paths in (("written", written), ("ref", refs)):
        for path in paths:
            for number, obj in read_jsonl(path):
                where = f"{path}:{number}"
                if kind == "written":
                    validate_written(obj, where)
                else:
                    validate_ref(obj, where)
                if obj["id"] in seen:
                    raise CorpusError(
                        f"{where}: duplicate id {obj['id']!r} (first at {seen[obj['id']]})"
                    )
                seen[obj["id"]] = where
                entries.append(Entry(kind, path, number, obj))
    return entries


# --------------------------------------------------------------------------- resolving references


@dataclass
class SourceCache:
    """Parsed shared sources, so that many references into one file read it once."""

    texts: dict[Path, str] = field(default_factory=dict)
    collections: dict[Path, dict[str, str]] = field(default_factory=dict)
    newsbias: dict[Path, dict[str, str]] = field(default_factory=dict)
    # path -> (file_id, char_offsets) -> list of (sentence_text, article) rows
    unscon: dict[Path, dict[tuple[str, str], list[tuple[str, str]]]] = field(default_factory=dict)


def _read_text_source(path: Path, cache: SourceCache) -> str:
    if path not in cache.texts:
        cache.texts[path] = path.read_text(encoding="utf-8")
    return cache.texts[path]


def read_collection(path: Path) -> dict[str, str]:
    """id -> text of a JSONL file of articles (one object with `id` and `text` per line)."""
    texts: dict[str, str] = {}
    for number, obj in read_jsonl(path):
        if not isinstance(obj.get("id"), str) or not isinstance(obj.get("text"), str):
            raise CorpusError(f"{path}:{number}: an article needs string fields id and text")
        texts[obj["id"]] = obj["text"]
    return texts


def _read_collection_source(path: Path, cache: SourceCache) -> dict[str, str]:
    if path not in cache.collections:
        cache.collections[path] = read_collection(path)
    return cache.collections[path]


def _read_newsbias_source(path: Path, cache: SourceCache) -> dict[str, str]:
    if path not in cache.newsbias:
        data = json.loads(path.read_text(encoding="utf-8"))
        sentences: dict[str, str] = {}
        for sentence in data.get("sentences", []):
            sentences[str(sentence["id"])] = sentence["content"]
        cache.newsbias[path] = sentences
    return cache.newsbias[path]


def _read_unscon_source(path: Path, cache: SourceCache) -> dict[tuple[str, str], list]:
    if path not in cache.unscon:
        rows: dict[tuple[str, str], list[tuple[str, str]]] = {}
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                key = (row["file_id"], row["sentence_char_offsets"])
                article = f"unscon:{row['basename']}_{row['speech_id']}"
                rows.setdefault(key, []).append((row["sentence_text"], article))
        cache.unscon[path] = rows
    return cache.unscon[path]


def resolve_reference(
    ref: dict[str, Any],
    shared_data_dir: Path | str,
    *,
    refs_file: Path | str | None = None,
    line: int | None = None,
    cache: SourceCache | None = None,
) -> str:
    """The normalised text a reference points to, after checking its sha1.

    `refs_file` and `line` only make error messages name where the reference came from.
    Raises CorpusError on a missing file, a missing sentence id or CSV row, an ambiguous row,
    an article that does not match the source, or a sha1 mismatch.
    """
    cache = cache if cache is not None else SourceCache()
    where = f"{refs_file if refs_file is not None else '<reference>'}"
    if line is not None:
        where += f":{line}"
    where += f": id {ref.get('id')!r}"
    try:
        kind = locator_kind(ref)
    except CorpusError as error:
        raise CorpusError(f"{where}: {error}") from None
    source = ref.get("source")
    if not isinstance(source, str) or not source:
        raise CorpusError(f"{where}: no source")
    path = Path(shared_data_dir) / source
    if not path.is_file():
        raise CorpusError(f"{where}: source file not found: {path}")
    try:
        if kind in ("text", "doc"):
            if kind == "text":
                text = _read_text_source(path, cache)
            else:
                docs = _read_collection_source(path, cache)
                if ref.get("doc_id") not in docs:
                    raise CorpusError(f"{where}: doc_id {ref.get('doc_id')!r} not found in {path}")
                text = docs[ref["doc_id"]]
            start, end = ref.get("start"), ref.get("end")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
                raise CorpusError(f"{where}: bad start/end {start!r}/{end!r}")
            if end > len(text):
                raise CorpusError(
                    f"{where}: end {end} is past the end of {path} ({len(text)} characters)"
                )
            raw = text[start:end]
            located = f"{path}[{start}:{end}]"
        elif kind == "newsbias":
            sentences = _read_newsbias_source(path, cache)
            sentence_id = ref.get("sentence_id")
            if sentence_id not in sentences:
                raise CorpusError(f"{where}: sentence id {sentence_id!r} not found in {path}")
            raw = sentences[sentence_id]
            located = f"{path} sentence {sentence_id}"
            expected_article = f"newsbias:{path.stem}"
            if ref.get("article") != expected_article:
                raise CorpusError(
                    f"{where}: article {ref.get('article')!r} does not match the source "
                    f"(expected {expected_article!r})"
                )
        else:
            rows = _read_unscon_source(path, cache)
            key = (ref.get("file_id"), ref.get("char_offsets"))
            found = rows.get(key, [])
            if not found:
                raise CorpusError(
                    f"{where}: no row with file_id {key[0]!r} and char_offsets {key[1]!r} in {path}"
                )
            if len(found) > 1:
                raise CorpusError(f"{where}: {len(found)} rows match file_id/char_offsets {key}")
            raw, expected_article = found[0]
            located = f"{path} row {key[0]} {key[1]}"
            if ref.get("article") != expected_article:
                raise CorpusError(
                    f"{where}: article {ref.get('article')!r} does not match the source "
                    f"(expected {expected_article!r})"
                )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, csv.Error) as error:
        raise CorpusError(f"{where}: cannot read {path}: {error!r}") from error
    actual = sha1_prefix(raw)
    expected = ref.get("sha1")
    if not isinstance(expected, str) or actual != expected[:SHA1_PREFIX_LEN]:
        raise CorpusError(
            f"{where}: sha1 mismatch for {located}: reference has {expected!r}, source text "
            f"gives {actual!r}"
        )
    text = normalize_text(raw)
    if not text:
        raise CorpusError(f"{where}: {located} is empty")
    return text


# --------------------------------------------------------------------------- loading


def _shared_available(shared_data_dir: Path | str | None) -> bool:
    return shared_data_dir is not None and Path(shared_data_dir).is_dir()


def load_negotiation_corpus(
    corpus_dir: Path | str,
    shared_data_dir: Path | str | None,
    split: str,
    *,
    allow_missing_shared: bool = False,
) -> list[Record]:
    """Records (target "negotiations") of one split: "train", "dev" or "all".

    Written statements are train only; references are split by `split_of_article`. When the
    shared data dir is None or absent, references cannot be resolved: that is an error unless
    `allow_missing_shared` is True, in which case they are skipped with a warning.
    """
    if split not in SPLITS:
        raise CorpusError(f"unknown split {split!r}; use one of {SPLITS}")
    entries = read_entries(corpus_dir)
    refs = [e for e in entries if e.kind == "ref"]
    have_shared = _shared_available(shared_data_dir)
    if refs and not have_shared:
        message = (
            f"shared data dir {str(shared_data_dir)!r} not found: cannot resolve {len(refs)} "
            f"references under {Path(corpus_dir) / REFS_DIR}"
        )
        if not allow_missing_shared:
            raise CorpusError(
                message + " (they need the public corpora at ../shared/data beside the project)"
            )
        logger.warning("%s; skipping them, only written statements are loaded", message)
    cache = SourceCache()
    records: list[Record] = []
    for entry in entries:
        if split != "all" and entry.split != split:
            continue
        if entry.kind == "written":
            text = normalize_text(entry.data["text"])
        elif have_shared:
            text = resolve_reference(
                entry.data,
                Path(shared_data_dir),
                refs_file=entry.file,
                line=entry.line,
                cache=cache,
            )
        else:
            continue
        records.append(
            Record(
                text=text,
                target=TARGET,
                stance=entry.data["stance"],
                sentiment=entry.data["sentiment"],
                id=entry.id,
                conflict=entry.conflict,
            )
        )
    return records


def resolve_all(corpus_dir: Path | str, shared_data_dir: Path | str) -> dict[str, str]:
    """id -> resolved text for every reference (raises on the first that fails)."""
    cache = SourceCache()
    return {
        e.id: resolve_reference(
            e.data, Path(shared_data_dir), refs_file=e.file, line=e.line, cache=cache
        )
        for e in read_entries(corpus_dir)
        if e.kind == "ref"
    }


# --------------------------------------------------------------------------- statistics


def corpus_stats(corpus_dir: Path | str, shared_data_dir: Path | str | None = None) -> dict:
    """Label counts per split and per source, read from the files (labels need no shared data).

    When `shared_data_dir` is given, every reference is also resolved (so the counts are only
    returned for a corpus whose references all check out). Returns::

        {"total": n, "files": {source: path},
         "splits": {split: {"n", "units", "stance": {...}, "sentiment": {...}}},
         "sources": {source: {"n", "units", "train", "dev", "stance", "sentiment",
                              "dev_stance", "dev_sentiment"}},
         "conflicts": {conflict: {...same keys...}},   # real references only
         "resolved": bool}
    """
    entries = read_entries(corpus_dir)
    if shared_data_dir is not None:
        resolve_all(corpus_dir, shared_data_dir)

    def empty() -> dict:
        return {
            "n": 0,
            "units": set(),
            "stance": Counter({s: 0 for s in STANCES}),
            "sentiment": Counter({s: 0 for s in SENTIMENTS}),
        }

    splits = {"train": empty(), "dev": empty()}
    sources: dict[str, dict] = {}
    conflicts: dict[str, dict] = {}
    files: dict[str, str] = {}
    for e in entries:
        files.setdefault(e.source, str(e.file))
        groups = [sources.setdefault(e.source, empty())]
        if e.kind == "ref":
            groups.append(conflicts.setdefault(e.conflict, empty()))
        for bucket in (splits[e.split], *groups):
            bucket["n"] += 1
            bucket["units"].add(e.unit)
            bucket["stance"][e.data["stance"]] += 1
            bucket["sentiment"][e.data["sentiment"]] += 1
        for group in groups:
            group[e.split] = group.get(e.split, 0) + 1
            dev_stance = group.setdefault("dev_stance", Counter({s: 0 for s in STANCES}))
            dev_sentiment = group.setdefault("dev_sentiment", Counter({s: 0 for s in SENTIMENTS}))
            if e.split == "dev":
                dev_stance[e.data["stance"]] += 1
                dev_sentiment[e.data["sentiment"]] += 1

    def plain(bucket: dict) -> dict:
        out = dict(bucket)
        out["units"] = len(bucket["units"])
        out["stance"] = dict(bucket["stance"])
        out["sentiment"] = dict(bucket["sentiment"])
        for key in ("dev_stance", "dev_sentiment"):
            if key in out:
                out[key] = dict(out[key])
        out.setdefault("train", 0)
        out.setdefault("dev", 0)
        return out

    return {
        "total": len(entries),
        "files": files,
        "splits": {name: plain(b) for name, b in splits.items()},
        "sources": {name: plain(b) for name, b in sorted(sources.items())},
        "conflicts": {
            name: plain(b) for name, b in sorted(conflicts.items(), key=lambda kv: -kv[1]["n"])
        },
        "resolved": shared_data_dir is not None,
    }


def _pct(count: int, total: int) -> str:
    return f"{count} ({100 * count / total:.0f}%)" if total else "0"


def format_stats(stats: dict, markdown: bool = False) -> str:
    """Tables of `corpus_stats` output: per split, and per source (all / dev)."""
    head = ["", "n", "units", *STANCES, *SENTIMENTS]
    rows: list[list[str]] = []
    for name in ("train", "dev"):
        b = stats["splits"][name]
        rows.append(
            [name, str(b["n"]), str(b["units"])]
            + [_pct(b["stance"][s], b["n"]) for s in STANCES]
            + [_pct(b["sentiment"][s], b["n"]) for s in SENTIMENTS]
        )
    total = {
        "n": stats["total"],
        "units": sum(b["units"] for b in stats["splits"].values()),
        "stance": {s: sum(b["stance"][s] for b in stats["splits"].values()) for s in STANCES},
        "sentiment": {
            s: sum(b["sentiment"][s] for b in stats["splits"].values()) for s in SENTIMENTS
        },
    }
    rows.append(
        ["all", str(total["n"]), str(total["units"])]
        + [_pct(total["stance"][s], total["n"]) for s in STANCES]
        + [_pct(total["sentiment"][s], total["n"]) for s in SENTIMENTS]
    )
    src_head = ["source", "n", "units", "train", "dev", *STANCES, *SENTIMENTS]
    src_rows = []
    for name, b in stats["sources"].items():
        src_rows.append(
            [name, str(b["n"]), str(b["units"]), str(b["train"]), str(b["dev"])]
            + [str(b["stance"][s]) for s in STANCES]
            + [str(b["sentiment"][s]) for s in SENTIMENTS]
        )
    dev_head = ["source (dev only)", "n", *STANCES, *SENTIMENTS]
    dev_rows = [
        [name, str(b["dev"])]
        + [str(b["dev_stance"][s]) for s in STANCES]
        + [str(b["dev_sentiment"][s]) for s in SENTIMENTS]
        for name, b in stats["sources"].items()
        if b["dev"]
    ]
    conflict_head = ["conflict (real news)", "n", "train", "dev", *[f"dev {s}" for s in STANCES]]
    conflict_rows = [
        [name, str(b["n"]), str(b["train"]), str(b["dev"])]
        + [str(b["dev_stance"][s]) for s in STANCES]
        for name, b in stats["conflicts"].items()
    ]
    parts = [
        _table(["split", *head[1:]], rows, markdown),
        _table(src_head, src_rows, markdown),
        _table(dev_head, dev_rows, markdown),
        _table(conflict_head, conflict_rows, markdown),
    ]
    note = "references resolved and sha1-checked" if stats["resolved"] else "not resolved"
    return "\n\n".join(parts) + f"\n\n{stats['total']} items; {note}."


def _table(head: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*r) for r in [head, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m detente.training.negotiation_corpus",
        description="Validate the negotiation-stance corpus and print its label counts.",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path("data/negotiation_stance"),
        help="corpus directory (default: data/negotiation_stance)",
    )
    parser.add_argument(
        "--shared",
        type=Path,
        default=None,
        help="shared data dir (e.g. ../shared/data); when given, every reference is resolved",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    shared = args.shared
    if shared is not None and not shared.is_dir():
        print(f"error: shared data dir not found: {shared}", file=sys.stderr)
        return 2
    try:
        stats = corpus_stats(args.corpus, shared)
    except CorpusError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(format_stats(stats, markdown=args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
