"""The model reader with a literal fake judge: answer or refuse, verify and re-cite a draft, pick quotes."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from index import Collection, Document, RetrievalSettings, Retriever
from prompts.citations import DraftSentence
from service.answering.answer_models import Turn
from service.answering.extractive import RelevantSentence
from service.answering.llm import LiteLLMChatModel, LLMSettings
from service.answering.pipeline import (
    REFUSAL,
    Answerer,
    AnsweringSettings,
    DraftDelta,
    FinalAnswer,
    QuotedAnswer,
    RetrievedPassages,
    final_answer,
)
from service.answering.quotes import QuoteCandidate
from service.answering.reader import Reader, ReaderSettings, Reading
from service.answering.support import HeuristicSupportScorer
from tests.fakes import FakeChatModel, FakeEmbedder, FakeYesNoModel

ARTICLE = (
    "The council closed the old bridge in March. Inspectors found cracks in two pillars of the bridge. "
    "A ferry now carries the traffic every twenty minutes. The repairs will cost four million euros."
)


@pytest.fixture
def collection(tmp_path: object) -> Iterator[Collection]:
    from pathlib import Path

    store = Collection(Path(str(tmp_path)) / "store", embedder=FakeEmbedder())
    store.ingest([Document(id="bridge", title="The old bridge", text=ARTICLE)])
    yield store
    store.close()


def _answerer(
    collection: Collection, chat: FakeChatModel | LiteLLMChatModel | None, judge: FakeYesNoModel | None = None
) -> tuple[Answerer, FakeYesNoModel]:
    judge = judge or FakeYesNoModel()
    answerer = Answerer(
        retriever=Retriever(collection, RetrievalSettings()),
        scorer=HeuristicSupportScorer(collection.embedder),
        chat_model=chat,
        settings=AnsweringSettings(mode="generate" if chat else "extractive", max_sentences=3, extract_sentences=2),
        reader=Reader(judge, ReaderSettings()),
    )
    return answerer, judge


def _reading(answerer: Answerer, question: str) -> Reading:
    assert answerer.reader is not None
    passages = answerer.retriever.search(question, k=3)
    return answerer.reader.reading(question, answerer.rank_evidence(question, passages))


def test_the_shortlist_is_read_in_document_order(collection: Collection) -> None:
    answerer, _ = _answerer(collection, None)
    reading = _reading(answerer, "what did the inspectors find in the pillars of the bridge?")
    starts = [s.start for s in reading.sentences]
    assert starts == sorted(starts) and len(starts) == 4


def test_verification_keeps_recites_and_drops(collection: Collection) -> None:
    answerer, _ = _answerer(collection, None)
    assert answerer.reader is not None
    reading = _reading(answerer, "why was the bridge closed?")
    numbers = {s.text.split()[0]: n for n, s in enumerate(reading.sentences, start=1)}
    draft = [
        DraftSentence("Inspectors found cracks in two pillars.", (numbers["Inspectors"],)),
        # Cited to the wrong sentence: moved to the one that states it.
        DraftSentence("The repairs will cost four million euros.", (numbers["Inspectors"],)),
        # Stated nowhere: dropped.
        DraftSentence("The mayor resigned over the closure.", (numbers["The"],)),
        # A marker outside the shortlist never survives.
        DraftSentence("A ferry carries the traffic.", (99,)),
    ]
    checked, stats = answerer.reader.verify(reading, draft)
    assert [c.outcome for c in checked] == ["kept", "recited", "dropped", "recited"]
    assert checked[1].quotes[0].quote.text == "The repairs will cost four million euros."
    assert checked[3].quotes[0].quote.text.startswith("A ferry")
    assert (stats.kept, stats.recited, stats.dropped) == (1, 2, 1)


def test_a_question_the_sentences_do_not_answer_is_refused_without_calling_the_writer(
    collection: Collection,
) -> None:
    chat = FakeChatModel(["The bridge is in Paris [1]."])
    answerer, _ = _answerer(collection, chat)
    answer = answerer.answer("what is the population of Kabul?")
    assert answer.abstained and answer.text == REFUSAL and not answer.citations
    assert chat.prompts == [] and answer.judge == "fake-judge"


def test_a_written_answer_is_cited_to_exact_quotes(collection: Collection) -> None:
    chat = FakeChatModel(["Inspectors found cracks in two pillars [2]. The mayor resigned [1]."])
    answerer, _ = _answerer(collection, chat)
    answer = answerer.answer("what did the inspectors find on the bridge?")
    assert answer.mode == "generated" and answer.text == "Inspectors found cracks in two pillars [1]."
    quote = answer.citations[0]
    assert ARTICLE[quote.start : quote.end] == quote.quote == "Inspectors found cracks in two pillars of the bridge."
    assert answer.timings.first_sentence_ms is not None and answer.degraded is None
    # The writer saw the numbered sentences and the question, and nothing the judge was asked.
    assert "[2] Inspectors found cracks" in chat.prompts[0][-1]["content"]


def test_a_written_answer_whose_cited_sentences_alone_do_not_answer_gives_way_to_the_best_sentences(
    collection: Collection,
) -> None:
    # The best sentences answer (one says the bridge was closed), but the only sentence the verified draft cites
    # does not: the cracks are not the closure.
    chat = FakeChatModel(["Inspectors found cracks in two pillars [2]."])
    answerer, judge = _answerer(collection, chat)
    events = list(answerer.answer_events("why was the bridge closed?"))
    answer = final_answer(events)
    assert answer.mode == "extractive" and all(s.origin == "quoted" for s in answer.sentences)
    assert "The council closed the old bridge in March." in [c.quote for c in answer.citations]
    assert chat.prompts and answer.verification.kept == 1
    confirmations = [a for a in judge.asked if "state the answer to this exact question" in a]
    # The best sentences first (they answer, so the shortlist is not asked), then the written answer's one quote.
    assert len(confirmations) == 2 and "The council closed the old bridge" in confirmations[0]
    assert "pillars" in confirmations[1] and "[2]" not in confirmations[1]
    # The quotes were sent before the draft, and the final answer is the same quotes.
    quoted = [e.answer for e in events if isinstance(e, QuotedAnswer)]
    assert [type(e) for e in events[:2]] == [RetrievedPassages, QuotedAnswer] and len(quoted) == 1
    assert quoted[0].text == answer.text and quoted[0].judge == "fake-judge"


def test_quotes_that_answer_are_sent_before_the_draft_and_the_written_answer_replaces_them(
    collection: Collection,
) -> None:
    chat = FakeChatModel(["Inspectors found cracks in two pillars of the bridge [2]."])
    answerer, judge = _answerer(collection, chat)
    events = list(answerer.answer_events("what did the inspectors find on the bridge?"))
    kinds = [type(e) for e in events]
    assert kinds[:2] == [RetrievedPassages, QuotedAnswer] and kinds[-1] is FinalAnswer
    assert set(kinds[2:-1]) == {DraftDelta}
    quoted, answer = events[1].answer, final_answer(events)  # type: ignore[union-attr]
    assert quoted.mode == "extractive" and all(s.origin == "quoted" and s.verified for s in quoted.sentences)
    assert all(ARTICLE[c.start : c.end] == c.quote for c in quoted.citations)
    assert answer.mode == "generated" and answer.text == "Inspectors found cracks in two pillars of the bridge [1]."
    # The first verified sentence is the quotes', before the whole answer.
    assert quoted.timings.first_sentence_ms == answer.timings.first_sentence_ms
    assert answer.timings.first_sentence_ms is not None and answer.timings.first_sentence_ms < answer.timings.total_ms
    # Two questions whether sentences answer: the quotes, then the written answer's; not the shortlist.
    assert sum("state the answer to this exact question" in a for a in judge.asked) == 2


class _ScriptedJudge(FakeYesNoModel):
    """Answers whether sentences state the answer with the given probabilities, in order; the rest literally."""

    def __init__(self, probabilities: list[float]) -> None:
        super().__init__()
        self.probabilities = probabilities
        self.answer_questions = 0

    def yes_probabilities(self, conversations: Sequence[Sequence[dict[str, str]]]) -> list[float]:
        scripted = ["state the answer to this exact question" in c[-1]["content"] for c in conversations]
        self.answer_questions += sum(scripted)
        literal = super().yes_probabilities(conversations)
        return [self.probabilities.pop(0) if s else p for s, p in zip(scripted, literal, strict=True)]


def test_once_quotes_answer_the_writer_reads_them_first_then_the_most_relevant_others(collection: Collection) -> None:
    answerer, _ = _answerer(collection, None)
    assert answerer.reader is not None
    reading = _reading(answerer, "what did the inspectors find in the pillars of the bridge?")
    quotes = [reading.sentences[2], reading.sentences[0]]
    small = Reader(FakeYesNoModel(), ReaderSettings(writer_sentences=3))
    led = small.led_by(reading, quotes)
    # The quotes in reading order, then the best other sentence by relevance, three in all.
    assert list(led.sentences[:2]) == [reading.sentences[0], reading.sentences[2]] and len(led.sentences) == 3
    others = [r.quote for r in reading.ranked if r.quote not in quotes]
    assert led.sentences[2] == others[0] and led.question == reading.question


def test_a_written_answer_is_refused_when_neither_it_nor_the_best_sentences_answer_alone(
    collection: Collection,
) -> None:
    judge = _ScriptedJudge([0.1, 0.9, 0.1])  # the best sentences do not answer, the shortlist does, the written not
    answerer, _ = _answerer(collection, FakeChatModel(["Inspectors found cracks in two pillars [2]."]), judge)
    events = list(answerer.answer_events("why was the bridge closed?"))
    answer = final_answer(events)
    assert answer.abstained and answer.text == REFUSAL and not answer.citations
    assert answer.verification.kept == 1 and judge.answer_questions == 3 and not judge.probabilities
    assert not any(isinstance(e, QuotedAnswer) for e in events), "no quotes are sent that are then taken back"


def test_when_the_best_sentences_do_not_answer_the_written_answer_is_the_first_verified_sentence(
    collection: Collection,
) -> None:
    judge = _ScriptedJudge([0.1, 0.9, 0.9])  # not the best sentences; the shortlist and the written answer do
    chat = FakeChatModel(["Inspectors found cracks in two pillars of the bridge [2]."])
    answerer, _ = _answerer(collection, chat, judge)
    events = list(answerer.answer_events("what did the inspectors find on the bridge?"))
    answer = final_answer(events)
    assert answer.mode == "generated" and not any(isinstance(e, QuotedAnswer) for e in events)
    assert answer.timings.first_sentence_ms == answer.timings.total_ms
    assert judge.answer_questions == 3 and not judge.probabilities


@pytest.mark.parametrize(
    ("written_confirmation", "mode"),
    [(0.75, "generated"), (0.6, "extractive")],  # within the 0.1 margin of the quotes' 0.8, or clearly below it
)
def test_a_confirmed_written_answer_gives_way_to_quotes_the_judge_finds_clearly_more_answering(
    collection: Collection, written_confirmation: float, mode: str
) -> None:
    judge = _ScriptedJudge([0.8, written_confirmation])  # the quotes, then the written answer's quotes
    chat = FakeChatModel(["Inspectors found cracks in two pillars of the bridge [2]."])
    answerer, _ = _answerer(collection, chat, judge)
    answer = answerer.answer("what did the inspectors find on the bridge?")
    assert answer.mode == mode and not answer.abstained
    assert judge.answer_questions == 2 and not judge.probabilities


def test_a_written_answer_without_the_time_a_when_question_asks_for_gives_way_to_the_quotes(
    collection: Collection,
) -> None:
    judge = _ScriptedJudge([0.8])  # the quotes answer; the written answer is never put to the judge
    chat = FakeChatModel(["Inspectors found cracks in two pillars of the bridge [2]."])
    answerer, _ = _answerer(collection, chat, judge)
    answer = answerer.answer("when did the council close the old bridge?")
    assert answer.mode == "extractive" and "March" in answer.text
    assert judge.answer_questions == 1 and not judge.probabilities


def test_extractive_answers_quote_the_best_sentences_once_the_judge_says_they_answer(collection: Collection) -> None:
    answerer, judge = _answerer(collection, None)
    answer = answerer.answer("what will happen to the bridge?")
    assert answer.mode == "extractive" and all(s.origin == "quoted" for s in answer.sentences)
    assert 1 <= len(answer.citations) <= 3 and any("bridge" in c.quote for c in answer.citations)
    # One question only: whether the quotes alone answer, with exactly the quotes as its sentences.
    assert len(judge.asked) == 1 and "state the answer to this exact question" in judge.asked[0]
    read = [line.split("] ", 1)[1] for line in judge.asked[0].splitlines() if line.startswith("[")]
    assert read == [c.quote for c in answer.citations]


def test_extractive_quotes_the_judge_says_do_not_answer_are_refused(collection: Collection) -> None:
    answerer, judge = _answerer(collection, None)
    answer = answerer.answer("how often does the old bridge open for boats?")
    assert answer.abstained and answer.text == REFUSAL and not answer.citations
    assert len(judge.asked) == 1 and "state the answer to this exact question" in judge.asked[0]


class _SilentServer(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that never answers in time: a model stuck on a busy machine."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        time.sleep(5)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_model_that_times_out_degrades_to_verified_quotes(collection: Collection) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SilentServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/v1"
        stuck = LiteLLMChatModel(LLMSettings(model="openai/stuck", api_base=base, api_key="k", retries=0, timeout_s=1))
        answerer, _ = _answerer(collection, stuck)
        # The endpoint would hang up after 5 s without a reply (a different error): "in time" shows the 1 s
        # time-out ended the wait.
        answer = answerer.answer("why was the bridge closed?")
    finally:
        server.shutdown()
        server.server_close()
    assert answer.mode == "extractive" and not answer.abstained and answer.citations
    assert answer.degraded is not None and "in time" in answer.degraded
    for citation in answer.citations:
        assert ARTICLE[citation.start : citation.end] == citation.quote


def test_a_number_or_name_the_cited_sentence_lacks_is_never_judged_stated(collection: Collection) -> None:
    answerer, judge = _answerer(collection, None)
    assert answerer.reader is not None
    reading = _reading(answerer, "why was the bridge closed?")
    cracks = next(n for n, s in enumerate(reading.sentences, start=1) if s.text.startswith("Inspectors"))
    draft = [
        DraftSentence("Inspectors found cracks in two pillars in 2020.", (cracks,)),
        DraftSentence("Inspectors from Siemens found cracks in two pillars.", (cracks,)),
    ]
    asked_before = len(judge.asked)
    checked, _ = answerer.reader.verify(reading, draft)
    assert [c.outcome for c in checked] == ["dropped", "dropped"]
    # Neither claim was put to the judge against the sentence that lacks the year or the name.
    assert not any("in 2020" in asked or "Siemens" in asked for asked in judge.asked[asked_before:])


class _YesJudge:
    """A judge that says yes to everything, as the small model too often does for its own writer's claims."""

    name = "yes-judge"

    def yes_probabilities(self, conversations: object) -> list[float]:
        return [0.9] * len(list(conversations))  # type: ignore[call-overload]


def _reading_with_yes_judge(collection: Collection) -> tuple[Reader, Reading]:
    answerer, _ = _answerer(collection, None)
    reader = Reader(_YesJudge(), ReaderSettings())
    return reader, _reading(answerer, "why was the bridge closed?")


def test_a_name_that_starts_the_claim_must_be_in_the_cited_sentence_too(collection: Collection) -> None:
    reader, reading = _reading_with_yes_judge(collection)
    cracks = next(n for n, s in enumerate(reading.sentences, start=1) if s.text.startswith("Inspectors"))
    # "March" is a name the sources use ("in March"); starting the claim does not hide it from the check.
    checked, _ = reader.verify(reading, [DraftSentence("March saw cracks in two pillars.", (cracks,))])
    assert [c.outcome for c in checked] == ["dropped"]
    # A capitalised first word the sources do not use as a name is not a name.
    checked, _ = reader.verify(reading, [DraftSentence("Cracks were found in two pillars.", (cracks,))])
    assert [c.outcome for c in checked] == ["kept"]


def test_a_claim_is_only_re_cited_to_a_sentence_holding_most_of_its_words(collection: Collection) -> None:
    reader, reading = _reading_with_yes_judge(collection)
    draft = [
        # Shares one word of four with any sentence: a yes from the judge does not make it checkable.
        DraftSentence("The council plans to sell the ferry.", (99,)),
        DraftSentence("A ferry carries the traffic.", (99,)),
    ]
    checked, _ = reader.verify(reading, draft)
    assert [c.outcome for c in checked] == ["dropped", "recited"]
    assert checked[1].quotes[0].quote.text.startswith("A ferry")


def test_a_claim_that_announces_reasons_must_be_cited_to_a_sentence_that_gives_reasons(collection: Collection) -> None:
    reader, reading = _reading_with_yes_judge(collection)
    closed = next(n for n, s in enumerate(reading.sentences, start=1) if s.text.startswith("The council"))
    draft = [
        # The closing sentence gives no reasons, however close its words: "several reasons" is not in it.
        DraftSentence("The council closed the bridge for several reasons.", (closed,)),
        DraftSentence("The council closed the bridge.", (closed,)),
    ]
    checked, _ = reader.verify(reading, draft)
    assert [c.outcome for c in checked] == ["dropped", "kept"]


def test_a_claim_that_only_restates_the_question_is_dropped(collection: Collection) -> None:
    answerer, _ = _answerer(collection, None)
    reader = Reader(_YesJudge(), ReaderSettings())
    claim = "The pillars had cracks."

    def outcome(question: str) -> str:
        reading = _reading(answerer, question)
        cracks = next(n for n, s in enumerate(reading.sentences, start=1) if s.text.startswith("Inspectors"))
        checked, _ = reader.verify(reading, [DraftSentence(claim, (cracks,))])
        return checked[0].outcome

    # Asked which pillars had cracks, an answer with no word the question lacks says nothing; asked whether they
    # had, the same words are the answer; asked what the inspectors found, they are news.
    assert outcome("Which pillars had cracks?") == "dropped"
    assert outcome("Did the pillars have cracks?") == "kept"
    assert outcome("What did the inspectors find?") == "kept"


def _ranked(texts: list[tuple[str, str]]) -> list[RelevantSentence]:
    """Sentences of documents, best first; each starts where the previous one of its document ended."""
    ends: dict[str, int] = {}
    ranked = []
    for rank, (document, text) in enumerate(texts):
        start = ends.get(document, 0)
        ends[document] = start + len(text) + 1
        quote = QuoteCandidate(
            passage_index=0, document_id=document, start=start, end=start + len(text), text=text, sentences=1
        )
        ranked.append(RelevantSentence(quote, 1.0 - rank / 100))
    return ranked


def test_an_enumeration_the_shortlist_holds_part_of_is_read_whole() -> None:
    ranked = _ranked(
        [
            ("a", "It can be explained by three factors."),
            ("a", "Second, the bridge is old."),
            ("a", "Third, the ferry is cheaper."),
            ("b", "The mayor spoke on Monday."),
            ("b", "The town grew."),
            ("a", "First, inspectors found cracks."),
            ("b", "First, the river rose."),
        ]
    )
    reader = Reader(FakeYesNoModel(), ReaderSettings(evidence_sentences=5))
    texts = [s.text for s in reader.reading("why?", ranked).sentences]
    # Document a's "First" takes the weakest other sentence's place; document b enumerates nothing shortlisted.
    assert "First, inspectors found cracks." in texts and "The town grew." not in texts
    assert "First, the river rose." not in texts and len(texts) == 5
    # Without an enumeration in the shortlist, the five best are read.
    plain = Reader(FakeYesNoModel(), ReaderSettings(evidence_sentences=5)).reading("why?", ranked[3:5] + ranked[:1])
    assert len(plain.sentences) == 3


def _picked(question: str, ranked: list[RelevantSentence], *, best: int = 3) -> list[str]:
    reader = Reader(FakeYesNoModel(), ReaderSettings(best_sentences=best))
    return [q.quote.text for q in reader.pick(reader.reading(question, ranked), count=5)]


def test_asked_why_the_extractive_path_quotes_the_sources_own_list_of_reasons() -> None:
    ranked = _ranked(
        [
            ("a", "The mayor spoke on Monday."),
            ("a", "The ferry runs every twenty minutes."),
            ("a", "The town grew."),
            ("a", "It can be explained by two factors."),
            ("a", "First, the bridge is old."),
            ("a", "Second, the town has no money."),
        ]
    )
    # In document order: the announcement, its items, then the best of the rest while room is left.
    assert _picked("Why was the bridge closed?", ranked) == [
        "The mayor spoke on Monday.",
        "The ferry runs every twenty minutes.",
        "It can be explained by two factors.",
        "First, the bridge is old.",
        "Second, the town has no money.",
    ]
    # A question that asks for no reasons is answered by the best sentences alone.
    assert _picked("What happened on Monday?", ranked) == [
        "The mayor spoke on Monday.",
        "The ferry runs every twenty minutes.",
        "The town grew.",
    ]


def test_a_sentence_of_another_document_is_quoted_only_when_nearly_as_relevant() -> None:
    texts = [("a", "The bridge closed in March."), ("b", "Bridges close often."), ("a", "The ferry runs.")]
    ranked = [
        RelevantSentence(r.quote, relevance) for r, relevance in zip(_ranked(texts), (0.9, 0.5, 0.3), strict=True)
    ]
    # 0.5 is under 0.6 of 0.9: the other article's sentence stays out, this article's weaker one is quoted.
    assert _picked("When did the bridge close?", ranked) == ["The bridge closed in March.", "The ferry runs."]
    ranked[1] = RelevantSentence(ranked[1].quote, 0.6)
    assert "Bridges close often." in _picked("When did the bridge close?", ranked)


def test_a_question_for_a_person_is_answered_only_by_sentences_naming_what_it_asks_about() -> None:
    ranked = _ranked(
        [
            ("a", "Tajikistan's President Emomali Rahmon sounded the alarm."),
            ("a", "Talks stalled in Kyrgyzstan and Kazakhstan."),
            ("a", "The ferry runs every twenty minutes."),
        ]
    )
    # Asked about Kyrgyzstan's president, Tajikistan's is not quoted; the sentence naming Kyrgyzstan is left for
    # the judge to find wanting.
    assert _picked("Who is the president of Kyrgyzstan?", ranked) == ["Talks stalled in Kyrgyzstan and Kazakhstan."]
    assert _picked("Who is the president of Tajikistan?", ranked) == [
        "Tajikistan's President Emomali Rahmon sounded the alarm."
    ]
    # A question about two things is answered by sentences naming either.
    assert _picked("Who leads Tajikistan, and who met in Kazakhstan?", ranked) == [
        "Tajikistan's President Emomali Rahmon sounded the alarm.",
        "Talks stalled in Kyrgyzstan and Kazakhstan.",
    ]


def test_a_follow_up_asks_for_what_its_standalone_question_asks_for() -> None:
    ranked = _ranked(
        [
            ("a", "Tajikistan's President Emomali Rahmon sounded the alarm."),
            ("a", "Drills were held in Uzbekistan."),
            ("a", "The ferry runs every twenty minutes."),
        ]
    )
    reader = Reader(FakeYesNoModel(), ReaderSettings())
    history = [Turn(role="user", content="Who is Tajikistan's president?")]
    reading = reader.reading(
        "And Uzbekistan's president?", ranked, history, standalone="Who is Uzbekistan's president?"
    )
    # "And Uzbekistan's president?" alone asks for no kind of answer; on its own it asks for a person of Uzbekistan.
    assert [q.quote.text for q in reader.pick(reading, count=5)] == ["Drills were held in Uzbekistan."]


def test_an_enumeration_two_of_the_best_sentences_belong_to_is_quoted_whole() -> None:
    ranked = _ranked(
        [
            ("a", "First, the bridge is old."),
            ("a", "Second, the ferry is cheaper."),
            ("a", "The mayor spoke on Monday."),
            ("a", "The town grew."),
            ("a", "Third, the town has no money."),
        ]
    )
    assert "Third, the town has no money." in _picked("What changed?", ranked)
    # One item alone is not the list: a question about the ferry is not asking for the bridge's age.
    one = [ranked[1], ranked[2], ranked[3], ranked[0], ranked[4]]
    assert _picked("What about the ferry?", one) == [
        "Second, the ferry is cheaper.",
        "The mayor spoke on Monday.",
        "The town grew.",
    ]


def test_a_claim_naming_an_item_of_the_sources_enumeration_must_cite_that_item() -> None:
    ranked = _ranked(
        [
            ("a", "First, the bridge is old."),
            ("a", "Second, the ferry is cheaper."),
            ("a", "The mayor spoke on Monday."),
        ]
    )
    reader = Reader(_YesJudge(), ReaderSettings())
    reading = reader.reading("what is the second reason?", ranked)
    draft = [
        # The sources' second item is the ferry: "Second," on the mayor's sentence is a claim they do not make.
        DraftSentence("Second, the mayor spoke on Monday.", (3,)),
        DraftSentence("Second, the ferry is cheaper.", (2,)),
        # The sources have no third item: the writer's own ordering words are not checked.
        DraftSentence("Third, the mayor spoke on Monday.", (3,)),
    ]
    checked, _ = reader.verify(reading, draft)
    assert [c.outcome for c in checked] == ["dropped", "kept", "kept"]
