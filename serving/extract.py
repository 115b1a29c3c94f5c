"""Getting an article's text: HTML through trafilatura, plain or cluttered text as it is.

The text returned is what sentence offsets refer to. For plain text it is the input itself, so
a page can highlight the input directly. For HTML it is the extracted main text: the headline
(when trafilatura finds one that the text does not already start with) and one paragraph per
extracted block, separated by blank lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

FORMATS = ("auto", "text", "html")
_HTML_HINT = re.compile(
    r"<!doctype\s+html|<(html|head|body|article|main|div|p|br|h[1-6]|span|section|meta|title)"
    r"[\s>/]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Extracted:
    text: str
    source_format: str  # "text" or "html"


def looks_like_html(raw: str) -> bool:
    """True when the start of `raw` has HTML markup (a doctype or common element tags)."""
    return bool(_HTML_HINT.search(raw[:5000]))


@lru_cache(maxsize=1)
def _config():
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_OUTPUT_SIZE", "1")
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # no signal alarms: safe in threads
    return config


def _fallback_text(html: str) -> str:
    """All visible text, one block per line, when trafilatura finds no main text."""
    import lxml.html

    try:
        root = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return ""
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    for block in root.xpath("//p|//div|//br|//li|//h1|//h2|//h3|//h4|//h5|//h6|//tr"):
        block.tail = "\n" + (block.tail or "")
    return root.text_content()


def html_to_text(html: str) -> str:
    """The main text of an HTML page: headline first, paragraphs separated by blank lines."""
    import trafilatura

    document = trafilatura.bare_extraction(
        html, config=_config(), favor_recall=True, with_metadata=True, include_tables=False
    )
    body = (document.text or "") if document is not None else ""
    if not body.strip():
        body = _fallback_text(html)
    blocks = [" ".join(line.split()) for line in body.splitlines()]
    blocks = [block for block in blocks if block]
    title = " ".join((getattr(document, "title", None) or "").split())
    if title and (not blocks or not blocks[0].startswith(title)):
        blocks.insert(0, title)
    return "\n\n".join(blocks)


def extract(raw: str, format: str = "auto") -> Extracted:
    """The article text to segment: HTML is extracted, anything else is returned unchanged."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if format == "html" or (format == "auto" and looks_like_html(raw)):
        return Extracted(html_to_text(raw), "html")
    return Extracted(raw, "text")
