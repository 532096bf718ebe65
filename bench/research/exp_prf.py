"""Stage 2: PRF on top of the doc-level hybrid (zscore wsum, depth 1000): dense Rocchio and RM3."""
from fusion_lib import *
from prf_lib import *

HOW, DEP = "zscore", 1000
WG = np.round(np.arange(0.3, 0.81, 0.05), 2)
L = bm25("docs", 3)
Q = qemb()
V = demb("docs", 256)
D = Q @ V.T
b0 = wsum_grid(L, D, hows=(HOW,), depths=(DEP,), wgrid=WG)
print("H0", b0, flush=True)
H0 = wsum_apply(L, D, b0[1], DEP, HOW)
res = []
for m in (3, 5, 10):
    for beta in (0.25, 0.5, 1.0):
        Qn = rocchio(Q, H0, V, m=m, beta=beta)
        Dn = Qn @ V.T
        bd = ev(Dn)[0]
        b = wsum_grid(L, Dn, hows=(HOW,), depths=(DEP,), wgrid=WG)
        print(f"rocchio m={m} beta={beta} dense-only={bd:.4f} fused={b}", flush=True)
        res.append((b[0], m, beta, b[1]))
res.sort(reverse=True)
_, m, beta, w = res[0]
Dn = rocchio(Q, H0, V, m=m, beta=beta) @ V.T
for rm in [(3, 20, 0.3), (5, 20, 0.3), (10, 30, 0.3), (5, 20, 0.5)]:
    Lx = rm3_scores(H0, "docs", rep=3, m=rm[0], nterms=rm[1], lam=rm[2])
    b = wsum_grid(Lx, D, hows=(HOW,), depths=(DEP,), wgrid=WG)
    b2 = wsum_grid(Lx, Dn, hows=(HOW,), depths=(DEP,), wgrid=WG)
    print(f"rm3 {rm} lex-only={ev(Lx)[0]:.4f} +dense={b} +rocchio dense={b2}", flush=True)
