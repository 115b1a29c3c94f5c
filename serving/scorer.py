"""Scoring articles and sentences with a loaded detente model.

One model pass over (target, sentence) pairs gives the stance toward the target and the
sentence's own sentiment. When a `sentiment_target` other than the stance target is given, a
second pass over (sentiment_target, sentence) gives the sentiment toward it (NewsMTSC-style);
only its sentiment column is used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from detente.model.backends import Predictor, load_predictor
from detente.model.config import DEFAULT_TARGET
from detente.serving.boilerplate import mark_boilerplate
from detente.serving.extract import extract
from detente.serving.results import ArticleResult, LabelScores, SentenceResult, SentenceScore
from detente.serving.segment import Segment, segment
from detente.serving.speakers import Attribution, Attributor, RuleAttributor
from detente.serving.summary import summarize
from detente.serving.windows import Windower

CHUNK_SENTENCES = 256  # articles are scored together until about this many sentences wait


@dataclass(frozen=True)
class Article:
    """An article to score. `target=None` means the model's default target."""

    text: str
    id: str | None = None
    target: str | None = None
    sentiment_target: str | None = None
    format: str = "auto"  # "auto", "text" or "html"


ArticleInput = str | tuple[str, str] | Article | Mapping[str, Any]


def article_id(text: str) -> str:
    """A stable id for an article given without one: the start of its text's SHA-1."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def as_article(item: ArticleInput, index: int = 0) -> Article:
    """Accept text, (id, text), an Article or a mapping with `text` (and `id`, `target`, ...)."""
    if isinstance(item, Article):
        return item
    if isinstance(item, str):
        return Article(text=item)
    if isinstance(item, tuple) and len(item) == 2:
        return Article(text=item[1], id=str(item[0]))
    if isinstance(item, Mapping):
        if not isinstance(item.get("text"), str):
            raise ValueError(f"article {index}: 'text' is missing or not a string")
        known = {"text", "id", "target", "sentiment_target", "format"}
        fields = {key: value for key, value in item.items() if key in known}
        if fields.get("id") is not None:
            fields["id"] = str(fields["id"])
        return Article(**fields)
    raise TypeError(f"article {index}: expected text, (id, text) or a mapping, got {type(item)}")


@dataclass
class _Prepared:
    article: Article
    id: str
    text: str
    source_format: str
    segments: list[Segment]
    reasons: list[str | None]
    speakers: list[Attribution]


def _model_text(text: str) -> str:
    return " ".join(text.split())


class Scorer:
    """Stance and sentiment for sentences and whole articles from one loaded model."""

    def __init__(
        self, predictor: Predictor, batch_size: int = 32, attributor: Attributor | None = None
    ) -> None:
        self.predictor = predictor
        self.batch_size = batch_size
        self.attributor: Attributor = attributor or RuleAttributor()
        self.config = predictor.config
        self.stance_labels = list(self.config.stance_labels)
        self.sentiment_labels = list(self.config.sentiment_labels)
        self.windower = Windower(predictor)

    @classmethod
    def load(
        cls,
        model: str | Path | None = "default",
        backend: str = "torch",
        threads: int | None = None,
        batch_size: int = 32,
    ) -> Scorer:
        """Load a model directory (`"default"` or None: the shipped default model)."""
        return cls(load_predictor(model, backend=backend, threads=threads), batch_size)

    def _target(self, target: str | None) -> str:
        return target if target else self.config.default_target

    def _predict(
        self,
        texts: list[str],
        targets: list[str],
        sentiment_targets: list[str | None],
        batch_size: int | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        size = batch_size or self.batch_size
        stance, sentiment = self._predict_windowed(texts, list(targets), size)
        second = [
            i
            for i, (t, s) in enumerate(zip(targets, sentiment_targets, strict=True))
            if s and s != t
        ]
        if second:
            _, toward = self._predict_windowed(
                [texts[i] for i in second], [sentiment_targets[i] for i in second], size
            )
            sentiment[second] = toward
        return stance, sentiment

    def _predict_windowed(
        self, texts: list[str], targets: list[str | None], size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities per text; a text longer than the model's input is scored over windows
        (see serving/windows.py) rather than cut to its first tokens."""
        plan = self.windower.plan(texts, targets)
        if plan is None:
            return self.predictor.predict_probs(texts, targets, batch_size=size)
        stance, sentiment = self.predictor.predict_probs(plan.texts, plan.targets, batch_size=size)
        n = len(texts)
        return Windower.combine(plan, stance, n), Windower.combine(plan, sentiment, n)

    def score_sentences(
        self,
        texts: Sequence[str],
        target: str | None = DEFAULT_TARGET,
        sentiment_target: str | None = None,
        batch_size: int | None = None,
    ) -> list[SentenceScore]:
        """Stance toward `target` and sentiment (own, or toward `sentiment_target`) per text."""
        if isinstance(texts, str):
            raise TypeError("score_sentences takes a list of sentences, not one string")
        target = self._target(target)
        n = len(texts)
        stance, sentiment = self._predict(
            [_model_text(t) for t in texts], [target] * n, [sentiment_target] * n, batch_size
        )
        return [
            SentenceScore(
                text=text,
                target=target,
                sentiment_target=sentiment_target,
                stance=LabelScores.from_row(self.stance_labels, stance[i]),
                sentiment=LabelScores.from_row(self.sentiment_labels, sentiment[i]),
            )
            for i, text in enumerate(texts)
        ]

    def score_article(
        self,
        text: str,
        id: str | None = None,
        target: str | None = None,
        sentiment_target: str | None = None,
        format: str = "auto",
    ) -> ArticleResult:
        """Segment, mark boilerplate, score every sentence and summarise one article."""
        article = Article(text, id, target, sentiment_target, format)
        return next(iter(self.score_articles([article])))

    def score_articles(
        self,
        articles: Iterable[ArticleInput],
        batch_size: int | None = None,
        target: str | None = None,
        sentiment_target: str | None = None,
    ) -> Iterator[ArticleResult]:
        """Score a stream of articles lazily, in order, a bounded chunk at a time.

        `target` / `sentiment_target` apply to articles that do not set their own.
        """
        chunk: list[_Prepared] = []
        waiting = 0
        for index, item in enumerate(articles):
            article = as_article(item, index)
            prepared = self._prepare(article, target, sentiment_target)
            chunk.append(prepared)
            waiting += len(prepared.segments)
            if waiting >= CHUNK_SENTENCES:
                yield from self._score_chunk(chunk, batch_size)
                chunk, waiting = [], 0
        if chunk:
            yield from self._score_chunk(chunk, batch_size)

    def _prepare(
        self, article: Article, target: str | None, sentiment_target: str | None
    ) -> _Prepared:
        extracted = extract(article.text, article.format)
        segments = segment(extracted.text)
        article = Article(
            text=article.text,
            id=article.id if article.id is not None else article_id(article.text),
            target=self._target(article.target or target),
            sentiment_target=article.sentiment_target or sentiment_target,
            format=article.format,
        )
        reasons = mark_boilerplate(segments)
        speakers = self.attributor.attribute(
            extracted.text, segments, [reason is not None for reason in reasons]
        )
        return _Prepared(
            article,
            str(article.id),
            extracted.text,
            extracted.source_format,
            segments,
            reasons,
            speakers,
        )

    def _score_chunk(
        self, chunk: list[_Prepared], batch_size: int | None
    ) -> Iterator[ArticleResult]:
        texts, targets, sentiment_targets = [], [], []
        for prepared in chunk:
            for seg in prepared.segments:
                texts.append(_model_text(seg.text))
                targets.append(str(prepared.article.target))
                sentiment_targets.append(prepared.article.sentiment_target)
        stance, sentiment = self._predict(texts, targets, sentiment_targets, batch_size)
        row = 0
        for prepared in chunk:
            sentences = []
            for seg, reason, who in zip(
                prepared.segments, prepared.reasons, prepared.speakers, strict=True
            ):
                sentences.append(
                    SentenceResult(
                        text=seg.text,
                        start=seg.start,
                        end=seg.end,
                        paragraph=seg.paragraph,
                        boilerplate=reason is not None,
                        boilerplate_reason=reason,
                        stance=LabelScores.from_row(self.stance_labels, stance[row]),
                        sentiment=LabelScores.from_row(self.sentiment_labels, sentiment[row]),
                        speaker=who.speaker,
                        speaker_text=who.speaker_text,
                        attribution=who.attribution,
                    )
                )
                row += 1
            yield ArticleResult(
                id=prepared.id,
                target=prepared.article.target,
                sentiment_target=prepared.article.sentiment_target,
                source_format=prepared.source_format,
                text=prepared.text,
                sentences=sentences,
                summary=summarize(sentences, self.stance_labels, self.sentiment_labels),
            )


@lru_cache(maxsize=1)
def default_scorer() -> Scorer:
    """The shipped default model, loaded once per process."""
    return Scorer.load("default")


def score_article(
    text: str,
    id: str | None = None,
    target: str | None = None,
    sentiment_target: str | None = None,
    format: str = "auto",
) -> ArticleResult:
    """Score one article (text, cluttered page text or HTML) with the shipped default model."""
    return default_scorer().score_article(text, id, target, sentiment_target, format)
