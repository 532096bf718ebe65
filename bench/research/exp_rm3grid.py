"""Stage 2b: RM3 neighbourhood grid on the doc-level hybrid (train)."""
from pipeline import *
WG = np.round(np.arange(0.3, 0.71, 0.05), 2)
L, D, H0 = stage1("docs", w=0.5)
print("H0", fmt(ev(H0)), flush=True)
for m in (2, 3, 4):
    for nt in (10, 20, 40):
        for lam in (0.2, 0.3, 0.4):
            Lx = rm3_scores(H0, "docs", rep=3, m=m, nterms=nt, lam=lam)
            b = wsum_grid(Lx, D, hows=("zscore",), depths=(1000,), wgrid=WG)
            print(f"rm3 m={m} nt={nt} lam={lam} lex-only={ev(Lx)[0]:.4f} fused={b[0]:.4f} w={b[1]}", flush=True)
