"""The article summary: counts, shares, overall stance and the strongest sentences.

Only body sentences count (boilerplate is scored but left out). Each sentence counts once,
under its predicted (most probable) label.

Overall stance rule, over body sentences labelled `favor` (F) or `against` (A):
- `none`    when F + A == 0 (no body sentence takes a side, or the article has no body);
- `favor`   when F >= 2 * A (favour outweighs opposition at least two to one);
- `against` when A >= 2 * F;
- `mixed`   otherwise (both sides present without a two-to-one majority).

`by_speaker`: for each speaker of a body sentence (serving/speakers.py), in the order they
first speak, the indices of their sentences, their stance and sentiment counts, and their
overall stance by the same rule.

`most_favor` / `most_against`: the body sentence labelled `favor` / `against` with the highest
probability of that label (ties: the earlier sentence); None when no sentence has that label.
"""

from __future__ import annotations

from collections.abc import Sequence

from detente.serving.results import Highlight, SentenceResult, SpeakerSummary, Summary

DOMINANCE = 2  # how many times more sentences one side needs for the article to take it


def overall_stance(favor: int, against: int) -> str:
    """Apply the documented rule to the number of `favor` and `against` body sentences."""
    if favor + against == 0:
        return "none"
    if favor >= DOMINANCE * against:
        return "favor"
    if against >= DOMINANCE * favor:
        return "against"
    return "mixed"


def _counts(labels: Sequence[str], values: list[str]) -> tuple[dict[str, int], dict[str, float]]:
    counts = {label: sum(value == label for value in values) for label in labels}
    total = len(values)
    shares = {label: round(count / total, 4) if total else 0.0 for label, count in counts.items()}
    return counts, shares


def _strongest(sentences: Sequence[SentenceResult], label: str) -> Highlight | None:
    best: Highlight | None = None
    for index, sentence in enumerate(sentences):
        if sentence.boilerplate or sentence.stance.label != label:
            continue
        prob = sentence.stance.probs[label]
        if best is None or prob > best.prob:
            best = Highlight(index, sentence.text, sentence.start, sentence.end, prob)
    return best


def by_speaker(
    sentences: Sequence[SentenceResult],
    stance_labels: Sequence[str],
    sentiment_labels: Sequence[str],
) -> list[SpeakerSummary]:
    """Per-speaker counts and overall stance over the body sentences that have a speaker."""
    indices: dict[str, list[int]] = {}
    for index, sentence in enumerate(sentences):
        if not sentence.boilerplate and sentence.speaker is not None:
            indices.setdefault(sentence.speaker, []).append(index)
    result = []
    for speaker, own in indices.items():
        stance_counts, _ = _counts(stance_labels, [sentences[i].stance.label for i in own])
        sentiment_counts, _ = _counts(sentiment_labels, [sentences[i].sentiment.label for i in own])
        overall = overall_stance(stance_counts.get("favor", 0), stance_counts.get("against", 0))
        result.append(SpeakerSummary(speaker, own, stance_counts, sentiment_counts, overall))
    return result


def summarize(
    sentences: Sequence[SentenceResult],
    stance_labels: Sequence[str],
    sentiment_labels: Sequence[str],
) -> Summary:
    body = [s for s in sentences if not s.boilerplate]
    stance_counts, stance_shares = _counts(stance_labels, [s.stance.label for s in body])
    sentiment_counts, sentiment_shares = _counts(
        sentiment_labels, [s.sentiment.label for s in body]
    )
    return Summary(
        sentences=len(sentences),
        body_sentences=len(body),
        boilerplate_sentences=len(sentences) - len(body),
        stance_counts=stance_counts,
        stance_shares=stance_shares,
        sentiment_counts=sentiment_counts,
        sentiment_shares=sentiment_shares,
        overall_stance=overall_stance(
            stance_counts.get("favor", 0), stance_counts.get("against", 0)
        ),
        most_favor=_strongest(sentences, "favor"),
        most_against=_strongest(sentences, "against"),
        by_speaker=by_speaker(sentences, stance_labels, sentiment_labels),
    )
