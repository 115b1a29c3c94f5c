"""Sentence segmentation with character offsets and paragraph numbers.

1. Paragraphs. A blank line always ends a paragraph. A single line break ends one too, unless
   it is a line broken inside a sentence (hard-wrapped text). A break is a wrap when the next
   line starts in lower case, or when the line does not end a sentence (no `.`, `!`, `?`, `:`
   or `…`, possibly followed by closing quotes or brackets; a title such as `Mr.` or a time
   such as `10 a.m.` before a weekday does not count), is not title-cased (a headline), and
   the next line's first word would not have fitted on it within the width of the block's
   longest line (that is why a wrapping writer broke it). A short line without a full stop (a
   headline, a byline, a date) therefore stays on its own.
2. Sentences. Each paragraph goes to pysbd (rule-based: quotes, abbreviations such as U.S.,
   Mr. and Sept., decimal numbers), with its line breaks seen as spaces. Two fixes follow: a
   piece that starts in lower case joins the sentence before, and so does a weekday or month
   after `a.m.` / `p.m.` ("at 10 a.m. Monday").
3. Offsets. pysbd's pieces are aligned back to the input, so `text[start:end]` is exactly the
   sentence (without surrounding white space) for any input.
4. Bounds. A paragraph longer than `MAX_RUN_CHARS` or with more than `MAX_RUN_SENTENCES`
   sentence ends (a page of text with no line break, a 2,000,000-character run with no sentence
   end) goes to pysbd in runs: cut after the 64th sentence end, else after the last sentence
   end in the second half of 10,000 characters, else at the last white space there, else
   anywhere. Time and memory then grow linearly with the input. A sentence longer
   than the model's input is not cut here: the scorer reads it in windows (serving/windows.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_TERMINAL = re.compile(r"[.!?:;…][\"'”’»)\]]*$")
_TITLES = re.compile(
    r"\b(Mr|Mrs|Ms|Dr|Prof|Gen|Lt|Col|Capt|Sgt|Sen|Rep|Gov|Pres|Rev|St|Hon|Amb|Adm|Maj)\.$"
)
_WEEKDAY_OR_MONTH = re.compile(
    r"^(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b|^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct"
    r"|Nov|Dec)[a-z]*\b|^(local|GMT|UTC|EST|CET)\b"
)
_CLOCK = re.compile(r"\b[ap]\.m\.$", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*\s")
_SPACE = re.compile(r"\s")
MAX_RUN_CHARS = 10_000
MAX_RUN_SENTENCES = 64


@dataclass(frozen=True)
class Segment:
    """A sentence: `source[start:end] == text`, in paragraph `paragraph` (0-based)."""

    text: str
    start: int
    end: int
    paragraph: int


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def _is_title_case(line: str) -> bool:
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", line) if len(w) > 3]
    return len(words) >= 2 and sum(w[0].isupper() for w in words) / len(words) >= 0.8


def _ends_paragraph(line: str, next_line: str, longest: int) -> bool:
    """Whether the break between two non-blank lines of a block ends a paragraph."""
    line, next_line = line.strip(), next_line.strip()
    first = next_line[:1]
    if first.islower():
        return False
    if _TERMINAL.search(line):
        after_clock = _CLOCK.search(line) and _WEEKDAY_OR_MONTH.match(next_line)
        return not (_TITLES.search(line) or after_clock)
    if _is_title_case(line):
        return True
    next_word = next_line.split(maxsplit=1)[0] if next_line else ""
    return len(line) + 1 + len(next_word) <= longest  # the next word would have fitted


def _blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of the runs of text between blank lines."""
    spans, cursor = [], 0
    for match in _BLANK_LINES.finditer(text):
        spans.append((cursor, match.start()))
        cursor = match.end()
    spans.append((cursor, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph, in order; lines wrapped inside a sentence are joined."""
    result: list[tuple[int, int]] = []
    for block_start, block_end in _blocks(text):
        lines: list[tuple[int, int]] = []
        cursor = block_start
        for line in text[block_start:block_end].split("\n"):
            if line.strip():
                lines.append((cursor, cursor + len(line)))
            cursor += len(line) + 1
        longest = max(len(text[s:e].strip()) for s, e in lines)
        start = lines[0][0]
        for (s, e), (ns, ne) in zip(lines[:-1], lines[1:], strict=True):
            if _ends_paragraph(text[s:e], text[ns:ne], longest):
                result.append((start, e))
                start = ns
        result.append((start, lines[-1][1]))
    return result


def _align(source: str, pieces: list[str], offset: int) -> list[tuple[int, int]]:
    """Map pysbd's pieces back to (start, end) in `source`, ignoring white space differences."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in pieces:
        chars = [c for c in piece if not c.isspace()]
        if not chars:
            continue
        while cursor < len(source) and source[cursor].isspace():
            cursor += 1
        start = cursor
        matched = 0
        while cursor < len(source) and matched < len(chars):
            if not source[cursor].isspace():
                if source[cursor] != chars[matched]:
                    break  # pysbd changed the text: the rest becomes one sentence
                matched += 1
            cursor += 1
        if matched < len(chars):
            spans.append((start, len(source.rstrip())))
            cursor = len(source)
            break
        spans.append((start, cursor))
    rest = source[cursor:]
    if rest.strip():
        lead = len(rest) - len(rest.lstrip())
        spans.append((cursor + lead, len(source.rstrip())))
    return [(offset + s, offset + e) for s, e in spans]


def _merge(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join pieces that cannot start a sentence to the sentence before them."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        piece = text[start:end]
        letters = [c for c in piece if c.isalnum()]
        if merged:
            before = text[max(merged[-1][0], merged[-1][1] - 16) : merged[-1][1]]  # its end
            starts_lower = piece.lstrip("\"'“‘«([")[:1].islower()
            after_clock = _CLOCK.search(before) and _WEEKDAY_OR_MONTH.match(piece)
            if starts_lower or after_clock or not letters:
                merged[-1] = (merged[-1][0], end)
                continue
        merged.append((start, end))
    return merged


def _last_match(pattern: re.Pattern[str], text: str, start: int, end: int) -> int | None:
    last = None
    for match in pattern.finditer(text, start, end):
        last = match.end()
    return last


def _nth_sentence_end(text: str, start: int, stop: int, n: int) -> int | None:
    for count, match in enumerate(_SENTENCE_END.finditer(text, start, stop), 1):
        if count == n:
            return match.end()
    return None


def runs(text: str, start: int, end: int, limit: int = MAX_RUN_CHARS) -> list[tuple[int, int]]:
    """(start, end) runs covering text[start:end], each of at most `limit` characters and
    `MAX_RUN_SENTENCES` sentence ends (pysbd's time grows with the square of the latter)."""
    result = []
    while True:
        stop = min(end, start + limit)
        cut = _nth_sentence_end(text, start, stop, MAX_RUN_SENTENCES + 1)
        if cut is None and stop == end:
            break
        if cut is None:
            half = start + limit // 2
            cut = _last_match(_SENTENCE_END, text, half, stop) or _last_match(
                _SPACE, text, half, stop
            )
            cut = cut or stop
        result.append((start, cut))
        start = cut
    result.append((start, end))
    return result


def segment(text: str) -> list[Segment]:
    """Split `text` into sentences with offsets into `text` and paragraph numbers."""
    segments: list[Segment] = []
    for index, (p_start, p_end) in enumerate(paragraphs(text)):
        for r_start, r_end in runs(text, p_start, p_end):
            chunk = text[r_start:r_end]
            if not chunk.strip():
                continue
            flat = re.sub(r"\s", " ", chunk)  # same length: line breaks read as spaces
            pieces = _segmenter().segment(flat)
            for start, end in _merge(text, _align(chunk, pieces, r_start)):
                segments.append(Segment(text[start:end], start, end, index))
    return segments
