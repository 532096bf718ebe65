"""SQuAD 2.0 (dev half) as question sets: answerable and unanswerable questions sampled by article with a fixed
seed, written in the EvalQuestion format with a provenance file naming exactly what they came from.

The data (eight Wikipedia articles, CC BY-SA 4.0) is never copied into the project: `make eval` reads it from
the shared datasets folder beside the checkout and samples into eval-out/ at run time. Articles are split in
two so that thresholds fitted on one half are reported on the other.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from eval.provenance import git_commit
from eval.questions import EvalQuestion, file_sha256, provenance_path
from index import DocumentLoadError

# Tuning (threshold fitting) reads only the TUNE articles; the figures we report come from the REPORT articles.
TUNE_ARTICLES = ("normans", "huguenot", "1973-oil-crisis", "packet-switching")
REPORT_ARTICLES = ("yuan-dynasty", "scottish-parliament", "imperialism", "french-and-indian-war")
SPLITS: dict[str, tuple[str, ...]] = {"tune": TUNE_ARTICLES, "report": REPORT_ARTICLES}
SOURCE_NAME = "SQuAD 2.0 dev half (Rajpurkar et al., 2018; CS224N split, eight articles)"
LICENCE = "CC BY-SA 4.0"
SELECTION = "per article and class, the questions with the smallest sha256('<seed>:<id>'), in the source's order"


class SquadQuestion(BaseModel):
    """One line of the dataset's questions.jsonl (its `plausible_answers` are empty in this release: ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    document_id: str
    question: str
    answerable: bool
    answers: list[str] = []


@dataclass(frozen=True)
class SquadSource:
    """The dataset folder as read: its questions in file order and the hashes that identify it."""

    folder: Path
    questions: list[SquadQuestion]
    questions_sha256: str
    corpus_sha256: dict[str, str]


def load_squad(folder: Path) -> SquadSource:
    """Read `questions.jsonl` and hash the articles of `corpus/`; a missing folder or file is a clear error."""
    expected = "the SQuAD 2.0 dev half, with questions.jsonl and corpus/ (docs/evaluation.md, SQuAD 2.0)"
    if not folder.is_dir():
        raise DocumentLoadError(f"{folder}: no such folder; expected {expected}")
    questions_file, corpus = folder / "questions.jsonl", folder / "corpus"
    for needed in (questions_file, corpus):
        if not needed.exists():
            raise DocumentLoadError(f"{needed}: missing; {folder} should hold {expected}")
    questions = []
    for number, line in enumerate(questions_file.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                questions.append(SquadQuestion.model_validate_json(line))
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                raise DocumentLoadError(f"{questions_file}:{number}: {where or 'line'}: {first['msg']}") from error
    return SquadSource(
        folder=folder,
        questions=questions,
        questions_sha256=file_sha256(questions_file),
        corpus_sha256={path.stem: file_sha256(path) for path in sorted(corpus.glob("*.md"))},
    )


def sample_questions(
    questions: Sequence[SquadQuestion], *, articles: Sequence[str], per_class: int, seed: int
) -> list[EvalQuestion]:
    """`per_class` answerable and `per_class` unanswerable questions from `articles`, each article giving an
    equal share of each class (the remainder goes to the first articles), as EvalQuestions in the source's order.

    Selection hashes the seed with each question id, so it depends on neither the file's line order nor
    Python's random generator, and a larger sample contains the smaller one.
    """
    if per_class < 1:
        raise DocumentLoadError("the sample needs at least one question of each class")
    if not articles or len(set(articles)) != len(articles):
        raise DocumentLoadError("name each article once, and at least one")
    known = {q.document_id for q in questions}
    unknown = [a for a in articles if a not in known]
    if unknown:
        raise DocumentLoadError(f"no questions on {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    position = {q.id: index for index, q in enumerate(questions)}
    chosen: list[SquadQuestion] = []
    for index, article in enumerate(articles):
        share = per_class // len(articles) + (index < per_class % len(articles))
        for answerable in (True, False):
            pool = [q for q in questions if q.document_id == article and q.answerable == answerable]
            if len(pool) < share:
                kind = "answerable" if answerable else "unanswerable"
                raise DocumentLoadError(f"{article} has {len(pool)} {kind} questions; the sample needs {share}")
            chosen += sorted(pool, key=lambda q: hashlib.sha256(f"{seed}:{q.id}".encode()).hexdigest())[:share]
    return [to_eval_question(q) for q in sorted(chosen, key=lambda q: position[q.id])]


def to_eval_question(question: SquadQuestion) -> EvalQuestion:
    """An answerable question expects one group: its gold answers as alternatives; an unanswerable one a refusal."""
    notes = f"SQuAD 2.0 dev, article {question.document_id}"
    if not question.answerable:
        return EvalQuestion(id=question.id, question=question.question.strip(), answerable=False, notes=notes)
    answers = list(dict.fromkeys(a.strip() for a in question.answers if a.strip()))
    if not answers:
        raise DocumentLoadError(f"SQuAD question {question.id} is answerable but has no answer")
    return EvalQuestion(
        id=question.id,
        question=question.question.strip(),
        answerable=True,
        gold_documents=[question.document_id],
        must_include=[answers],
        notes=notes,
    )


def write_sample(
    out: Path,
    questions: Sequence[EvalQuestion],
    *,
    source: SquadSource,
    split: str | None,
    articles: Sequence[str],
    per_class: int,
    seed: int,
) -> dict[str, Any]:
    """Write the question set and, beside it, the provenance every run on it records; returns the provenance."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(q.model_dump_json(exclude_defaults=True) + "\n" for q in questions), encoding="utf-8")
    which = f"{split} split" if split else "articles"
    provenance = {
        "generator": "footnote eval squad-sample",
        "description": (
            f"{SOURCE_NAME}, {which} ({', '.join(articles)}): {per_class} answerable + {per_class} unanswerable "
            f"questions, seed {seed}"
        ),
        "source": {
            "name": SOURCE_NAME,
            "licence": LICENCE,
            "path": str(source.folder),
            "questions_sha256": source.questions_sha256,
            "corpus_sha256": source.corpus_sha256,
        },
        "split": split,
        "articles": list(articles),
        "per_class": per_class,
        "seed": seed,
        "selection": SELECTION,
        "sha256": file_sha256(out),
        "commit": git_commit(),
    }
    provenance_path(out).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    return provenance


def add_squad_command(actions: Any) -> None:
    """The `squad-sample` subcommand of `footnote eval`."""
    sample = actions.add_parser(
        "squad-sample", help="sample a balanced SQuAD 2.0 question set (by article, fixed seed) as DATASET.jsonl"
    )
    sample.add_argument("source", metavar="DIR", type=Path, help="the SQuAD 2.0 folder (questions.jsonl, corpus/)")
    which = sample.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--split",
        choices=sorted(SPLITS),
        help=f"tune ({', '.join(TUNE_ARTICLES)}) or report ({', '.join(REPORT_ARTICLES)})",
    )
    which.add_argument("--articles", type=_names, metavar="A,B,...", help="these article ids instead of a split")
    sample.add_argument("--per-class", type=int, default=100, help="answerable and unanswerable each (default 100)")
    sample.add_argument("--seed", type=int, default=0, help="default 0")
    sample.add_argument("--out", type=Path, default=None, help="default: eval-out/squad/squad2_<split>.jsonl")
    sample.set_defaults(handler=_squad_sample)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _squad_sample(args: argparse.Namespace) -> int:
    if args.out is None and args.split is None:
        raise DocumentLoadError("--articles needs --out FILE.jsonl")
    articles = list(SPLITS[args.split]) if args.split else args.articles
    out = args.out or Path("eval-out") / "squad" / f"squad2_{args.split}.jsonl"
    source = load_squad(args.source)
    questions = sample_questions(source.questions, articles=articles, per_class=args.per_class, seed=args.seed)
    write_sample(
        out, questions, source=source, split=args.split, articles=articles, per_class=args.per_class, seed=args.seed
    )
    answerable = sum(q.answerable for q in questions)
    print(
        f"{out}: {len(questions)} questions ({answerable} answerable, {len(questions) - answerable} unanswerable) "
        f"from {', '.join(articles)}, seed {args.seed}; provenance in {provenance_path(out)}"
    )
    return 0
