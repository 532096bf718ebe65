"""Score-matrix builders (all 1109 queries x all docs / passages), cached in memory per process."""
import functools
from common import *

corpus, queries, qrels = load()
doc_ids = [d["_id"] for d in corpus]
ND = len(corpus)
qids = list(queries)
qpos = {q: i for i, q in enumerate(qids)}
TR = [q for q in qids if q in qrels["train"]]
TE = [q for q in qids if q in qrels["test"]]
TRi = np.array([qpos[q] for q in TR])
TEi = np.array([qpos[q] for q in TE])


def tt(title, text):
    return f"{title.rstrip('.')}. {text}" if title else text


def ev(S, split="train"):
    idx, ids = (TRi, TR) if split == "train" else (TEi, TE)
    return evaluate(S[idx], ids, doc_ids, qrels[split])


@functools.lru_cache(None)
def passages(mw):
    return build_passages(corpus, mw)


@functools.lru_cache(None)
def qemb():
    return encode([queries[q] for q in qids], 256, "queries")


@functools.lru_cache(None)
def demb(name, seq):
    if name == "docs":
        texts = [tt(d["title"], d["text"]) for d in corpus]
    else:
        t, ti, o = passages(int(name[1:]))
        texts = [tt(a, b) for a, b in zip(ti, t)]
    return encode(texts, seq, name)


def dense(name, seq):
    """raw cosine scores (nq x ndocs or nq x npassages)."""
    return qemb() @ demb(name, seq).T


@functools.lru_cache(None)
def qtoks(stem=True, sw="en"):
    return tokenize([queries[q] for q in qids], stem, sw)


@functools.lru_cache(None)
def bm25_index(name, rep=1, k1=1.2, b=0.75, method="lucene", stem=True, sw="en"):
    if name == "docs":
        texts = [" ".join([d["title"]] * rep + [d["text"]]) for d in corpus]
    else:
        t, ti, o = passages(int(name[1:]))
        texts = [" ".join([a] * rep + [p]) for a, p in zip(ti, t)]
    return BM25Index(tokenize(texts, stem, sw), k1=k1, b=b, method=method)


def bm25(name, rep=1, k1=1.2, b=0.75, method="lucene", stem=True, sw="en"):
    return bm25_index(name, rep, k1, b, method, stem, sw).scores(qtoks(stem, sw))


def owner(name):
    return passages(int(name[1:]))[2]


def todoc(P, name, agg="max", w2=0.0):
    if name == "docs":
        return P
    if agg == "max" or w2 == 0:
        return maxp(P, owner(name), ND)
    return topk_sum(P, owner(name), ND, 2, w2)
