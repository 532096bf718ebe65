"""`footnote ingest --ray` on a real two-node Ray cluster against a single-process ingest of the same files.

The cluster (head on 127.0.0.2, worker on 127.0.0.3, separate processes, token auth in a temporary folder) starts
once for the module. The corpus is the bundled articles plus generated ones of about 1,100 passages, cut at 40
words so that the ingest takes two write batches (one per node) and stays within a minute per run.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.ray_cluster import ClusterUnavailableError, LocalRayCluster, local_ray_cluster
from index import ChunkingSettings, Collection, CollectionSettings, Document, chunk_document, load_paths
from index.collection import _PASSAGES_PER_WRITE, passage_index_text, passage_tokens
from index.ray_ingest import plan_actors
from index.store import DATABASE_NAME, PreparedDocument
from service.cli import main
from service.settings import get_settings
from tests.conftest import BUNDLED_CORPUS
from tests.fakes import FakeEmbedder

MAX_WORDS = 40
QUESTIONS = ["why is Russia expanding its role?", "Taliban border security", "trade talks with China"]
FOOTNOTE = str(Path(sys.executable).with_name("footnote"))
NODES = re.compile(r"(\d+) actors embedded (\d+) passages on (\d+) nodes \(([^)]*)\)")


# --- fast checks, no cluster -------------------------------------------------------------------------
def test_actors_one_per_cpu_or_gpu_never_more_than_batches() -> None:
    assert plan_actors({"CPU": 4.0}, batches=10, backend="torch").actors == 4
    assert plan_actors({"CPU": 4.0}, batches=3, backend="torch").actors == 3
    assert plan_actors({"CPU": 4.0}, batches=10, backend="torch", requested=2).actors == 2
    on_gpus = plan_actors({"CPU": 16.0, "GPU": 2.0}, batches=10, backend="torch")
    assert (on_gpus.actors, on_gpus.num_gpus, on_gpus.device) == (2, 1.0, "cuda")
    # The ONNX backends run on the CPU only, GPUs or not.
    onnx = plan_actors({"CPU": 16.0, "GPU": 2.0}, batches=10, backend="onnx-int8")
    assert (onnx.actors, onnx.num_gpus, onnx.device) == (10, 0.0, "cpu")


def test_without_ray_the_option_is_a_clear_error(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    assert main(["ingest", str(BUNDLED_CORPUS), "--ray"]) == 1
    err = capsys.readouterr().err
    assert "footnote[ray]" in err and "Traceback" not in err
    assert _documents(home) == []


def test_a_path_after_ray_is_not_taken_for_an_address(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["ingest", "--ray", str(BUNDLED_CORPUS)])
    assert exit_.value.code == 2
    assert "is not a Ray address" in capsys.readouterr().err


def test_prepared_elsewhere_is_stored_as_prepared_here(tmp_path: Path, bundled_documents: list[Document]) -> None:
    """The hook the Ray ingest uses: unchanged documents never reach it, and what it yields is what is stored."""
    seen: list[list[str]] = []
    embedder = FakeEmbedder()

    def prepare(batches: Iterator[list[Document]]) -> Iterator[list[PreparedDocument]]:
        for batch in batches:
            seen.append([doc.id for doc in batch])
            prepared = []
            for doc in batch:
                passages = chunk_document(doc, CollectionSettings().chunking)
                tokens = [passage_tokens(doc.title, p, title_repeats=3) for p in passages]
                vectors = embedder.embed_passages([passage_index_text(doc.title, p) for p in passages])
                prepared.append(PreparedDocument(doc, passages, tokens, vectors))
            yield prepared

    hooked = Collection(tmp_path / "hooked", embedder=embedder)
    plain = Collection(tmp_path / "plain", embedder=FakeEmbedder())
    try:
        assert hooked.ingest(bundled_documents, prepare=prepare) == plain.ingest(bundled_documents)
        assert seen == [[doc.id for doc in bundled_documents]]
        assert _passages(hooked.store.path) == _passages(plain.store.path)
        assert [r.status for r in hooked.ingest(bundled_documents, prepare=prepare)] == ["unchanged", "unchanged"]
        assert len(seen) == 1
    finally:
        hooked.close()
        plain.close()


# --- the real cluster ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalRayCluster]:
    token = Path.home() / ".ray" / "auth_token"
    before = token.stat().st_mtime if token.exists() else None
    try:
        with local_ray_cluster() as running:
            yield running
    except ClusterUnavailableError as error:
        pytest.skip(f"two Ray nodes cannot run on this platform: {error}")
    after = token.stat().st_mtime if token.exists() else None
    assert after == before, "the cluster or a driver wrote ~/.ray/auth_token"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled articles plus generated ones: at least 1,000 passages, at least two write batches."""
    folder = tmp_path_factory.mktemp("ray-corpus")
    shutil.copytree(BUNDLED_CORPUS, folder / "bundled")
    words = re.findall(r"[A-Za-z]{3,}", " ".join(p.read_text() for p in BUNDLED_CORPUS.glob("*.md")))
    rng = random.Random(15)
    generated = folder / "generated"
    generated.mkdir()
    for number in range(80):
        sentences = [" ".join(rng.choices(words, k=rng.randint(6, 16))).capitalize() + "." for _ in range(28)]
        date = f"2021-{number % 12 + 1:02d}-{number % 28 + 1:02d}"
        front = f"---\ntitle: Generated report {number}\ndate: {date}\n---\n"
        (generated / f"report-{number:03d}.md").write_text(front + " ".join(sentences) + "\n")
    documents = load_paths([str(generated)])
    passages = sum(len(chunk_document(d, ChunkingSettings(max_words=MAX_WORDS))) for d in documents)
    words_total = sum(len(d.text.split()) for d in load_paths([str(folder)]))
    assert passages >= 1000 and words_total > _PASSAGES_PER_WRITE * MAX_WORDS, (passages, words_total)
    return folder


@pytest.fixture(scope="module")
def single(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store a single-process `footnote ingest` writes (here, in this process)."""
    home = tmp_path_factory.mktemp("single")
    with _settings(home):
        assert _cli("ingest", "--json", str(corpus))[0] == 0
    return home


@pytest.fixture(scope="module")
def on_ray(cluster: LocalRayCluster, corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The store `footnote ingest --ray` writes from a separate driver process, and what it said on stderr."""
    home = tmp_path_factory.mktemp("on-ray")
    return home, _ray_ingest(cluster, home, [str(corpus)])


def _ray_ingest(cluster: LocalRayCluster, home: Path, paths: list[str]) -> str:
    env = {**cluster.env, "FOOTNOTE_HOME": str(home), "FOOTNOTE_CHUNK_MAX_WORDS": str(MAX_WORDS)}
    done = subprocess.run(
        [FOOTNOTE, "ingest", "--ray", cluster.address, *paths],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:] + cluster.log_tail()
    assert re.match(r"\d+ added, 0 updated, 0 unchanged", done.stdout), done.stdout
    return done.stderr


@pytest.mark.slow
def test_ray_stores_the_same_documents_passages_and_vectors(single: Path, on_ray: tuple[Path, str]) -> None:
    assert _documents(on_ray[0]) == _documents(single)
    expected, got = _passages(single / DATABASE_NAME), _passages(on_ray[0] / DATABASE_NAME)
    assert len(got) >= 1000
    # Same row ids too: the batches are written in input order, as one process writes them.
    assert [row[:-1] for row in got] == [row[:-1] for row in expected]
    difference = np.abs(_vectors(got) - _vectors(expected)).max()
    assert difference <= 1e-5, difference


@pytest.mark.slow
def test_ray_search_json_is_identical(single: Path, on_ray: tuple[Path, str]) -> None:
    for question in QUESTIONS:
        for mode in ("hybrid", "dense", "lexical"):
            expected = _search(single, question, mode)
            assert json.loads(expected), question
            assert _search(on_ray[0], question, mode) == expected, (question, mode)


@pytest.mark.slow
def test_both_nodes_read_and_embedded(on_ray: tuple[Path, str]) -> None:
    stderr = on_ray[1]
    assert re.search(r"Ray read \d+ documents on 2 nodes \(127\.0\.0\.2: [1-9]\d*, 127\.0\.0\.3: [1-9]\d*\)", stderr), (
        stderr
    )
    found = NODES.search(stderr)
    assert found is not None, stderr
    actors, passages, nodes, counts = found.groups()
    assert (actors, nodes) == ("2", "2")
    per_node = dict(part.split(": ") for part in counts.split(", "))
    assert set(per_node) == {"127.0.0.2", "127.0.0.3"} and all(int(n) > 0 for n in per_node.values())
    assert sum(int(n) for n in per_node.values()) == int(passages) == len(_passages(on_ray[0] / DATABASE_NAME))


@pytest.mark.slow
def test_shuffled_input_gives_the_same_store(
    cluster: LocalRayCluster, corpus: Path, single: Path, tmp_path: Path
) -> None:
    files = sorted(str(p) for p in corpus.rglob("*.md"))
    random.Random(7).shuffle(files)
    _ray_ingest(cluster, tmp_path, files)
    assert _documents(tmp_path) == _documents(single)
    by_key = {row[1:3]: row for row in _passages(single / DATABASE_NAME)}
    shuffled = {row[1:3]: row for row in _passages(tmp_path / DATABASE_NAME)}
    assert shuffled.keys() == by_key.keys()
    # Other batch-mates pad differently: vectors agree to rounding, offsets and tokens exactly.
    for key, row in shuffled.items():
        assert row[3:6] == by_key[key][3:6]
        assert np.abs(np.frombuffer(row[6], np.float32) - np.frombuffer(by_key[key][6], np.float32)).max() <= 1e-5
    for question in QUESTIONS:
        expected = json.loads(_search(single, question, "dense"))
        got = json.loads(_search(tmp_path, question, "dense"))
        assert [p["passage_id"] for p in got] == [p["passage_id"] for p in expected]
        assert np.allclose([p["score"] for p in got], [p["score"] for p in expected], atol=1e-5)


@pytest.mark.slow
def test_a_bad_file_fails_clearly_and_stores_nothing(cluster: LocalRayCluster, tmp_path: Path) -> None:
    folder = tmp_path / "input"
    folder.mkdir()
    shutil.copy(BUNDLED_CORPUS / "russia-afghan-security-2021.md", folder)
    (folder / "broken.jsonl").write_text('{"_id": "a", "text": "fine"}\n{not json\n')
    env = {**cluster.env, "FOOTNOTE_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [FOOTNOTE, "ingest", "--ray", cluster.address, str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 1
    assert "broken.jsonl:2: malformed JSON" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert _documents(tmp_path / "home") == []


# --- helpers -------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _settings(home: Path) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FOOTNOTE_HOME", str(home))
        patch.setenv("FOOTNOTE_CHUNK_MAX_WORDS", str(MAX_WORDS))
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()


def _cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def _search(home: Path, question: str, mode: str) -> str:
    with _settings(home):
        code, out = _cli("search", question, "--mode", mode, "-k", "10", "--json")
    assert code == 0
    return out


def _documents(home: Path) -> list[tuple[Any, ...]]:
    if not (home / DATABASE_NAME).exists():
        return []
    with contextlib.closing(sqlite3.connect(home / DATABASE_NAME)) as db:
        return db.execute(
            "SELECT id, title, date, source, path, text, content_hash FROM documents ORDER BY id"
        ).fetchall()


def _passages(database: Path) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return db.execute(
            'SELECT rowid, document_id, ordinal, start, "end", tokens, vector FROM passages ORDER BY rowid'
        ).fetchall()


def _vectors(rows: list[tuple[Any, ...]]) -> np.ndarray:
    return np.vstack([np.frombuffer(row[-1], dtype=np.float32) for row in rows])
