"""`footnote index check` and `footnote index rebuild`: verify the store, and re-index or repair it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from index import (
    DATABASE_NAME,
    FootnoteError,
    IntegrityReport,
    StoreCorruptError,
    check_database,
    get_embedder,
    salvage_store,
)
from service.answering import open_collection
from service.settings import Settings, get_settings

EXIT_DAMAGED = 1


def add_index_commands(commands: Any) -> None:
    """Register `index check` and `index rebuild` on the CLI's subcommands."""
    index = commands.add_parser("index", help="check, re-index or repair the store")
    index_commands = index.add_subparsers(title="index commands", metavar="ACTION")
    check = index_commands.add_parser(
        "check",
        help="verify every checksum, offset and count of the store, and that Milvus mirrors it when that is the "
        "index backend (exit 1 when either is damaged)",
    )
    check.add_argument("--json", action="store_true", help="print the findings as one JSON object")
    check.set_defaults(handler=_index_check)
    rebuild = index_commands.add_parser(
        "rebuild",
        help="re-chunk and re-embed every stored document; a damaged store is repaired from its intact documents; "
        "with the Milvus backend, Milvus is rebuilt from the store",
    )
    rebuild.set_defaults(handler=_index_rebuild)


def _index_check(args: argparse.Namespace) -> int:
    settings = get_settings()
    path = settings.home / DATABASE_NAME
    report = check_database(path)
    milvus = _compare_milvus(settings, report) if settings.index_backend == "milvus" and report.ok else None
    milvus_ok = milvus is None or (isinstance(milvus, IntegrityReport) and milvus.ok)
    if args.json:
        print(json.dumps({**_as_json(path, report, milvus), "ok": report.ok and milvus_ok}, indent=2))
        return 0 if report.ok and milvus_ok else EXIT_DAMAGED
    for note in report.notes + (milvus.notes if isinstance(milvus, IntegrityReport) else []):
        print(f"footnote: note: {note}", file=sys.stderr)
    if not report.ok:
        _print_problems(f"{path} is damaged and will not be served", report)
        print(
            "Run `footnote index rebuild` to rebuild it from the intact documents (the damaged file is kept).",
            file=sys.stderr,
        )
        return EXIT_DAMAGED
    if isinstance(milvus, str):
        print(f"footnote: error: the store is intact but could not be compared with Milvus: {milvus}", file=sys.stderr)
        return EXIT_DAMAGED
    if milvus is not None and not milvus.ok:
        _print_problems(f"Milvus ({settings.milvus_settings().uri}) does not mirror {path}", milvus)
        print("Run `footnote index rebuild` to rebuild Milvus from the store (the store is intact).", file=sys.stderr)
        return EXIT_DAMAGED
    print(
        f"{path}: ok ({report.documents} documents, {report.passages} passages; "
        "SQLite's integrity check, every checksum, offset and count verified"
        + ("; Milvus mirrors every passage)" if milvus is not None else ")")
    )
    return 0


def _print_problems(headline: str, report: IntegrityReport) -> None:
    print(f"footnote: error: {headline}:", file=sys.stderr)
    for problem in report.problems:
        print(f"  - {problem}", file=sys.stderr)
    if report.more_problems:
        print(f"  - and {report.more_problems} more", file=sys.stderr)


def _compare_milvus(settings: Settings, store: IntegrityReport) -> IntegrityReport | str:
    """How Milvus differs from the (intact) store, without changing either; a message when it cannot be read."""
    from index.milvus_store import MilvusStore
    from index.milvus_sync import MilvusMirror

    report = IntegrityReport(documents=store.documents, passages=store.passages)
    try:
        milvus = MilvusStore(settings.milvus_settings())
    except FootnoteError as error:
        return str(error)
    try:
        MilvusMirror(milvus, settings.home / DATABASE_NAME, k1=settings.bm25_k1, b=settings.bm25_b).compare(report)
    except FootnoteError as error:
        return str(error)
    finally:
        milvus.close()
    return report


def _as_json(path: Any, report: IntegrityReport, milvus: IntegrityReport | str | None = None) -> dict[str, object]:
    found: dict[str, object] = {
        "path": str(path),
        "ok": report.ok,
        "documents": report.documents,
        "passages": report.passages,
        "problems": report.problems,
        "more_problems": report.more_problems,
        "damaged_documents": sorted(report.damaged_documents),
        "notes": report.notes,
    }
    if isinstance(milvus, str):
        found["milvus"] = {"ok": False, "error": milvus}
    elif milvus is not None:
        found["milvus"] = {"ok": milvus.ok, "problems": milvus.problems, "notes": milvus.notes}
    return found


def _index_rebuild(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    settings = get_settings()
    try:
        collection = open_collection(settings, allow_settings_mismatch=True)
    except StoreCorruptError as error:
        print(f"footnote: {error}", file=sys.stderr)
        print("footnote: repairing it from what can still be read", file=sys.stderr)
        with tqdm(unit="doc", desc="repair", file=sys.stderr, disable=None) as bar:
            report = salvage_store(
                settings.home,
                embedder=get_embedder(settings.embedding_model),
                settings=settings.collection_settings(),
                on_progress=bar.update,
            )
        print(
            f"repaired {settings.home / DATABASE_NAME}: {len(report.recovered)} documents recovered "
            f"({report.passages} passages: {report.reused_vectors} vectors reused, {report.embedded_passages} "
            f"embedded again), {len(report.lost)} lost"
        )
        if report.lost:
            shown = ", ".join(report.lost[:20]) + (", ..." if len(report.lost) > 20 else "")
            print(f"lost documents (ingest them again from their files): {shown}")
        print(f"the damaged store is kept in {report.backup}")
        if settings.index_backend == "milvus":
            _rebuild_milvus(settings)
        return 0
    try:
        with tqdm(total=collection.count_documents(), unit="doc", desc="rebuild", file=sys.stderr, disable=None) as bar:
            passages = collection.rebuild(on_progress=bar.update)
    finally:
        collection.close()
    print(f"re-indexed {passages} passages with {settings.embedding_model}")
    if settings.index_backend == "milvus":
        print(f"Milvus ({settings.milvus_settings().uri}) rebuilt from the store")
    return 0


def _rebuild_milvus(settings: Settings) -> None:
    """Rebuild Milvus from the (repaired) store."""
    collection = open_collection(settings, allow_settings_mismatch=True)
    try:
        passages = collection.rebuild()
    finally:
        collection.close()
    print(f"Milvus ({settings.milvus_settings().uri}) rebuilt from the store: {passages} passages")
