from __future__ import annotations

import pytest
from conftest import SHARED_DATA, needs_shared

from detente.serving.segment import paragraphs, segment

EXAMPLES = SHARED_DATA / "examples"


def sentences(text: str) -> list[str]:
    found = segment(text)
    for s in found:
        assert text[s.start : s.end] == s.text, "offsets must slice back to the sentence"
        assert s.text == s.text.strip() and s.text
    starts = [s.start for s in found]
    assert starts == sorted(starts) and all(
        a.end <= b.start for a, b in zip(found[:-1], found[1:], strict=True)
    )
    return [" ".join(s.text.split()) for s in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The U.S. envoy met Mr. Smith on Sept. 5 in Washington. They talked for hours.",
            [
                "The U.S. envoy met Mr. Smith on Sept. 5 in Washington.",
                "They talked for hours.",
            ],
        ),
        (
            "Prices rose 3.5 percent to $2.4 billion. About 1,200 people fled. Gen. Ali spoke.",
            [
                "Prices rose 3.5 percent to $2.4 billion.",
                "About 1,200 people fled.",
                "Gen. Ali spoke.",
            ],
        ),
        (
            '"It is a profound misconception," he added. "Russia is in favor of peace."',
            ['"It is a profound misconception," he added.', '"Russia is in favor of peace."'],
        ),
        (
            'He called it "insanity." Then he left. Did they agree? "No!" she said.',
            ['He called it "insanity."', "Then he left.", "Did they agree?", '"No!" she said.'],
        ),
        (
            "Talks resume at 10 a.m. Monday in Oslo. Both sides confirmed.",
            ["Talks resume at 10 a.m. Monday in Oslo.", "Both sides confirmed."],
        ),
    ],
)
def test_hard_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_headline_without_full_stop_is_its_own_sentence() -> None:
    text = "Kremlin Says Forcing Russia Into Peace Would Be a Fatal Mistake\nThe Kremlin said so."
    assert sentences(text) == [
        "Kremlin Says Forcing Russia Into Peace Would Be a Fatal Mistake",
        "The Kremlin said so.",
    ]
    found = segment(text)
    assert [s.paragraph for s in found] == [0, 1]


def test_short_lines_without_full_stop_stay_apart() -> None:
    text = "Talks stall in Oslo\nBy Jane Doe\nSeptember 25, 2024\nThe talks stalled on Monday."
    assert sentences(text) == [
        "Talks stall in Oslo",
        "By Jane Doe",
        "September 25, 2024",
        "The talks stalled on Monday.",
    ]


def test_lines_broken_inside_a_sentence_are_joined() -> None:
    text = (
        "The envoy said the proposal, which both delegations received on Monday\n"
        "morning, would be discussed at the next round of talks in Geneva. The\n"
        "Foreign Ministry said it was studying the text and would reply by\n"
        "Friday.\n"
    )
    found = segment(text)
    assert sentences(text) == [
        "The envoy said the proposal, which both delegations received on Monday morning, "
        "would be discussed at the next round of talks in Geneva.",
        "The Foreign Ministry said it was studying the text and would reply by Friday.",
    ]
    assert "\n" in found[0].text  # the exact slice keeps the line break
    assert {s.paragraph for s in found} == {0}


def test_time_and_title_at_line_end_do_not_end_a_sentence() -> None:
    text = "They meet at 10 a.m.\nMonday with Gen.\nAli Hassan. Nothing else."
    assert sentences(text) == ["They meet at 10 a.m. Monday with Gen. Ali Hassan.", "Nothing else."]


def test_paragraphs_and_offsets_with_crlf_and_blank_lines() -> None:
    text = "\r\n\r\nFirst paragraph. Second sentence.\r\n\r\n\r\n  Second paragraph here.  \r\n"
    found = segment(text)
    assert sentences(text) == ["First paragraph.", "Second sentence.", "Second paragraph here."]
    assert [s.paragraph for s in found] == [0, 0, 1]
    assert len(paragraphs(text)) == 2


@pytest.mark.parametrize("text", ["", "   \n\n\t ", "\n"])
def test_empty_text_has_no_sentences(text: str) -> None:
    assert segment(text) == []


def test_unicode_offsets_are_code_points() -> None:
    text = "«Переговоры» — это путь. Zelensky said “no” — twice. 🙂 Done."
    found = segment(text)
    assert all(text[s.start : s.end] == s.text for s in found)
    assert found[-1].text.endswith("Done.")


@needs_shared
@pytest.mark.parametrize("name", ["plain", "page"])
def test_real_article_offsets(name: str) -> None:
    text = (EXAMPLES / f"moscow_times_2024-09-25_{name}.txt").read_text(encoding="utf-8")
    found = sentences(text)
    assert (
        '"It is a profound misconception that will inevitably have consequences for the Kyiv '
        'regime," he added.'
    ) in found
    assert any(s.startswith('"Russia is in favor of peace, but with the conditions') for s in found)
    if name == "page":
        assert found[0] == "Forcing Russia Into Peace Would Be 'Fatal Mistake,' Kremlin Says"
        assert "By AFP" in found
