"""Marking text that is not part of the article: `boilerplate: true` plus a reason.

Boilerplate sentences are still scored but left out of the summary. The rules, in order:

Sentence rules (the first that matches gives the reason):
- `source_url`: "Original url:", "Source link:" lines, and a sentence that is just a URL (a
  space or two inside it, as a copied line break leaves, allowed).
- `related_link`: "Related article:", "Read more:", "See also:", "Most read" and the like.
- `byline`: "By AFP", "By Jane Doe and John Roe" (at most 10 words); "Reporting by ...",
  "Editing by ...", "Additional reporting by ..." credits.
- `dateline`: a sentence that is only a date, possibly with a time and "Updated"/"Published".
- `photo_caption`: a photo credit ("Photo: ...", "© AFP", "Jane Doe / Reuters", "Getty Images").
- `cookie_notice`: cookie and privacy banners ("We use cookies", "Accept all", "Privacy policy").
- `donation_appeal`: an explicit request for money or support ("please support us",
  "donate now", "become a member", "Thank you for standing with us", "Remind me later").
- `site_chrome`: short page furniture ("Share this article", "Follow us on", "Advertisement",
  "Sign up for our newsletter", "All rights reserved", "5 min read").

Paragraph rules:
- A paragraph whose last sentence is a photo credit is a caption: all of it is `photo_caption`
  ("Kremlin spokesman Dmitry Peskov. Arthur Novosiltsev / Moskva News Agency").
- A paragraph whose first sentence is a `related_link` or `source_url` is marked whole.
- A donation appeal block starts at a paragraph opening with "A message from", "Dear
  reader(s)", "Support independent journalism", "Before you go" and the like, and runs to the
  last paragraph within the next 12 that still speaks of support, donations, subscriptions,
  independent journalism or "your help"; every sentence in it is `donation_appeal`.

The headline is part of the article, not boilerplate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from detente.serving.segment import Segment

_I = re.IGNORECASE
_MONTH = (
    r"(January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\b\.?"
)
_WEEKDAY = r"(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_DAY = rf"({_WEEKDAY},?\s+)?"
_DATE = (
    rf"{_DAY}({_MONTH}\s+\d{{1,2}}(st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}\s+{_MONTH},?\s+\d{{4}}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4})"
)
_TIME = r"([,\s]+(at\s+)?\d{1,2}([:.]\d{2})?\s*([ap]\.?m\.?)?(\s*[A-Z]{2,4})?)?"

# (reason, pattern, most words the sentence may have for the rule to apply, or None)
_SENTENCE_RULES: list[tuple[str, re.Pattern[str], int | None]] = [
    ("source_url", re.compile(r"^(original|source|article)\s+(url|link)\s*:", _I), None),
    ("source_url", re.compile(r"^(https?://|www\.)\S+(\s\S+){0,2}$", _I), 3),
    (
        "related_link",
        re.compile(
            r"^(related|read (more|also|next)|see also|more (on|about) (this|the topic)|"
            r"recommended|you (may|might) also like|also read|most (read|popular)|trending)"
            r"(\s+(articles?|stor(y|ies)|content|reading|coverage|news))?\s*([:|»>–-]|$)",
            _I,
        ),
        None,
    ),
    ("byline", re.compile(rf"^By\s+(?!{_WEEKDAY}|{_MONTH})[A-Z][^.!?]*$"), 10),
    ("byline", re.compile(r"^\(?(additional\s+)?(reporting|writing|editing)\s+by\b", _I), 40),
    (
        "dateline",
        re.compile(
            rf"^((updated|published|posted|last updated|first published)(\s+(on|at))?:?\s*)?"
            rf"{_DATE}{_TIME}\.?$",
            _I,
        ),
        None,
    ),
    (
        "photo_caption",
        re.compile(
            r"^\(?(photo|image|picture|photograph|illustration|video|file photo|caption|credit)s?"
            r"(\s+(by|credit))?\s*:|©|\bgetty images\b|\b(AFP|AP|EPA|Reuters|Sputnik|TASS)"
            r"\s+photo\b",
            _I,
        ),
        25,
    ),
    ("photo_caption", re.compile(r"^[\w.'’ -]{2,60}\s*[/|]\s*[\w.'’ &-]{2,60}$"), 12),
    (
        "cookie_notice",
        re.compile(
            r"\b(we|this (site|website)) uses? cookies\b|\baccept (all|cookies)\b|"
            r"\bcookie (policy|settings|preferences)\b|\bprivacy policy\b|"
            r"\bby continuing to (use|browse)\b",
            _I,
        ),
        None,
    ),
    (
        "donation_appeal",
        re.compile(
            r"\bplease (support|donate|subscribe)\b|\bsupport us\b|\bdonate (now|today|here)\b|"
            r"\bbecome a (member|supporter|patron|subscriber)\b|\bremind me later\b|"
            r"\bthank you for (standing with|supporting) us\b|\bmake a (donation|gift)\b",
            _I,
        ),
        None,
    ),
    (
        "site_chrome",
        re.compile(
            r"^(share (this|on)|follow us\b|sign up for|subscribe to|advertisement|click here|"
            r"skip to|log in|sign in|all rights reserved|copyright|\d+\s+min(ute)?s?\s+read)",
            _I,
        ),
        12,
    ),
]

_WHOLE_PARAGRAPH = {"related_link", "source_url"}
_APPEAL_START = re.compile(
    r"^(a message from\b|dear (readers?|friends|subscribers)\b|support (independent|our) "
    r"(journalism|reporting)|before you (go|continue)\b|we need your (help|support)\b|"
    r"help us\b|donate\b)",
    _I,
)
_APPEAL_WORDS = re.compile(
    r"support|donat|contribut|subscri|independent journalism|your help|thank you|remind me|"
    r"membership|dear readers?",
    _I,
)
_APPEAL_REACH = 12


def sentence_reason(text: str) -> str | None:
    """The boilerplate reason for a sentence on its own, or None for article text."""
    flat = " ".join(text.split())
    words = len(flat.split())
    for reason, pattern, max_words in _SENTENCE_RULES:
        if (max_words is None or words <= max_words) and pattern.search(flat):
            return reason
    return None


def _paragraph_groups(segments: Sequence[Segment]) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for index, seg in enumerate(segments):
        groups.setdefault(seg.paragraph, []).append(index)
    return [groups[p] for p in sorted(groups)]


def mark_boilerplate(segments: Sequence[Segment]) -> list[str | None]:
    """A boilerplate reason (or None) for each segment of one article, in order."""
    reasons = [sentence_reason(seg.text) for seg in segments]
    groups = _paragraph_groups(segments)
    for group in groups:
        if reasons[group[-1]] == "photo_caption":
            for index in group:
                reasons[index] = "photo_caption"
        if reasons[group[0]] in _WHOLE_PARAGRAPH:
            for index in group:
                reasons[index] = reasons[group[0]]
    for start, group in enumerate(groups):
        first = " ".join(segments[group[0]].text.split())
        if not _APPEAL_START.search(first):
            continue
        end = start
        for later in range(start + 1, min(len(groups), start + 1 + _APPEAL_REACH)):
            if any(_APPEAL_WORDS.search(segments[i].text) for i in groups[later]):
                end = later
        for block in groups[start : end + 1]:
            for index in block:
                reasons[index] = reasons[index] or "donation_appeal"
    return reasons
