"""A language model as judge: calibrated yes/no probabilities for "does this answer the question?" and "do these
sentences state this claim?", read from the model's next-token distribution rather than parsed from its text.

Every question put to the judge shares one start (the reader's instructions, a worked example, the numbered
source sentences and the question) and differs only in its last line, so the local model evaluates the shared
start once and each further question costs only its own few tokens (llama.cpp keeps the evaluated prefix).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from service.answering.llm import LiteLLMChatModel, LLMSettings, Message, import_litellm
from service.answering.local_llm import LLAMA_LOCK, LOCAL_PROVIDER, chatml, chatml_turns, local_llama
from service.answering.model_files import QWEN_CODER_15B, models_dir
from service.answering.prefix_state import load_prefix, prefix_state_key
from service.answering.reader_prompts import fixed_start, reader_messages, support_task
from service.answering.support import SupportScorer

_YES = ("yes", "Yes", " yes", " Yes", "YES")
_NO = ("no", "No", " no", " No", "NO")


class YesNoModel(Protocol):
    """Anything that gives P(yes) as the next word of each conversation."""

    @property
    def name(self) -> str: ...

    def yes_probabilities(self, conversations: Sequence[Sequence[Message]]) -> list[float]: ...


class LocalYesNoModel:
    """The embedded model's P(yes) from its logits; consecutive conversations share their evaluated prefix."""

    def __init__(self, *, name: str, threads: int | None = None) -> None:
        self._name = name
        self._threads = threads
        self._token_ids: tuple[list[int], list[int]] | None = None
        self._primed: Any = None

    @property
    def name(self) -> str:
        return self._name

    def yes_probabilities(self, conversations: Sequence[Sequence[Message]]) -> list[float]:
        """P(yes) against P(no) for each conversation's next word."""
        with LLAMA_LOCK:
            llama = self._primed_llama()
            yes_ids, no_ids = self._answer_token_ids(llama)
            return [self._probability(llama, chatml(c), yes_ids, no_ids) for c in conversations]

    def preload(self) -> None:
        """Load the model and the reader's fixed conversation start now rather than on the first question."""
        with LLAMA_LOCK:
            self._primed_llama()

    def _primed_llama(self) -> Any:
        """The embedded model, its context starting with the reader's fixed start once per process (restored from
        disk where a process before saved it: 8.6 s of prompt reading on 2 cores)."""
        llama = local_llama(threads=self._threads)
        if self._primed is not llama:
            tokens = llama.tokenize(chatml_turns(fixed_start()).encode(), add_bos=False, special=True)
            key = prefix_state_key(llama, tokens, model_sha256=QWEN_CODER_15B.sha256)
            load_prefix(llama, tokens, directory=models_dir() / "prompt-states", key=key)
            self._primed = llama
        return llama

    def _answer_token_ids(self, llama: Any) -> tuple[list[int], list[int]]:
        if self._token_ids is None:

            def single_tokens(words: Sequence[str]) -> list[int]:
                tokens = [llama.tokenize(word.encode(), add_bos=False, special=False) for word in words]
                return sorted({t[0] for t in tokens if len(t) == 1})

            self._token_ids = (single_tokens(_YES), single_tokens(_NO))
        return self._token_ids

    @staticmethod
    def _probability(llama: Any, prompt: str, yes_ids: list[int], no_ids: list[int]) -> float:
        from llama_cpp import Llama

        tokens = llama.tokenize(prompt.encode(), add_bos=False, special=True)
        cached = Llama.longest_token_prefix(llama.input_ids[: llama.n_tokens].tolist(), tokens)
        # At least one token must be evaluated to have logits for the position after the prompt.
        llama.n_tokens = min(cached, len(tokens) - 1)
        llama.eval(tokens[llama.n_tokens :])
        logits = np.ctypeslib.as_array(llama._ctx.get_logits_ith(-1), shape=(llama.n_vocab(),))
        return _two_way(np.logaddexp.reduce(logits[yes_ids]), np.logaddexp.reduce(logits[no_ids]))


class LiteLLMYesNoModel:
    """A hosted (or any litellm) model as judge: P(yes) from the first token's log-probabilities where the
    provider returns them, else 1 or 0 from the reply's first word."""

    def __init__(self, settings: LLMSettings) -> None:
        self._settings = settings

    @property
    def name(self) -> str:
        return self._settings.model

    def yes_probabilities(self, conversations: Sequence[Sequence[Message]]) -> list[float]:
        """One call per conversation, one token each."""
        litellm = import_litellm()
        # The writer's arguments (provider, key, time-out, retries), asking for one token and its log-probabilities.
        arguments = {
            **LiteLLMChatModel(self._settings).request_arguments(),
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": True,
            "top_logprobs": 10,
        }
        probabilities = []
        for conversation in conversations:
            response = litellm.completion(messages=list(conversation), drop_params=True, **arguments)
            probabilities.append(_probability_from_response(response))
        return probabilities


def _probability_from_response(response: Any) -> float:
    choice = response.choices[0]
    logprobs = getattr(choice, "logprobs", None)
    content = getattr(logprobs, "content", None) if logprobs is not None else None
    if content:
        yes = no = -math.inf
        for candidate in getattr(content[0], "top_logprobs", None) or []:
            word = str(candidate.token).strip().lower()
            if word == "yes":
                yes = float(np.logaddexp(yes, candidate.logprob))
            elif word == "no":
                no = float(np.logaddexp(no, candidate.logprob))
        if yes > -math.inf or no > -math.inf:
            return _two_way(yes, no)
    text = (choice.message.content or "").strip().lower()
    return 1.0 if text.startswith("yes") else 0.0


def _two_way(yes: float, no: float) -> float:
    if no == -math.inf:
        return 1.0
    if yes == -math.inf:
        return 0.0
    return float(1.0 / (1.0 + math.exp(no - yes)))


def yes_no_model(settings: LLMSettings) -> YesNoModel:
    """The judge for a model setting: the embedded model's logits, or any litellm model."""
    if settings.model.startswith(f"{LOCAL_PROVIDER}/"):
        return LocalYesNoModel(name=settings.model, threads=settings.local_threads)
    return LiteLLMYesNoModel(settings)


class ModelSupportScorer:
    """`SupportScorer` by a model judge: the cheap heuristic picks each claim's likeliest quotes, the judge decides.

    Quotes the heuristic ranks below `shortlist` per claim (or under `floor`) get 0: a quote sharing nothing with
    a claim is not worth a model call.
    """

    def __init__(self, judge: YesNoModel, heuristic: SupportScorer, *, shortlist: int = 2, floor: float = 0.15) -> None:
        self._judge = judge
        self._heuristic = heuristic
        self._shortlist = shortlist
        self._floor = floor

    @property
    def name(self) -> str:
        return f"judge:{self._judge.name}"

    def score_matrix(self, claims: Sequence[str], quotes: Sequence[str]) -> npt.NDArray[np.float32]:
        """P(yes) for each claim's shortlisted quotes, 0 elsewhere."""
        prior = self._heuristic.score_matrix(claims, quotes)
        scores = np.zeros_like(prior)
        asked: list[tuple[int, int]] = []
        for row in range(len(claims)):
            for column in np.argsort(-prior[row])[: self._shortlist]:
                if prior[row, column] >= self._floor:
                    asked.append((row, int(column)))
        conversations = [support_conversation(claims[r], [quotes[c]]) for r, c in asked]
        for (row, column), probability in zip(asked, self._judge.yes_probabilities(conversations), strict=True):
            scores[row, column] = probability
        return scores


def support_conversation(claim: str, quotes: Sequence[str]) -> list[Message]:
    """The judge's question about quotes on their own: do they state everything the claim says?"""
    return reader_messages(
        question="Which facts do these sentences state?",
        sentences=quotes,
        task=support_task(claim, range(1, len(quotes) + 1)),
    )
