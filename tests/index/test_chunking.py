"""Passages are whole sentences with exact offsets: document.text[start:end] == passage.text, always."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from index import ChunkingSettings, Document, chunk_document, split_sentences

_WORD = re.compile(r"\S+")

words = st.text(alphabet=st.sampled_from("abcdeéxyzABCÉ0123456789-’'"), min_size=1, max_size=9)
endings = st.sampled_from([".", "!", "?", "…", ".”", "?’", ".)", "."])
openings = st.sampled_from(["", "“", "‘", "(", "« "])
separators = st.sampled_from([" ", "  ", "\n", "\n\n", " \n", "\u00a0", "\t"])


@st.composite
def sentences(draw: st.DrawFn) -> str:
    body = " ".join(draw(st.lists(words, min_size=1, max_size=40)))
    return draw(openings) + body + draw(endings)


@st.composite
def texts(draw: st.DrawFn) -> str:
    parts = draw(st.lists(sentences(), min_size=1, max_size=20))
    joined = parts[0]
    for part in parts[1:]:
        joined += draw(separators) + part
    return joined.strip()


@settings(max_examples=150, deadline=None)
@given(text=texts(), max_words=st.integers(min_value=3, max_value=60), overlap=st.integers(min_value=0, max_value=3))
def test_passages_are_exact_slices_of_the_text(text: str, max_words: int, overlap: int) -> None:
    document = Document(id="d", title="t", text=text)
    passages = chunk_document(document, ChunkingSettings(max_words=max_words, overlap_sentences=overlap))
    assert passages, "a non-empty text gives at least one passage"
    for ordinal, passage in enumerate(passages):
        assert document.text[passage.start : passage.end] == passage.text
        assert passage.text == passage.text.strip()
        assert passage.ordinal == ordinal
    # Together the passages cover every word, in order, and each one moves forward.
    assert passages[0].start == 0 and passages[-1].end == len(text)
    for before, after in zip(passages, passages[1:], strict=False):
        assert after.start > before.start and after.end > before.end
        assert after.start <= before.end or text[before.end : after.start].strip() == ""


@settings(max_examples=150, deadline=None)
@given(text=texts(), max_words=st.integers(min_value=3, max_value=60))
def test_passages_keep_sentences_whole_unless_one_is_too_long(text: str, max_words: int) -> None:
    document = Document(id="d", title="t", text=text)
    passages = chunk_document(document, ChunkingSettings(max_words=max_words, overlap_sentences=1))
    spans = split_sentences(text)
    starts = {s.start for s in spans}
    ends = {s.end for s in spans}
    long_sentences = [s for s in spans if s.words > max_words]

    def inside_long(offset: int) -> bool:
        return any(s.start <= offset <= s.end for s in long_sentences)

    for passage in passages:
        assert len(_WORD.findall(passage.text)) <= max_words
        assert passage.start in starts or inside_long(passage.start)
        assert passage.end in ends or inside_long(passage.end)


def test_curly_quotes_and_abbreviations_do_not_split_wrongly() -> None:
    text = "He said “they are adequate men.” Then Mr. Lavrov met U.S. envoys. Russia’s role grew! Why?"
    found = [text[s.start : s.end] for s in split_sentences(text)]
    assert found == [
        "He said “they are adequate men.”",
        "Then Mr. Lavrov met U.S. envoys.",
        "Russia’s role grew!",
        "Why?",
    ]


def test_overlap_repeats_whole_sentences() -> None:
    text = " ".join(f"Sentence number {n} has six words." for n in range(10))
    document = Document(id="d", title="t", text=text)
    passages = chunk_document(document, ChunkingSettings(max_words=18, overlap_sentences=1))
    assert [len(p.text.split()) for p in passages[:-1]] == [18] * (len(passages) - 1)
    for before, after in zip(passages, passages[1:], strict=False):
        last_sentence = before.text.split(". ")[-1]
        assert after.text.startswith(last_sentence.rstrip("."))


def test_a_sentence_longer_than_the_limit_is_cut_at_words() -> None:
    text = "Short one. " + " ".join(["word"] * 25) + ". Another short one."
    document = Document(id="d", title="t", text=text)
    passages = chunk_document(document, ChunkingSettings(max_words=10, overlap_sentences=0))
    assert all(len(p.text.split()) <= 10 for p in passages)
    assert all(document.text[p.start : p.end] == p.text for p in passages)
    assert passages[0].text == "Short one."


def test_bundled_articles_chunk_to_100_to_200_word_passages(bundled_documents: list[Document]) -> None:
    for document in bundled_documents:
        passages = chunk_document(document)
        assert all(document.text[p.start : p.end] == p.text for p in passages)
        assert all(len(p.text.split()) <= 120 for p in passages)
        assert sum(len(p.text.split()) for p in passages) >= len(document.text.split())
