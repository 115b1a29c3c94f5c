"""Typed results of scoring: per sentence, per article, and the article summary.

Every result has `to_dict()` giving plain JSON-ready values (str, int, float, bool, None, lists
and dicts), which is what the CLI writes and the HTTP service returns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class LabelScores:
    """One head's prediction: the most probable label and every label's probability."""

    label: str
    probs: dict[str, float]

    @classmethod
    def from_row(cls, labels: list[str] | tuple[str, ...], row: Any) -> LabelScores:
        probs = {label: round(float(p), 6) for label, p in zip(labels, row, strict=True)}
        return cls(label=max(probs, key=probs.__getitem__), probs=probs)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "probs": dict(self.probs)}


@dataclass(frozen=True)
class SentenceScore:
    """A free-standing sentence scored by `Scorer.score_sentences`."""

    text: str
    target: str | None
    sentiment_target: str | None
    stance: LabelScores
    sentiment: LabelScores

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SentenceResult:
    """A sentence of an article: where it is, whether it is boilerplate, and its scores.

    `text == article.text[start:end]` always holds (line breaks inside the sentence included).
    `paragraph` is the 0-based index of the paragraph the sentence is in. `speaker` is who the
    sentence is attributed to (one canonical name per article; None: the article's own voice),
    `speaker_text` the words as written, `attribution` how it was found (serving/speakers.py:
    quote, reported, headline, continued_quote, pronoun).
    """

    text: str
    start: int
    end: int
    paragraph: int
    boilerplate: bool
    boilerplate_reason: str | None
    stance: LabelScores
    sentiment: LabelScores
    speaker: str | None = None
    speaker_text: str | None = None
    attribution: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Highlight:
    """The most strongly `favor` or `against` body sentence (index into `sentences`)."""

    index: int
    text: str
    start: int
    end: int
    prob: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SpeakerSummary:
    """One speaker's body sentences (indices into `sentences`), counts and overall stance."""

    speaker: str
    sentences: list[int]
    stance_counts: dict[str, int]
    sentiment_counts: dict[str, int]
    overall_stance: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Summary:
    """Counts and shares over body (non-boilerplate) sentences, and the overall stance."""

    sentences: int
    body_sentences: int
    boilerplate_sentences: int
    stance_counts: dict[str, int]
    stance_shares: dict[str, float]
    sentiment_counts: dict[str, int]
    sentiment_shares: dict[str, float]
    overall_stance: str
    most_favor: Highlight | None = None
    most_against: Highlight | None = None
    by_speaker: list[SpeakerSummary] = field(default_factory=list)  # in order of first sentence

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ArticleResult:
    """One scored article. Sentence offsets index into `text` (for HTML: the extracted text)."""

    id: str
    target: str | None
    sentiment_target: str | None
    source_format: str  # "text" or "html"
    text: str
    sentences: list[SentenceResult] = field(default_factory=list)
    summary: Summary | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
