"""The `footnote` command line: ingest, search, manage documents, and any plugged-in commands (eval)."""

from __future__ import annotations

import argparse
import logging
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_settings import SettingsError

from index import Collection, FootnoteError, IngestStatus, load_paths
from service.answering import Turn, build_answerer, index_demo_corpus_if_empty, open_collection
from service.cli.index_commands import add_index_commands
from service.cli.model_commands import add_model_commands
from service.cli.ray_ingest import add_ray_options, ingest_on_ray
from service.http.models.api import NOT_BLANK, DocumentOut, DocumentSummaryOut, IngestResultOut, PassageOut
from service.http.serve import add_serve_command
from service.settings import Settings, get_settings

Handler = Callable[[argparse.Namespace], int]
# Other packages (eval/) add subcommands through this entry-point group, so nothing here imports them.
COMMAND_PLUGINS = "footnote.commands"
EXIT_USER_ERROR = 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; user errors print a one-line message and return a non-zero exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except FootnoteError as error:
        print(f"footnote: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (ValidationError, SettingsError) as error:
        print(f"footnote: error: invalid FOOTNOTE_* setting: {_first_line(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("footnote: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every built-in and plugged-in subcommand."""
    parser = argparse.ArgumentParser(prog="footnote", description="Cited answers over your articles.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    ingest = commands.add_parser("ingest", help="add or update documents from files, folders or globs")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--json", action="store_true", help="print one JSON list of per-document results")
    add_ray_options(ingest)
    ingest.set_defaults(handler=_ingest)

    search = commands.add_parser("search", help="print the passages retrieved for a question")
    search.add_argument("question", type=_question)
    search.add_argument("-k", type=_positive_int, default=None, help="how many passages (default: FOOTNOTE_TOP_K)")
    search.add_argument("--mode", choices=["hybrid", "dense", "lexical"], default=None)
    search.add_argument("--json", action="store_true", help="print one JSON list of passages")
    search.set_defaults(handler=_search)

    ask = commands.add_parser("ask", help="answer a question with citations to exact quotes")
    ask.add_argument("question", type=_question)
    ask.add_argument("-k", type=_positive_int, default=None, help="passages to retrieve (default: FOOTNOTE_ANSWER_K)")
    ask.add_argument("--model", default=None, help="any litellm model string (default: FOOTNOTE_MODEL)")
    ask.add_argument("--extractive", action="store_true", help="quote the sources without a language model")
    ask.add_argument(
        "--previous",
        action="append",
        default=[],
        metavar="QUESTION",
        help="an earlier question of the conversation (repeat for several, oldest first)",
    )
    ask.add_argument("--json", action="store_true", help="print the answer object as JSON")
    ask.set_defaults(handler=_ask)

    docs = commands.add_parser("docs", help="list, show or delete stored documents")
    docs_commands = docs.add_subparsers(title="docs commands", metavar="ACTION")
    docs_list = docs_commands.add_parser("list", help="list stored documents")
    docs_list.add_argument("--offset", type=_non_negative_int, default=0)
    docs_list.add_argument("--limit", type=_positive_int, default=None)
    docs_list.add_argument("--json", action="store_true")
    docs_list.set_defaults(handler=_docs_list)
    docs_show = docs_commands.add_parser("show", help="show one document with its text")
    docs_show.add_argument("id")
    docs_show.add_argument("--json", action="store_true")
    docs_show.set_defaults(handler=_docs_show)
    docs_delete = docs_commands.add_parser("delete", help="delete one document")
    docs_delete.add_argument("id")
    docs_delete.set_defaults(handler=_docs_delete)

    add_index_commands(commands)
    add_model_commands(commands)
    add_serve_command(commands)

    for plugin in entry_points(group=COMMAND_PLUGINS):
        plugin.load()(commands)
    return parser


def _first_line(error: Exception) -> str:
    if isinstance(error, ValidationError) and error.errors():
        first = error.errors()[0]
        return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"
    return str(error).splitlines()[0]


def print_json(value: Any) -> None:
    """Print pydantic models (or lists of them) as one JSON document."""
    if isinstance(value, BaseModel):
        print(value.model_dump_json(indent=2))
    else:
        print(TypeAdapter(Any).dump_json(value, indent=2).decode())


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _question(text: str) -> str:
    # The same rule as the HTTP API's: a blank question is a usage error, not a question nobody can answer.
    if not re.search(NOT_BLANK, text):
        raise argparse.ArgumentTypeError("a question needs at least one word")
    return text


def _positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    settings = get_settings()
    if args.ray is None:
        # Load and check every file before storing anything, so one bad file does not leave a partial ingest.
        documents = load_paths(args.paths)
        if not documents:  # every file holds at least one document (an empty one is an error), so: no files
            raise FootnoteError("no supported files found in " + ", ".join(args.paths))
    collection = open_collection(settings)
    try:
        if args.ray is not None:  # the same checks and writes, with reading and embedding on a Ray cluster
            results = ingest_on_ray(collection, args, settings)
        else:
            with tqdm(total=len(documents), unit="doc", desc="ingest", file=sys.stderr, disable=None) as bar:
                results = collection.ingest(documents, on_progress=bar.update)
    finally:
        collection.close()
    if args.json:
        print_json([IngestResultOut.from_result(r) for r in results])
        return 0
    counts = {status: sum(r.status is status for r in results) for status in IngestStatus}
    passages = sum(r.passages for r in results if r.status is not IngestStatus.UNCHANGED)
    print(
        f"{counts[IngestStatus.ADDED]} added, {counts[IngestStatus.UPDATED]} updated, "
        f"{counts[IngestStatus.UNCHANGED]} unchanged ({passages} passages indexed) in {settings.home}"
    )
    return 0


def _search(args: argparse.Namespace) -> int:
    from index import Retriever

    settings = get_settings()
    if args.mode is not None:
        settings = settings.model_copy(update={"retrieval_mode": args.mode})
    collection = open_collection(settings)
    try:
        _index_demo_corpus_if_empty(collection, settings)
        results = Retriever(collection, settings.retrieval_settings()).search(args.question, k=args.k)
    finally:
        collection.close()
    passages = [PassageOut.from_scored(r) for r in results]
    if args.json:
        print_json(passages)
        return 0
    if not passages:
        print("No passages found.")
    for rank, passage in enumerate(passages, start=1):
        dated = f", {passage.date}" if passage.date else ""
        print(
            f"[{rank}] {passage.title}{dated}  ({passage.passage_id}, chars {passage.start}-{passage.end}, "
            f"score {passage.score:.4f})"
        )
        print(textwrap.indent(passage.text, "    ") + "\n")
    return 0


def _ask(args: argparse.Namespace) -> int:
    settings = get_settings()
    if args.extractive:
        settings = settings.model_copy(update={"answer_mode": "extractive"})
    collection = open_collection(settings)
    try:
        _index_demo_corpus_if_empty(collection, settings)
        history = [Turn(role="user", content=previous) for previous in args.previous]
        answerer = build_answerer(collection, settings, model=args.model)
        answer = answerer.answer(args.question, history=history, k=args.k)
    finally:
        collection.close()
    if args.json:
        print_json(answer)
        return 0
    print(answer.text)
    if answer.citations:
        print("\nSources:")
    for citation in answer.citations:
        dated = f", {citation.date}" if citation.date else ""
        where = f"{citation.document_id}, chars {citation.start}-{citation.end}"
        print(f"[{citation.marker}] {citation.title}{dated} ({where})")
        print(textwrap.indent(shown_quote(citation.quote), "    "))
    checker = "a heuristic scorer" if answer.judge == "heuristic" else f"the judge {answer.judge}"
    how = {
        "generated": f"written by {answer.model}; each sentence checked against its quote by {checker}",
        "extractive": f"quoted from the sources, chosen by {checker}",
        "abstained": "no answer in the articles",
    }[answer.mode]
    if answer.degraded:
        # The model failed or ran out of time: say so, and that these are verified quotes instead.
        how = f"the language model failed ({answer.degraded}), so this answer quotes the sources; {how}"
    print(f"\n({how}; {answer.timings.total_ms / 1000:.1f} s)", file=sys.stderr)
    return 0


def shown_quote(quote: str) -> str:
    """A quote as the CLI prints it under its source: in quotation marks, unless it opens with one of its own
    ("“There may be millions of refugees,” Putin has claimed, ..." showed two)."""
    return quote if quote[:1] in "“\"‘'«" else f"“{quote}”"


def _index_demo_corpus_if_empty(collection: Collection, settings: Settings) -> None:
    """Index the bundled articles into an empty store, saying so on stderr."""
    if collection.count_documents() == 0:
        print(f"footnote: the store is empty; indexing the bundled corpus from {settings.demo_corpus}", file=sys.stderr)
        index_demo_corpus_if_empty(collection, settings)


def _docs_list(args: argparse.Namespace) -> int:
    collection = open_collection(get_settings())
    try:
        summaries = [
            DocumentSummaryOut.from_summary(s) for s in collection.list_documents(offset=args.offset, limit=args.limit)
        ]
        total = collection.count_documents()
    finally:
        collection.close()
    if args.json:
        print_json(summaries)
        return 0
    for summary in summaries:
        dated = f"  {summary.date}" if summary.date else ""
        print(f"{summary.id}  {summary.title}{dated}  ({summary.passages} passages)")
    print(f"{len(summaries)} of {total} documents")
    return 0


def _docs_show(args: argparse.Namespace) -> int:
    collection = open_collection(get_settings())
    try:
        document = collection.get_document(args.id)
    finally:
        collection.close()
    out = DocumentOut.from_document(document)
    if args.json:
        print_json(out)
        return 0
    print(f"{out.title}\nid: {out.id}\ndate: {out.date or '-'}\nsource: {out.source or '-'}\npath: {out.path or '-'}\n")
    print(out.text)
    return 0


def _docs_delete(args: argparse.Namespace) -> int:
    collection = open_collection(get_settings())
    try:
        collection.delete(args.id)
    finally:
        collection.close()
    print(f"deleted {args.id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
