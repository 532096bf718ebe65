"""The embedded default model: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, joined and hash-checked by
`model_files`) run in-process by llama-cpp-python and registered with litellm as the custom provider `footnote`,
so the rest of Footnote only ever talks to litellm. The model judge (`judge.py`) reads the same loaded model's
next-token probabilities, under the same lock."""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from functools import lru_cache
from typing import Any

from index.threads import thread_counts
from service.answering.model_files import LocalModelMissingError, verified_model_path

LOCAL_PROVIDER = "footnote"
DEFAULT_LOCAL_MODEL = f"{LOCAL_PROVIDER}/qwen2.5-coder-1.5b"
_CONTEXT_TOKENS = 4096
# llama.cpp contexts are not thread-safe: one generation or judgement at a time per process. Re-entrant, so the
# judge can hold it across a run of questions that share a prompt prefix.
LLAMA_LOCK = threading.RLock()

__all__ = [
    "DEFAULT_LOCAL_MODEL",
    "LLAMA_LOCK",
    "LOCAL_PROVIDER",
    "LocalModelMissingError",
    "chatml",
    "chatml_turns",
    "local_llama",
]


@lru_cache(maxsize=1)
def _load_llama(path: str, threads: int) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError as error:  # pragma: no cover - the runtime is a declared dependency
        raise LocalModelMissingError("llama-cpp-python is not installed") from error
    llama = Llama(model_path=path, n_ctx=_CONTEXT_TOKENS, n_threads=threads, n_batch=512, verbose=False, seed=0)
    # Free the model before the interpreter tears down llama_cpp's globals, or its finaliser fails noisily.
    atexit.register(llama.close)
    return llama


def local_llama(*, threads: int | None = None) -> Any:
    """The embedded model, loaded once per process from its verified file (with the thread policy's count unless
    told otherwise: another count loads the weights again, in place of the first copy)."""
    return _load_llama(str(verified_model_path()), threads or thread_counts().llama)


def preload_local_model(*, threads: int | None = None) -> None:
    """Load the embedded model's weights now rather than on the first question."""
    local_llama(threads=threads)


def chatml(messages: Sequence[dict[str, str]]) -> str:
    """Qwen's chat format, written out here so the writer and the judge tokenise a shared start identically and
    llama.cpp reuses its cached state for it (the fixed instructions go first, what varies goes last)."""
    return f"{chatml_turns(messages)}<|im_start|>assistant\n"


def chatml_turns(messages: Sequence[dict[str, str]]) -> str:
    """The messages in Qwen's chat format without the assistant's opening: the start a longer conversation shares."""
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)


def _generation_options(optional_params: dict[str, Any]) -> dict[str, Any]:
    return {
        "max_tokens": int(optional_params.get("max_tokens") or 256),
        "temperature": float(optional_params.get("temperature") or 0.0),
        "top_p": float(optional_params.get("top_p") or 1.0),
        # No repeat penalty: a good answer repeats the source's own words, and a penalty pushes the model off them.
        "repeat_penalty": 1.0,
        "stop": ["<|im_end|>", "<|endoftext|>"],
    }


def register_local_provider(*, threads: int | None = None) -> None:
    """Make `footnote/qwen2.5-coder-1.5b` a litellm model (idempotent)."""
    import litellm

    if any(entry.get("provider") == LOCAL_PROVIDER for entry in litellm.custom_provider_map):
        return
    litellm.custom_provider_map = [
        *litellm.custom_provider_map,
        {"provider": LOCAL_PROVIDER, "custom_handler": _handler_class()(threads=threads)},
    ]


@lru_cache(maxsize=1)
def _handler_class() -> type:
    # Defined lazily: subclassing litellm's CustomLLM needs litellm imported, which is slow.
    from litellm.llms.custom_llm import CustomLLM
    from litellm.types.utils import GenericStreamingChunk, ModelResponse, Usage

    class LocalLlamaProvider(CustomLLM):
        """litellm's custom-provider interface over an in-process llama.cpp model."""

        def __init__(self, *, threads: int | None) -> None:
            super().__init__()
            self._threads = threads
            self._lock = LLAMA_LOCK

        def _llama(self) -> Any:
            return local_llama(threads=self._threads)

        def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> ModelResponse:
            model_response: ModelResponse = kwargs["model_response"]
            with self._lock:
                llama = self._llama()
                chunks = list(self._generate(llama, model, messages, kwargs))
                # Streamed generation reports no usage; the context holds the prompt and one token per chunk.
                completion_tokens = sum(1 for chunk in chunks if chunk["text"])
                prompt_tokens = max(0, int(llama.n_tokens) - completion_tokens)
            model_response.choices[0].message.content = "".join(chunk["text"] for chunk in chunks)
            ran_out = bool(chunks) and chunks[-1]["finish_reason"] == "length"
            model_response.choices[0].finish_reason = "length" if ran_out else "stop"
            model_response.usage = Usage(  # type: ignore[attr-defined]
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            )
            model_response.model = model
            model_response.created = int(time.time())
            return model_response

        def streaming(
            self, model: str, messages: list[Any], *args: Any, **kwargs: Any
        ) -> Iterator[GenericStreamingChunk]:
            with self._lock:
                yield from self._generate(self._llama(), model, messages, kwargs)

        def _generate(
            self, llama: Any, model: str, messages: list[Any], kwargs: dict[str, Any]
        ) -> Iterator[GenericStreamingChunk]:
            """Stream tokens, stopping at litellm's time-out: litellm cannot interrupt an in-process model."""
            from litellm.exceptions import Timeout

            timeout = kwargs.get("timeout")
            deadline = time.monotonic() + float(timeout) if isinstance(timeout, int | float) and timeout > 0 else None
            options = _generation_options(kwargs.get("optional_params") or {})
            for part in llama.create_completion(prompt=chatml(messages), stream=True, **options):
                if deadline is not None and time.monotonic() > deadline:
                    raise Timeout(
                        message=f"the embedded model did not finish within {timeout} s",
                        model=model,
                        llm_provider=LOCAL_PROVIDER,
                    )
                choice = part["choices"][0]
                finish = choice.get("finish_reason")
                yield GenericStreamingChunk(
                    text=choice.get("text") or "",
                    is_finished=finish is not None,
                    finish_reason=finish or "",
                    usage=None,
                    index=0,
                    tool_use=None,
                )

        async def acompletion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> ModelResponse:
            import asyncio

            return await asyncio.to_thread(self.completion, model, messages, *args, **kwargs)

        async def astreaming(  # type: ignore[override]
            self, model: str, messages: list[Any], *args: Any, **kwargs: Any
        ) -> AsyncIterator[GenericStreamingChunk]:
            import asyncio

            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[object] = asyncio.Queue()
            finished = object()

            def produce() -> None:
                # llama.cpp blocks: generate in a worker thread and hand each chunk to the event loop.
                try:
                    for chunk in self.streaming(model, messages, *args, **kwargs):
                        loop.call_soon_threadsafe(queue.put_nowait, chunk)
                except Exception as error:
                    loop.call_soon_threadsafe(queue.put_nowait, error)
                finally:
                    loop.call_soon_threadsafe(queue.put_nowait, finished)

            worker = loop.run_in_executor(None, produce)
            while (item := await queue.get()) is not finished:
                if isinstance(item, Exception):
                    raise item
                yield item  # type: ignore[misc]
            await worker

    return LocalLlamaProvider
