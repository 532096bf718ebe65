"""The full recipe, parameterised by retrieval unit ('docs' = whole abstracts, 'pNNN' = passages of
<= NNN words, whole sentences, 1-sentence overlap, title prepended). All fusion happens in unit space;
doc score = MaxP (max over the doc's passages) at the very end.

stage 1: BM25 (bm25s lucene, stemmed+en stopwords, title repeated `rep` times in each unit)
         dense (MiniLM cosine, "title. unit text")
         H0 = w * z(BM25) + (1-w) * z(dense), z = per-query z-score over each list's top-`depth`
         (units outside a list's top-depth get that list's minimum z); only units in either top list kept.
stage 2 (optional): RM3 from top-m units of H0 -> expanded weighted BM25 query -> L'
                    (optional) Rocchio q' = norm(q + beta * mean(top-m unit vectors of H0)) -> D'
                    H1 = w2 * z(L') + (1-w2) * z(D' or D)
"""
from fusion_lib import *
from prf_lib import *


def stage1(unit, seq=256, rep=3, k1=1.2, b=0.75, w=0.5, depth=1000, how="zscore"):
    L = bm25(unit, rep, k1, b)
    D = dense(unit, seq)
    return L, D, wsum_apply(L, D, w, depth, how)


def stage2(unit, L, D, H0, seq=256, rep=3, k1=1.2, b=0.75, rm=(3, 20, 0.3), rocchio_mb=None,
           w2=0.5, depth=1000, how="zscore"):
    Lx = rm3_scores(H0, unit, rep=rep, k1=k1, b=b, m=rm[0], nterms=rm[1], lam=rm[2]) if rm else L
    Dx = D
    if rocchio_mb:
        V = demb(unit, seq)
        Dx = rocchio(qemb(), H0, V, m=rocchio_mb[0], beta=rocchio_mb[1]) @ V.T
    return Lx, Dx, wsum_apply(Lx, Dx, w2, depth, how)
