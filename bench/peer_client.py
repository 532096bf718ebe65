"""Run the LlamaIndex peer (bench/peer/llamaindex_peer.py) in its own virtualenv and read back its figures."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import PROJECT_ROOT
from index import Document
from index.embedding import Vectors

PEER_PYTHON = PROJECT_ROOT / ".venv-peer" / "bin" / "python"
PEER_SCRIPT = PROJECT_ROOT / "bench" / "peer" / "llamaindex_peer.py"
# Generous bounds: the peer embeds a few hundred documents or loads 1e5 passages on a busy machine.
_TIMEOUT_S = 1200


class PeerUnavailableError(RuntimeError):
    """The peer's virtualenv is missing or its run failed."""


def peer_available() -> bool:
    """Whether `make bench-peer` has created the peer's virtualenv."""
    return PEER_PYTHON.exists()


def peer_ingest(documents: list[Document]) -> dict[str, Any]:
    """LlamaIndex's documents/s and passages/s on the same documents."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "documents.jsonl"
        lines = [json.dumps({"id": d.id, "title": d.title, "text": d.text}) for d in documents]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return _run_peer("ingest", str(path))


def peer_search(texts: list[str], vectors: Vectors, query_texts: list[str], queries: Vectors) -> dict[str, Any]:
    """LlamaIndex's retriever latency over the same passages and query vectors."""
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        np.save(folder / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
        np.save(folder / "queries.npy", np.ascontiguousarray(queries, dtype=np.float32))
        (folder / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
        (folder / "query_texts.json").write_text(json.dumps(query_texts), encoding="utf-8")
        return _run_peer("search", str(folder))


def _run_peer(*arguments: str) -> dict[str, Any]:
    if not peer_available():
        raise PeerUnavailableError(f"{PEER_PYTHON} is missing: run `make bench-peer` first")
    completed = subprocess.run(
        [str(PEER_PYTHON), str(PEER_SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_S,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    if completed.returncode != 0:
        raise PeerUnavailableError(f"the peer failed ({completed.returncode}): {completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result
