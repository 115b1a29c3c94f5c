"""The pool of unlabelled real news sentences that annotation candidates are mined from.

Every sentence of every article under ``../shared/data/news/`` (the GDELT text files and the
three JSONL collections) and every UNSCon sentence becomes a `PoolItem`: its would-be
reference (a locator, the sha1 prefix, the article id and the conflict), so that a labelled
item turns into a corpus line without copying text into the project. Sentences come from the
serving segmenter (`detente.serving.segment`), the same one that splits articles at scoring
time, so the corpus holds the sentences the service will actually see.

The text is kept in memory only (for ranking and for the annotators' batch files, which live
outside the repository); it is never written into ``data/``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detente.training.negotiation_corpus import (
    normalize_text,
    read_collection,
    sha1_prefix,
)

# JSONL article collections: folder under news/ -> article-id prefix.
COLLECTIONS = {
    "israel_gaza_bbc_npr": "bbcnpr",
    "syria_war_fakes": "fakes",
    "russia_ukraine_peace_talks_2026_web": "ua26",
}
GDELT_DIR = "news/ukraine_war_gdelt/articles"
UNSCON_FILE = "stance/unscon/conflict_annotations_sentences.csv"
MIN_CHARS, MAX_CHARS = 25, 600


@dataclass
class PoolItem:
    """One unlabelled sentence with the reference it would get once labelled."""

    ref: dict[str, Any]  # locator + sha1 + article + conflict (no labels, no text)
    text: str  # normalised sentence text (memory only)
    context_before: list[str] = field(default_factory=list)
    context_after: list[str] = field(default_factory=list)
    title: str | None = None

    @property
    def article(self) -> str:
        return self.ref["article"]

    @property
    def conflict(self) -> str:
        return self.ref["conflict"]


def _usable(text: str) -> bool:
    return MIN_CHARS <= len(text) <= MAX_CHARS and sum(c.isalpha() for c in text) >= 15


def _article_items(
    text: str,
    locator: dict[str, Any],
    article: str,
    conflict: str,
    id_prefix: str,
    title: str | None,
) -> list[PoolItem]:
    from detente.serving.segment import segment

    segments = segment(text)
    sentences = [normalize_text(s.text) for s in segments]
    items = []
    for i, seg in enumerate(segments):
        if not _usable(sentences[i]):
            continue
        ref = {
            "id": f"{id_prefix}-{seg.start:06d}",
            **locator,
            "start": seg.start,
            "end": seg.end,
            "sha1": sha1_prefix(text[seg.start : seg.end]),
            "article": article,
            "conflict": conflict,
        }
        items.append(
            PoolItem(
                ref=ref,
                text=sentences[i],
                context_before=sentences[max(0, i - 2) : i],
                context_after=sentences[i + 1 : i + 2],
                title=title,
            )
        )
    return items


def collection_items(shared: Path, folder: str, prefix: str) -> Iterator[PoolItem]:
    source = f"news/{folder}/articles.jsonl"
    path = shared / source
    meta = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            obj = json.loads(line)
            meta[obj["id"]] = (obj.get("title"), obj.get("conflict") or "unknown")
    for doc_id, text in read_collection(path).items():
        title, conflict = meta[doc_id]
        yield from _article_items(
            text,
            {"source": source, "doc_id": doc_id},
            f"{prefix}:{doc_id}",
            conflict,
            f"{prefix}-{doc_id}",
            title,
        )


def gdelt_items(shared: Path) -> Iterator[PoolItem]:
    for path in sorted((shared / GDELT_DIR).glob("*.txt")):
        short = path.stem.rsplit("_", 1)[-1]
        yield from _article_items(
            path.read_text(encoding="utf-8"),
            {"source": f"{GDELT_DIR}/{path.name}"},
            f"gdelt:{short}",
            "russia_ukraine",
            f"gdelt-{short}",
            None,
        )


def unscon_items(shared: Path) -> Iterator[PoolItem]:
    """UNSCon sentences (Security Council speeches on Ukraine), with the speech as context."""
    with (shared / UNSCON_FILE).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_speech: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_speech.setdefault(f"unscon:{row['basename']}_{row['speech_id']}", []).append(row)
    for article, speech in by_speech.items():
        texts = [normalize_text(r["sentence_text"]) for r in speech]
        for i, row in enumerate(speech):
            if not _usable(texts[i]):
                continue
            ref = {
                "id": f"unscon-{row['file_id']}-{row['sentence_char_offsets']}",
                "source": UNSCON_FILE,
                "file_id": row["file_id"],
                "char_offsets": row["sentence_char_offsets"],
                "sha1": sha1_prefix(row["sentence_text"]),
                "article": article,
                "conflict": "russia_ukraine",
            }
            yield PoolItem(ref, texts[i], texts[max(0, i - 2) : i], texts[i + 1 : i + 2])


def build_pool(shared: Path | str) -> list[PoolItem]:
    """Every usable sentence of the news folders and UNSCon, in a stable order."""
    shared = Path(shared)
    items: list[PoolItem] = []
    for folder, prefix in COLLECTIONS.items():
        items.extend(collection_items(shared, folder, prefix))
    items.extend(gdelt_items(shared))
    items.extend(unscon_items(shared))
    return items
