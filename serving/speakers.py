"""Who says what: the speaker of each sentence, by rules (no model, no spaCy).

`RuleAttributor().attribute(text, segments, skip)` gives one `Attribution` per sentence:
`speaker` (one canonical name per speaker in the article), `speaker_text` (the words as
written) and `attribution`, how the speaker was found:

- `quote`: a direct quote of four words or more with its speaker in the same sentence
  (`"...," Peskov said.`, `"...," said Mara Lind of Open Hands.`, `X told reporters that "..."`);
- `reported`: `X said (that) ...`, `X vowed not to ...`, `..., local officials said, ...`,
  `according to X`, and sentences whose only quotes are short (`a "fatal mistake"`);
- `headline`: a title-cased first line such as `..., Kremlin Says` or `Zelensky: ...`;
- `pronoun`: `he added`, `she said`, `the spokesman said`: resolved to the nearest earlier
  compatible speaker or sentence subject (a person for he/she, a body for it/they, a speaker
  with that role for "the spokesman") within the last few sentences, else left as written;
- `continued_quote`: a sentence that is all quotation and attributes nothing itself takes the
  speaker of the previous sentence in its paragraph, or (the convention for quotes over
  several paragraphs) of the last sentence of the previous paragraph when that one is an
  attributed quote, or else of the next sentence in its paragraph.

Everything else (narration) and every skipped sentence (boilerplate: captions, appeals,
links) gets no speaker.

Attribution verbs are matched on the sentence with its quotations masked, so nothing inside
a quote is taken for a speaker. The subject before the verb is the last comma-separated chunk
(appositives `Ruel, Doloria's president,` and relative clauses `, who ...,` handled), and must
look like a noun phrase: at most ten words, none of them a verb, auxiliary or conjunction, and
a proper name or a speaker noun (officials, diplomat, ministry, ...) in it. `demanded` counts
only before `that` or a quote, `described` before `as`, `called` before a quote, `for` or `on`.

Canonical names. A person's name is a run of two or three capitalised words after a role
word (`Kremlin spokesman Dmitry Peskov`, `Doloria's president, Stefan Ruel`) or as a speaker;
`Peskov` and `Mr. Peskov` become the longest full name ending in that surname anywhere in the
article (left as written when two people share it). A body keeps its words, with a leading
`The` lowered: `Kremlin` in the headline and `The Kremlin` in the text are both `the Kremlin`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Protocol

from detente.serving.segment import Segment

ATTRIBUTIONS = ("quote", "reported", "headline", "continued_quote", "pronoun")
QUOTE_MIN_WORDS = 4  # a quoted span this long makes a `quote`; shorter ones stay `reported`
PRONOUN_WINDOW = 4  # how many sentences back a pronoun or "the spokesman" may reach


@dataclass(frozen=True)
class Attribution:
    """The speaker of one sentence; all None for the article's own voice."""

    speaker: str | None = None
    speaker_text: str | None = None
    attribution: str | None = None


NO_SPEAKER = Attribution()


class Attributor(Protocol):
    """Anything that names the speaker of each sentence of an article."""

    def attribute(
        self, text: str, segments: Sequence[Segment], skip: Sequence[bool] | None = None
    ) -> list[Attribution]:
        """One Attribution per segment; `skip[i]` (boilerplate) gets NO_SPEAKER."""
        ...


# --------------------------------------------------------------------------- word lists

_VERBS = (
    r"said|says|say|told|tells|added|adds|vowed|vows|warned|warns|stated|states|claimed|claims"
    r"|insisted|insists|argued|argues|noted|notes|announced|announces|urged|urges|stressed"
    r"|stresses|explained|explains|declared|declares|pledged|pledges|promised|promises"
    r"|threatened|threatens|asserted|asserts|acknowledged|acknowledges|admitted|admits"
    r"|denied|denies|confirmed|confirms|reiterated|reiterates|predicted|predicts|wrote|writes"
    r"|tweeted|posted|replied|replies|responded|responds|countered|counters|conceded|concedes"
    r"|cautioned|cautions|suggested|suggests|emphasized|emphasised|emphasizes|emphasises"
    r"|maintained|maintains|demanded|demands|described|describes|called|calls|asked|asks"
    r"|continued|rejected|dismissed|accused|hailed|welcomed"
)
# Verbs that only count before a complement showing speech.
_NEEDS = {
    "demanded": r"\s*(that\b|\x00|:)",
    "demands": r"\s*(that\b|\x00|:)",
    "described": r".{0,60}?\bas\b",
    "describes": r".{0,60}?\bas\b",
    "called": r"(.{0,40}?\x00|\s+(for|on)\b)",
    "calls": r"(.{0,40}?\x00|\s+(for|on)\b)",
    "asked": r".{0,40}?\x00",
    "asks": r".{0,40}?\x00",
    "continued": r"\s*[.:,]?\s*\x00",
    "rejected": r".{0,60}?\x00",
    "dismissed": r".{0,60}?\x00",
    "accused": r".{0,80}?(\x00|\bof\b)",
    "hailed": r".{0,60}?\x00",
    "welcomed": r".{0,60}?\x00",
}
_VERB_RE = re.compile(rf"(?<![\w-])({_VERBS})\b")
_INVERTED_RE = re.compile(r"\x00\s*,?\s*(said|says|added|adds|told|wrote|asked|continued)\s+(.+)")
_TRAILING_SAID_RE = re.compile(r",\s*(said|says)\s+([^,]+?)\s*[.!?]?$")
_ACCORDING_RE = re.compile(r"\baccording to\s+([^,;:\x00]+?)\s*(?=[,;:!?]|\.?$)", re.IGNORECASE)

_AUX = re.compile(
    r"\s+(has|have|had|also|later|earlier|previously|repeatedly|again|then|once|publicly"
    r"|privately|flatly|firmly|reportedly|quickly|himself|herself|itself|themselves|further"
    r"|recently|had earlier|has long|have long|will|would|did|does|do|on \w+day"
    r"|last (week|month|year|night|\w+day)|this (week|month|year)|on (Monday|Tuesday|Wednesday"
    r"|Thursday|Friday|Saturday|Sunday)|today|yesterday|late \w+|in a statement)$",
    re.IGNORECASE,
)
_INTRO = re.compile(
    r"^(however|but|and|so|yet|still|meanwhile|instead|later|earlier|then|now|separately"
    r"|in (a|an|his|her|its|their) [\w ]{1,30}|on \w+day|last week)\b[,\s]*",
    re.IGNORECASE,
)
_BAD_WORDS = {
    "is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "will", "would",
    "could", "should", "can", "may", "might", "must", "do", "does", "did", "not", "that",
    "which", "who", "whom", "what", "when", "where", "why", "how", "if", "because", "while",
    "although", "though", "than", "as", "to", "this", "these", "those", "there", "here", "we",
    "i", "you", "me", "us", "him", "them", "our", "my", "your", "it", "said", "says", "told",
    "after", "before", "since", "until", "by", "into", "over", "about", "but", "also",
    "no", "any", "such", "very", "more", "most", "never",
}  # fmt: skip
_PRONOUNS = {"he": "person", "she": "person", "they": "group", "it": "group"}
_SPEAKER_NOUNS = (
    r"officials?|spokes(?:man|woman|person|people)|ministers?|ministry|diplomats?|sources?"
    r"|analysts?|experts?|aides?|advisers?|advisors?|government|police|army|military"
    r"|commanders?|lawmakers?|leaders?|negotiators?|envoys?|representatives?|residents?"
    r"|witnesses?|observers?|critics?|groups?|authorities|agency|office|presidency|president"
    r"|premier|chancellor|secretary|ambassador|general|chief|head|director|mayor|governor"
    r"|senator|deputy|member|members|campaigners?|activists?|organizers?|organisers?"
    r"|monitors?|mediators?|delegations?|delegates?|statement|people|person|officers?"
    r"|soldiers?|troops|staff|board|council|committee|union|kremlin|prosecutors?|judges?"
    r"|court|embassy|service|minister's|researchers?|economists?|doctors?|workers?|farmers?"
    r"|unions?|parties|party|opposition|coalition|cabinet|parliament|administration"
)
_SPEAKER_NOUN_RE = re.compile(rf"\b({_SPEAKER_NOUNS})\b", re.IGNORECASE)
_ROLES = (
    r"president|prime minister|minister|spokes(?:man|woman|person)|secretary|chancellor"
    r"|premier|ambassador|envoy|adviser|advisor|aide|leader|chief|commander|general|gen\."
    r"|diplomat|negotiator|official|mayor|governor|senator|sen\.|rep\.|king|queen|pope"
    r"|prince|director|head|chairman|chairwoman|chair|lawmaker|deputy|analyst|coordinator"
    r"|mediator|representative|commissioner|speaker|mr\.|mrs\.|ms\.|dr\.|prof\."
)
_ROLE_RE = re.compile(rf"\b({_ROLES})$", re.IGNORECASE)
_TITLE_RE = re.compile(r"^(Mr|Mrs|Ms|Dr|Prof|Gen|Sen|Rep|Lt|Col|Capt|Adm)\.?$")
_ORG_WORDS = {
    "kremlin", "ministry", "department", "office", "union", "nations", "council", "government",
    "agency", "committee", "commission", "army", "forces", "force", "party", "parliament",
    "assembly", "bank", "fund", "times", "post", "news", "house", "court", "embassy", "service",
    "guard", "organization", "organisation", "nato", "un", "u.n.", "eu", "group", "institute",
    "university", "centre", "center", "command", "staff", "administration", "cabinet", "senate",
    "congress", "duma", "rada", "states", "republic", "federation", "kingdom", "press",
    "reuters", "afp", "tass", "ria", "interfax", "bbc", "cnn", "foundation", "network", "red",
    "cross", "crescent", "watch", "international", "amnesty", "police", "ap", "company",
}  # fmt: skip
_NOT_FIRST = {
    "the", "a", "an", "united", "european", "state", "foreign", "defense", "defence", "prime",
    "white", "red", "north", "south", "east", "west", "new", "human", "national", "security",
}  # fmt: skip
_COMMON_STARTS = {
    "local", "senior", "several", "some", "many", "two", "three", "four", "other", "western",
    "regional", "military", "government", "top", "both", "most", "unnamed", "foreign",
}  # fmt: skip
_BODY_REF = re.compile(
    r"the\s+(organi[sz]ation|agency|group|ministry|body|alliance|bloc|company|charity|army"
    r"|government|council|committee|union|office|department)",
    re.IGNORECASE,
)
_PAIR_RE = re.compile(r"\b([A-Z][\w'’-]+)[ \t]+(?=([A-Z][\w'’-]+)\b)")
_DOC_WORDS = re.compile(
    r"\s+(estimates?|figures|data|statistics|records|reports?|a statement|statement|count"
    r"|tally|assessment)$",
    re.IGNORECASE,
)
_CAP = r"[A-Z][\w'’.-]*"
_NAME_RUN = re.compile(rf"{_CAP}(?:\s+(?:(?:de|da|van|von|der|al|bin|el|la|le)\s+)?{_CAP})*")
_ROLE_NAME_RE = re.compile(rf"\b((?i:{_ROLES})),?\s+((?:{_CAP})(?:\s+{_CAP}){{1,2}})(?![\w'’-])")
_HEADLINE_VERBS = r"Says|Said|Warns|Tells|Claims|Insists|Vows|Urges|Declares|Admits|Denies"
_HEADLINE_END = re.compile(
    rf"(?:^|[,:;'’\"”]\s*|\s[-–—]\s*)((?:{_CAP}\s+){{0,4}}?{_CAP})\s+({_HEADLINE_VERBS})"
    r"[.!]?\s*$"
)
_HEADLINE_START = re.compile(rf"^((?:{_CAP}\s+){{0,3}}?{_CAP})\s+({_HEADLINE_VERBS})\s")
_HEADLINE_COLON = re.compile(rf"^((?:{_CAP}\s+){{0,2}}{_CAP})\s*:\s+\S")
_OPENERS = {"“": "”", "«": "»", "„": "“"}
_CLOSERS = {"”", "»"}
_QUOTE_CHARS = {'"', "“", "”", "«", "»", "„"}
_QUOTE_SPLIT = re.compile(r'(["“”«»„])')


# --------------------------------------------------------------------------- quotations


def _mask_quotes(text: str, inside: bool) -> tuple[str, list[str], bool]:
    """(frame, quoted spans, still inside at the end): each quotation becomes one \\x00.

    Straight double quotes toggle; curly and guillemet quotes open and close explicitly.
    `inside` says whether the sentence starts within a quotation left open before it.
    """
    frame: list[str] = ["\x00"] if inside else []
    spans: list[str] = []
    current: list[str] = []
    for piece in _QUOTE_SPLIT.split(text):
        if piece in _QUOTE_CHARS:
            opening = piece in _OPENERS or (piece == '"' and not inside)
            closing = piece in _CLOSERS or (piece == '"' and inside)
            if closing and inside:
                inside = False
                spans.append("".join(current))
                current = []
            elif opening and not inside:
                inside = True
                frame.append("\x00")
            elif inside:
                current.append(piece)
            else:
                frame.append(piece)
        elif inside:
            current.append(piece)
        else:
            frame.append(piece)
    if inside:
        spans.append("".join(current))
    return " ".join("".join(frame).split()), spans, inside


def _quote_only(frame: str) -> bool:
    return "\x00" in frame and not re.search(r"[^\W\d_]", frame.replace("\x00", ""))


# --------------------------------------------------------------------------- names


@dataclass
class _Entity:
    key: str
    kind: str  # "person" or "group"
    forms: list[str] = field(default_factory=list)
    roles: set[str] = field(default_factory=set)


@dataclass
class _Own:
    """A sentence's own attribution, before canonical names are settled."""

    key: str
    text: str
    how: str


def _norm(text: str) -> str:
    return " ".join(text.split())


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'’.-]+", text)


def _is_cap(word: str) -> bool:
    return word[:1].isupper()


class _Names:
    """The people and bodies of one article, with their canonical names."""

    def __init__(self, text: str = "") -> None:
        self.entities: dict[str, _Entity] = {}
        self.full_names: dict[str, set[str]] = {}  # surname -> full names
        self.text = text  # the article's body sentences, to look full names up in
        self._pairs: dict[str, set[str]] | None = None  # word -> capitalised words before it

    def full_name_in_text(self, surname: str) -> str | None:
        """The one `First Surname` in the article (`Ruth Okafor` for `Okafor`), else None."""
        if self._pairs is None:
            self._pairs = {}
            for match in _PAIR_RE.finditer(self.text):
                self._pairs.setdefault(match.group(2), set()).add(match.group(1))
        firsts = set()
        for first in self._pairs.get(surname, ()):
            lowered = first.lower().rstrip(".")
            if lowered in _NOT_FIRST or lowered in _ORG_WORDS or _TITLE_RE.match(first):
                continue
            if _ROLE_RE.fullmatch(lowered) or lowered in _COMMON_STARTS or first.endswith("s"):
                continue
            firsts.add(first)
        return f"{firsts.pop()} {surname}" if len(firsts) == 1 else None

    def add_full_name(self, name: str, role: str | None = None) -> None:
        tokens = name.split()
        if len(tokens) < 2 or tokens[0].lower() in _NOT_FIRST:
            return
        if any(t.lower().strip(".") in _ORG_WORDS for t in tokens):
            return
        self.full_names.setdefault(tokens[-1], set()).add(name)
        entity = self._entity(f"p:{name}", "person")
        if name not in entity.forms:
            entity.forms.append(name)
        if role:
            entity.roles.add(role.lower().rstrip("."))

    def _entity(self, key: str, kind: str) -> _Entity:
        if key not in self.entities:
            self.entities[key] = _Entity(key, kind)
        return self.entities[key]

    def collect(self, sentence: str) -> None:
        """Full names after a role word: `spokesman Dmitry Peskov`, `president, Stefan Ruel`."""
        for match in _ROLE_NAME_RE.finditer(_norm(sentence)):
            tokens = match.group(2).split()
            if len(tokens[-1]) > 2:
                tokens[-1] = tokens[-1].rstrip(".")
            while tokens and (_TITLE_RE.match(tokens[0]) or _ROLE_RE.search(tokens[0])):
                tokens = tokens[1:]
            if len(tokens) >= 2:
                self.add_full_name(" ".join(tokens[-3:]), match.group(1))

    def person_key(self, name: str) -> str | None:
        """The key of the person a name (full, surname, `Mr. X`) refers to, if one is known."""
        tokens = [t for t in name.split() if not _TITLE_RE.match(t)]
        if not tokens:
            return None
        if len(tokens) >= 2 and f"p:{' '.join(tokens)}" in self.entities:
            return f"p:{' '.join(tokens)}"
        candidates = self.full_names.get(tokens[-1], set())
        if len(tokens) == 1 and not candidates:
            full = self.full_name_in_text(tokens[0])
            if full is not None:
                self.add_full_name(full)
                candidates = self.full_names.get(tokens[-1], set())
        if len(tokens) == 1 and len(candidates) == 1:
            return f"p:{next(iter(candidates))}"
        return None

    def canonical(self, key: str) -> str:
        entity = self.entities.get(key)
        if entity is None:
            return key.split(":", 1)[1]
        if key.startswith("p:"):
            return max(entity.forms, key=lambda f: (len(f.split()), len(f)))
        with_article = [f for f in entity.forms if f.lower().startswith("the ")]
        best = with_article[0] if with_article else entity.forms[0]
        first, _, rest = best.partition(" ")
        common = first in {"The", "A", "An"} or first.lower() in _COMMON_STARTS
        if common or _SPEAKER_NOUN_RE.fullmatch(first) and first.lower() != "kremlin":
            return f"{first.lower()} {rest}".strip()
        return best

    def register(self, np: str) -> str:
        """The key of the speaker a noun phrase names, creating it when new."""
        np = np.strip(" ,")
        name = _person_name(np)
        lone = name is not None and len(name.split()) == 1 and self.person_key(name) is None
        if lone and not _role_before(np, str(name)):
            name = None  # "Arvania", "Switzerland": a lone unknown name is taken as a body
        if name is not None:
            key = self.person_key(name)
            if key is None:
                if len(name.split()) >= 2:
                    self.add_full_name(name, _role_before(np, name))
                    key = self.person_key(name)
                if key is None:  # a lone surname or one shared by two people: as written
                    key = f"p:{name}"
                    entity = self._entity(key, "person")
                    if name not in entity.forms:
                        entity.forms.append(name)
            role = _role_before(np, name)
            if role and key in self.entities:
                self.entities[key].roles.add(role.lower())
            return key
        body = _DOC_WORDS.sub("", np) if _is_cap(np) or np.lower().startswith("the ") else np
        bare = re.sub(r"^(the|a|an)\s+", "", body, flags=re.IGNORECASE)
        bare = re.sub(r"['’]s$", "", bare)
        key = f"g:{bare.lower()}"
        head = _words(bare)[-1].lower() if _words(bare) else ""
        kind = "person" if re.fullmatch(_ROLES, head) and not head.endswith("s") else "group"
        entity = self._entity(key, kind)
        if body not in entity.forms:
            entity.forms.append(body)
        role = _SPEAKER_NOUN_RE.findall(bare)
        entity.roles.update(r.lower() for r in role)
        return key


def _role_before(np: str, name: str) -> str | None:
    before = np[: np.rfind(name)].rstrip(" ,")
    words = before.split()
    if words and _ROLE_RE.search(words[-1]):
        return words[-1]
    return None


def _person_name(np: str) -> str | None:
    """The person a speaker phrase names, or None for a body or a description.

    `Kremlin spokesman Dmitry Peskov` -> `Dmitry Peskov`; `Mara Lind of the relief agency Open
    Hands` -> `Mara Lind`; `Doloria's president, Stefan Ruel` -> `Stefan Ruel`; `Mr. Malik` ->
    `Mr. Malik`; `The Kremlin`, `U.N.`, `local officials` -> None.
    """
    head = re.split(r"\s+(?:of|for|from|at|in|with)\s+|,\s*", np)
    runs = []
    for part in head:
        part = part.strip()
        if not part:
            continue
        words = part.split()
        # the trailing capitalised run of the part
        run: list[str] = []
        for word in reversed(words):
            if _is_cap(word) and not _ROLE_RE.fullmatch(word.lower()) or _TITLE_RE.match(word):
                run.insert(0, word)
            else:
                break
        if run:
            before = words[: len(words) - len(run)]
            runs.append((run, before))
    for run, before in runs:
        if any(w.lower().strip(".,") in _ORG_WORDS for w in run):
            continue
        if re.search(r"['’]s$", run[-1]):
            continue
        if _TITLE_RE.match(run[0]) and len(run) >= 2:
            return " ".join(run)
        tokens = [t for t in run if not _TITLE_RE.match(t)]
        while tokens and re.search(r"(ian|ese|ish|ean|an|i)$", tokens[0]) and len(tokens) > 2:
            tokens = tokens[1:]  # "Ukrainian Volodymyr Zelensky"
        role_before = bool(before) and bool(_ROLE_RE.search(before[-1]))
        if len(tokens) >= 2 and tokens[0].lower() not in _NOT_FIRST and not before:
            return " ".join(tokens[-3:])
        if len(tokens) >= 2 and role_before:
            return " ".join(tokens[-3:])
        if len(tokens) == 1 and role_before and len(run) == 1:
            return tokens[0]
        if len(tokens) == 1 and not before and len(runs) == 1 and len(np.split()) == 1:
            return tokens[0] if tokens[0] not in {"The", "A"} else None
        break
    return None


# --------------------------------------------------------------------------- subjects


def _noun_phrase(candidate: str) -> str | None:
    """`candidate` cleaned as a speaker noun phrase, or None when it does not look like one."""
    np = candidate.strip(" ,;:—–-")
    for _ in range(3):
        stripped = _AUX.sub("", " " + np).strip()
        if stripped == np:
            break
        np = stripped
    np = _INTRO.sub("", np).strip(" ,")
    if not np or "\x00" in np:
        return None
    words = np.split()
    if len(words) > 10:
        return None
    if np.lower() in _PRONOUNS:
        return np
    lowered = [w.lower().strip(".,'’") for w in words]
    if any(w in _BAD_WORDS for w in lowered):
        return None
    if any(re.search(r"\d", w) for w in words) and not re.search(r"\bG\d+\b", np):
        return None
    if not any(_is_cap(w) for w in words) and not _SPEAKER_NOUN_RE.search(np):
        return None
    lowercase_start = not _is_cap(words[0]) and words[0].lower() not in {"the", "a", "an"}
    if lowercase_start and not _SPEAKER_NOUN_RE.search(np):
        return None  # a lowercase start must be a description: "local officials"
    if re.search(r"(ed|ing)$", words[-1]) and not _is_cap(words[-1]):
        return None
    return np


def _subject_before(frame: str, verb_start: int) -> str | None:
    """The speaker noun phrase ending just before a verb, or None."""
    pre = frame[:verb_start].rstrip()
    pre = pre[pre.rfind("\x00") + 1 :] if "\x00" in pre else pre
    for _ in range(3):
        stripped = _AUX.sub("", " " + pre).strip()
        if stripped == pre:
            break
        pre = stripped
    pre = re.sub(r",\s*(who|which|whose)\b[^,]*,\s*$", "", pre + " ").rstrip()
    if pre.endswith(","):  # an appositive: "Doloria's president, Stefan Ruel," said
        chunks = [c.strip() for c in pre[:-1].split(",")]
        if len(chunks) < 2:
            return None
        pair = _noun_phrase(f"{chunks[-2]}, {chunks[-1]}")
        if pair and (_person_name(chunks[-2]) or _person_name(chunks[-1])):
            return pair
        return None
    chunk = pre.split(",")[-1]
    return _noun_phrase(chunk)


# --------------------------------------------------------------------------- the attributor


@dataclass
class _Sentence:
    index: int
    paragraph: int
    frame: str
    spans: list[str]
    ends_inside: bool
    skip: bool
    own: _Own | None = None
    subject: str | None = None  # key of a person or body that is the sentence's subject
    result: Attribution = NO_SPEAKER


def _is_quote(spans: list[str]) -> bool:
    return any(len(span.split()) >= QUOTE_MIN_WORDS for span in spans)


class RuleAttributor:
    """The rules described in this module's docstring."""

    def attribute(
        self, text: str, segments: Sequence[Segment], skip: Sequence[bool] | None = None
    ) -> list[Attribution]:
        skip = list(skip) if skip is not None else [False] * len(segments)
        names = _Names(
            "\n".join(s.text for s, skipped in zip(segments, skip, strict=True) if not skipped)
        )
        sentences: list[_Sentence] = []
        inside, paragraph = False, None
        for index, seg in enumerate(segments):
            if seg.paragraph != paragraph:
                inside, paragraph = False, seg.paragraph
            frame, spans, inside = _mask_quotes(seg.text, inside)
            sentences.append(_Sentence(index, seg.paragraph, frame, spans, inside, skip[index]))
            if not skip[index]:
                names.collect(seg.text)
        body = [s for s in sentences if not s.skip]
        headline = self._headline_index(segments, body)
        for position, sentence in enumerate(body):
            if sentence.index == headline:
                sentence.own = self._headline(sentence.frame, names)
            else:
                window = body[max(0, position - PRONOUN_WINDOW) : position]
                sentence.own = self._own(sentence, names, window)
        self._continue_quotes(body)
        results: list[Attribution] = []
        for sentence in sentences:
            own = sentence.own
            if own is None or sentence.skip:
                results.append(NO_SPEAKER)
            else:
                results.append(Attribution(names.canonical(own.key), own.text, own.how))
        return results

    # -- the headline

    @staticmethod
    def _headline_index(segments: Sequence[Segment], body: list[_Sentence]) -> int | None:
        from detente.serving.segment import _is_title_case

        if not body:
            return None
        first = body[0]
        same_paragraph = [s for s in segments if s.paragraph == first.paragraph]
        seg = segments[first.index]
        alone = len(same_paragraph) == 1 and first.paragraph == segments[0].paragraph
        if alone and _is_title_case(seg.text) and not seg.text.rstrip().endswith("."):
            return first.index
        return None

    @staticmethod
    def _headline(frame: str, names: _Names) -> _Own | None:
        text = frame.replace("\x00", "").strip()
        for pattern in (_HEADLINE_END, _HEADLINE_START, _HEADLINE_COLON):
            match = pattern.search(text)
            if match:
                np = match.group(1)
                role = _ROLE_RE.search(np.lower())
                if role and _person_name(np) is None:
                    holders = [e.key for e in names.entities.values() if role.group(1) in e.roles]
                    if len(holders) == 1:
                        return _Own(holders[0], np, "headline")
                return _Own(names.register(np), np, "headline")
        return None

    # -- a sentence's own attribution

    def _own(self, sentence: _Sentence, names: _Names, before: list[_Sentence]) -> _Own | None:
        frame = sentence.frame
        how = "quote" if _is_quote(sentence.spans) else "reported"
        found: str | None = None
        inverted = _INVERTED_RE.search(frame)
        if inverted:
            parts = re.split(r",\s*|\s+(?:who|which)\b", inverted.group(2).rstrip(" .!?"))
            np = parts[0]
            if len(parts) > 1 and _person_name(parts[1]) and len(parts[1].split()) <= 3:
                np = f"{np}, {parts[1]}"  # said the foreign minister, Ana Berg
            found = _noun_phrase(np)
            if found is not None and found.lower() in _PRONOUNS:
                found = None
        if found is None:
            for match in _VERB_RE.finditer(frame):
                verb = match.group(1)
                need = _NEEDS.get(verb)
                if need and not re.match(need, frame[match.end() :]):
                    continue
                found = _subject_before(frame, match.start())
                if found is not None:
                    break
        if found is None:
            trailing = _TRAILING_SAID_RE.search(frame)
            if trailing:
                found = _noun_phrase(trailing.group(2))
        if found is None:
            according = _ACCORDING_RE.search(frame)
            if according:
                found = _noun_phrase(according.group(1))
                how = "quote" if how == "quote" else "reported"
        self._note_subject(sentence, names)
        if found is None:
            return None
        resolved = self._resolve_reference(found, names, before)
        if resolved is not None:
            return _Own(resolved, found, "pronoun")
        if found.lower() in _PRONOUNS or _definite_role(found):
            return _Own(names.register(found), found, "pronoun")
        return _Own(names.register(found), found, how)

    @staticmethod
    def _note_subject(sentence: _Sentence, names: _Names) -> None:
        """Remember a known person or body that opens the sentence (for later pronouns)."""
        frame = _INTRO.sub("", sentence.frame)
        run = _NAME_RUN.match(frame)
        if run and f"g:{run.group(0).lower()}" in names.entities:
            sentence.subject = f"g:{run.group(0).lower()}"
            return
        for match in _NAME_RUN.finditer(frame):
            key = names.person_key(match.group(0).split()[-1])
            if key is not None:
                sentence.subject = key
                return

    @staticmethod
    def _resolve_reference(np: str, names: _Names, before: list[_Sentence]) -> str | None:
        """The key a pronoun or `the spokesman` refers to, when the rule is safe; else None."""
        kind = _PRONOUNS.get(np.lower())
        role = _definite_role(np)
        if _BODY_REF.fullmatch(np.strip()):
            kind = "group"
        if kind is None and role is None:
            return None
        for sentence in reversed(before[-PRONOUN_WINDOW:]):
            keys = [sentence.own.key] if sentence.own else []
            if sentence.subject and sentence.subject not in keys:
                keys.append(sentence.subject)
            for key in keys:
                entity = names.entities.get(key)
                if entity is None:
                    continue
                if role is not None and role in entity.roles:
                    return key
                if kind is not None and entity.kind == kind:
                    return key
            if keys and kind is not None:
                return None  # the nearest sentence with a subject names someone else: unsafe
        if role is not None:  # a role named once in the article, e.g. "Kremlin spokesman X"
            matching = [e.key for e in names.entities.values() if role in e.roles]
            if len(matching) == 1:
                return matching[0]
        return None

    # -- quotations over several sentences

    @staticmethod
    def _continue_quotes(body: list[_Sentence]) -> None:
        for position, sentence in enumerate(body):
            if sentence.own is not None or not _quote_only(sentence.frame):
                continue
            source: _Own | None = None
            previous = body[position - 1] if position else None
            if previous is not None and previous.own is not None:
                same = previous.paragraph == sentence.paragraph
                quoting = _is_quote(previous.spans) or previous.ends_inside
                if (same or quoting) and previous.own.how != "headline":
                    source = previous.own
            for later in islice(body, position + 1, None) if source is None else ():
                if later.paragraph != sentence.paragraph:
                    break
                if later.own is not None:
                    source = later.own
                    break
                if not _quote_only(later.frame):
                    break
            if source is not None:
                sentence.own = _Own(source.key, source.text, "continued_quote")


def _definite_role(np: str) -> str | None:
    """`the spokesman` -> `spokesman`; `the Kremlin spokesman` -> `spokesman`; else None."""
    match = re.fullmatch(
        rf"(?:the|its|his|her|their)\s+(?:[\w.'’-]+\s+){{0,2}}?({_ROLES})",
        np.strip(),
        re.IGNORECASE,
    )
    return match.group(1).lower().rstrip(".") if match else None


def attribute(
    text: str, segments: Sequence[Segment], skip: Sequence[bool] | None = None
) -> list[Attribution]:
    """The speakers of an article's sentences by the default rules."""
    return RuleAttributor().attribute(text, segments, skip)
