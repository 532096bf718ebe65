"""Hybrid retrieval: dense and lexical candidates fused, optionally diversified, capped per document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from index.collection import Collection
from index.documents import ScoreComponents, ScoredPassage
from index.vector_index import RowIds, Scores

RetrievalMode = Literal["hybrid", "dense", "lexical"]
FusionMethod = Literal["rrf", "weighted"]


@dataclass(frozen=True)
class RetrievalSettings:
    """How passages are picked for a question."""

    k: int = 6
    candidates: int = 100
    mode: RetrievalMode = "hybrid"
    fusion: FusionMethod = "rrf"
    rrf_k: int = 60
    dense_weight: float = 0.5
    mmr_lambda: float | None = None
    max_per_document: int | None = None

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError("k must be at least 1")
        if self.candidates < 1:
            raise ValueError("candidates must be at least 1")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ValueError("dense_weight must be between 0 and 1")
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


def weighted_fusion(dense: RankedList, lexical: RankedList, *, dense_weight: float) -> dict[int, float]:
    """A convex mix of min-max normalised scores; a row missing from one list scores 0 there."""
    fused: dict[int, float] = {}
    for ranked, weight in ((dense, dense_weight), (lexical, 1.0 - dense_weight)):
        for rowid, score in zip(ranked.rowids.tolist(), _min_max(ranked.scores).tolist(), strict=True):
            fused[rowid] = fused.get(rowid, 0.0) + weight * score
    return fused


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
            lexical = RankedList(*self.collection.lexical_search(query, settings.candidates))
        return dense, lexical

    @staticmethod
    def _fuse(dense: RankedList, lexical: RankedList, settings: RetrievalSettings) -> dict[int, float]:
        if settings.mode == "dense":
            return dict(zip(dense.rowids.tolist(), dense.scores.tolist(), strict=True))
        if settings.mode == "lexical":
            return dict(zip(lexical.rowids.tolist(), lexical.scores.tolist(), strict=True))
        if settings.fusion == "weighted":
            return weighted_fusion(dense, lexical, dense_weight=settings.dense_weight)
        return reciprocal_rank_fusion(dense, lexical, k=settings.rrf_k)

    def _cap_per_document(
        self, ranked: list[tuple[int, float]], settings: RetrievalSettings, *, limit: int
    ) -> list[tuple[int, float]]:
        if settings.max_per_document is None:
            return ranked[:limit]
        passages = self.collection.get_passages([rowid for rowid, _ in ranked])
        per_document: dict[str, int] = {}
        kept: list[tuple[int, float]] = []
        for rowid, score in ranked:
            stored = passages.get(rowid)
            if stored is None:
                continue
            seen = per_document.get(stored.passage.document_id, 0)
            if seen < settings.max_per_document:
                per_document[stored.passage.document_id] = seen + 1
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


def _min_max(scores: np.ndarray) -> np.ndarray:
    if len(scores) == 0:
        return scores.astype(np.float32)
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-12:
        return np.ones_like(scores, dtype=np.float32)
    return ((scores - low) / (high - low)).astype(np.float32)
