"""Hybrid retrieval: dense and lexical candidates fused, optionally diversified, capped per document."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from index.collection import Collection
from index.documents import ScoreComponents, ScoredPassage
from index.lexical_index import query_terms
from index.vector_index import RowIds, Scores

RetrievalMode = Literal["hybrid", "dense", "lexical"]
FusionMethod = Literal["zscore", "rrf"]


@dataclass(frozen=True)
class RetrievalSettings:
    """How passages are picked for a question. Defaults were tuned on SciFact's train split."""

    k: int = 6
    candidates: int = 1000
    mode: RetrievalMode = "hybrid"
    fusion: FusionMethod = "zscore"
    rrf_k: int = 60
    dense_weight: float = 0.45
    feedback_passages: int = 3
    feedback_terms: int = 20
    feedback_weight: float = 0.4
    mmr_lambda: float | None = None
    max_per_document: int | None = None

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError("k must be at least 1")
        if self.candidates < 1:
            raise ValueError("candidates must be at least 1")
        for name in ("dense_weight", "feedback_weight"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.feedback_passages < 0 or self.feedback_terms < 1:
            raise ValueError("feedback_passages must not be negative and feedback_terms must be at least 1")
        if self.mmr_lambda is not None and not 0.0 <= self.mmr_lambda <= 1.0:
            raise ValueError("mmr_lambda must be between 0 and 1")
        if self.max_per_document is not None and self.max_per_document < 1:
            raise ValueError("max_per_document must be at least 1")


@dataclass(frozen=True)
class RankedList:
    """One retriever's candidates, best first."""

    rowids: RowIds
    scores: Scores


def reciprocal_rank_fusion(dense: RankedList, lexical: RankedList, *, k: int = 60) -> dict[int, float]:
    """Cormack et al.'s RRF: each list adds 1 / (k + rank) for every row it ranks (rank from 1)."""
    fused: dict[int, float] = {}
    for ranked in (dense, lexical):
        for rank, rowid in enumerate(ranked.rowids.tolist(), start=1):
            fused[rowid] = fused.get(rowid, 0.0) + 1.0 / (k + rank)
    return fused


def zscore_fusion(dense: RankedList, lexical: RankedList, *, dense_weight: float) -> dict[int, float]:
    """A convex mix of per-query z-scores; a row missing from one list gets that list's lowest z-score.

    z-scores keep how far a candidate stands above the rest, which rank fusion throws away; on SciFact's
    train split this beat the best RRF by about 0.01 nDCG@10.
    """
    dense_z, lexical_z = _zscores(dense), _zscores(lexical)
    dense_floor = min(dense_z.values(), default=0.0)
    lexical_floor = min(lexical_z.values(), default=0.0)
    return {
        rowid: dense_weight * dense_z.get(rowid, dense_floor)
        + (1.0 - dense_weight) * lexical_z.get(rowid, lexical_floor)
        for rowid in dense_z.keys() | lexical_z.keys()
    }


def relevance_feedback_terms(
    query: Mapping[str, float],
    feedback: Sequence[tuple[Counter[str], float]],
    *,
    terms: int,
    weight: float,
) -> dict[str, float]:
    """RM3 (Abdul-Jaleel et al., 2004): mix the query with the words of the top passages, weighted by score.

    Each feedback passage contributes its term frequencies (normalised by length) in proportion to its
    score above the lowest feedback score; the `terms` heaviest words form the expansion, which gets
    `weight` of the final query and the original terms the rest.
    """
    if not feedback:
        return dict(query)
    lowest = min(score for _, score in feedback)
    shares = [score - lowest + 1e-3 for _, score in feedback]
    total_share = sum(shares)
    expansion: dict[str, float] = {}
    for (counts, _), share in zip(feedback, shares, strict=True):
        length = sum(counts.values()) or 1
        for term, count in counts.items():
            expansion[term] = expansion.get(term, 0.0) + (share / total_share) * count / length
    chosen = dict(sorted(expansion.items(), key=lambda item: (-item[1], item[0]))[:terms])
    chosen_total = sum(chosen.values()) or 1.0
    mixed = {term: (1.0 - weight) * value for term, value in query.items()}
    for term, value in chosen.items():
        mixed[term] = mixed.get(term, 0.0) + weight * value / chosen_total
    return mixed


def maximal_marginal_relevance(
    relevance: Sequence[float], vectors: np.ndarray, *, count: int, lambda_: float
) -> list[int]:
    """Positions picked greedily for relevance minus similarity to what is already picked (Carbonell 1998)."""
    if len(relevance) == 0:
        return []
    scores = _min_max(np.asarray(relevance, dtype=np.float32))
    picked: list[int] = []
    max_similarity = np.full(len(scores), -np.inf, dtype=np.float32)
    for _ in range(min(count, len(scores))):
        penalty = np.where(np.isfinite(max_similarity), max_similarity, 0.0)
        value = lambda_ * scores - (1.0 - lambda_) * penalty
        value[picked] = -np.inf
        best = int(np.argmax(value))
        picked.append(best)
        max_similarity = np.maximum(max_similarity, vectors @ vectors[best])
    return picked


class Retriever:
    """Finds the passages of a collection that best answer a question."""

    def __init__(self, collection: Collection, settings: RetrievalSettings | None = None) -> None:
        self.collection = collection
        self.settings = settings or RetrievalSettings()

    def search(
        self, query: str, *, k: int | None = None, settings: RetrievalSettings | None = None
    ) -> list[ScoredPassage]:
        """The top passages for `query`, each with its fused score and score components."""
        chosen = settings or self.settings
        k = k or chosen.k
        query = query.strip()
        if not query:
            return []
        dense, lexical = self._candidates(query, chosen)
        fused = self._fuse(dense, lexical, chosen)
        if chosen.feedback_passages and chosen.mode != "dense" and fused:
            lexical = self._lexical_with_feedback(query, fused, chosen)
            fused = self._fuse(dense, lexical, chosen)
        ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
        ranked = self._cap_per_document(ranked, chosen, limit=max(k, chosen.candidates))
        if chosen.mmr_lambda is not None and ranked:
            vectors = self.collection.passage_vectors(np.asarray([r for r, _ in ranked], dtype=np.int64))
            order = maximal_marginal_relevance([s for _, s in ranked], vectors, count=k, lambda_=chosen.mmr_lambda)
            ranked = [ranked[i] for i in order]
        return self._materialise(ranked[:k], dense, lexical)

    def _candidates(self, query: str, settings: RetrievalSettings) -> tuple[RankedList, RankedList]:
        empty = RankedList(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        dense = lexical = empty
        if settings.mode in ("hybrid", "dense"):
            vector = self.collection.embedder.embed_query(query)
            dense = RankedList(*self.collection.dense_search(vector, settings.candidates))
        if settings.mode in ("hybrid", "lexical"):
            lexical = RankedList(*self.collection.lexical_search(query_terms(query), settings.candidates))
        return dense, lexical

    def _lexical_with_feedback(self, query: str, fused: dict[int, float], settings: RetrievalSettings) -> RankedList:
        """Search again with the query expanded by the words of the best first-pass passages."""
        best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[: settings.feedback_passages]
        counts = self.collection.term_frequencies(np.asarray([rowid for rowid, _ in best], dtype=np.int64))
        expanded = relevance_feedback_terms(
            query_terms(query),
            list(zip(counts, [score for _, score in best], strict=True)),
            terms=settings.feedback_terms,
            weight=settings.feedback_weight,
        )
        return RankedList(*self.collection.lexical_search(expanded, settings.candidates))

    @staticmethod
    def _fuse(dense: RankedList, lexical: RankedList, settings: RetrievalSettings) -> dict[int, float]:
        if settings.mode == "dense":
            return dict(zip(dense.rowids.tolist(), dense.scores.tolist(), strict=True))
        if settings.mode == "lexical":
            return dict(zip(lexical.rowids.tolist(), lexical.scores.tolist(), strict=True))
        if settings.fusion == "rrf":
            return reciprocal_rank_fusion(dense, lexical, k=settings.rrf_k)
        return zscore_fusion(dense, lexical, dense_weight=settings.dense_weight)

    def _cap_per_document(
        self, ranked: list[tuple[int, float]], settings: RetrievalSettings, *, limit: int
    ) -> list[tuple[int, float]]:
        if settings.max_per_document is None:
            return ranked[:limit]
        documents = self.collection.document_ids([rowid for rowid, _ in ranked])
        per_document: dict[str, int] = {}
        kept: list[tuple[int, float]] = []
        for rowid, score in ranked:
            document_id = documents.get(rowid)
            if document_id is None:
                continue
            seen = per_document.get(document_id, 0)
            if seen < settings.max_per_document:
                per_document[document_id] = seen + 1
                kept.append((rowid, score))
                if len(kept) >= limit:
                    break
        return kept

    def _materialise(
        self, ranked: list[tuple[int, float]], dense: RankedList, lexical: RankedList
    ) -> list[ScoredPassage]:
        dense_at = _positions(dense)
        lexical_at = _positions(lexical)
        passages = self.collection.get_passages([rowid for rowid, _ in ranked])
        results: list[ScoredPassage] = []
        for rowid, score in ranked:
            stored = passages.get(rowid)
            if stored is None:  # deleted between search and lookup
                continue
            components = ScoreComponents(
                dense_score=_score_at(dense, dense_at.get(rowid)),
                dense_rank=None if rowid not in dense_at else dense_at[rowid] + 1,
                lexical_score=_score_at(lexical, lexical_at.get(rowid)),
                lexical_rank=None if rowid not in lexical_at else lexical_at[rowid] + 1,
            )
            results.append(
                ScoredPassage(
                    passage=stored.passage,
                    title=stored.title,
                    score=float(score),
                    components=components,
                    date=stored.date,
                    source=stored.source,
                )
            )
        return results


def _positions(ranked: RankedList) -> dict[int, int]:
    return {rowid: position for position, rowid in enumerate(ranked.rowids.tolist())}


def _score_at(ranked: RankedList, position: int | None) -> float | None:
    return None if position is None else float(ranked.scores[position])


def _zscores(ranked: RankedList) -> dict[int, float]:
    if len(ranked.scores) == 0:
        return {}
    scores = ranked.scores.astype(np.float64)
    spread = float(scores.std())
    normalised = (scores - float(scores.mean())) / (spread if spread > 1e-12 else 1.0)
    return dict(zip(ranked.rowids.tolist(), normalised.tolist(), strict=True))


def _min_max(scores: np.ndarray) -> np.ndarray:
    if len(scores) == 0:
        return scores.astype(np.float32)
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-12:
        return np.ones_like(scores, dtype=np.float32)
    return ((scores - low) / (high - low)).astype(np.float32)
