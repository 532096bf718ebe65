"""The embedded model's state for a fixed prompt start, saved by one process and restored by the next: the same
next-word distribution as reading the start again, and a damaged or foreign file never loaded."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from service.answering.local_llm import LLAMA_LOCK, chatml_turns, local_llama
from service.answering.prefix_state import load_prefix, prefix_state_key

pytestmark = pytest.mark.slow

START = [
    {"role": "system", "content": "You answer questions about geography with one word: yes or no."},
    {"role": "user", "content": "Is Dushanbe the capital of Tajikistan?"},
]


@pytest.fixture
def llama() -> Iterator[Any]:
    with LLAMA_LOCK:
        model = local_llama()
        yield model
        # The process's other tests share this context: leave it empty, as a fresh one would be.
        model.reset()


def _tokens(llama: Any, text: str) -> list[int]:
    tokens: list[int] = llama.tokenize(text.encode(), add_bos=False, special=True)
    return tokens


def _next_word(llama: Any, prompt: Sequence[int]) -> npt.NDArray[np.float64]:
    """The next-word probabilities after `prompt`, evaluating only what the context does not already hold."""
    llama.eval(list(prompt[llama.n_tokens :]))
    logits = np.ctypeslib.as_array(llama._ctx.get_logits_ith(-1), shape=(llama.n_vocab(),)).astype(np.float64)
    probabilities: npt.NDArray[np.float64] = np.exp(logits - logits.max())
    total = float(probabilities.sum())
    return probabilities / total


def test_a_restored_start_predicts_what_reading_it_again_does(llama: Any, tmp_path: Path) -> None:
    start = _tokens(llama, chatml_turns(START))
    prompt = start + _tokens(llama, "<|im_start|>assistant\n")
    key = prefix_state_key(llama, start, model_sha256="test")

    assert not load_prefix(llama, start, directory=tmp_path, key=key)  # nothing saved yet: read, then saved
    read = _next_word(llama, prompt)
    assert load_prefix(llama, start, directory=tmp_path, key=key)  # restored from the file
    assert llama.n_tokens == len(start)
    restored = _next_word(llama, prompt)

    np.testing.assert_allclose(restored, read, atol=1e-5)
    assert read.max() > 0.5  # a distribution worth comparing: the model is sure of its next word


def test_a_damaged_state_is_read_past_and_written_again(llama: Any, tmp_path: Path) -> None:
    start = _tokens(llama, chatml_turns(START))
    key = prefix_state_key(llama, start, model_sha256="test")
    load_prefix(llama, start, directory=tmp_path, key=key)
    saved = tmp_path / f"{key}.state"
    data = bytearray(saved.read_bytes())
    data[-100] ^= 0xFF
    saved.write_bytes(bytes(data))

    assert not load_prefix(llama, start, directory=tmp_path, key=key)
    assert llama.n_tokens == len(start)
    assert load_prefix(llama, start, directory=tmp_path, key=key)  # the file was written whole again


def test_a_folder_that_cannot_be_written_only_costs_time(llama: Any, tmp_path: Path) -> None:
    start = _tokens(llama, chatml_turns(START))
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    key = prefix_state_key(llama, start, model_sha256="test")

    assert not load_prefix(llama, start, directory=blocked, key=key)
    assert llama.n_tokens == len(start)
    assert not load_prefix(llama, start, directory=blocked, key=key)


def test_the_name_changes_with_the_tokens_and_the_model(llama: Any) -> None:
    start = _tokens(llama, chatml_turns(START))
    key = prefix_state_key(llama, start, model_sha256="a")
    assert key == prefix_state_key(llama, list(start), model_sha256="a")
    assert key != prefix_state_key(llama, start[:-1], model_sha256="a")
    assert key != prefix_state_key(llama, start, model_sha256="b")
