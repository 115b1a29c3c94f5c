from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from detente.model.config import DetenteConfig
from detente.serving import ArticleResult, Scorer, SentenceScore
from detente.serving.summary import overall_stance

EXAMPLE = (ROOT / "examples" / "article.txt").read_text(encoding="utf-8")
DEFAULT_CONFIG = ROOT / "model" / "default" / "detente_config.json"


@pytest.fixture(scope="module")
def scorer(tiny_model_dir: Path) -> Scorer:
    return Scorer.load(tiny_model_dir)


class RecordingPredictor:
    """A fake predictor: probabilities from the text length, every call recorded."""

    name = "fake"

    def __init__(self, config: DetenteConfig) -> None:
        self.config = config
        self.calls: list[tuple[list[str], list[str | None]]] = []

    def predict_probs(self, texts, targets, batch_size=32, show_progress=False):
        self.calls.append((list(texts), list(targets)))
        stance = np.array(
            [
                [len(t) % 3 + 1, len(g or "") % 2 + 1, 1.5]
                for t, g in zip(texts, targets, strict=True)
            ]
        )
        sentiment = np.array([[1.0, len(g or "") % 5 + 1, 2.0] for g in targets])
        return stance / stance.sum(1, keepdims=True), sentiment / sentiment.sum(1, keepdims=True)


def check_article(result: ArticleResult, labels: tuple[list[str], list[str]]) -> None:
    stance_labels, sentiment_labels = labels
    for s in result.sentences:
        assert result.text[s.start : s.end] == s.text
        assert s.boilerplate == (s.boilerplate_reason is not None)
        assert list(s.stance.probs) == stance_labels and list(s.sentiment.probs) == sentiment_labels
        assert s.stance.label == max(s.stance.probs, key=s.stance.probs.get)
        assert abs(sum(s.stance.probs.values()) - 1) < 1e-4
        assert abs(sum(s.sentiment.probs.values()) - 1) < 1e-4
    summary = result.summary
    body = [s for s in result.sentences if not s.boilerplate]
    assert summary.sentences == len(result.sentences)
    assert summary.body_sentences == len(body)
    assert summary.boilerplate_sentences == len(result.sentences) - len(body)
    for label in stance_labels:
        assert summary.stance_counts[label] == sum(s.stance.label == label for s in body)
    for label in sentiment_labels:
        assert summary.sentiment_counts[label] == sum(s.sentiment.label == label for s in body)
    if body:
        assert abs(sum(summary.stance_shares.values()) - 1) < 1e-3
    assert summary.overall_stance == overall_stance(
        summary.stance_counts["favor"], summary.stance_counts["against"]
    )
    for label, highlight in (("favor", summary.most_favor), ("against", summary.most_against)):
        labelled = [s for s in body if s.stance.label == label]
        if not labelled:
            assert highlight is None
            continue
        assert highlight.prob == max(s.stance.probs[label] for s in labelled)
        sentence = result.sentences[highlight.index]
        assert sentence.text == highlight.text and not sentence.boilerplate


def test_score_sentences_structure(scorer: Scorer) -> None:
    texts = ["Both sides agreed to resume talks.", "No talks until the troops leave.", "Rain."]
    results = scorer.score_sentences(texts)
    assert [r.text for r in results] == texts
    assert all(isinstance(r, SentenceScore) for r in results)
    assert all(r.target == "negotiations" and r.sentiment_target is None for r in results)
    for r in results:
        assert r.stance.label in scorer.stance_labels
        assert r.sentiment.label in scorer.sentiment_labels
        assert r.stance.label == max(r.stance.probs, key=r.stance.probs.get)
    json.dumps([r.to_dict() for r in results])
    assert scorer.score_sentences([]) == []


def test_stance_target_and_sentiment_target(tiny_model_dir: Path) -> None:
    real = Scorer.load(tiny_model_dir)
    fake = RecordingPredictor(real.config)
    scorer = Scorer(fake)
    plain = scorer.score_sentences(["A talk.", "Another one."], target="Putin")
    assert len(fake.calls) == 1 and fake.calls[0][1] == ["Putin", "Putin"]
    toward = scorer.score_sentences(["A talk.", "Another one."], "Putin", sentiment_target="Kyiv")
    assert len(fake.calls) == 3 and fake.calls[2] == (["A talk.", "Another one."], ["Kyiv", "Kyiv"])
    assert [r.stance for r in toward] == [r.stance for r in plain]
    assert toward[0].sentiment.probs != plain[0].sentiment.probs
    assert toward[0].sentiment_target == "Kyiv" and toward[0].target == "Putin"
    scorer.score_sentences(["Same."], target="Kyiv", sentiment_target="Kyiv")
    assert len(fake.calls) == 4  # same target: one pass


def test_score_article_on_the_example(scorer: Scorer) -> None:
    result = scorer.score_article(EXAMPLE, id="example")
    assert result.id == "example" and result.source_format == "text" and result.text == EXAMPLE
    assert result.target == "negotiations"
    check_article(result, (scorer.stance_labels, scorer.sentiment_labels))
    assert result.summary.boilerplate_sentences == 12
    assert result.summary.body_sentences == 16
    reasons = {s.boilerplate_reason for s in result.sentences if s.boilerplate}
    assert {"byline", "photo_caption", "related_link", "donation_appeal"} <= reasons
    data = json.loads(json.dumps(result.to_dict()))
    assert data["sentences"][0]["stance"]["label"] == result.sentences[0].stance.label
    assert set(data["summary"]) >= {"stance_counts", "overall_stance", "most_favor"}


def test_html_input_offsets_refer_to_the_extracted_text(scorer: Scorer) -> None:
    html = (
        "<html><head><title>Talks | Site</title><script>var x = 'Ignore me.';</script></head>"
        "<body><nav>Home | World</nav><article><h1>Envoys Meet in Oslo</h1>"
        "<p>The envoys met on Monday. They agreed to talk again.</p>"
        "<p>Mr. Malik said it was &quot;real progress.&quot;</p></article></body></html>"
    )
    result = scorer.score_article(html)
    assert result.source_format == "html"
    assert "<" not in result.text and "Ignore me" not in result.text
    texts = [s.text for s in result.sentences]
    assert texts[0] == "Envoys Meet in Oslo"
    assert 'Mr. Malik said it was "real progress."' in texts
    assert [s.paragraph for s in result.sentences] == [0, 1, 1, 2]
    check_article(result, (scorer.stance_labels, scorer.sentiment_labels))
    as_text = scorer.score_article(html, format="text")
    assert as_text.source_format == "text" and as_text.text == html


def test_score_articles_streams_in_order_whatever_the_batch(scorer: Scorer) -> None:
    articles = [
        ("a", "Talks resumed in Geneva. Both sides were hopeful."),
        {"id": "b", "text": "No talks until the troops leave.", "target": "ceasefire"},
        ("c", ""),
        ("d", EXAMPLE),
    ]
    one = list(scorer.score_articles(articles, batch_size=1))
    big = list(scorer.score_articles(articles, batch_size=64))
    assert [r.id for r in one] == ["a", "b", "c", "d"]
    assert [r.target for r in one] == ["negotiations", "ceasefire", "negotiations", "negotiations"]
    for left, right in zip(one, big, strict=True):
        assert [s.stance.label for s in left.sentences] == [s.stance.label for s in right.sentences]
        for x, y in zip(left.sentences, right.sentences, strict=True):
            assert x.stance.probs == pytest.approx(y.stance.probs, abs=1e-4)
    empty = one[2]
    assert empty.sentences == [] and empty.summary.overall_stance == "none"
    assert empty.summary.most_favor is None and empty.summary.body_sentences == 0


def test_score_articles_is_lazy(scorer: Scorer) -> None:
    endless = (f"Round {i} of talks began. It ended." for i in itertools.count())
    first = list(itertools.islice(scorer.score_articles(endless, target="peace"), 3))
    assert [len(r.sentences) for r in first] == [2, 2, 2]
    assert first[0].id != first[1].id and first[0].target == "peace"


def test_bad_article_input(scorer: Scorer) -> None:
    with pytest.raises(ValueError, match="'text' is missing"):
        list(scorer.score_articles([{"id": "x", "body": "..."}]))
    with pytest.raises(TypeError):
        scorer.score_sentences("one string")  # type: ignore[arg-type]


def test_unknown_backend_is_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        Scorer.load(tiny_model_dir, backend="no-such-backend")


@pytest.mark.parametrize(
    ("favor", "against", "expected"),
    [
        (0, 0, "none"),
        (1, 0, "favor"),
        (2, 1, "favor"),
        (3, 2, "mixed"),
        (1, 2, "against"),
        (4, 4, "mixed"),
    ],
)
def test_overall_stance_rule(favor: int, against: int, expected: str) -> None:
    assert overall_stance(favor, against) == expected


def test_importing_serving_does_not_import_torch() -> None:
    code = "import sys, detente.serving; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.integration
@pytest.mark.skipif(not DEFAULT_CONFIG.is_file(), reason="the default model is not trained yet")
def test_default_model_on_the_example() -> None:
    from detente.serving import score_article

    result = score_article(EXAMPLE, id="example")
    check_article(result, (["none", "against", "favor"], ["negative", "neutral", "positive"]))
    labels = {" ".join(s.text.split()): s.stance.label for s in result.sentences}
    assert (
        labels[
            '"We are prepared to negotiate tomorrow morning, in any capital that will host us," '
            "Foreign Minister Teodor Malik told reporters in Oslo."
        ]
        == "favor"
    )
    assert (
        labels[
            '"There will be no negotiations while a single Arvanian soldier remains on our soil," '
            "Defense Minister Irena Vosk said in a televised address."
        ]
        == "against"
    )
    assert result.summary.most_favor is not None and result.summary.most_against is not None
