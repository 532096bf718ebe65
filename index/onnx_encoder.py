"""The embedding model on ONNX Runtime, optionally int8-quantised: exported once, offline, from the local weights.

sentence-transformers documents ONNX and int8 backends as 2-5x faster on CPU; its own export needs the optimum
package and a model hub layout, so this module does the same three steps directly: export the transformer
with torch.onnx, quantise its weights to int8 with ONNX Runtime's dynamic quantisation, and apply the model's
pooling (mean over tokens) and normalisation in numpy. The exported files are cached in the data directory,
keyed by the model's weights, so the export (tens of seconds) happens once per machine.

int8 vectors differ slightly from torch's (cosine about 0.99), so an index built with one must not be searched
with the other: the int8 embedder reports its own model name, which the store records and checks on open.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from index.embedding import DEFAULT_EMBEDDING_MODEL, BatchEmbedder, Vectors, resolve_model_path
from index.threads import thread_counts

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

EmbeddingBackend = Literal["torch", "onnx", "onnx-int8"]
EMBEDDING_BACKENDS: tuple[EmbeddingBackend, ...] = ("torch", "onnx", "onnx-int8")
_INT8_SUFFIX = "+onnx-int8"
_EXPORT_VERSION = "1"


def backend_model_name(model: str, backend: EmbeddingBackend) -> str:
    """The model name a store records: int8 vectors are a different model as far as search is concerned."""
    return f"{model}{_INT8_SUFFIX}" if backend == "onnx-int8" else model


class OnnxEmbedder(BatchEmbedder):
    """The sentence-transformers model's transformer on ONNX Runtime, with its mean pooling and normalisation."""

    def __init__(
        self,
        model: str = DEFAULT_EMBEDDING_MODEL,
        *,
        cache_dir: Path,
        quantized: bool = False,
        batch_size: int = 64,
    ) -> None:
        self._model_name = model
        self._cache_dir = cache_dir
        self._quantized = quantized
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._max_length = 256
        self._dimension = 0
        self._input_names: list[str] = []

    @property
    def name(self) -> str:
        return backend_model_name(self._model_name, "onnx-int8" if self._quantized else "onnx")

    @property
    def dimension(self) -> int:
        self._loaded()
        return self._dimension

    def _encode(self, texts: list[str]) -> Vectors:
        session, tokenizer = self._loaded()
        # Longest first, as sentence-transformers does: batches of similar length waste little on padding.
        order = np.argsort([-len(text) for text in texts], kind="stable")
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for start in range(0, len(texts), self._batch_size):
            chosen = order[start : start + self._batch_size]
            encoded = tokenizer(
                [texts[i] for i in chosen],
                padding=True,
                truncation=True,
                max_length=self._max_length,
                return_tensors="np",
            )
            feeds = {name: encoded[name].astype(np.int64) for name in self._input_names}
            hidden = session.run(None, feeds)[0]
            mask = encoded["attention_mask"].astype(np.float32)[:, :, None]
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[chosen] = pooled
        return out

    def _loaded(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                self._load()
            return self._session, self._tokenizer

    def _load(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import onnxruntime
        from transformers import AutoTokenizer

        source = Path(resolve_model_path(self._model_name))
        if not source.is_dir():
            raise ValueError(f"{self._model_name!r}: the ONNX backends need a local model folder")
        path = exported_model(source, self._cache_dir, quantized=self._quantized)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = thread_counts().embedding  # ORT's own default, stated (index/threads.py)
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input_names = [i.name for i in self._session.get_inputs()]
        self._tokenizer = AutoTokenizer.from_pretrained(str(source))
        self._max_length = _max_seq_length(source)
        self._dimension = int(self._session.get_outputs()[0].shape[-1])


def _max_seq_length(source: Path) -> int:
    config = source / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length", 256))
    return 256


def _fingerprint(source: Path) -> str:
    """A short hash of the model's weights and configuration, so a changed model is exported anew."""
    digest = hashlib.sha256(_EXPORT_VERSION.encode())
    for path in sorted(source.rglob("*")):
        if path.is_file() and path.suffix in {".json", ".safetensors", ".bin", ".txt"}:
            digest.update(path.relative_to(source).as_posix().encode())
            digest.update(str(path.stat().st_size).encode())
            with path.open("rb") as handle:
                digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]


def exported_model(source: Path, cache_dir: Path, *, quantized: bool) -> Path:
    """The cached ONNX file for a local model folder, exported (and quantised) on first use."""
    folder = cache_dir / f"{source.name}-{_fingerprint(source)}"
    full = folder / "model.onnx"
    int8 = folder / "model-int8.onnx"
    wanted = int8 if quantized else full
    if wanted.is_file():
        return wanted
    folder.mkdir(parents=True, exist_ok=True)
    if not full.is_file():
        logger.info("exporting %s to ONNX in %s (once)", source, folder)
        _export(source, full)
    if quantized and not int8.is_file():
        logger.info("quantising %s to int8", full)
        _quantize(full, int8)
    return wanted


def _export(source: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(source)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    sample = tokenizer(["an example sentence", "a second, longer example sentence"], padding=True, return_tensors="pt")
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in sample]
    partial = target.with_suffix(".partial")

    class _Hidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

    dynamic = {name: {0: "batch", 1: "sequence"} for name in names}
    # The tracer warns about Python conditions it freezes (padding and causal-mask checks that are constant for
    # an encoder given an attention mask); the exported model is checked against torch in the tests.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Hidden(model),
            tuple(sample[name] for name in names),
            str(partial),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={**dynamic, "last_hidden_state": {0: "batch", 1: "sequence"}},
            opset_version=17,
            dynamo=False,
        )
    partial.replace(target)  # atomic: a half-written export is never taken for a finished one


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = target.with_suffix(".partial")
    # Per-channel scales: per-tensor int8 weights moved some vectors to cosine 0.95 of torch's; per channel, 0.99+.
    quantize_dynamic(str(source), str(partial), weight_type=QuantType.QInt8, per_channel=True)
    partial.replace(target)
