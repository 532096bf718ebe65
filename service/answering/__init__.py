"""The answering pipeline: retrieve, draft with a language model, verify every citation, quote or abstain.

Importable without the web layer or the CLI (no FastAPI, uvicorn or argparse here), so `footnote ask`, the HTTP
routes and the evaluator run the very same code. litellm and llama.cpp load lazily, on the first model call.
"""

from service.answering.answer_models import (
    QUESTION_CHARS_LIMIT,
    Answer,
    AnswerSentence,
    Citation,
    Timings,
    TokenUsage,
    Turn,
    VerificationStats,
)
from service.answering.config import AnsweringConfig
from service.answering.errors import LLMError, LLMTimeoutError
from service.answering.llm import ChatModel, Completion, LiteLLMChatModel, LLMSettings, Message
from service.answering.model_files import QWEN_CODER_15B as EMBEDDED_MODEL
from service.answering.model_files import install as install_embedded_model
from service.answering.pipeline import (
    REFUSAL,
    Answerer,
    AnswerEvent,
    AnsweringSettings,
    DraftDelta,
    FinalAnswer,
    QuotedAnswer,
    RetrievedPassages,
    final_answer,
)
from service.answering.resources import build_answerer, index_demo_corpus_if_empty, open_collection, preload_models
from service.answering.support import HeuristicSupportScorer, SupportScorer

__all__ = [
    "QUESTION_CHARS_LIMIT",
    "REFUSAL",
    "Answer",
    "AnswerEvent",
    "AnswerSentence",
    "Answerer",
    "AnsweringConfig",
    "AnsweringSettings",
    "ChatModel",
    "Citation",
    "Completion",
    "EMBEDDED_MODEL",
    "DraftDelta",
    "FinalAnswer",
    "QuotedAnswer",
    "HeuristicSupportScorer",
    "LLMError",
    "LLMSettings",
    "LLMTimeoutError",
    "LiteLLMChatModel",
    "Message",
    "RetrievedPassages",
    "SupportScorer",
    "Timings",
    "TokenUsage",
    "Turn",
    "VerificationStats",
    "build_answerer",
    "final_answer",
    "index_demo_corpus_if_empty",
    "install_embedded_model",
    "open_collection",
    "preload_models",
]
