"""Ingest on a Ray cluster: Ray tasks read and chunk the files, a pool of actors embeds, this process writes.

The writes go through `Collection.ingest` with its `prepare` hook, so the one writer keeps the crash-safe SQLite
transactions, skips unchanged documents and reports progress as a single-process ingest does; SQLite stays the
source of truth. Each actor embeds exactly the passages of one write batch in one call, as `Collection._prepare`
would: sentence-transformers pads each group of 64 texts to its longest, so other batch-mates would change the
last bits of a vector. Same input in the same order therefore gives the same vectors, bit for bit, as one process.

Ray is an optional extra (`footnote[ray]`), imported only when an ingest asks for it.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

import numpy as np

from index.chunking import ChunkingSettings, chunk_document
from index.collection import Collection, IngestResult, passage_index_text, passage_tokens
from index.documents import Document, Passage
from index.embedders import get_embedder
from index.embedding import Embedder, SentenceTransformerEmbedder
from index.errors import DocumentLoadError, FootnoteError
from index.loaders import load_bytes
from index.store import PreparedDocument

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
RAY_EXTRA_HINT = "install the ray extra: pip install 'footnote[ray]' (make setup does)"
# An actor's start is about 8 CPU-seconds (torch import, model load); minutes more mean it cannot be placed.
_ACTOR_START_TIMEOUT_S = 600


@dataclass(frozen=True)
class EmbedderSpec:
    """How each actor builds its embedder: the model and backend the collection was opened with."""

    model: str
    backend: str = "torch"
    cache_dir: Path | None = None

    def build(self, *, device: str = "cpu") -> Embedder:
        """The embedder, once per actor process; on a GPU only the torch backend runs."""
        if device != "cpu":
            return SentenceTransformerEmbedder(self.model, device=device)
        return get_embedder(self.model, backend=self.backend, cache_dir=self.cache_dir)


@dataclass(frozen=True)
class ChunkedDocument:
    """A document as a Ray task read and cut it: its passages and their BM25 tokens."""

    document: Document
    passages: list[Passage]
    tokens: list[str]


@dataclass(frozen=True)
class ActorPlan:
    """How many embedding actors to start, and what each asks of the cluster."""

    actors: int
    num_cpus: float
    num_gpus: float

    @property
    def device(self) -> str:
        return "cuda" if self.num_gpus else "cpu"


def plan_actors(
    resources: Mapping[str, float], *, batches: int, backend: str, requested: int | None = None
) -> ActorPlan:
    """One actor per GPU where the cluster has GPUs (torch backend), else one per CPU; never more than batches.

    One torch thread per actor: on the 2-core machine this was measured on, a process with 2 threads was slower
    than with 1, so CPU parallelism comes from more actors, not more threads.
    """
    gpus = int(resources.get("GPU", 0))
    on_gpu = gpus > 0 and backend == "torch"
    limit = gpus if on_gpu else max(1, int(resources.get("CPU", 1)))
    actors = max(1, min(requested or limit, batches))
    return ActorPlan(actors=actors, num_cpus=1.0, num_gpus=1.0 if on_gpu else 0.0)


def import_ray() -> ModuleType:
    """The `ray` module, or a clear error naming the extra to install."""
    try:
        import ray
        import ray.data  # noqa: F401  (the submodule must be importable too)
    except ImportError as error:
        raise FootnoteError(f"--ray needs Ray, which is not installed: {RAY_EXTRA_HINT}") from error
    return ray


class RayIngest:
    """One ingest's connection to a Ray cluster: `read` the files there, then `write` them into a collection."""

    def __init__(self, ray: ModuleType) -> None:
        self._ray = ray
        # Where the work ran, by node address: documents read and chunked, passages embedded.
        self.read_by: Counter[str] = Counter()
        self.embedded_by: Counter[str] = Counter()
        self.actors = 0

    @classmethod
    def connect(cls, address: str | None) -> RayIngest:
        """Join the cluster at `address` (None: RAY_ADDRESS, else a Ray started on this machine for the ingest)."""
        ray = import_ray()
        try:
            # Workers' output stays in the cluster's logs: the CLI's stderr carries the progress bar.
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as error:
            where = address or "RAY_ADDRESS or a new local Ray"
            raise FootnoteError(f"cannot join the Ray cluster at {where}: {_first_line(error)}") from error
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        # Start every actor before handing out batches (else the first one up takes them all), and give up with a
        # clear error when the cluster cannot place them, instead of waiting forever.
        context.wait_for_min_actors_s = _ACTOR_START_TIMEOUT_S
        # A failed task is reported once, by this module, as one line; not also as Ray Data's log with its traceback.
        logging.getLogger("ray.data").setLevel(logging.CRITICAL)
        return cls(ray)

    def close(self) -> None:
        """Leave the cluster (a Ray started just for this ingest stops with it)."""
        self._ray.shutdown()

    def __enter__(self) -> RayIngest:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def cluster_cpus(self) -> int:
        """How many CPUs the cluster offers."""
        return int(self._ray.cluster_resources().get("CPU", 1))

    def read(self, paths: Sequence[Path], *, chunking: ChunkingSettings, title_repeats: int) -> list[ChunkedDocument]:
        """Every document of `paths` read and chunked by Ray tasks, in the order one process would read them.

        The paths must be readable at the same place on every node (one machine, or a shared mount).
        """
        if not paths:
            return []
        # Each file is named as given (as one process stores it) but read by its absolute path: the tasks'
        # working folder is not this one.
        items = [
            {"file": number, "path": str(path), "read_from": str(path.resolve())} for number, path in enumerate(paths)
        ]
        blocks = min(len(items), max(2, 4 * self.cluster_cpus()))
        dataset = self._ray.data.from_items(items, override_num_blocks=blocks).flat_map(
            _read_and_chunk, fn_kwargs={"chunking": chunking, "title_repeats": title_repeats}
        )
        found: list[tuple[int, int, ChunkedDocument]] = []
        failed: list[tuple[int, str]] = []
        for row in _unwrapped(dataset.iter_rows()):
            if row["error"]:
                failed.append((int(row["file"]), str(row["error"])))
                continue
            found.append((int(row["file"]), int(row["position"]), row["chunked"]))
            self.read_by[str(row["node"])] += 1
        if failed:  # the first bad file in input order, as one process names it; nothing is written
            raise DocumentLoadError(min(failed)[1])
        return [chunked for _, _, chunked in sorted(found, key=lambda item: (item[0], item[1]))]

    def write(
        self,
        collection: Collection,
        chunked: Sequence[ChunkedDocument],
        *,
        embedder: EmbedderSpec,
        actors: int | None = None,
        on_progress: Callable[[int], object] | None = None,
    ) -> list[IngestResult]:
        """Embed on the cluster's actors and write through the collection, batch by batch, in input order."""
        by_id = {item.document.id: item for item in chunked}

        def prepare(batches: Iterator[list[Document]]) -> Iterator[list[PreparedDocument]]:
            expected = collection.embedder.name
            return self._embed(list(batches), by_id, embedder=embedder, expected=expected, actors=actors)

        return collection.ingest([item.document for item in chunked], on_progress=on_progress, prepare=prepare)

    def _embed(
        self,
        batches: list[list[Document]],
        by_id: Mapping[str, ChunkedDocument],
        *,
        embedder: EmbedderSpec,
        expected: str,
        actors: int | None,
    ) -> Iterator[list[PreparedDocument]]:
        if not batches:  # every document unchanged: no actor is started
            return
        plan = plan_actors(
            self._ray.cluster_resources(), batches=len(batches), backend=embedder.backend, requested=actors
        )
        self.actors = plan.actors
        items = [{"batch": number, "texts": _index_texts(batch, by_id)} for number, batch in enumerate(batches)]
        # One block per write batch, so each actor call embeds one whole batch (see the module's docstring).
        dataset = self._ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
            _EmbedActor,
            fn_constructor_kwargs={"spec": embedder, "device": plan.device},
            batch_size=1,
            batch_format="numpy",
            # One batch at a time per actor: a batch queued behind a busy actor would wait while another idles.
            compute=self._ray.data.ActorPoolStrategy(size=plan.actors, max_tasks_in_flight_per_actor=1),
            num_cpus=plan.num_cpus,
            num_gpus=plan.num_gpus,
        )
        # Batches come back in any order; they are written in input order, so row ids match one process's.
        waiting: dict[int, Any] = {}
        next_batch = 0
        for row in _unwrapped(dataset.iter_rows()):
            if row["model"] != expected:
                raise FootnoteError(
                    f"the Ray actors embed with {row['model']!r} but the store holds {expected!r} vectors; "
                    "install the same Footnote and settings on every node"
                )
            vectors = np.frombuffer(row["vectors"], dtype=np.float32).reshape(int(row["rows"]), -1)
            waiting[int(row["batch"])] = vectors
            self.embedded_by[str(row["node"])] += len(vectors)
            while next_batch in waiting:
                yield _prepared(batches[next_batch], by_id, waiting.pop(next_batch))
                next_batch += 1


class _EmbedActor:
    """A Ray actor: loads the embedder once, then embeds one write batch's passage texts per call."""

    def __init__(self, spec: EmbedderSpec, device: str) -> None:
        import ray

        self._embedder = spec.build(device=device)
        self._node = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        numbers, vectors, rows = [], [], []
        for number, texts in zip(batch["batch"], batch["texts"], strict=True):
            embedded = self._embedder.embed_passages([str(text) for text in texts])
            numbers.append(int(number))
            vectors.append(np.ascontiguousarray(embedded, dtype=np.float32).tobytes())
            rows.append(len(embedded))
        return {
            "batch": np.asarray(numbers, dtype=np.int64),
            "vectors": np.asarray(vectors, dtype=object),
            "rows": np.asarray(rows, dtype=np.int64),
            "model": np.asarray([self._embedder.name] * len(numbers), dtype=object),
            "node": np.asarray([self._node] * len(numbers), dtype=object),
        }


def _read_and_chunk(row: dict[str, Any], *, chunking: ChunkingSettings, title_repeats: int) -> list[dict[str, Any]]:
    """A Ray task's work for one file: load it, cut each document into passages and tokenise them for BM25."""
    import ray

    node = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]
    given, read_from = Path(row["path"]), Path(row["read_from"])
    if not read_from.is_file():
        missing = (
            f"{given}: not found on the Ray node {node}; every node must see the files at the same path "
            "(a shared mount), or ingest without --ray"
        )
        return [{"file": row["file"], "position": 0, "chunked": None, "error": missing, "node": node}]
    try:
        documents = load_bytes(given, read_from.read_bytes())
    except DocumentLoadError as error:
        # Returned, not raised: Ray hands a raised error back as the text of its traceback only.
        return [{"file": row["file"], "position": 0, "chunked": None, "error": str(error), "node": node}]
    out = []
    for position, document in enumerate(documents):
        passages = chunk_document(document, chunking)
        tokens = [passage_tokens(document.title, p, title_repeats=title_repeats) for p in passages]
        chunked = ChunkedDocument(document, passages, tokens)
        out.append({"file": row["file"], "position": position, "chunked": chunked, "error": "", "node": node})
    return out


def _index_texts(batch: list[Document], by_id: Mapping[str, ChunkedDocument]) -> list[str]:
    return [passage_index_text(doc.title, passage) for doc in batch for passage in by_id[doc.id].passages]


def _prepared(
    batch: list[Document], by_id: Mapping[str, ChunkedDocument], vectors: np.ndarray
) -> list[PreparedDocument]:
    expected = sum(len(by_id[doc.id].passages) for doc in batch)
    if len(vectors) != expected:
        raise FootnoteError(f"a Ray actor returned {len(vectors)} vectors for {expected} passages; nothing written")
    prepared, position = [], 0
    for doc in batch:
        item = by_id[doc.id]
        count = len(item.passages)
        prepared.append(PreparedDocument(doc, item.passages, item.tokens, vectors[position : position + count]))
        position += count
    return prepared


def _unwrapped(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The rows of a Ray dataset; a failure on the cluster (a node lost, an actor that cannot load its model)
    becomes one Footnote error. What was written before it stays whole, and re-running the ingest skips it."""
    try:
        yield from rows
    except Exception as error:
        raise FootnoteError(f"the Ray ingest failed: {_first_line(error)}") from error


def _first_line(error: BaseException) -> str:
    """One line for the CLI: a Ray error's text is a remote traceback whose last line names the error."""
    lines = [line.strip() for line in _ANSI.sub("", str(error)).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    return lines[-1] if "Traceback" in str(error) or "ray::" in lines[0] else lines[0]
