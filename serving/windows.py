"""Sentences longer than the model's input: scored as a whole over windows, never cut silently.

The model reads `[CLS] target [SEP] sentence [SEP]` of at most `max_length` tokens (96 for the
default model). A sentence with more tokens than fit beside its target is split into windows
that each fit:

1. Windows are consecutive runs of the sentence's tokens (no overlap), each at most `budget`
   tokens, where `budget = max_length - 3 - tokens(target) - 2` (two tokens of slack, since a
   window is tokenised again on its own).
2. A window ends, by preference, after a clause mark (`,` `;` `:` `—` `–` `)`) in its second
   half; else before the start of a word (never inside one); a single "word" longer than the
   budget (a URL, a run of characters without spaces) is cut between tokens.
3. Each window is scored like a sentence. The sentence's probabilities are the mean of its
   windows' probabilities weighted by their token counts, so every part of the sentence counts
   in proportion to its length; its label is the most probable label of that mean.

Sentences that fit (nearly all) are scored exactly as before, in one pass. A predictor without
a fast tokenizer (a test double) is used as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

CLAUSE_MARKS = frozenset(",;:—–)")
SLACK = 2


@dataclass(frozen=True)
class WindowPlan:
    """Window texts and targets, and for each window the sentence it belongs to and its weight."""

    texts: list[str]
    targets: list[str | None]
    owners: np.ndarray
    weights: np.ndarray


def counting_tokenizer(predictor: Any) -> Any | None:
    """A `tokenizers.Tokenizer` of the predictor's vocabulary without truncation, or None."""
    tokenizer = getattr(predictor, "tokenizer", None)
    raw = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "single", None)
    if raw is None or not hasattr(raw, "to_str"):
        return None
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(raw.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy


def window_ranges(
    text: str, offsets: Sequence[tuple[int, int]], budget: int
) -> list[tuple[int, int]]:
    """Token ranges [start, end) covering all of `text`'s tokens, each at most `budget` long."""
    ranges: list[tuple[int, int]] = []
    start, n = 0, len(offsets)
    while start < n:
        end = min(start + budget, n)
        if end < n:
            cut = None
            for j in range(end, start + max(1, budget // 2), -1):  # after a clause mark
                if text[offsets[j - 1][1] - 1] in CLAUSE_MARKS:
                    cut = j
                    break
            if cut is None:
                for j in range(end, start, -1):  # before a word
                    if offsets[j][0] > offsets[j - 1][1]:
                        cut = j
                        break
            end = cut or end
        ranges.append((start, end))
        start = end
    return ranges


class Windower:
    """Plans windows for (text, target) pairs and folds window scores back per sentence."""

    def __init__(self, predictor: Any) -> None:
        self.tokenizer = counting_tokenizer(predictor)
        config = getattr(predictor, "config", None)
        self.max_length = int(getattr(config, "max_length", 0) or 0)
        self._target_tokens: dict[str | None, int] = {}

    def _budget(self, target: str | None) -> int:
        if target not in self._target_tokens:
            count = len(self.tokenizer.encode(target, add_special_tokens=False)) if target else 0
            self._target_tokens[target] = count
        special = 3 if target else 2
        return max(8, self.max_length - special - self._target_tokens[target] - SLACK)

    def plan(self, texts: Sequence[str], targets: Sequence[str | None]) -> WindowPlan | None:
        """None when every text fits (score as is); else the windows to score instead."""
        if self.tokenizer is None or not self.max_length or not texts:
            return None
        budgets = [self._budget(t) for t in targets]
        long = [i for i, text in enumerate(texts) if len(text) > budgets[i]]  # tokens <= chars
        if not long:
            return None
        encodings = self.tokenizer.encode_batch([texts[i] for i in long], add_special_tokens=False)
        too_long = {i: e for i, e in zip(long, encodings, strict=True) if len(e) > budgets[i]}
        if not too_long:
            return None
        window_texts, window_targets, owners, weights = [], [], [], []
        for i, text in enumerate(texts):
            encoding = too_long.get(i)
            if encoding is None:
                spans, counts = [(0, len(text))], [1]
            else:
                offsets = encoding.offsets
                ranges = window_ranges(text, offsets, budgets[i])
                spans = [(offsets[a][0], offsets[b - 1][1]) for a, b in ranges]
                counts = [b - a for a, b in ranges]
            total = sum(counts)
            for (a, b), count in zip(spans, counts, strict=True):
                window_texts.append(text[a:b])
                window_targets.append(targets[i])
                owners.append(i)
                weights.append(count / total)
        return WindowPlan(
            window_texts, window_targets, np.asarray(owners), np.asarray(weights, dtype=np.float64)
        )

    @staticmethod
    def combine(plan: WindowPlan, rows: np.ndarray, n: int) -> np.ndarray:
        """Per-sentence token-weighted mean of the windows' probability rows."""
        out = np.zeros((n, rows.shape[1]), dtype=np.float64)
        np.add.at(out, plan.owners, rows * plan.weights[:, None])
        return out.astype(rows.dtype)
