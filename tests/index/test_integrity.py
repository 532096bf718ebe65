"""The store's checksums and checks, function by function: what a checksum tells apart, how a report keeps
problems, how a schema script is cut, and what check_database finds in rows whose checksums are all valid.
Damage done to real store files is in test_corruption.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index import Document, Passage
from index.integrity import (
    MANIFEST_SCHEMA,
    IntegrityReport,
    check_database,
    checksum,
    compare_with_manifest,
    decode_text,
    schema_statements,
)
from index.store import DATABASE_NAME, DocumentStore, PreparedDocument

TEXT = "The council closed the old bridge. Inspectors found cracks. A ferry carries the traffic."


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("ab", "c"), ("a", "bc")),  # where one value ends and the next begins
        ((1,), ("1",)),  # an integer and its digits
        ((None,), ("",)),  # nothing and an empty string
        ((b"x",), ("x",)),  # bytes and text
        (("a", "b"), ("b", "a")),  # order
        ((), ("",)),
    ],
)
def test_a_checksum_tells_apart_values_that_would_encode_alike(
    one: tuple[object, ...], other: tuple[object, ...]
) -> None:
    assert checksum(one) != checksum(other)


def test_a_checksum_is_stable_and_reads_text_that_is_not_valid_utf8() -> None:
    assert checksum(("a", 1, None, b"\x00")) == checksum(("a", 1, None, b"\x00"))
    damaged = decode_text(b"caf\xe9")
    assert damaged.encode("utf-8", "surrogateescape") == b"caf\xe9", "the damaged bytes survive decoding"
    assert checksum((damaged,)) != checksum(("caf\u00e9",))


def test_a_report_keeps_the_first_twenty_problems_word_for_word_counts_the_rest_and_skips_repeats() -> None:
    report = IntegrityReport()
    assert report.ok and report.summary() == ""
    for n in range(25):
        report.problem(f"problem {n}")
    report.problem("problem 0")
    assert not report.ok
    assert len(report.problems) == 20 and report.more_problems == 5
    assert report.summary() == "problem 0; problem 1; problem 2; and 22 more"


def test_a_report_with_three_problems_or_fewer_lists_them_all() -> None:
    report = IntegrityReport()
    for n in range(3):
        report.problem(f"problem {n}")
    assert report.summary() == "problem 0; problem 1; problem 2"


def test_a_schema_script_is_cut_into_whole_statements_even_where_trigger_bodies_hold_semicolons() -> None:
    statements = schema_statements(MANIFEST_SCHEMA)
    assert len(statements) == 7, "the manifest table and six triggers"
    assert all(sqlite3.complete_statement(s) for s in statements)
    assert sum(s.startswith("CREATE TRIGGER") and s.endswith("END;") for s in statements) == 6
    assert schema_statements("  ;\n;") == []


def test_a_missing_manifest_and_each_count_and_digest_that_differs_is_a_problem() -> None:
    missing = IntegrityReport()
    compare_with_manifest(missing, None, documents=2, passages=5, document_digest=1, passage_digest=1)
    assert missing.problems == ["the manifest of row counts and checksums is missing"]

    report = IntegrityReport()
    compare_with_manifest(report, (2, 5, 10, 20), documents=3, passages=5, document_digest=10, passage_digest=21)
    assert report.problems == [
        "3 documents stored but the manifest records 2",
        "the passage checksums do not add up to the manifest's digest",
    ]
    unchecked = IntegrityReport()
    compare_with_manifest(
        unchecked, (2, 5, 10, 20), documents=None, passages=None, document_digest=None, passage_digest=None
    )
    assert unchecked.ok, "None means not checked"


def write(path: Path, passages: list[Passage], *, dimensions: list[int] | None = None) -> None:
    """A store holding one document with the given passages, every row with a valid checksum."""
    store = DocumentStore(path)
    document = Document(id="bridge", title="Bridge", text=TEXT)
    vectors = [np.ones(d, dtype=np.float32) for d in dimensions or [4] * len(passages)]
    sizes = {len(v) for v in vectors}
    if len(sizes) == 1:
        stacked = np.vstack(vectors)
        store.write_documents([PreparedDocument(document, passages, ["t"] * len(passages), stacked)])
    else:
        for n, (passage, vector) in enumerate(zip(passages, vectors, strict=True)):
            other = Document(id=f"bridge-{n}", title="Bridge", text=TEXT)
            moved = Passage(other.id, 0, passage.start, passage.end, passage.text)
            store.write_documents([PreparedDocument(other, [moved], ["t"], vector.reshape(1, -1))])
    store.close()


def passage(ordinal: int, start: int, end: int) -> Passage:
    return Passage("bridge", ordinal, start, end, TEXT[start:end])


def test_a_store_of_sound_rows_passes_and_is_counted(tmp_path: Path) -> None:
    path = tmp_path / DATABASE_NAME
    write(path, [passage(0, 0, 34), passage(1, 35, len(TEXT))])
    report = check_database(path)
    assert report.ok, report.problems
    assert (report.documents, report.passages) == (1, 2)


@pytest.mark.parametrize(
    ("passages", "problem"),
    [
        ([passage(0, 0, 34), Passage("bridge", 1, 35, len(TEXT) + 10, "")], "outside its document"),
        ([passage(0, 20, 10)], "outside its document"),
        ([passage(0, 0, 34), passage(2, 35, len(TEXT))], "is missing passages"),
        ([passage(1, 0, 34)], "is missing passages"),
    ],
    ids=["past-the-end", "backwards", "gap-in-ordinals", "no-first-passage"],
)
def test_rows_with_valid_checksums_but_impossible_offsets_or_ordinals_are_problems(
    tmp_path: Path, passages: list[Passage], problem: str
) -> None:
    path = tmp_path / DATABASE_NAME
    write(path, passages)
    report = check_database(path)
    assert any(problem in p for p in report.problems), report.problems
    assert report.damaged_documents == {"bridge"}


def test_vectors_of_two_sizes_are_a_problem(tmp_path: Path) -> None:
    path = tmp_path / DATABASE_NAME
    write(path, [passage(0, 0, 34), passage(0, 35, len(TEXT))], dimensions=[4, 8])
    report = check_database(path)
    assert any("vectors of different sizes" in p for p in report.problems)


def test_checking_changes_nothing_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / DATABASE_NAME
    write(path, [passage(0, 0, 34), passage(1, 35, len(TEXT))])
    before = path.read_bytes()
    check_database(path)
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


def test_a_missing_file_or_one_that_is_not_a_database_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    missing = check_database(tmp_path / "nowhere.db")
    assert missing.problems == [f"{tmp_path / 'nowhere.db'} does not exist"]
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not sqlite at all " * 500)
    report = check_database(garbage)
    assert not report.ok and "cannot be read" in report.problems[0]
