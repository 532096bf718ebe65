"""The evaluation's metrics as pure functions over answers, so each can be checked by hand.

Citation recall and precision follow ALCE (Gao et al., 2023, "Enabling Large Language Models to Generate Text
with Citations", `compute_autoais` in princeton-nlp/ALCE's eval.py) step by step; only the judge of "supports"
is injected, so the same arithmetic runs with an LLM judge or the offline scorer.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

# supports(sentence, passages) -> whether the passages, taken together, support the sentence.
Supports = Callable[[str, Sequence[str]], bool]

# ALCE's default `--at_most_citations 3`: a sentence's later citations are ignored, in recall and precision alike.
ALCE_AT_MOST_CITATIONS = 3


@dataclass(frozen=True)
class CitedSentence:
    """One answer sentence with the texts of the passages it cites, in marker order."""

    text: str
    passages: tuple[str, ...]


@dataclass(frozen=True)
class SentenceScore:
    """ALCE's verdicts for one sentence: supported by its citations jointly, and each citation's precision."""

    supported: bool
    precise: tuple[bool, ...]


@dataclass(frozen=True)
class CitationScores:
    """ALCE recall (share of supported sentences) and precision (share of precise citations) for one answer."""

    recall: float
    precision: float
    sentences: int
    supported_sentences: int
    citations: int
    precise_citations: int
    per_sentence: tuple[SentenceScore, ...] = field(default=())


def alce_citation_scores(
    sentences: Sequence[CitedSentence], supports: Supports, *, at_most_citations: int = ALCE_AT_MOST_CITATIONS
) -> CitationScores:
    """Citation recall and precision of one answer, exactly as ALCE computes them.

    Recall: a sentence counts when its cited passages together support it; a sentence without citations never
    does. Precision, per citation: when the sentence is supported jointly and cites one passage, that citation
    is precise; when it cites several, a citation is precise if it supports the sentence alone, or if it is
    needed (the other citations without it no longer support the sentence); a citation that does neither is
    redundant and imprecise. When the citations do not support the sentence jointly, none of them is precise.
    """
    supported_count = 0
    precise_count = 0
    citation_count = 0
    per_sentence: list[SentenceScore] = []
    for sentence in sentences:
        cited = tuple(sentence.passages[:at_most_citations])
        citation_count += len(cited)
        joint = bool(cited) and supports(sentence.text, cited)
        supported_count += joint
        if not joint:
            precise = tuple(False for _ in cited)
        elif len(cited) == 1:
            precise = (True,)
        else:
            precise = tuple(
                supports(sentence.text, (passage,)) or not supports(sentence.text, cited[:index] + cited[index + 1 :])
                for index, passage in enumerate(cited)
            )
        precise_count += sum(precise)
        per_sentence.append(SentenceScore(supported=joint, precise=precise))
    return CitationScores(
        recall=supported_count / len(sentences) if sentences else 0.0,
        precision=precise_count / citation_count if citation_count else 0.0,
        sentences=len(sentences),
        supported_sentences=supported_count,
        citations=citation_count,
        precise_citations=precise_count,
        per_sentence=tuple(per_sentence),
    )


def quote_fidelity(quotes: Sequence[tuple[str, int, int, str]], document_text: Callable[[str], str | None]) -> int:
    """How many (document id, start, end, quote) citations equal the document text at their offsets."""
    exact = 0
    for document_id, start, end, quote in quotes:
        text = document_text(document_id)
        exact += text is not None and 0 <= start <= end <= len(text) and text[start:end] == quote
    return exact


def facts_found(text: str, groups: Sequence[Sequence[str]]) -> int:
    """How many `must_include` groups have at least one alternative in the text, case-insensitively."""
    lowered = text.lower()
    return sum(any(alternative.lower() in lowered for alternative in group) for group in groups)


_DELETE_PUNCTUATION = str.maketrans("", "", string.punctuation)
_PUNCTUATION_AS_SPACE = str.maketrans(string.punctuation, " " * len(string.punctuation))
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def squad_normalise(text: str) -> str:
    """SQuAD's answer normalisation (its official evaluate-v2.0.py `normalize_answer`): lower case, no
    punctuation, no articles a/an/the, single spaces."""
    return _normalise(text, _DELETE_PUNCTUATION)


def _normalise(text: str, punctuation: Mapping[int, int | None]) -> str:
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(punctuation)).split())


def answer_in_quotes(quotes: Sequence[str], groups: Sequence[Sequence[str]]) -> bool:
    """Whether the joined quotes hold one alternative of every `must_include` group, normalised as SQuAD does.

    An alternative must match whole words ("rollo" is not in "rollon", "13" not in "1368"). Because SQuAD's
    normalisation deletes punctuation, it glues "Ogedei's" into "ogedeis" and "Afrikaans-speaking" into
    "afrikaansspeaking"; so an alternative also counts when it matches with punctuation read as a space (while
    "U.S." still matches "US" the SQuAD way). An alternative that normalises to nothing ("The") never matches.
    """
    joined = " ".join(quotes)
    for_each_way = [(table, _normalise(joined, table)) for table in (_DELETE_PUNCTUATION, _PUNCTUATION_AS_SPACE)]

    def found(alternative: str) -> bool:
        return any(
            (wanted := _normalise(alternative, table)) and re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", text)
            for table, text in for_each_way
        )

    return all(any(found(alternative) for alternative in group) for group in groups)


def gold_document_recall(retrieved: Sequence[str], gold: Sequence[str], k: int) -> float:
    """The share of gold documents among the documents of the top-k retrieved passages."""
    wanted = set(gold)
    return len(wanted.intersection(retrieved[:k])) / len(wanted) if wanted else 1.0


@dataclass(frozen=True)
class AbstentionScores:
    """Refusing as a classifier of unanswerable questions, and how often answerable ones were refused."""

    precision: float
    recall: float
    f1: float
    wrong_refusal_rate: float
    refused_unanswerable: int
    refused_answerable: int
    answered_unanswerable: int


def abstention_scores(decisions: Sequence[tuple[bool, bool]]) -> AbstentionScores:
    """From (answerable, abstained) pairs: precision and recall of refusals on unanswerable questions, their F1,
    and the share of answerable questions refused (Trust-Score's refusal groundedness, split in two).

    With nothing to find (no unanswerable question) recall is 1; with no refusal at all, precision is 1 when
    there was nothing to refuse and 0 otherwise.
    """
    right = sum(abstained and not answerable for answerable, abstained in decisions)
    wrong = sum(abstained and answerable for answerable, abstained in decisions)
    unanswerable = sum(not answerable for answerable, _ in decisions)
    answerable = len(decisions) - unanswerable
    refused = right + wrong
    precision = right / refused if refused else (1.0 if unanswerable == 0 else 0.0)
    recall = right / unanswerable if unanswerable else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return AbstentionScores(
        precision=precision,
        recall=recall,
        f1=f1,
        wrong_refusal_rate=wrong / answerable if answerable else 0.0,
        refused_unanswerable=right,
        refused_answerable=wrong,
        answered_unanswerable=unanswerable - right,
    )


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `percent`% of the values at or below it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(numerator: float, denominator: float, *, empty: float = 1.0) -> float:
    """numerator / denominator, or `empty` when there is nothing to divide."""
    return numerator / denominator if denominator else empty
