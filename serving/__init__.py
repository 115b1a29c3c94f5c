"""detente.serving: article in, scored sentences and a summary out.

    from detente.serving import score_article, Scorer

    result = score_article(text)                 # the shipped default model
    scorer = Scorer.load("path/to/model")         # or "default"
    for article in scorer.score_articles(texts, batch_size=64): ...
    scorer.score_sentences(["..."], target="negotiations", sentiment_target=None)

Importing this package is light: the model (torch) is imported on first use of `Scorer` or
`score_article`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from detente.serving.results import (
    ArticleResult,
    Highlight,
    LabelScores,
    SentenceResult,
    SentenceScore,
    Summary,
)

if TYPE_CHECKING:
    from detente.serving.scorer import Article, Scorer, score_article

_LAZY = {"Scorer", "score_article", "Article"}

__all__ = [
    "Article",
    "ArticleResult",
    "Highlight",
    "LabelScores",
    "Scorer",
    "SentenceResult",
    "SentenceScore",
    "Summary",
    "score_article",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from detente.serving import scorer

        return getattr(scorer, name)
    raise AttributeError(f"module 'detente.serving' has no attribute {name!r}")
