"""Deterministic stand-ins for models, for fast unit tests (the real models have their own slow tests)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence

import numpy as np

from index.embedding import Vectors
from service.answering.llm import Completion

_WORD = re.compile(r"\w+")


class FakeEmbedder:
    """Hashes words into a bag-of-words vector: texts sharing words are close, and nothing is downloaded."""

    def __init__(self, dimension: int = 64, *, name: str = "fake-embedder") -> None:
        self._dimension = dimension
        self._name = name
        self.calls = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed_passages(self, texts: list[str]) -> Vectors:
        self.calls += 1
        return np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, self._dimension), np.float32)

    def embed_query(self, text: str) -> Vectors:
        return self._vector(text).reshape(1, -1)

    def _vector(self, text: str) -> Vectors:
        vector = np.zeros(self._dimension, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
            vector[bucket % self._dimension] += 1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0:
            vector[0] = 1.0
            return vector
        return vector / norm


class FailingEmbedder(FakeEmbedder):
    """Fails on the n-th call, to show a failed ingest stores nothing."""

    def __init__(self, fail_on_call: int) -> None:
        super().__init__()
        self._fail_on_call = fail_on_call

    def embed_passages(self, texts: list[str]) -> Vectors:
        if self.calls + 1 == self._fail_on_call:
            self.calls += 1
            raise RuntimeError("embedding failed on purpose")
        return super().embed_passages(texts)


class FakeChatModel:
    """Replies with canned drafts in order and records every prompt it was sent."""

    def __init__(self, replies: list[str], *, name: str = "fake-llm") -> None:
        self._replies = list(replies)
        self._name = name
        self.prompts: list[list[dict[str, str]]] = []

    @property
    def name(self) -> str:
        return self._name

    def complete(self, messages: Sequence[dict[str, str]]) -> Completion:
        self.prompts.append(list(messages))
        text = self._replies.pop(0) if self._replies else ""
        return Completion(text=text, prompt_tokens=sum(len(m["content"]) for m in messages) // 4, completion_tokens=0)

    def stream(self, messages: Sequence[dict[str, str]]) -> Iterator[str]:
        text = self.complete(messages).text
        for word in text.split(" "):
            yield word + " "


class FakeYesNoModel:
    """A judge that reads the reader's tasks literally: "yes" when the words that matter are in the sentences.

    Answerable: some sentence holds every content word of the question's `topic` (the last word of the question).
    Relevant: the asked sentence holds that word. Supports: every word of the claim is in the cited sentences.
    """

    name = "fake-judge"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def yes_probabilities(self, conversations: Sequence[Sequence[dict[str, str]]]) -> list[float]:
        return [self._probability(conversation[-1]["content"]) for conversation in conversations]

    def _probability(self, prompt: str) -> float:
        self.asked.append(prompt)
        sentences = dict(re.findall(r"^\[(\d+)\] (.*)$", prompt, flags=re.MULTILINE))
        question = re.search(r"^Question: (.*)$", prompt, flags=re.MULTILINE)
        topic = _WORD.findall(question.group(1).lower())[-1] if question else ""
        if "state the answer to this exact question" in prompt:
            return 0.9 if any(topic in s.lower() for s in sentences.values()) else 0.1
        relevant = re.search(r"Does sentence \[(\d+)\] state part of the answer", prompt)
        if relevant:
            return 0.9 if topic in sentences.get(relevant.group(1), "").lower() else 0.1
        claim = re.search(r"Claim: (.*)$", prompt, flags=re.MULTILINE)
        cited = re.search(r"Do sentences (.*) together state", prompt)
        if claim and cited:
            words = " ".join(sentences.get(n, "") for n in re.findall(r"\d+", cited.group(1))).lower()
            wanted = [w for w in _WORD.findall(claim.group(1).lower()) if len(w) > 3]
            return 0.95 if all(w in words for w in wanted) else 0.05
        return 0.0


class FakeClock:
    """A clock that stands still until a test moves it (`clock.now = ...`)."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
