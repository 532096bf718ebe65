"""Stage 1: doc-level dense (seq 256) + BM25 doc-level fusion grids on train."""
from fusion_lib import *

D = dense("docs", 256)
print("dense docs256", fmt(ev(D)), flush=True)
lexs = {"bm25 t+x k1.2 b.75": bm25("docs", 1), "bm25 title x3 k1.2 b.75": bm25("docs", 3),
        "bm25 title x2 k1.5 b.9": bm25("docs", 2, k1=1.5, b=0.9)}
for name, L in lexs.items():
    print(name, fmt(ev(L)), flush=True)
    best, rows = rrf_grid([L, D])
    print("  RRF rows", [(round(n, 4), k, d) for n, k, d in rows], flush=True)
    print("  RRF best", best, flush=True)
    b = wsum_grid(L, D)
    print("  WSUM best (w=lex weight)", b, flush=True)
    for how in ("minmax", "zscore"):
        for d in (100, 1000):
            print("   ", how, d, [(w, round(ev(wsum_apply(L, D, w, d, how))[0], 4)) for w in (0.2, 0.3, 0.4, 0.5, 0.6)], flush=True)
