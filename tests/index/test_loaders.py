"""Loading every supported format into Documents, and clear errors for every kind of bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index import DocumentLoadError, expand_paths, load_path
from index.loaders import document_id_from_path
from tests.conftest import BUNDLED_CORPUS


def make_pdf(text: str, *, title: str) -> bytes:
    """A minimal one-page PDF whose page shows `text` in Helvetica."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (" + title.encode() + b") >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_bundled_markdown_keeps_front_matter() -> None:
    [document] = load_path(BUNDLED_CORPUS / "russia-afghan-security-2021.md")
    assert document.id == "russia-afghan-security-2021"
    assert document.title == "Russia's expanding role in Afghan security"
    assert document.date == "2021-08-10"
    assert document.source == "analysis article (publisher not recorded)"
    assert document.text.startswith("As the US military withdrawal from Afghanistan nears")
    assert "---" not in document.text[:10]


def test_markdown_without_front_matter_takes_title_from_heading(tmp_path: Path) -> None:
    path = tmp_path / "Notes On Kabul.md"
    path.write_text("# Embassy security\n\nThe embassy stayed open.\n", encoding="utf-8")
    [document] = load_path(path)
    assert document.id == "notes-on-kabul"
    assert document.title == "Embassy security"
    assert document.date is None


def test_plain_text_normalises_newlines_and_strips(tmp_path: Path) -> None:
    path = tmp_path / "memo.txt"
    path.write_bytes(b"\xef\xbb\xbfBorder talks\r\n\r\nThey met in Doha.\r\n  ")
    [document] = load_path(path)
    assert document.text == "Border talks\n\nThey met in Doha."
    assert document.title == "Border talks"


def test_html_article_text_is_extracted_without_boilerplate(tmp_path: Path) -> None:
    path = tmp_path / "article.html"
    paragraphs = "".join(
        f"<p>Paragraph {n}: Russia held drills in Tajikistan and Uzbekistan near the Afghan border.</p>"
        for n in range(6)
    )
    path.write_text(
        "<html><head><title>Drills near the border</title></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/about'>About us</a></nav>"
        f"<article><h1>Drills near the border</h1>{paragraphs}</article>"
        "<footer>Copyright 2021 Example News. All rights reserved.</footer>"
        "<script>var tracking = 1;</script></body></html>",
        encoding="utf-8",
    )
    [document] = load_path(path)
    assert document.title == "Drills near the border"
    assert "Paragraph 5: Russia held drills" in document.text
    assert "tracking" not in document.text
    assert "About us" not in document.text


def test_pdf_text_and_title(tmp_path: Path) -> None:
    path = tmp_path / "brief.pdf"
    path.write_bytes(make_pdf("Russia initiated the extended troika meeting in Doha.", title="Troika brief"))
    [document] = load_path(path)
    assert document.title == "Troika brief"
    assert "extended troika meeting in Doha" in document.text


def test_beir_jsonl_gives_one_document_per_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    rows = [{"_id": "d1", "title": "First", "text": "Alpha text."}, {"_id": 2, "title": "", "text": "Beta text."}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    documents = load_path(path)
    assert [(d.id, d.title, d.text) for d in documents] == [("d1", "First", "Alpha text."), ("2", "2", "Beta text.")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.md", b"   \n", "empty"),
        ("binary.txt", b"abc\x00def", "binary"),
        ("latin1.txt", "café".encode("latin-1"), "not valid UTF-8"),
        ("unclosed.md", b"---\ntitle: x\nNo closing line.\n", "never closed"),
        ("badyaml.md", b"---\ntitle: [unclosed\n---\nBody.\n", "malformed front matter"),
        ("list.md", b"---\n- a\n- b\n---\nBody.\n", "must be a mapping"),
        ("onlymeta.md", b"---\ntitle: x\n---\n\n", "no text"),
        ("notes.docx", b"PK\x03\x04", "unsupported file type '.docx'"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "not a readable PDF"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentLoadError) as raised:
        load_path(path)
    assert str(path) in str(raised.value)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("lines", "where", "message"),
    [
        (['{"_id": "a", "text": "ok"}', "{not json"], ":2:", "malformed JSON"),
        (['{"_id": "a", "text": "ok"}', '{"_id": "b"}'], ":2:", "missing or empty 'text'"),
        (['{"text": "no id"}'], ":1:", "missing '_id'"),
        (['["a", "b"]'], ":1:", "JSON object"),
        (['{"_id": "a", "text": "x"}', '{"_id": "a", "text": "y"}'], ":2:", "duplicate '_id'"),
    ],
)
def test_malformed_jsonl_names_the_line(tmp_path: Path, lines: list[str], where: str, message: str) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DocumentLoadError) as raised:
        load_path(path)
    assert f"{path}{where}" in str(raised.value)
    assert message in str(raised.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentLoadError, match="no such file"):
        load_path(tmp_path / "absent.md")
    with pytest.raises(DocumentLoadError, match="no such file or folder"):
        expand_paths([str(tmp_path / "absent.md")])


def test_expand_paths_walks_folders_and_globs(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.md").write_text("One.", encoding="utf-8")
    (tmp_path / "a" / "two.txt").write_text("Two.", encoding="utf-8")
    (tmp_path / "a" / "skip.bin").write_bytes(b"\x00")
    (tmp_path / "a" / ".hidden.md").write_text("Hidden.", encoding="utf-8")
    assert expand_paths([str(tmp_path / "a")]) == [tmp_path / "a" / "one.md", tmp_path / "a" / "two.txt"]
    assert expand_paths([str(tmp_path / "a" / "*.txt")]) == [tmp_path / "a" / "two.txt"]
    with pytest.raises(DocumentLoadError, match="no files match"):
        expand_paths([str(tmp_path / "a" / "*.pdf")])


def test_ids_derived_from_paths_are_stable_slugs() -> None:
    assert document_id_from_path(Path("/x/Café Report (Final).md")) == "cafe-report-final"
    assert document_id_from_path(Path("/x/!!!.md")) == "document"
