"""Over-long sentences are scored over windows (never cut silently); huge paragraphs segment
in bounded time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detente.model.backends import load_predictor
from detente.serving.scorer import Scorer
from detente.serving.segment import MAX_RUN_CHARS, runs, segment
from detente.serving.windows import Windower, window_ranges


@pytest.fixture(scope="module")
def scorer(tiny_model_dir: Path) -> Scorer:
    return Scorer(load_predictor(tiny_model_dir), batch_size=16)


def test_two_million_characters_without_a_sentence_end_segment_in_runs() -> None:
    text = "ceasefire talks " * 125_000  # 2,000,000 characters, no sentence end
    segments = segment(text)
    assert all(text[s.start : s.end] == s.text for s in segments)
    assert max(len(s.text) for s in segments) <= MAX_RUN_CHARS
    assert "".join(s.text for s in segments).replace(" ", "") == text.replace(" ", "")
    assert {s.paragraph for s in segments} == {0}


def test_runs_cover_the_paragraph_and_prefer_sentence_ends() -> None:
    text = "Talks resumed today. " * 2000
    spans = runs(text, 0, len(text))
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert all(text[e - 2 : e] == ". " for _, e in spans[:-1])


def test_window_ranges_fit_and_prefer_clause_marks(scorer: Scorer) -> None:
    tokenizer = scorer.windower.tokenizer
    text = ", ".join(f"the envoys met in city number {i} on the coast" for i in range(40))
    offsets = tokenizer.encode(text, add_special_tokens=False).offsets
    ranges = window_ranges(text, offsets, 30)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(offsets)
    assert all(0 < b - a <= 30 for a, b in ranges)
    assert all(text[offsets[b - 1][1] - 1] == "," for _, b in ranges[:-1])


def test_a_long_sentence_is_the_weighted_mean_of_its_windows(scorer: Scorer) -> None:
    long = " ".join(["The delegations said talks would resume, officials added"] * 30) + "."
    short = "Talks resumed."
    plan = scorer.windower.plan([long, short], ["negotiations", "negotiations"])
    assert plan is not None and len(plan.texts) > 3
    assert plan.owners.tolist().count(1) == 1 and plan.texts[-1] == short
    budget = scorer.config.max_length - 3
    tokenizer = scorer.windower.tokenizer
    assert all(len(tokenizer.encode(t, add_special_tokens=False)) <= budget for t in plan.texts)
    assert np.isclose(plan.weights[plan.owners == 0].sum(), 1.0)
    windows, _ = scorer.predictor.predict_probs(plan.texts, plan.targets)
    expected = (windows[plan.owners == 0] * plan.weights[plan.owners == 0, None]).sum(0)
    scored = scorer.score_sentences([long, short])
    got = np.array([scored[0].stance.probs[label] for label in scorer.stance_labels])
    assert np.allclose(got, expected, atol=1e-5)
    direct, _ = scorer.predictor.predict_probs([short], ["negotiations"])
    assert np.allclose([scored[1].stance.probs[x] for x in scorer.stance_labels], direct[0], 1e-5)


def test_sentences_that_fit_are_scored_in_one_pass(scorer: Scorer) -> None:
    assert scorer.windower.plan(["Talks resumed."] * 3, ["negotiations"] * 3) is None
    assert Windower(object()).plan(["x " * 500], ["t"]) is None  # no tokenizer: as it is
