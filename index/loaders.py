"""Read files into Documents: Markdown with front matter, plain text, HTML, PDF and BEIR JSONL."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from index.documents import Document
from index.errors import DocumentLoadError

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
TEXT_SUFFIXES = frozenset({".txt", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
PDF_SUFFIXES = frozenset({".pdf"})
JSONL_SUFFIXES = frozenset({".jsonl"})
SUPPORTED_SUFFIXES = MARKDOWN_SUFFIXES | TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | JSONL_SUFFIXES

# Enough of a file to tell text from binary the way git does: a NUL byte means binary.
_BINARY_SNIFF_BYTES = 8192
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<yaml>.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_MARKDOWN_HEADING = re.compile(r"^#{1,6}[ \t]+(?P<title>.+?)[ \t#]*$", re.MULTILINE)
_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")


def load_path(path: Path) -> list[Document]:
    """Load every document in one file; a JSONL file may hold many, the other formats one."""
    _loader_for(path)  # an unsupported type is named before the file is looked for
    if not path.is_file():
        raise DocumentLoadError(f"{path}: no such file")
    return load_bytes(path, path.read_bytes())


def load_bytes(path: Path, data: bytes) -> list[Document]:
    """Load the documents in a file's contents (an upload, say); `path` names the file and picks its format."""
    loader = _loader_for(path)
    if not data.strip():
        raise DocumentLoadError(f"{path}: the file is empty")
    return loader(path, data)


def _loader_for(path: Path) -> Callable[[Path, bytes], list[Document]]:
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise DocumentLoadError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; supported: {supported}")
    return loader


def expand_paths(patterns: Iterable[str]) -> list[Path]:
    """Turn files, folders (searched recursively for supported files) and globs into a sorted file list."""
    found: list[Path] = []
    for pattern in patterns:
        candidate = Path(pattern)
        if candidate.is_dir():
            found.extend(p for p in sorted(candidate.rglob("*")) if p.is_file() and _is_supported(p))
        elif candidate.exists():
            found.append(candidate)
        elif any(ch in pattern for ch in "*?["):
            anchor = Path(candidate.anchor) if candidate.is_absolute() else Path()
            relative = str(candidate.relative_to(anchor)) if candidate.is_absolute() else pattern
            matches = sorted(p for p in anchor.glob(relative) if p.is_file())
            if not matches:
                raise DocumentLoadError(f"{pattern}: no files match")
            found.extend(matches)
        else:
            raise DocumentLoadError(f"{pattern}: no such file or folder")
    return list(dict.fromkeys(found))


def load_paths(patterns: Iterable[str]) -> list[Document]:
    """Every document in the files, folders and globs, in `expand_paths` order; any unreadable file raises."""
    return [document for path in expand_paths(patterns) for document in load_path(path)]


def document_id_from_path(path: Path) -> str:
    """A stable id derived from the file name, for documents that do not name their own."""
    return slugify(path.stem)


def slugify(text: str) -> str:
    """Lower-case ASCII letters and digits joined by hyphens: a readable, URL-safe id."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = _SLUG_UNSAFE.sub("-", ascii_text).strip("-")[:100].strip("-")
    return slug or "document"


def canonical_text(raw: str) -> str:
    """The one text all offsets point into: Unix newlines, no surrounding blank space."""
    return raw.replace("\r\n", "\n").replace("\r", "\n").strip()


def _is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES and not path.name.startswith(".")


def _decode(path: Path, data: bytes) -> str:
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        raise DocumentLoadError(f"{path}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentLoadError(f"{path}: not valid UTF-8 (byte {error.start})") from error


def _require_text(path: Path, text: str) -> str:
    text = canonical_text(text)
    if not text:
        raise DocumentLoadError(f"{path}: no text to index")
    return text


def _optional_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _load_markdown(path: Path, data: bytes) -> list[Document]:
    raw = _decode(path, data).replace("\r\n", "\n")
    meta: dict[str, Any] = {}
    body = raw
    if raw.startswith("---"):
        match = _FRONT_MATTER.match(raw)
        if match is None:
            raise DocumentLoadError(f"{path}: front matter starts with '---' but is never closed")
        try:
            parsed = yaml.safe_load(match.group("yaml"))
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" (line {mark.line + 2})" if mark is not None else ""
            raise DocumentLoadError(f"{path}: malformed front matter{where}: {error}") from error
        if parsed is not None and not isinstance(parsed, dict):
            raise DocumentLoadError(f"{path}: front matter must be a mapping of keys to values")
        meta = parsed or {}
        body = raw[match.end() :]
    text = _require_text(path, body)
    heading = _MARKDOWN_HEADING.search(text)
    title = _optional_str(meta.get("title")) or (heading.group("title") if heading else None) or path.stem
    return [
        Document(
            id=_optional_str(meta.get("id")) or document_id_from_path(path),
            title=title,
            text=text,
            date=_optional_str(meta.get("date")),
            source=_optional_str(meta.get("source")),
            path=str(path),
        )
    ]


def _load_text(path: Path, data: bytes) -> list[Document]:
    text = _require_text(path, _decode(path, data))
    first_line = text.split("\n", 1)[0].strip()
    title = first_line if 0 < len(first_line) <= 200 else path.stem
    return [Document(id=document_id_from_path(path), title=title, text=text, path=str(path))]


def _load_html(path: Path, data: bytes) -> list[Document]:
    import trafilatura  # heavy: imported only when an HTML file is loaded

    html = _decode(path, data)
    result = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=True)
    extracted: dict[str, Any] = {}
    if result is not None:
        extracted = result if isinstance(result, dict) else result.as_dict()
    if not extracted.get("text"):
        raise DocumentLoadError(f"{path}: no article text found in the HTML")
    text = _require_text(path, str(extracted["text"]))
    return [
        Document(
            id=document_id_from_path(path),
            title=_optional_str(extracted.get("title")) or path.stem,
            text=text,
            date=_optional_str(extracted.get("date")),
            source=_optional_str(extracted.get("url")) or _optional_str(extracted.get("sitename")),
            path=str(path),
        )
    ]


def _load_pdf(path: Path, data: bytes) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata is not None else None
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        raise DocumentLoadError(f"{path}: not a readable PDF: {error}") from error
    text = _require_text(path, "\n\n".join(page.strip() for page in pages if page.strip()))
    return [
        Document(id=document_id_from_path(path), title=_optional_str(title) or path.stem, text=text, path=str(path))
    ]


def _load_jsonl(path: Path, data: bytes) -> list[Document]:
    # Parse the whole file before returning anything, so a bad line stores nothing from the file.
    return list(_iter_jsonl(path, _decode(path, data)))


def _iter_jsonl(path: Path, raw: str) -> Iterator[Document]:
    seen: set[str] = set()
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DocumentLoadError(f"{path}:{number}: malformed JSON: {error.msg}") from error
        if not isinstance(record, dict):
            raise DocumentLoadError(f"{path}:{number}: each line must be a JSON object")
        doc_id = record.get("_id", record.get("id"))
        text = record.get("text")
        if not isinstance(doc_id, str | int) or str(doc_id) == "":
            raise DocumentLoadError(f"{path}:{number}: missing '_id'")
        if not isinstance(text, str) or not text.strip():
            raise DocumentLoadError(f"{path}:{number}: missing or empty 'text'")
        if str(doc_id) in seen:
            raise DocumentLoadError(f"{path}:{number}: duplicate '_id' {doc_id!r}")
        seen.add(str(doc_id))
        yield Document(
            id=str(doc_id),
            title=_optional_str(record.get("title")) or str(doc_id),
            text=canonical_text(text),
            date=_optional_str(record.get("date")),
            source=_optional_str(record.get("source")),
            path=f"{path}:{number}",
        )


_LOADERS: dict[str, Callable[[Path, bytes], list[Document]]] = {
    **dict.fromkeys(MARKDOWN_SUFFIXES, _load_markdown),
    **dict.fromkeys(TEXT_SUFFIXES, _load_text),
    **dict.fromkeys(HTML_SUFFIXES, _load_html),
    **dict.fromkeys(PDF_SUFFIXES, _load_pdf),
    **dict.fromkeys(JSONL_SUFFIXES, _load_jsonl),
}
