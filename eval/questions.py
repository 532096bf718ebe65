"""Question sets for the citation evaluation: the JSONL format, its loader, categories and subsets."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from index import DocumentLoadError
from service.answering import Turn

Category = Literal["unanswerable", "follow_up", "multi_document", "why", "single_fact"]
CATEGORIES: tuple[Category, ...] = ("single_fact", "why", "multi_document", "follow_up", "unanswerable")


class EvalQuestion(BaseModel):
    """One line of a question set (the format is in docs/evaluation.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answerable: bool
    gold_documents: list[str] = Field(default_factory=list)
    must_include: list[list[str]] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list)
    notes: str | None = None

    @field_validator("must_include")
    @classmethod
    def _groups_are_not_empty(cls, groups: list[list[str]]) -> list[list[str]]:
        if any(not group or any(not alternative.strip() for alternative in group) for group in groups):
            raise ValueError("every group needs at least one non-blank alternative")
        return groups

    @property
    def category(self) -> Category:
        """What kind of question this is; a question falls in the first category that fits, in this order."""
        if not self.answerable:
            return "unanswerable"
        if self.history:
            return "follow_up"
        if len(self.gold_documents) > 1:
            return "multi_document"
        if self.question.lower().lstrip().startswith("why") or " why " in self.question.lower():
            return "why"
        return "single_fact"


def load_questions(path: Path) -> list[EvalQuestion]:
    """Read and validate a question set; a bad line is an error naming the file, the line and the field."""
    if not path.is_file():
        raise DocumentLoadError(f"{path}: no such file")
    questions: list[EvalQuestion] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            question = EvalQuestion.model_validate_json(line)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise DocumentLoadError(f"{path}:{number}: {where or 'line'}: {first['msg']}") from error
        if question.id in seen:
            raise DocumentLoadError(f"{path}:{number}: id {question.id!r} already used on line {seen[question.id]}")
        seen[question.id] = number
        questions.append(question)
    if not questions:
        raise DocumentLoadError(f"{path}: no questions")
    return questions


def file_sha256(path: Path) -> str:
    """The dataset's hash, stored with every run so results name exactly what they measured."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def baseline_path(dataset: Path) -> Path:
    """Where a dataset's gate thresholds and subsets live: `NAME.baseline.json` beside `NAME.jsonl`."""
    return dataset.with_name(f"{dataset.stem}.baseline.json")


def provenance_path(dataset: Path) -> Path:
    """Where a generated question set says how it was made: `NAME.provenance.json` beside `NAME.jsonl`."""
    return dataset.with_name(f"{dataset.stem}.provenance.json")


def read_provenance(dataset: Path) -> dict[str, Any] | None:
    """How a generated set was made (source, its hashes, the sample's settings), or None for a hand-written set.

    A provenance written for other contents (the set was edited or regenerated alone) is an error: a run must
    not be credited to data it did not read.
    """
    path = provenance_path(dataset)
    if not path.is_file():
        return None
    try:
        provenance = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DocumentLoadError(f"{path}: not valid JSON: {error.msg} (line {error.lineno})") from error
    if not isinstance(provenance, dict) or provenance.get("sha256") != file_sha256(dataset):
        raise DocumentLoadError(f"{path} does not describe {dataset} as it is now; regenerate both, or delete it")
    return provenance


def read_baseline(path: Path) -> dict[str, Any]:
    """The baseline file: `subsets` (name -> question ids) and `gates` (name -> settings and thresholds)."""
    if not path.is_file():
        raise DocumentLoadError(f"{path}: no such baseline file")
    try:
        baseline = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DocumentLoadError(f"{path}: not valid JSON: {error.msg} (line {error.lineno})") from error
    if not isinstance(baseline, dict):
        raise DocumentLoadError(f"{path}: expected a JSON object")
    return baseline


def select_subset(questions: Sequence[EvalQuestion], ids: Sequence[str], *, name: str) -> list[EvalQuestion]:
    """The questions with these ids, in dataset order; an unknown id is an error."""
    known = {q.id for q in questions}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise DocumentLoadError(f"subset {name!r} names unknown question ids: {', '.join(unknown)}")
    wanted = set(ids)
    return [q for q in questions if q.id in wanted]


def subset_ids(baseline: dict[str, Any], name: str, *, path: Path) -> list[str]:
    """The ids of a named subset in a baseline file."""
    subsets = baseline.get("subsets", {})
    if not isinstance(subsets, dict) or name not in subsets:
        choices = ", ".join(sorted(subsets)) if isinstance(subsets, dict) else ""
        raise DocumentLoadError(f"{path}: no subset named {name!r} (known: {choices or 'none'})")
    ids = subsets[name]
    if isinstance(ids, dict):
        ids = ids.get("ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise DocumentLoadError(f"{path}: subset {name!r} must be a list of question ids")
    return list(ids)
