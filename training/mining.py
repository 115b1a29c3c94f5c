"""Mining annotation candidates from the news pool, and turning labels into corpus references.

Two subcommands (run from the project root)::

    python -m detente.training.mining select --shared ../shared/data --model default \\
        --out /tmp/annot --batches 5
    python -m detente.training.mining ingest --pending /tmp/annot/pending.jsonl \\
        --labels /tmp/annot/labels_*.jsonl

``select`` builds the pool (`detente.training.news_pool`), drops sentences the corpus already
has, scores the rest with a model (the ranker) and draws four lists:

- ``against``: highest P(against); ``favor``: highest P(favor);
- ``uncertain``: highest stance entropy;
- ``random``: a uniform sample of the whole pool, so the corpus does not only learn the
  ranker's bias.

The ranked lists are drawn from sentences that mention negotiating or its alternatives
(`KEYWORDS`); each list takes half of its items from Russia-Ukraine articles and half from the
other wars, and at most `PER_ARTICLE` items of one article. The items are shuffled into batch
files for the annotators (``batch_N.jsonl``: sentence, two sentences before, one after, the
title and a conflict hint; the list is not shown), and their references go to
``pending.jsonl``. Both stay outside the repository: they hold text of ../shared.

``ingest`` joins label files (``{"id", "stance", "sentiment", "conflict", "hard_case"}`` per
line) with the pending references and appends them, with their ``list``, to
``data/negotiation_stance/refs/r2_<collection>.jsonl``. Every reference is resolved and
sha1-checked before anything is written.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from detente.training.negotiation_corpus import (
    CorpusError,
    SourceCache,
    check_labels,
    read_entries,
    read_jsonl,
    resolve_reference,
)
from detente.training.news_pool import PoolItem, build_pool

KEYWORDS = re.compile(
    r"\b(talks?|negotiat\w*|cease-?fires?|truces?|peace\w*|mediat\w*|dialogue\w*|deals?|"
    r"agreements?|diplomac\w*|diplomat\w*|armistice|surrender\w*|capitulat\w*|compromis\w*|"
    r"concession\w*|settlement|sue for|victory|defeat\w*|hostage\w*|ultimatum\w*|"
    r"precondition\w*|table|envoy\w*|summit\w*|conference)\b",
    re.IGNORECASE,
)
PER_ARTICLE = 4
LIST_SIZES = {"against": 650, "favor": 450, "uncertain": 300, "random": 300}
REF_ORDER = ("id", "source", "doc_id", "file_id", "char_offsets", "start", "end", "sha1")
CONFLICTS = (
    "russia_ukraine",
    "israel_gaza",
    "israel_lebanon",
    "iran",
    "yemen_houthis",
    "syria",
    "iraq",
    "other",
)


def _existing_keys(corpus_dir: Path) -> set[tuple[str, str]]:
    return {
        (e.data["article"], e.data["sha1"]) for e in read_entries(corpus_dir) if e.kind == "ref"
    }


def _entropy(row: Any) -> float:
    return -sum(float(p) * math.log(float(p) + 1e-12) for p in row)


def _take(
    ranked: list[int],
    items: list[PoolItem],
    size: int,
    used: set[int],
    per_article: Counter,
) -> list[int]:
    """Up to `size` items in rank order, half Russia-Ukraine and half other wars."""
    halves = {True: size // 2, False: size - size // 2}
    chosen: list[int] = []
    for index in ranked:
        item = items[index]
        is_ru = item.conflict == "russia_ukraine"
        if index in used or halves[is_ru] == 0 or per_article[item.article] >= PER_ARTICLE:
            continue
        chosen.append(index)
        used.add(index)
        per_article[item.article] += 1
        halves[is_ru] -= 1
        if not any(halves.values()):
            break
    return chosen


def select(args: argparse.Namespace) -> int:
    from detente.model.backends import load_predictor

    rng = random.Random(args.seed)
    pool = build_pool(args.shared)
    existing = _existing_keys(args.corpus)
    seen_text: set[str] = set()
    items: list[PoolItem] = []
    for item in pool:
        key = item.text.lower()
        if (item.article, item.ref["sha1"]) in existing or key in seen_text:
            continue
        seen_text.add(key)
        items.append(item)
    by_conflict = Counter(i.conflict for i in items)
    print(f"pool: {len(pool)} sentences, {len(items)} new and distinct; {dict(by_conflict)}")
    candidates = [i for i, item in enumerate(items) if KEYWORDS.search(item.text)]
    print(f"ranking {len(candidates)} keyword sentences with {args.model}")
    predictor = load_predictor(args.model, backend=args.backend)
    stance, _ = predictor.predict_probs(
        [items[i].text for i in candidates],
        ["negotiations"] * len(candidates),
        batch_size=64,
        show_progress=True,
    )
    labels = list(predictor.config.stance_labels)
    p_against = {i: float(stance[r, labels.index("against")]) for r, i in enumerate(candidates)}
    p_favor = {i: float(stance[r, labels.index("favor")]) for r, i in enumerate(candidates)}
    entropy = {i: _entropy(stance[r]) for r, i in enumerate(candidates)}
    used: set[int] = set()
    lists: dict[str, list[int]] = {}
    for name, score in (("against", p_against), ("favor", p_favor), ("uncertain", entropy)):
        ranked = sorted(candidates, key=lambda i, s=score: -s[i])
        lists[name] = _take(ranked, items, LIST_SIZES[name], used, Counter())
    everything = list(range(len(items)))
    rng.shuffle(everything)
    lists["random"] = _take(everything, items, LIST_SIZES["random"], used, Counter())
    chosen = [(name, i) for name, indices in lists.items() for i in indices]
    rng.shuffle(chosen)
    args.out.mkdir(parents=True, exist_ok=True)
    batches: list[list[str]] = [[] for _ in range(args.batches)]
    with (args.out / "pending.jsonl").open("w", encoding="utf-8") as pending:
        for n, (name, index) in enumerate(chosen):
            item = items[index]
            pending.write(json.dumps({**item.ref, "list": name}) + "\n")
            task = {
                "id": item.ref["id"],
                "title": item.title,
                "before": item.context_before,
                "sentence": item.text,
                "after": item.context_after,
                "conflict_hint": item.conflict,
            }
            batches[n % args.batches].append(json.dumps(task, ensure_ascii=False) + "\n")
    for b, lines in enumerate(batches):
        (args.out / f"batch_{b}.jsonl").write_text("".join(lines), encoding="utf-8")
    counts = {name: Counter(items[i].conflict for i in idx) for name, idx in lists.items()}
    print(f"selected {len(chosen)} items into {args.batches} batches under {args.out}: {counts}")
    return 0


def _ordered(ref: dict[str, Any], label: dict[str, Any], list_name: str) -> dict[str, Any]:
    out = {k: ref[k] for k in REF_ORDER if k in ref}
    out["article"] = ref["article"]
    out["conflict"] = label.get("conflict") or ref["conflict"]
    out["list"] = list_name
    out["hard_case"] = label.get("hard_case")
    out["stance"] = label["stance"]
    out["sentiment"] = label["sentiment"]
    return out


def _check_label(label: dict[str, Any], where: str) -> None:
    check_labels(label, where)
    if label.get("conflict") not in (None, *CONFLICTS):
        raise CorpusError(f"{where}: conflict {label.get('conflict')!r} not in {CONFLICTS}")


def ingest(args: argparse.Namespace) -> int:
    pending = {obj["id"]: obj for _, obj in read_jsonl(args.pending)}
    existing_ids = {e.id for e in read_entries(args.corpus)}
    cache = SourceCache()
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in args.labels:
        for number, label in read_jsonl(path):
            where = f"{path}:{number}"
            ref = pending.get(label.get("id"))
            if ref is None:
                raise CorpusError(f"{where}: id {label.get('id')!r} is not in {args.pending}")
            _check_label(label, where)
            if ref["id"] in existing_ids:
                continue
            line = _ordered(ref, label, ref["list"])
            resolve_reference(line, args.shared, refs_file=path, line=number, cache=cache)
            existing_ids.add(ref["id"])
            collection = ref["article"].split(":", 1)[0]
            out[collection].append(line)
    refs_dir = args.corpus / "refs"
    for collection, lines in sorted(out.items()):
        target = refs_dir / f"r2_{collection}.jsonl"
        with target.open("a", encoding="utf-8") as handle:
            for line in lines:
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        print(f"{target}: +{len(lines)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m detente.training.mining", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=Path("data/negotiation_stance"))
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    sub = parser.add_subparsers(dest="command", required=True)
    sel = sub.add_parser("select", help="rank the pool and write annotation batches")
    sel.add_argument("--model", default="default", help="the ranker (model dir or 'default')")
    sel.add_argument("--backend", default="torch")
    sel.add_argument("--out", type=Path, required=True, help="folder outside the repository")
    sel.add_argument("--batches", type=int, default=5)
    sel.add_argument("--seed", type=int, default=13)
    ing = sub.add_parser("ingest", help="append labelled items to the corpus as references")
    ing.add_argument("--pending", type=Path, required=True)
    ing.add_argument("--labels", type=Path, nargs="+", required=True)
    args = parser.parse_args(argv)
    if not args.shared.is_dir():
        print(f"error: shared data dir not found: {args.shared}", file=sys.stderr)
        return 2
    try:
        return select(args) if args.command == "select" else ingest(args)
    except CorpusError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
