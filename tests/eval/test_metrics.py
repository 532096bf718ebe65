"""The metrics on hand-made answers whose scores were worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from eval.metrics import (
    CitedSentence,
    abstention_scores,
    alce_citation_scores,
    answer_in_quotes,
    facts_found,
    gold_document_recall,
    percentile,
    quote_fidelity,
    squad_normalise,
)


def word_judge(sentence: str, passages: Sequence[str]) -> bool:
    """A transparent judge: the passages together support a sentence when they hold every word of it."""
    held = {word for passage in passages for word in passage.split()}
    return set(sentence.split()) <= held


def test_alce_recall_and_precision_by_hand() -> None:
    answer = [
        # S1 needs A and B, one from each citation: jointly supported. Neither supports alone, but removing
        # either leaves the sentence unsupported, so both are needed: 2 of 2 precise.
        CitedSentence("A B", ("A x", "B y")),
        # S2: jointly supported. "C" and "C D" each support alone: precise. "X" does not support alone and
        # removing it leaves ("C", "C D"), which still supports: a redundant citation, imprecise. 2 of 3.
        CitedSentence("C", ("C", "C D", "X")),
        # S3 has no citation: it counts against recall and adds no citation to precision.
        CitedSentence("E", ()),
        # S4's only citation does not support it: unsupported, and its citation is imprecise. 0 of 1.
        CitedSentence("F", ("G",)),
    ]
    scores = alce_citation_scores(answer, word_judge)
    # recall = supported sentences / sentences = 2 / 4; precision = (2 + 2 + 0) / (2 + 3 + 0 + 1) = 4 / 6.
    assert scores.recall == pytest.approx(0.5)
    assert scores.precision == pytest.approx(4 / 6)
    assert (scores.supported_sentences, scores.precise_citations, scores.citations) == (2, 4, 6)
    assert [s.precise for s in scores.per_sentence] == [(True, True), (True, True, False), (), (False,)]


def test_alce_precision_counts_nothing_when_the_citations_fail_jointly() -> None:
    # "A B" with citations "A" and "C": jointly unsupported (B missing), so even "A", which holds part of the
    # sentence, is not precise: recall 0/1, precision 0/2.
    scores = alce_citation_scores([CitedSentence("A B", ("A", "C"))], word_judge)
    assert (scores.recall, scores.precision, scores.citations) == (0.0, 0.0, 2)


def test_a_citation_both_sufficient_and_duplicated_stays_precise() -> None:
    # Two citations that each support the sentence alone: removing either leaves the other, so neither is
    # needed, but each supports alone, which is enough under ALCE: 2 of 2 precise.
    scores = alce_citation_scores([CitedSentence("A", ("A", "A z"))], word_judge)
    assert scores.precision == 1.0 and scores.recall == 1.0


def test_alce_reads_at_most_three_citations_per_sentence() -> None:
    # The fourth citation ("B") is ignored, as ALCE's default --at_most_citations 3 does: the first three do
    # not hold B, so the sentence is unsupported and 0 of 3 citations are precise.
    scores = alce_citation_scores([CitedSentence("A B", ("A", "x", "y", "B"))], word_judge)
    assert (scores.recall, scores.precision, scores.citations) == (0.0, 0.0, 3)
    assert alce_citation_scores([CitedSentence("A B", ("A", "x", "y", "B"))], word_judge, at_most_citations=4).recall


def test_an_answer_without_sentences_or_citations_scores_zero() -> None:
    assert alce_citation_scores([], word_judge).recall == 0.0
    uncited = alce_citation_scores([CitedSentence("A", ()), CitedSentence("B", ())], word_judge)
    assert (uncited.recall, uncited.precision, uncited.citations) == (0.0, 0.0, 0)


def test_quote_fidelity_by_hand() -> None:
    texts = {"a": "Russia held drills."}
    quotes = [
        ("a", 0, 6, "Russia"),  # exact
        ("a", 1, 7, "Russia"),  # offsets one off: "ussia "
        ("a", 7, 11, "HELD"),  # right place, wrong case
        ("a", 15, 40, "ills."),  # end past the text
        ("b", 0, 6, "Russia"),  # unknown document
    ]
    assert quote_fidelity(quotes, texts.get) == 1


def test_fact_recall_needs_one_alternative_per_group_case_insensitively() -> None:
    groups = [["Tajikistan"], ["3,000", "3000"], ["hegemony"]]
    # TAJIKISTAN matches group 1, "3000" group 2, nothing matches group 3: 2 of 3.
    assert facts_found("Rahmon of TAJIKISTAN warned of 3000 militants.", groups) == 2


def test_abstention_scores_by_hand() -> None:
    # (answerable, abstained): 3 unanswerable of which 2 refused; 5 answerable of which 1 refused.
    decisions = [(False, True), (False, True), (False, False), (True, True), (True, False), (True, False)]
    decisions += [(True, False), (True, False)]
    scores = abstention_scores(decisions)
    # precision = right refusals / refusals = 2 / 3; recall = 2 / 3 unanswerable; F1 = 2PR/(P+R) = 2/3;
    # wrong refusals = 1 / 5 answerable.
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.f1 == pytest.approx(2 / 3)
    assert scores.wrong_refusal_rate == pytest.approx(0.2)
    assert (scores.refused_unanswerable, scores.refused_answerable, scores.answered_unanswerable) == (2, 1, 1)


def test_abstention_when_nothing_is_refused() -> None:
    # Two unanswerable questions answered: no refusal, so precision 0 (there was something to refuse), recall 0.
    never = abstention_scores([(False, False), (False, False), (True, False)])
    assert (never.precision, never.recall, never.f1, never.wrong_refusal_rate) == (0.0, 0.0, 0.0, 0.0)
    # Only answerable questions, all answered: nothing to find and nothing wrongly refused.
    clean = abstention_scores([(True, False)])
    assert (clean.precision, clean.recall, clean.f1, clean.wrong_refusal_rate) == (1.0, 1.0, 1.0, 0.0)


def test_gold_document_recall_at_k() -> None:
    # Top 3 passages come from a, b, a: gold a is found, gold d is not: 1 / 2. At k=4, c is added, still 1 / 2.
    assert gold_document_recall(["a", "b", "a", "c"], ["a", "d"], 3) == 0.5
    assert gold_document_recall(["b", "c", "a"], ["a"], 2) == 0.0
    assert gold_document_recall(["b", "c", "a"], ["a"], 3) == 1.0


def test_nearest_rank_percentiles() -> None:
    # n = 4: p50 is the ceil(0.5 * 4) = 2nd smallest, p95 the ceil(3.8) = 4th.
    assert percentile([40, 10, 30, 20], 50) == 20
    assert percentile([40, 10, 30, 20], 95) == 40
    # n = 20: p95 is the 19th smallest.
    assert percentile(list(range(1, 21)), 95) == 19
    assert percentile([], 50) == 0.0


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("The Normans", "normans"),
        ("Denmark, Iceland and Norway.", "denmark iceland and norway"),
        ("  an  Apple\tof the\nday ", "apple of day"),
        ("the theory", "theory"),  # articles go only as whole words
        ("A.D. 911", "ad 911"),  # punctuation goes before articles are looked for, as in SQuAD's script
        ('"Rollo" (c. 846)', "rollo c 846"),
    ],
)
def test_squad_normalisation(text: str, normalised: str) -> None:
    assert squad_normalise(text) == normalised


def test_answer_in_quotes_matches_normalised_whole_words() -> None:
    quotes = ["The Normans gave their name to Normandy, a region in France.", "Rollo's heirs ruled it."]
    # Case, articles and punctuation do not matter; alternatives are tried in turn; the quotes are joined.
    assert answer_in_quotes(quotes, [["normans"]])
    assert answer_in_quotes(quotes, [["the Normans"]]) and answer_in_quotes(quotes, [["a region in France"]])
    assert answer_in_quotes(quotes, [["Brittany", "France."]])
    assert answer_in_quotes(quotes, [["france rollos heirs"]])
    # Every group needs one alternative; parts of words do not count; an answer of only an article never counts.
    assert not answer_in_quotes(quotes, [["Normans"], ["Paris"]])
    assert not answer_in_quotes(quotes, [["Norman"]]) and not answer_in_quotes(quotes, [["The"]])
    assert not answer_in_quotes([], [["Normans"]])
    assert not answer_in_quotes(["In 1368 the Yuan fell."], [["13"]])
    # SQuAD deletes punctuation, gluing words together; matching with punctuation as a space finds them, and
    # words still end at punctuation outside ASCII (the en dash).
    glued = ["Ogedei's grandson, today mostly Afrikaans-speaking, in the Netherlands.[citation needed]"]
    assert all(answer_in_quotes(glued, [[word]]) for word in ("Ogedei", "Afrikaans", "the Netherlands."))
    assert answer_in_quotes(["Zhu Shijie (1249\u20131314) solved equations"], [["1249"]])
    assert answer_in_quotes(["the U.S. Navy"], [["US"]]) and answer_in_quotes(["the US Navy"], [["U.S."]])
    assert answer_in_quotes(quotes, [])  # nothing expected: nothing missing
