"""Prometheus metrics for one app: requests and latencies by route, answers, verification and tokens."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from service.answering import Answer

# Latency buckets from a fast search (ms) to a slow local generation (tens of seconds).
_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80)


class Metrics:
    """The app's counters, in a registry of its own so that several apps (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "footnote_http_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "footnote_http_request_duration_seconds",
            "Time to the end of the response, by route.",
            ["route"],
            buckets=_LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.answers = Counter(
            "footnote_answers",
            "Answers by mode: generated, extractive or abstained.",
            ["mode"],
            registry=self.registry,
        )
        self.draft_sentences = Counter(
            "footnote_draft_sentences", "Sentences of model drafts checked by verification.", registry=self.registry
        )
        self.dropped_sentences = Counter(
            "footnote_draft_sentences_dropped",
            "Draft sentences verification dropped as unsupported or unsafe; divide by footnote_draft_sentences.",
            registry=self.registry,
        )
        self.tokens = Counter(
            "footnote_llm_tokens", "Tokens read and written by the language model.", ["kind"], registry=self.registry
        )
        self.generations_running = Gauge(
            "footnote_generations_running", "Answers being generated now.", registry=self.registry
        )
        self.rejected = Counter(
            "footnote_requests_rejected", "Requests turned away by a limit.", ["reason"], registry=self.registry
        )

    def record_answer(self, answer: Answer) -> None:
        """Count an answer, what verification did to its draft and the tokens it cost."""
        self.answers.labels(mode=answer.mode).inc()
        self.draft_sentences.inc(answer.verification.draft_sentences)
        self.dropped_sentences.inc(answer.verification.dropped)
        self.tokens.labels(kind="prompt").inc(answer.usage.prompt_tokens)
        self.tokens.labels(kind="completion").inc(answer.usage.completion_tokens)

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)
