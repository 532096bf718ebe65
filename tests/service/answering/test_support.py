"""The heuristic support scorer: content-word coverage (IDF-weighted where asked), numbers and names that must be
in the quote, and embedding similarity, each checked on its own."""

from __future__ import annotations

import numpy as np
import pytest

from index import content_terms
from index.embedding import Vectors
from service.answering.support import (
    HeuristicSupportScorer,
    SupportWeights,
    content_coverage,
    frames_reasons,
    gives_reasons,
    inverse_document_frequencies,
    names_in,
    numbers_in,
)
from tests.fakes import FakeEmbedder


class SameVectorEmbedder(FakeEmbedder):
    """Every text gets the same vector, so the similarity term is always 1 and only the lexical checks vary."""

    def embed_passages(self, texts: list[str]) -> Vectors:
        self.calls += 1
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        vectors[:, 0] = 1.0
        return vectors


class OppositeEmbedder(FakeEmbedder):
    """Claims and quotes point in opposite directions: a similarity of -1."""

    def __init__(self, claims: int) -> None:
        super().__init__()
        self._claims = claims

    def embed_passages(self, texts: list[str]) -> Vectors:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        vectors[: self._claims, 0] = 1.0
        vectors[self._claims :, 0] = -1.0
        return vectors


def score(claim: str, quote: str, weights: SupportWeights | None = None) -> float:
    return float(HeuristicSupportScorer(SameVectorEmbedder(), weights).score_matrix([claim], [quote])[0, 0])


NO_PENALTIES = SupportWeights(missing_number_factor=1.0, missing_name_factor=1.0)


def test_numbers_are_compared_without_thousands_separators_or_a_closing_full_stop() -> None:
    assert numbers_in("In 2021, 3,000 soldiers and 2.5 tanks came at 5.") == {"2021", "3000", "2.5", "5"}
    assert numbers_in("no digits here") == set()


def test_names_are_capitalised_words_that_do_not_start_a_sentence() -> None:
    assert names_in("Troops went. Russia sent troops to Dushanbe and Kabul.") == {"dushanb", "kabul"}
    assert names_in("Moscow sent Lavrov to Dushanbe.") == {"lavrov", "dushanb"}


def test_coverage_is_the_share_of_the_claims_distinct_terms_found_in_the_quote() -> None:
    claim = content_terms("troops troops troops arrived in Dushanbe")
    assert content_coverage(claim, {"troop"}) == pytest.approx(1 / 3), "a repeated term counts once"
    assert content_coverage(claim, set(claim)) == 1.0
    assert content_coverage([], {"troop"}) == 0.0


def test_with_idf_a_missing_rare_term_costs_more_than_a_missing_common_one() -> None:
    claim = ["troop", "dushanb"]
    idf = inverse_document_frequencies({"troop": 90, "dushanb": 1}, total=100)
    missing_rare = content_coverage(claim, {"troop"}, idf)
    missing_common = content_coverage(claim, {"dushanb"}, idf)
    assert missing_rare < 0.5 < missing_common
    assert missing_rare + missing_common == pytest.approx(1.0)
    assert content_coverage(claim, {"troop"}, {}) == 0.5, "terms the IDF table lacks weigh 1"


def test_idf_falls_as_a_term_gets_common_and_stays_positive() -> None:
    idf = inverse_document_frequencies({"rare": 1, "usual": 40, "everywhere": 100}, total=100)
    assert idf["rare"] > idf["usual"] > idf["everywhere"] > 0


def test_a_claims_number_missing_from_the_quote_multiplies_the_score_by_its_factor() -> None:
    claim, quote = "Troops arrived in 2022.", "Troops arrived in 2021."
    penalised, plain = score(claim, quote), score(claim, quote, NO_PENALTIES)
    assert 0 < plain < 1
    assert penalised == pytest.approx(SupportWeights().missing_number_factor * plain)
    same_number = ("The army sent 3,000 soldiers.", "The army sent 3000 soldiers.")
    assert score(*same_number) == score(*same_number, NO_PENALTIES), "3,000 and 3000 are the same number"


@pytest.mark.parametrize(("missing", "factor"), [(1, 0.8), (2, 0.8**2), (3, 0.8**2)])
def test_each_missing_name_lowers_the_score_up_to_two_names(missing: int, factor: float) -> None:
    names = ["Lavrov", "Shoigu", "Rahmon"][:missing]
    claim = f"Moscow sent {' and '.join(names)} to the talks."
    quote = "Moscow sent envoys to the talks."
    assert score(claim, quote) == pytest.approx(factor * score(claim, quote, NO_PENALTIES))


def test_a_name_in_the_quote_is_no_penalty_wherever_it_stands() -> None:
    # "Dushanbe" opens the quote, so the quote does not count it as a name; the claim's name is still found.
    assert score("Troops reached Dushanbe.", "Dushanbe welcomed troops, who reached it.") == score(
        "Troops reached Dushanbe.", "Dushanbe welcomed troops, who reached it.", NO_PENALTIES
    )


def test_the_score_blends_coverage_and_similarity_by_their_weights() -> None:
    claim, quote = "Troops arrived in Tajikistan.", "Troops left."  # coverage 1/3 (troop, arriv, tajikistan)
    assert score(claim, quote, SupportWeights(coverage=1.0, semantic=0.0, missing_name_factor=1.0)) == (
        pytest.approx(1 / 3)
    )
    assert score(claim, quote, SupportWeights(coverage=0.0, semantic=1.0, missing_name_factor=1.0)) == (
        pytest.approx(1.0)
    )
    assert score(claim, quote, NO_PENALTIES) == pytest.approx(0.5 / 3 + 0.5)


def test_a_negative_similarity_adds_nothing_and_scores_stay_between_0_and_1() -> None:
    scorer = HeuristicSupportScorer(OppositeEmbedder(claims=1), SupportWeights(coverage=0.5, semantic=0.5))
    assert scorer.score_matrix(["Troops left."], ["Troops left."])[0, 0] == pytest.approx(0.5)
    generous = HeuristicSupportScorer(SameVectorEmbedder(), SupportWeights(coverage=1.0, semantic=1.0))
    assert generous.score_matrix(["Troops left."], ["Troops left."])[0, 0] == 1.0


def test_a_claim_without_content_words_is_supported_by_nothing() -> None:
    assert score("It is.", "It is.") == 0.0


def test_the_matrix_is_claims_by_quotes_from_one_embedding_call() -> None:
    embedder = SameVectorEmbedder()
    scorer = HeuristicSupportScorer(embedder)
    claims = ["Troops arrived.", "Envoys left.", "Talks ended."]
    quotes = ["Troops arrived.", "Envoys left.", "Talks ended.", "Nothing else."]
    matrix = scorer.score_matrix(claims, quotes)
    assert matrix.shape == (3, 4) and embedder.calls == 1
    assert [int(np.argmax(row)) for row in matrix] == [0, 1, 2]
    assert scorer.score_matrix([], quotes).shape == (0, 4) and scorer.score_matrix(claims, []).shape == (3, 0)
    assert embedder.calls == 1, "nothing is embedded when one side is empty"


def test_a_sentence_initial_word_is_a_name_when_the_sources_use_it_as_one() -> None:
    known = names_in("Troops went to Dushanbe. Rahmon met Lavrov in Uzbekistan.")
    assert known == {"dushanb", "lavrov", "uzbekistan"}
    assert names_in("Uzbekistan's president is Rahmon.", known=known) == {"uzbekistan", "rahmon"}
    assert names_in("The president is Rahmon.", known=known) == {"rahmon"}


def test_a_claim_that_counts_reasons_needs_a_source_that_gives_them() -> None:
    assert frames_reasons("Russia is expanding its role in Afghanistan for several reasons.")
    assert frames_reasons("There are three main factors behind it.")
    assert not frames_reasons("Russia has several bases in the region.")
    assert gives_reasons("Its involvement can be explained by three factors.")
    assert gives_reasons("First, Russia is concerned about the security of its southern flank.")
    assert not gives_reasons("Russia is playing a more assertive role in managing the fallout.")
