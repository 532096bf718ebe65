"""Parse the answer template's output: sentences ending in citation markers such as [1] or [2][3] or [1, 2]."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index import split_sentences

_MARKER_GROUP = re.compile(r"\s*\[(\s*\d+\s*(?:,\s*\d+\s*)*)\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\s*\d+\s*(?:,\s*\d+\s*)*\])+[\s.]*")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?])")


@dataclass(frozen=True)
class DraftSentence:
    """A sentence of a model's draft: its text without markers, and the marker numbers it cited, in order."""

    text: str
    markers: tuple[int, ...]


def parse_markers(text: str) -> tuple[int, ...]:
    """Every marker number in the text, in order of first appearance."""
    found: list[int] = []
    for group in _MARKER_GROUP.finditer(text):
        for number in group.group(1).split(","):
            value = int(number)
            if value not in found:
                found.append(value)
    return tuple(found)


def strip_markers(text: str) -> str:
    """The text with markers removed and the spaces they leave tidied."""
    without = _MARKER_GROUP.sub("", text)
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", without).strip()


def parse_draft(draft: str) -> list[DraftSentence]:
    """Split a draft into sentences; markers written after a sentence's full stop belong to that sentence."""
    sentences: list[DraftSentence] = []
    draft = draft.strip()
    for span in split_sentences(draft):
        piece = draft[span.start : span.end]
        leading = _LEADING_MARKERS.match(piece)
        if leading and sentences:
            # "... flank. [1] Next sentence": the marker closes the sentence before it.
            previous = sentences[-1]
            extra = tuple(m for m in parse_markers(leading.group()) if m not in previous.markers)
            sentences[-1] = DraftSentence(previous.text, previous.markers + extra)
            piece = piece[leading.end() :]
        text = strip_markers(piece)
        if text:
            sentences.append(DraftSentence(text, parse_markers(piece)))
    return sentences


def format_markers(markers: tuple[int, ...] | list[int]) -> str:
    """Markers as the answer shows them: [1][2]."""
    return "".join(f"[{marker}]" for marker in markers)
