"""Property tests (hypothesis) over the segmenter, the boilerplate rules, HTML extraction, the
input loaders and the scorer: arbitrary Unicode (RTL, combining marks, emoji, NUL), empty and
white-space-only text, binary data, HTML without a body or deeply nested, ragged CSV. Every case
ends in a result or a reported error; offsets always slice back to the sentence text.
Example counts: the hypothesis profile in conftest.py (DETENTE_HYPOTHESIS_PROFILE=thorough).
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detente.model.backends import load_predictor
from detente.serving.boilerplate import mark_boilerplate
from detente.serving.extract import extract
from detente.serving.score_cli import read_inputs
from detente.serving.scorer import Scorer
from detente.serving.segment import segment

SPECIAL = [
    "\u0627\u0644\u0633\u0644\u0627\u0645 \u0639\u0644\u064a\u0643\u0645.",  # Arabic, RTL
    "e\u0301\u0301\u0301",  # combining marks
    "\U0001f54a\ufe0f peace \U0001f91d\U0001f3fd.",  # emoji with modifiers
    "\x00",
    "\u200f\u202e",  # RTL marks and override
    "Mr. ",
    "U.S. ",
    "\n\n",
    "\r\n",
    "\t",
    "...",
    "“Talks,” he said. ",
    "Related article: ",
    "By AFP",
]
texts = st.lists(st.text(max_size=40) | st.sampled_from(SPECIAL), max_size=12).map("".join)


def check_segments(text: str, segments) -> None:
    previous_end, previous_paragraph = 0, 0
    for s in segments:
        assert text[s.start : s.end] == s.text
        assert s.text.strip() and s.text == s.text.strip()
        assert s.start >= previous_end and s.paragraph >= previous_paragraph
        previous_end, previous_paragraph = s.end, s.paragraph


@given(texts)
def test_segments_slice_back_and_boilerplate_marks_each(text: str) -> None:
    segments = segment(text)
    check_segments(text, segments)
    reasons = mark_boilerplate(segments)
    assert len(reasons) == len(segments)
    assert all(r is None or isinstance(r, str) for r in reasons)


html_nodes = st.recursive(
    texts,
    lambda inner: st.builds(
        lambda tag, body: f"<{tag}>{body}</{tag}>",
        st.sampled_from(["p", "div", "script", "style", "span", "article", "li"]),
        st.lists(inner, max_size=3).map("".join),
    ),
    max_leaves=10,
)


@given(
    st.one_of(
        html_nodes.map(lambda b: f"<html><head><script>x()</script></head>{b}</html>"),
        st.integers(0, 3000).map(lambda n: "<div>" * n + "Talks." + "</div>" * n),
    )
)
def test_html_extracts_to_segmentable_text(html: str) -> None:
    extracted = extract(html, "html")
    assert isinstance(extracted.text, str) and extracted.source_format == "html"
    check_segments(extracted.text, segment(extracted.text))


@given(
    content=st.binary(max_size=300)
    | st.lists(
        st.lists(st.text(max_size=12) | st.sampled_from(['"', ",", "\n", "\x00"]), max_size=5),
        max_size=6,
    ).map(lambda rows: ("id,text\n" + "\n".join(",".join(r) for r in rows)).encode("utf-8")),
    suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".txt", ".html", ".parquet"]),
)
def test_loaders_yield_articles_or_report_errors(content: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"input{suffix}"
        path.write_bytes(content)
        reports: list[str] = []
        articles = list(read_inputs([str(path)], reports.append))
    assert all(isinstance(a.text, str) and a.id for a in articles)
    assert all(isinstance(r, str) and "\n" not in r.strip() for r in reports)
    if suffix == ".csv" and not reports:  # no row is dropped without a report
        rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))
        assert len(articles) == len(rows)


@pytest.fixture(scope="module")
def scorer(tiny_model_dir: Path) -> Scorer:
    return Scorer(load_predictor(tiny_model_dir), batch_size=8)


def test_scorer_results_slice_back(scorer: Scorer) -> None:
    @given(st.lists(texts, min_size=1, max_size=3))
    def check(batch: list[str]) -> None:
        results = list(scorer.score_articles(batch))
        assert len(results) == len(batch)
        for result in results:
            for s in result.sentences:
                assert result.text[s.start : s.end] == s.text
                assert abs(sum(s.stance.probs.values()) - 1) < 1e-3
            assert result.summary.sentences == len(result.sentences)

    check()
