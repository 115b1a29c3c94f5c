"""Round-2 corpus machinery: article-collection references, per-collection dev shares, conflicts,
mining ingest, the news pool, and the soft-label (distillation) corpus and loss.

Everything runs on tiny synthetic files; the pool test on the real folders skips without
../shared/data.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch
from conftest import SHARED_DATA, needs_shared

from detente.model.modeling import soft_loss
from detente.training.corpora import CorpusConfig, DataError, load_corpus
from detente.training.mining import ingest
from detente.training.negotiation_corpus import (
    CorpusError,
    corpus_stats,
    load_negotiation_corpus,
    resolve_reference,
    sha1_prefix,
    split_of_article,
    validate_ref,
)

ARTICLE = (
    "Talks resumed in Doha. The prime minister rejected any truce until the hostages are freed. "
    "Mediators said they were hopeful."
)


@pytest.fixture()
def shared(tmp_path: Path) -> Path:
    folder = tmp_path / "shared" / "news" / "coll"
    folder.mkdir(parents=True)
    lines = [{"id": "a1", "text": ARTICLE, "conflict": "israel_gaza"}, {"id": "a2", "text": "x"}]
    (folder / "articles.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return tmp_path / "shared"


def doc_ref(start: int, end: int, **extra) -> dict:
    return {
        "id": f"bbcnpr-a1-{start}",
        "source": "news/coll/articles.jsonl",
        "doc_id": "a1",
        "start": start,
        "end": end,
        "sha1": sha1_prefix(ARTICLE[start:end]),
        "article": "bbcnpr:a1",
        "stance": "against",
        "sentiment": "negative",
        **extra,
    }


def test_doc_reference_resolves_and_checks_sha1(shared: Path) -> None:
    start = ARTICLE.index("The prime")
    end = ARTICLE.index("freed.") + len("freed.")
    ref = doc_ref(start, end, conflict="israel_gaza", list="against", hard_case=None)
    assert validate_ref(ref, "x") == "doc"
    assert resolve_reference(ref, shared).startswith("The prime minister rejected")
    with pytest.raises(CorpusError, match="sha1 mismatch"):
        resolve_reference({**ref, "sha1": "0000000000"}, shared)
    with pytest.raises(CorpusError, match="doc_id 'zz' not found"):
        resolve_reference({**ref, "doc_id": "zz"}, shared)


def test_unknown_optional_key_and_bad_hard_case_are_errors() -> None:
    with pytest.raises(CorpusError, match="extra"):
        validate_ref(doc_ref(0, 5, colour="red"), "f:1")
    with pytest.raises(CorpusError, match="hard_case"):
        validate_ref(doc_ref(0, 5, hard_case="weird"), "f:1")


def test_round2_collections_get_a_larger_dev_share() -> None:
    articles = [f"{p}:{i}" for p in ("bbcnpr", "gdelt") for i in range(4000)]
    share = {
        p: sum(split_of_article(a) == "dev" for a in articles if a.startswith(p)) / 4000
        for p in ("bbcnpr", "gdelt")
    }
    assert 0.37 < share["bbcnpr"] < 0.43
    assert 0.22 < share["gdelt"] < 0.28


def test_ingest_writes_resolvable_refs_with_conflict_and_list(shared: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "refs").mkdir(parents=True)
    (corpus / "written").mkdir()
    written = {"id": "wA-0001", "text": "Talks now.", "stance": "favor", "sentiment": "neutral"}
    written.update(conflict="sudan", form="quote", group="wA-g001", hard_case=None)
    (corpus / "written" / "partA.jsonl").write_text(json.dumps(written) + "\n")
    start = ARTICLE.index("The prime")
    end = ARTICLE.index("freed.") + len("freed.")
    pending_ref = {k: v for k, v in doc_ref(start, end).items() if k not in ("stance", "sentiment")}
    pending = tmp_path / "pending.jsonl"
    pending.write_text(json.dumps({**pending_ref, "conflict": "israel_gaza", "list": "favor"}))
    labels = tmp_path / "labels.jsonl"
    label = {"id": pending_ref["id"], "stance": "against", "sentiment": "negative"}
    labels.write_text(json.dumps({**label, "conflict": "israel_lebanon", "hard_case": None}))
    args = argparse.Namespace(corpus=corpus, shared=shared, pending=pending, labels=[labels])
    assert ingest(args) == 0
    records = load_negotiation_corpus(corpus, shared, "all")
    refs = [(r.stance, r.conflict) for r in records if r.id.startswith("bbcnpr")]
    assert refs == [("against", "israel_lebanon")]
    line = json.loads((corpus / "refs" / "r2_bbcnpr.jsonl").read_text())
    assert line["list"] == "favor" and "text" not in line
    stats = corpus_stats(corpus, shared)
    assert stats["total"] == 2
    # A label for an id that was never selected is an error naming the file and line.
    labels.write_text(json.dumps({**label, "id": "nope"}))
    with pytest.raises(CorpusError, match=r"labels.jsonl:1: id 'nope'"):
        ingest(args)


def test_soft_corpus_loads_and_rejects_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "soft.jsonl"
    row = {"text": "Talks now.", "target": "negotiations", "stance_probs": [0.7, 0.1, 0.2]}
    path.write_text(json.dumps({**row, "sentiment_probs": [0.2, 0.5, 0.3]}) + "\n")
    cfg = CorpusConfig(name="teacher", format="soft", files={"train": str(path)})
    (record,) = load_corpus(cfg, "train")
    assert record.stance is None and record.stance_probs == [0.7, 0.1, 0.2]
    path.write_text(json.dumps({**row, "sentiment_probs": [0.5]}) + "\n")
    with pytest.raises(DataError, match=r"soft.jsonl:1: field sentiment_probs"):
        load_corpus(cfg, "train")


def test_soft_loss_uses_only_rows_with_soft_labels() -> None:
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 5.0, 0.0]], requires_grad=True)
    soft = torch.tensor([[1.0, 0.0, 0.0], [-1.0, -1.0, -1.0]])
    loss = soft_loss(logits, soft)
    expected = -torch.log_softmax(logits[0], -1)[0]
    assert torch.isclose(loss, expected)
    loss.backward()
    assert torch.all(logits.grad[1] == 0)
    assert soft_loss(logits, torch.full((2, 3), -1.0)).item() == 0.0


@needs_shared
def test_pool_items_resolve_to_their_text() -> None:
    from detente.training.news_pool import COLLECTIONS, collection_items

    folder, prefix = next(iter(COLLECTIONS.items()))
    items = []
    for item in collection_items(SHARED_DATA, folder, prefix):
        items.append(item)
        if len(items) >= 40:
            break
    assert items
    for item in items:
        ref = {**item.ref, "stance": "none", "sentiment": "neutral"}
        assert resolve_reference(ref, SHARED_DATA) == item.text


def test_distill_samples_train_split_keyword_sentences_first(monkeypatch) -> None:
    from detente.training import distill
    from detente.training.news_pool import PoolItem

    def fake_pool(shared):
        items = []
        for n in range(400):
            article = f"bbcnpr:a{n}"
            text = f"Talks on a ceasefire resumed, report {n}." if n % 2 else f"Rain fell, day {n}."
            items.append(PoolItem({"article": article, "conflict": "israel_gaza"}, text))
        return items

    monkeypatch.setattr(distill, "build_pool", fake_pool)
    texts = distill.sample_texts(Path("."), max_sentences=40, keyword_share=0.75, seed=1)
    assert len(texts) == 40
    assert sum("ceasefire" in t for t in texts) == 30
    by_text = {item.text: item.article for item in fake_pool(None)}
    assert all(split_of_article(by_text[t]) == "train" for t in texts)


def test_label_agreement_counts_equal_argmax(tiny_model_dir) -> None:
    from detente.model.backends import load_predictor
    from detente.training.distill import label_agreement

    predictor = load_predictor(tiny_model_dir)
    result = label_agreement(predictor, predictor, ["Talks resumed.", "Shelling went on."], 8)
    assert result == {"n": 2.0, "stance": 1.0, "sentiment": 1.0}


def test_soft_rows_fill_rows_without_teacher_labels() -> None:
    from detente.training.trainer import EncodedCorpus, soft_rows

    gold = EncodedCorpus("gold", 1.0, [{}, {}], [0, 1], [0, 1])
    soft = EncodedCorpus("teacher", 1.0, [{}], [-100], [-100], [[0.25, 0.25, 0.5]], None)
    rows = [(0, 1), (1, 0)]
    assert soft_rows(rows, [gold, soft], "stance").tolist() == [
        [-1.0, -1.0, -1.0],
        [0.25, 0.25, 0.5],
    ]
    assert soft_rows(rows, [gold, soft], "sentiment") is None
