from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, SHARED_DATA, needs_shared

from detente.serving.boilerplate import mark_boilerplate, sentence_reason
from detente.serving.segment import segment

EXAMPLE = ROOT / "examples" / "article.txt"
SHARED_EXAMPLES = SHARED_DATA / "examples"


def marked(path: Path) -> dict[str, str | None]:
    text = path.read_text(encoding="utf-8")
    segments = segment(text)
    reasons = mark_boilerplate(segments)
    return {" ".join(s.text.split()): reason for s, reason in zip(segments, reasons, strict=True)}


def test_project_example_article() -> None:
    reasons = marked(EXAMPLE)
    expected = {
        "By Staff Correspondent": "byline",
        "Sept. 18, 2025": "dateline",
        "Arvanian Foreign Minister Teodor Malik speaks to reporters in Oslo.": "photo_caption",
        "Lena Hartvig / Northlight Photo Agency": "photo_caption",
        "Related article: Border Clashes Displace 120,000 in Eastern Doloria": "related_link",
        "Support independent reporting": "donation_appeal",
        "Our newsroom is funded by readers like you.": "donation_appeal",
        "Thank you for reading.": "donation_appeal",
        "We use cookies to improve your experience.": "cookie_notice",
        "Accept all cookies": "cookie_notice",
    }
    for sentence, reason in expected.items():
        assert reasons[sentence] == reason, sentence
    body = [s for s, reason in reasons.items() if reason is None]
    assert body[0] == "Arvania Offers Ceasefire Talks as Doloria Demands Troop Withdrawal First"
    assert "Doloria rejected the offer within hours." in body
    assert 'Mr. Malik called that "real progress, however slow."' in body
    assert len(body) == 16


@needs_shared
def test_real_page_copy_clutter_is_marked() -> None:
    reasons = marked(SHARED_EXAMPLES / "moscow_times_2024-09-25_page.txt")
    flagged = {s: r for s, r in reasons.items() if r is not None}
    assert flagged["By AFP"] == "byline"
    assert flagged["September 25, 2024"] == "dateline"
    assert flagged["Kremlin spokesman Dmitry Peskov."] == "photo_caption"
    assert flagged["Arthur Novosiltsev / Moskva News Agency"] == "photo_caption"
    assert flagged["Original url:"] == "source_url"
    assert any(s.startswith("Related article: Moscow") for s in flagged)
    assert any(s.startswith("https://www.themoscowtimes.com/") for s in flagged)
    assert len(flagged) == 7
    assert (
        reasons['"Without achieving these goals, it is impossible to coerce Russia," Peskov said.']
        is None
    )


@needs_shared
def test_real_donation_appeal_is_marked_as_a_block() -> None:
    reasons = marked(SHARED_EXAMPLES / "moscow_times_2024-09-25_plain.txt")
    items = list(reasons.items())
    start = next(i for i, (s, _) in enumerate(items) if s.startswith("A Message from"))
    assert all(reason is None for _, reason in items[:start])
    assert all(reason == "donation_appeal" for _, reason in items[start:])
    assert items[-1][0] == "Remind me later."


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("By Jane Doe and John Roe", "byline"),
        ("(Reporting by Jane Doe; Editing by John Roe)", "byline"),
        ("Updated: Sept. 25, 2024 at 10:30 a.m. EST", "dateline"),
        ("Photo: Jane Doe / Reuters", "photo_caption"),
        ("Read more: Talks collapse in Geneva", "related_link"),
        ("Original url: https://example.org/a", "source_url"),
        ("https://example.org/2024/talks", "source_url"),
        ("This website uses cookies to give you the best experience.", "cookie_notice"),
        ("Please support us with a monthly donation.", "donation_appeal"),
        ("Share this article", "site_chrome"),
        ("By Tuesday, the talks had collapsed.", None),
        ("The truce contributed to calm along the front.", None),
        ("Diplomats gathered in Paris on Wednesday for talks.", None),
        ("Negotiators said the deal, signed Sept. 25, 2024, would hold.", None),
    ],
)
def test_sentence_rules(sentence: str, reason: str | None) -> None:
    assert sentence_reason(sentence) == reason
