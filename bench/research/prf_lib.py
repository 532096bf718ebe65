"""Pseudo-relevance feedback: dense Rocchio and lexical RM3 over a bm25s index."""
from data import *


def topm(S, m):
    idx = np.argpartition(-S, m, axis=1)[:, :m]
    return idx


def rocchio(Q, S, V, m=3, beta=0.5, owner_=None):
    """Q (nq,dim) query vectors; S (nq, nd) first-stage doc scores; V (nd,dim) doc vectors.
    q' = normalise(q + beta * mean(V[top-m]))."""
    idx = topm(S, m)
    cent = V[idx].mean(1)
    Qn = Q + beta * cent
    return Qn / np.linalg.norm(Qn, axis=1, keepdims=True)


@functools.lru_cache(None)
def count_matrix(name="docs", rep=1, stem=True, sw="en"):
    """(nd, V) length-normalised term frequencies, vocab aligned with the bm25 index."""
    idx = bm25_index(name, rep, stem=stem, sw=sw)
    if name == "docs":
        texts = [" ".join([d["title"]] * rep + [d["text"]]) for d in corpus]
    else:
        t, ti, o = passages(int(name[1:]))
        texts = [" ".join([a] * rep + [p]) for a, p in zip(ti, t)]
    toks = tokenize(texts, stem, sw)
    rows, cols = [], []
    for i, ts in enumerate(toks):
        for t in ts:
            j = idx.vocab.get(t)
            if j is not None:
                rows.append(i)
                cols.append(j)
    C = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(toks), idx.M.shape[1]))
    C.sum_duplicates()
    L = np.asarray(C.sum(1)).ravel()
    C = sp.diags(1.0 / np.maximum(L, 1)) @ C
    return C.tocsr()


def rm3_scores(S, name="docs", rep=1, k1=1.2, b=0.75, m=10, nterms=20, lam=0.5, stem=True, sw="en", temp=None):
    """RM3: expansion distribution from top-m docs of S (weights ~ normalised first-stage scores),
    interpolated with the original query; returns bm25 scores of the expanded weighted queries."""
    idx = bm25_index(name, rep, k1, b, stem=stem, sw=sw)
    C = count_matrix(name, rep, stem, sw)
    Q0 = idx.qmatrix(qtoks(stem, sw)).toarray()
    Q0 = Q0 / np.maximum(Q0.sum(1, keepdims=True), 1e-9)
    top = topm(S, m)
    sc = np.take_along_axis(S, top, 1)
    # doc weights: min-max within top-m then normalise (rank-robust for fused scores)
    w = sc - sc.min(1, keepdims=True) + 1e-3 if temp is None else np.exp((sc - sc.max(1, keepdims=True)) / temp)
    w = w / w.sum(1, keepdims=True)
    nq = S.shape[0]
    E = np.zeros_like(Q0)
    for qi in range(nq):
        e = np.asarray(C[top[qi]].T @ w[qi]).ravel()
        keep = np.argpartition(-e, nterms)[:nterms]
        E[qi, keep] = e[keep]
    E = E / np.maximum(E.sum(1, keepdims=True), 1e-9)
    Qx = sp.csr_matrix((1 - lam) * Q0 + lam * E)
    return np.asarray((idx.M @ Qx.T).T.todense(), dtype=np.float32)
