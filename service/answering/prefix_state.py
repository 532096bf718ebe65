"""The embedded model's evaluated state for a fixed prompt start, kept on disk from one process to the next.

Every question the reader puts begins with the same ~700 tokens (its rules and worked examples). Within one
process llama.cpp reuses their evaluated state; a new process (each `footnote ask`, each server start) would
read them again: 8.6 s on 2 cores, more than a whole short answer. Their KV cache is saved once beside the model
and restored in milliseconds. The file is named after everything that shapes those numbers (the model's bytes,
the llama.cpp build, context and batch size, the tokens themselves) and carries a checksum of what it holds, so a
state that is not the one these tokens produce here is never loaded: such a file is read past and written anew.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_MAGIC = b"footnote-prefix-state 1\n"


def prefix_state_key(llama: Any, tokens: Sequence[int], *, model_sha256: str) -> str:
    """A name for the state of `tokens` evaluated by this model file, this build and this context's sizes."""
    import llama_cpp

    digest = hashlib.sha256()
    for part in (
        model_sha256,
        llama_cpp.__version__,
        llama_cpp.llama_print_system_info().decode(errors="replace"),
        str(llama.n_ctx()),
        str(llama.n_batch),
        ",".join(map(str, tokens)),
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def load_prefix(llama: Any, tokens: Sequence[int], *, directory: Path, key: str) -> bool:
    """Evaluate `tokens` as the start of the model's context, from the saved state when one is there and sound.

    Returns whether the state came from disk. Whatever the context held before is gone either way.
    """
    if _restore(llama, tokens, directory / f"{key}.state"):
        return True
    llama.reset()
    llama.eval(list(tokens))
    _save(llama, directory / f"{key}.state")
    return False


def _restore(llama: Any, tokens: Sequence[int], path: Path) -> bool:
    import llama_cpp

    payload = _read_checked(path)
    if payload is None:
        return False
    llama.reset()
    llama._ctx.kv_cache_seq_rm(-1, 0, -1)
    buffer = (ctypes.c_uint8 * len(payload)).from_buffer_copy(payload)
    if llama_cpp.llama_state_seq_set_data(llama.ctx, buffer, len(payload), 0) != len(payload):
        logger.warning("the saved model state %s did not load; reading the prompt start again", path)
        llama._ctx.kv_cache_seq_rm(-1, 0, -1)
        return False
    llama.input_ids[: len(tokens)] = tokens
    llama.n_tokens = len(tokens)
    # The state holds the cache, not the logits of its last token: the next call must evaluate one token at least.
    llama._requires_eval = True
    return True


def _read_checked(path: Path) -> bytes | None:
    """The state's bytes if the file is whole: its header's length and sha256 match what follows."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(_MAGIC):
        return None
    header_end = data.find(b"\n", len(_MAGIC))
    if header_end < 0:
        return None
    try:
        header = json.loads(data[len(_MAGIC) : header_end])
        size, sha256 = int(header["size"]), str(header["sha256"])
    except (ValueError, KeyError, TypeError):
        return None
    payload = data[header_end + 1 :]
    if len(payload) != size or hashlib.sha256(payload).hexdigest() != sha256:
        logger.warning("the saved model state %s is damaged; it will be written again", path)
        return None
    return payload


def _save(llama: Any, path: Path) -> None:
    """Write the context's state beside the model; a folder that cannot be written only costs the next process time."""
    import llama_cpp

    size = llama_cpp.llama_state_seq_get_size(llama.ctx, 0)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(llama.ctx, buffer, size, 0)
    payload = bytes(buffer)[:written]
    header = json.dumps({"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}).encode()
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(_MAGIC + header + b"\n" + payload)
        # Renamed in whole: a process reading at the same moment sees the old file or the new one, never half.
        partial.replace(path)
    except OSError as error:
        logger.info("cannot keep the model's prompt state in %s: %s", path.parent, error)
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
