from prf_lib import *
from fusion_lib import fmt
S = bm25("docs", rep=3)
print("bm25 x3", fmt(ev(S)), flush=True)
for m, nt, lam in [(5, 20, 0.3), (10, 20, 0.3), (10, 20, 0.5), (5, 10, 0.3), (3, 20, 0.3)]:
    R = rm3_scores(S, "docs", rep=3, m=m, nterms=nt, lam=lam)
    print("rm3", m, nt, lam, fmt(ev(R)), flush=True)
