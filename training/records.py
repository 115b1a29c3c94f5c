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
