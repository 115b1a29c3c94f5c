"""The negotiation-stance corpus: schema of every file, split rule, and the reference resolver.

Schema and split tests read data/negotiation_stance as it is (files may still be growing).
Resolver tests run on a tiny synthetic shared dir; the tests that resolve the real references
skip when ../shared/data is not there.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from detente.training.negotiation_corpus import (
    HARD_CASES,
    OPTIONAL_REF_KEYS,
    REF_KEYS,
    SENTIMENTS,
    STANCES,
    TARGET,
    WRITTEN_KEYS,
    CorpusError,
    corpus_files,
    corpus_stats,
    format_stats,
    load_negotiation_corpus,
    locator_kind,
    main,
    normalize_text,
    read_entries,
    read_jsonl,
    resolve_all,
    resolve_reference,
    sha1_prefix,
    split_of_article,
    validate_ref,
    validate_written,
)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "negotiation_stance"
SHARED = Path(__file__).parents[1] / ".." / "shared" / "data"

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"shared public corpora not found at {SHARED}"
)

WRITTEN_FILES, REF_FILES = corpus_files(CORPUS)
ALL_FILES = WRITTEN_FILES + REF_FILES


def _rel(path: Path) -> str:
    return str(path.relative_to(CORPUS))


@pytest.fixture(scope="module")
def entries():
    if not ALL_FILES:
        pytest.skip(f"no corpus files under {CORPUS}")
    return read_entries(CORPUS)


# --------------------------------------------------------------------------- schema of the files


def test_corpus_has_files():
    assert ALL_FILES, f"no written/*.jsonl or refs/*.jsonl under {CORPUS}"


@pytest.mark.parametrize("path", WRITTEN_FILES, ids=_rel)
def test_written_file_schema(path: Path):
    rows = read_jsonl(path)
    assert rows, f"{path} is empty"
    part = path.stem[-1]
    for number, obj in rows:
        where = f"{path}:{number}"
        assert tuple(obj) == WRITTEN_KEYS, f"{where}: keys/order {list(obj)} != {WRITTEN_KEYS}"
        assert obj["stance"] in STANCES, where
        assert obj["sentiment"] in SENTIMENTS, where
        assert obj["hard_case"] is None or obj["hard_case"] in HARD_CASES, where
        assert re.fullmatch(rf"w{part}-\d{{4}}", obj["id"]), f"{where}: id {obj['id']!r}"
        assert obj["group"].startswith(f"w{part}-g"), f"{where}: group {obj['group']!r}"
        assert obj["text"].strip() == obj["text"] and obj["text"], f"{where}: text not stripped"
        validate_written(obj, where)  # the loader's own rules


@pytest.mark.parametrize("path", REF_FILES, ids=_rel)
def test_ref_file_schema(path: Path):
    rows = read_jsonl(path)
    assert rows, f"{path} is empty"
    for number, obj in rows:
        where = f"{path}:{number}"
        assert "text" not in obj, f"{where}: a reference must not carry text"
        kind = validate_ref(obj, where)
        # The documented order: locator keys and article, the optional keys, then the labels.
        base = REF_KEYS[kind]
        optional = tuple(k for k in OPTIONAL_REF_KEYS if k in obj)
        expected = base[:-2] + optional + base[-2:]
        assert tuple(obj) == expected, f"{where}: keys/order {list(obj)}"
        source = obj["source"]
        if kind == "text":
            assert source.startswith("news/ukraine_war_gdelt/articles/"), where
            assert obj["id"].startswith("gdelt-") and obj["article"].startswith("gdelt:"), where
        elif kind == "newsbias":
            article = Path(source).stem
            assert source.startswith("news/ukraine_crisis_2014_newsbias/all-data-as-json/"), where
            assert obj["id"] == f"newsbias-{article}-{obj['sentence_id']}", where
            assert obj["article"] == f"newsbias:{article}", where
        elif kind == "doc":
            prefix = obj["article"].split(":", 1)[0]
            assert source.startswith("news/") and source.endswith("/articles.jsonl"), where
            assert obj["article"] == f"{prefix}:{obj['doc_id']}", where
            assert obj["id"].startswith(f"{prefix}-{obj['doc_id']}-"), where
        else:
            assert source == "stance/unscon/conflict_annotations_sentences.csv", where
            assert obj["id"] == f"unscon-{obj['file_id']}-{obj['char_offsets']}", where
            assert obj["article"].startswith("unscon:UNSC_"), where


def test_no_text_like_field_in_refs():
    for path in REF_FILES:
        for number, obj in read_jsonl(path):
            leaked = {"text", "sentence", "content", "sentence_text"} & set(obj)
            assert not leaked, f"{path}:{number}: text field(s) {leaked} in a reference"


def test_ids_unique_across_all_files():
    seen: dict[str, str] = {}
    for path in ALL_FILES:
        for number, obj in read_jsonl(path):
            where = f"{path}:{number}"
            assert obj["id"] not in seen, f"{where}: id {obj['id']!r} also at {seen[obj['id']]}"
            seen[obj["id"]] = where


def test_loader_accepts_every_file(entries):
    assert len(entries) == sum(len(read_jsonl(p)) for p in ALL_FILES)


def test_written_statements_have_no_duplicate_texts():
    seen: dict[str, str] = {}
    for path in WRITTEN_FILES:
        for number, obj in read_jsonl(path):
            key = normalize_text(obj["text"]).casefold()
            where = f"{path}:{number}"
            assert key not in seen, f"{where}: same text as {seen[key]}: {obj['text']!r}"
            seen[key] = where


def test_written_groups_are_stories_of_4_to_12_statements():
    sizes: Counter[str] = Counter()
    files: dict[str, set[str]] = defaultdict(set)
    for path in WRITTEN_FILES:
        for _, obj in read_jsonl(path):
            sizes[obj["group"]] += 1
            files[obj["group"]].add(path.name)
    bad = {g: n for g, n in sizes.items() if not 4 <= n <= 12}
    assert not bad, f"groups outside 4-12 statements: {bad}"
    spread = {g: sorted(f) for g, f in files.items() if len(f) > 1}
    assert not spread, f"groups spread over several files: {spread}"


def test_each_real_source_file_belongs_to_one_article():
    """Text and newsbias sources (and each doc of a collection) are whole articles: one
    file, one article id, and back."""
    article_of: dict[str, set[str]] = defaultdict(set)
    source_of: dict[str, set[str]] = defaultdict(set)
    for path in REF_FILES:
        for _, obj in read_jsonl(path):
            kind = locator_kind(obj)
            if kind == "unscon":
                continue
            source = obj["source"] + (f"#{obj['doc_id']}" if kind == "doc" else "")
            article_of[source].add(obj["article"])
            source_of[obj["article"]].add(source)
    assert not {s: a for s, a in article_of.items() if len(a) > 1}
    assert not {a: s for a, s in source_of.items() if len(s) > 1}


# --------------------------------------------------------------------------- splits


def test_split_rule_is_the_documented_hash():
    import hashlib

    for article in ["newsbias:article_1", "unscon:UNSC_2014_SPV.7138_spch006", "gdelt:abc"]:
        value = int(hashlib.sha1(article.encode("utf-8")).hexdigest(), 16) % 100
        assert split_of_article(article) == ("dev" if value < 25 else "train")
    share = sum(split_of_article(f"x:{i}") == "dev" for i in range(4000)) / 4000
    assert 0.22 < share < 0.28


def test_no_unit_in_two_splits_and_dev_is_real_only(entries):
    split_of_unit: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        split_of_unit[e.unit].add(e.split)
        if e.kind == "written":
            assert e.split == "train", e.where
    mixed = {u: s for u, s in split_of_unit.items() if len(s) > 1}
    assert not mixed, f"units in both splits: {mixed}"
    written_groups = {e.unit for e in entries if e.kind == "written"}
    articles = {e.unit for e in entries if e.kind == "ref"}
    assert not written_groups & articles, "a written group id equals a real article id"
    if articles:
        assert any(e.split == "dev" for e in entries), "references exist but dev is empty"


def test_corpus_stats_match_the_files(entries):
    stats = corpus_stats(CORPUS)
    assert stats["total"] == len(entries)
    assert sum(b["n"] for b in stats["splits"].values()) == len(entries)
    assert sum(b["n"] for b in stats["sources"].values()) == len(entries)
    for b in stats["splits"].values():
        assert sum(b["stance"].values()) == b["n"] == sum(b["sentiment"].values())
    assert stats["splits"]["dev"]["n"] == sum(
        b["dev"] for name, b in stats["sources"].items() if name.startswith("refs/")
    )
    assert "train" in format_stats(stats)


@needs_shared
def test_all_real_references_resolve():
    texts = resolve_all(CORPUS, SHARED)
    n_refs = sum(len(read_jsonl(p)) for p in REF_FILES)
    assert len(texts) == n_refs
    assert all(t and t == normalize_text(t) for t in texts.values())


@needs_shared
def test_real_splits_partition_the_corpus():
    train = load_negotiation_corpus(CORPUS, SHARED, "train")
    dev = load_negotiation_corpus(CORPUS, SHARED, "dev")
    everything = load_negotiation_corpus(CORPUS, SHARED, "all")
    train_ids, dev_ids = {r.id for r in train}, {r.id for r in dev}
    assert not train_ids & dev_ids
    assert train_ids | dev_ids == {r.id for r in everything}
    written_ids = {obj["id"] for p in WRITTEN_FILES for _, obj in read_jsonl(p)}
    assert not dev_ids & written_ids, "dev must contain real references only"
    assert written_ids <= train_ids
    for r in everything:
        assert r.target == TARGET and r.stance in STANCES and r.sentiment in SENTIMENTS
        assert r.text


# --------------------------------------------------------------------------- resolver (synthetic)

ARTICLE = "Peace  talks\n resumed in Geneva.  Both sides called it useful.\n"
NEWSBIAS_SENT = "We hope the sides will   resume talks."
UNSCON_SENT = "We call for dialogue .  "


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    root = tmp_path / "shared" / "data"
    articles = root / "news" / "ukraine_war_gdelt" / "articles"
    articles.mkdir(parents=True)
    (articles / "20220125T201500Z_GB_en_12a935d533.txt").write_text(ARTICLE, encoding="utf-8")
    newsbias = root / "news" / "ukraine_crisis_2014_newsbias" / "all-data-as-json"
    newsbias.mkdir(parents=True)
    doc = {
        "id": "article_1",
        "sentences": [
            {"id": "sent_1", "content": "Headline"},
            {"id": "sent_2", "content": NEWSBIAS_SENT},
        ],
    }
    (newsbias / "article_1.json").write_text(json.dumps(doc), encoding="utf-8")
    unscon = root / "stance" / "unscon"
    unscon.mkdir(parents=True)
    with (unscon / "conflict_annotations_sentences.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["file_id", "sentence_text", "sentence_char_offsets", "basename"]
            + [
                "speech_id",
                "filename",
            ]
        )
        writer.writerow(["F_00.txt", UNSCON_SENT, "0-24", "UNSC_X", "spch001", "UNSC_X_spch001"])
        writer.writerow(["F_00.txt", "Other .", "24-31", "UNSC_X", "spch001", "UNSC_X_spch001"])
    return root


def text_ref(**over) -> dict:
    start, end = 0, ARTICLE.index(".") + 1
    ref = {
        "id": "gdelt-12a935d533-00000",
        "source": "news/ukraine_war_gdelt/articles/20220125T201500Z_GB_en_12a935d533.txt",
        "start": start,
        "end": end,
        "sha1": sha1_prefix(ARTICLE[start:end]),
        "article": "gdelt:12a935d533",
        "stance": "none",
        "sentiment": "neutral",
    }
    return {**ref, **over}


def newsbias_ref(**over) -> dict:
    ref = {
        "id": "newsbias-article_1-sent_2",
        "source": "news/ukraine_crisis_2014_newsbias/all-data-as-json/article_1.json",
        "sentence_id": "sent_2",
        "sha1": sha1_prefix(NEWSBIAS_SENT),
        "article": "newsbias:article_1",
        "stance": "favor",
        "sentiment": "positive",
    }
    return {**ref, **over}


def unscon_ref(**over) -> dict:
    ref = {
        "id": "unscon-F_00.txt-0-24",
        "source": "stance/unscon/conflict_annotations_sentences.csv",
        "file_id": "F_00.txt",
        "char_offsets": "0-24",
        "sha1": sha1_prefix(UNSCON_SENT),
        "article": "unscon:UNSC_X_spch001",
        "stance": "favor",
        "sentiment": "neutral",
    }
    return {**ref, **over}


def test_good_references_resolve_with_whitespace_collapsed(shared: Path):
    assert resolve_reference(text_ref(), shared) == "Peace talks resumed in Geneva."
    assert resolve_reference(newsbias_ref(), shared) == "We hope the sides will resume talks."
    assert resolve_reference(unscon_ref(), shared) == "We call for dialogue ."


@pytest.mark.parametrize("make", [text_ref, newsbias_ref, unscon_ref])
def test_sha1_mismatch_raises_naming_file_line_and_id(shared: Path, make):
    ref = make(sha1="0000000000")
    with pytest.raises(CorpusError, match=r"refs/x\.jsonl:7: id .*sha1 mismatch"):
        resolve_reference(ref, shared, refs_file="refs/x.jsonl", line=7)


@pytest.mark.parametrize("make", [text_ref, newsbias_ref, unscon_ref])
def test_missing_source_file_raises(shared: Path, make):
    ref = make(source=make()["source"].replace("data", "gone").replace(".", "_missing."))
    with pytest.raises(CorpusError, match=r"refs/x\.jsonl:3: .*source file not found"):
        resolve_reference(ref, shared, refs_file="refs/x.jsonl", line=3)


def test_missing_sentence_id_raises(shared: Path):
    with pytest.raises(CorpusError, match=r"refs/nb\.jsonl:2: .*sentence id 'sent_99' not found"):
        resolve_reference(
            newsbias_ref(sentence_id="sent_99"), shared, refs_file="refs/nb.jsonl", line=2
        )


def test_missing_unscon_row_raises(shared: Path):
    with pytest.raises(CorpusError, match=r"refs/u\.jsonl:5: .*no row with file_id"):
        resolve_reference(unscon_ref(char_offsets="1-2"), shared, refs_file="refs/u.jsonl", line=5)


def test_offsets_past_the_end_and_wrong_article_raise(shared: Path):
    with pytest.raises(CorpusError, match="past the end"):
        resolve_reference(text_ref(end=10_000), shared)
    with pytest.raises(CorpusError, match="article .* does not match"):
        resolve_reference(unscon_ref(article="unscon:UNSC_Y_spch002"), shared)
    with pytest.raises(CorpusError, match="article .* does not match"):
        resolve_reference(newsbias_ref(article="newsbias:article_2"), shared)


# --------------------------------------------------------------------------- loader (synthetic)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def written_row(i: int, **over) -> dict:
    row = {
        "id": f"wA-{i:04d}",
        "text": f"Both sides should return to the table  {i}.",
        "stance": "favor",
        "sentiment": "neutral",
        "conflict": "sudan",
        "form": "quote",
        "group": "wA-g001",
        "hard_case": None,
    }
    return {**row, **over}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    write_jsonl(root / "written" / "partA.jsonl", [written_row(i) for i in range(1, 5)])
    write_jsonl(root / "refs" / "mixed.jsonl", [text_ref(), newsbias_ref(), unscon_ref()])
    return root


def test_loader_splits_and_targets(corpus: Path, shared: Path):
    everything = load_negotiation_corpus(corpus, shared, "all")
    assert len(everything) == 7
    assert {r.target for r in everything} == {TARGET}
    assert everything[0].text == "Both sides should return to the table 1."
    dev = load_negotiation_corpus(corpus, shared, "dev")
    train = load_negotiation_corpus(corpus, shared, "train")
    assert not {r.id for r in dev} & {r.id for r in train}
    assert all(not r.id.startswith("w") for r in dev)
    expected_dev = {
        r["id"]
        for r in (text_ref(), newsbias_ref(), unscon_ref())
        if split_of_article(r["article"]) == "dev"
    }
    assert {r.id for r in dev} == expected_dev
    with pytest.raises(CorpusError, match="unknown split"):
        load_negotiation_corpus(corpus, shared, "test")


def test_loader_error_names_refs_file_and_line(corpus: Path, shared: Path):
    write_jsonl(corpus / "refs" / "mixed.jsonl", [text_ref(), newsbias_ref(sha1="ffffffffff")])
    with pytest.raises(CorpusError, match=r"refs/mixed\.jsonl:2: id 'newsbias-article_1-sent_2'"):
        load_negotiation_corpus(corpus, shared, "all")


def test_missing_shared_is_an_error_unless_allowed(corpus: Path, tmp_path: Path, caplog):
    for missing in (None, tmp_path / "nowhere"):
        with pytest.raises(CorpusError, match="need the public corpora at ../shared/data"):
            load_negotiation_corpus(corpus, missing, "train")
    with caplog.at_level(logging.WARNING):
        records = load_negotiation_corpus(corpus, None, "all", allow_missing_shared=True)
    assert [r.id for r in records] == [f"wA-{i:04d}" for i in range(1, 5)]
    assert "skipping" in caplog.text
    assert load_negotiation_corpus(corpus, None, "dev", allow_missing_shared=True) == []


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([written_row(1, stance="pro")], "stance 'pro'"),
        ([written_row(1, sentiment="mixed")], "sentiment 'mixed'"),
        ([written_row(1), written_row(1)], "duplicate id"),
        ([written_row(1, form="tweet")], "form 'tweet'"),
        ([written_row(1, hard_case="sarcasm")], "hard_case 'sarcasm'"),
        ([{k: v for k, v in written_row(1).items() if k != "group"}], "missing \\['group'\\]"),
    ],
)
def test_written_schema_errors(tmp_path: Path, rows, message):
    write_jsonl(tmp_path / "c" / "written" / "partA.jsonl", rows)
    with pytest.raises(CorpusError, match=message):
        read_entries(tmp_path / "c")


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (text_ref(text="leak"), "must not carry text"),
        (text_ref(sha1="ABC"), "sha1"),
        (text_ref(start=5, end=5), "start/end"),
        (unscon_ref(char_offsets="x"), "char_offsets"),
        ({k: v for k, v in newsbias_ref().items() if k != "sentence_id"}, "no locator"),
        (newsbias_ref(source="../etc/passwd"), "relative"),
    ],
)
def test_ref_schema_errors(tmp_path: Path, ref, message):
    write_jsonl(tmp_path / "c" / "refs" / "r.jsonl", [ref])
    with pytest.raises(CorpusError, match=message):
        read_entries(tmp_path / "c")


def test_main_prints_counts(corpus: Path, shared: Path, capsys):
    assert main(["--corpus", str(corpus), "--shared", str(shared)]) == 0
    out = capsys.readouterr().out
    for word in ("train", "dev", "favor", "negative", "refs/mixed", "written/partA", "resolved"):
        assert word in out
    assert main(["--corpus", str(corpus), "--markdown"]) == 0
    assert "| split |" in capsys.readouterr().out
    write_jsonl(corpus / "refs" / "mixed.jsonl", [text_ref(sha1="0000000000")])
    assert main(["--corpus", str(corpus), "--shared", str(shared)]) == 1
    assert "sha1 mismatch" in capsys.readouterr().err


@needs_shared
def test_written_statements_are_not_copied_from_the_shared_corpora():
    """Team-written text must be original: no statement occurs verbatim in the raw material."""
    pieces = [
        p.read_text(encoding="utf-8")
        for p in sorted((SHARED / "news" / "ukraine_war_gdelt" / "articles").glob("*.txt"))
    ]
    for p in sorted((SHARED / "news" / "ukraine_crisis_2014_newsbias").glob("*/article_*.json")):
        pieces += [s["content"] for s in json.loads(p.read_text(encoding="utf-8"))["sentences"]]
    unscon = SHARED / "stance" / "unscon" / "conflict_annotations_sentences.csv"
    if unscon.is_file():
        with unscon.open(encoding="utf-8", newline="") as handle:
            pieces += [row["sentence_text"] for row in csv.DictReader(handle)]
    haystack = "\n".join(normalize_text(p).casefold() for p in pieces)
    copied = []
    for path in WRITTEN_FILES:
        for number, obj in read_jsonl(path):
            text = normalize_text(obj["text"]).casefold()
            if len(text) >= 40 and text in haystack:
                copied.append(f"{path.name}:{number} {obj['id']}")
    assert not copied, f"written statements found verbatim in shared corpora: {copied}"
