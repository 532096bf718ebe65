"""Split a document's canonical text into sentence-aware passages with exact character offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.documents import Document, Passage

# Recorded in the store: passages cut by another version of this module must be re-embedded.
CHUNKER_VERSION = "1"

# A sentence ends at . ! ? or … , optionally followed by closing quotes or brackets, then white space.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)")
# A line break always ends a sentence: headings, list items and paragraphs are units of their own.
_LINE_BREAK = re.compile(r"\n")
_WORD = re.compile(r"\S+")
# Dots that do not end a sentence: titles and Latin abbreviations, and single initials ("J. Smith").
_ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "gen",
        "col",
        "lt",
        "sgt",
        "gov",
        "sen",
        "rep",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "cf",
        "al",
        "fig",
        "no",
        "vol",
        "approx",
        "inc",
        "ltd",
        "co",
        "corp",
        "u.s",
        "u.k",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    }
)


@dataclass(frozen=True)
class ChunkingSettings:
    """How passages are cut: at most `max_words` words, sharing `overlap_sentences` whole sentences."""

    max_words: int = 120
    overlap_sentences: int = 1

    def __post_init__(self) -> None:
        if self.max_words < 1:
            raise ValueError("max_words must be at least 1")
        if self.overlap_sentences < 0:
            raise ValueError("overlap_sentences must not be negative")


@dataclass(frozen=True)
class Span:
    """A [start, end) range of characters in a text, with its word count."""

    start: int
    end: int
    words: int


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of `text`, trimmed of surrounding white space, in order and never overlapping."""
    cuts = {0, len(text)}
    for match in _SENTENCE_END.finditer(text):
        if not _is_abbreviation(text, match.start(), match.group()):
            cuts.add(match.end())
    for match in _LINE_BREAK.finditer(text):
        cuts.add(match.start())
    spans: list[Span] = []
    ordered = sorted(cuts)
    for begin, finish in zip(ordered, ordered[1:], strict=False):
        span = _trimmed(text, begin, finish)
        if span is not None:
            spans.append(span)
    return spans


def chunk_document(document: Document, settings: ChunkingSettings | None = None) -> list[Passage]:
    """Passages of whole sentences, each at most `max_words` words unless a single sentence is longer."""
    settings = settings or ChunkingSettings()
    units = _fit_units(document.text, split_sentences(document.text), settings.max_words)
    passages: list[Passage] = []
    first = 0
    while first < len(units):
        last = first
        words = units[first].words
        while last + 1 < len(units) and words + units[last + 1].words <= settings.max_words:
            last += 1
            words += units[last].words
        start, end = units[first].start, units[last].end
        passages.append(
            Passage(document_id=document.id, ordinal=len(passages), start=start, end=end, text=document.text[start:end])
        )
        if last + 1 >= len(units):
            break
        first = _next_start(units, first=first, last=last, settings=settings)
    return passages


def _next_start(units: list[Span], *, first: int, last: int, settings: ChunkingSettings) -> int:
    """Where the next passage starts: overlap whole sentences, but only as many as leave room for a new one."""
    following = units[last + 1].words
    start = last + 1
    for candidate in range(last, max(first, last - settings.overlap_sentences), -1):
        if sum(unit.words for unit in units[candidate : last + 1]) + following > settings.max_words:
            break
        start = candidate
    return start


def _fit_units(text: str, sentences: list[Span], max_words: int) -> list[Span]:
    """Sentences, with any sentence longer than `max_words` cut at word boundaries into pieces that fit."""
    units: list[Span] = []
    for sentence in sentences:
        if sentence.words <= max_words:
            units.append(sentence)
            continue
        words = list(_WORD.finditer(text, sentence.start, sentence.end))
        for index in range(0, len(words), max_words):
            piece = words[index : index + max_words]
            units.append(Span(start=piece[0].start(), end=piece[-1].end(), words=len(piece)))
    return units


def _trimmed(text: str, begin: int, finish: int) -> Span | None:
    while begin < finish and text[begin].isspace():
        begin += 1
    while finish > begin and text[finish - 1].isspace():
        finish -= 1
    if begin == finish:
        return None
    return Span(start=begin, end=finish, words=len(_WORD.findall(text, begin, finish)))


def _is_abbreviation(text: str, dot_at: int, ending: str) -> bool:
    if not ending.startswith(".") or len(ending.rstrip("\"'”’»)]")) > 1:
        return False
    word_start = dot_at
    while word_start > 0 and not text[word_start - 1].isspace() and text[word_start - 1] not in "(\"“‘'":
        word_start -= 1
    word = text[word_start:dot_at].lower()
    if len(word) == 1 and word.isalpha():
        return True
    return word in _ABBREVIATIONS
