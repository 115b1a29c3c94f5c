"""The one canonical labelled record every corpus is loaded into."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Record:
    """A statement with an optional target and optional labels for each head."""

    text: str
    target: str | None = None
    stance: str | None = None
    sentiment: str | None = None
    id: str | None = None
    conflict: str | None = None  # the war a news statement is about, where the corpus says
    # A teacher's probabilities (label order of the model's config) instead of a gold label.
    stance_probs: list[float] | None = None
    sentiment_probs: list[float] | None = None
