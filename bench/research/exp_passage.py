"""Stage 3: passage-level (p150 @256) dense/BM25, fuse-then-MaxP vs MaxP-then-fuse, + RM3/Rocchio."""
import sys
from pipeline import *

unit = sys.argv[1] if len(sys.argv) > 1 else "p150"
seq = int(sys.argv[2]) if len(sys.argv) > 2 else 256
WG = np.round(np.arange(0.3, 0.81, 0.05), 2)
P = dense(unit, seq)
print(unit, seq, "dense MaxP", fmt(ev(todoc(P, unit))), flush=True)
for w2 in (0.25, 0.5, 1.0):
    print("  dense max + w2*second", w2, round(ev(todoc(P, unit, "top2", w2))[0], 4), flush=True)
Dd = dense("docs", 256)
for a in (0.3, 0.5, 0.7):
    print("  dense a*doc256 + (1-a)*MaxP", a, round(ev(a * Dd + (1 - a) * todoc(P, unit))[0], 4), flush=True)
for rep in (1, 3):
    Lp = bm25(unit, rep)
    print(f"  bm25 {unit} title x{rep} MaxP", fmt(ev(todoc(Lp, unit))), flush=True)
Lp = bm25(unit, 3)
# fuse in passage space then MaxP
best = None
for d in (200, 1000, 3000):
    for w in WG:
        n = ev(todoc(wsum_apply(Lp, P, w, d, "zscore"), unit))[0]
        if best is None or n > best[0]:
            best = (n, float(w), d)
print("  fuse(passages) then MaxP, zscore:", best, flush=True)
w, d = best[1], best[2]
H0p = wsum_apply(Lp, P, w, d, "zscore")
# MaxP then fuse at doc level
print("  MaxP then fuse (doc level):", wsum_grid(todoc(Lp, unit), todoc(P, unit), hows=("zscore",), depths=(1000,), wgrid=WG), flush=True)
# 3-way at doc level: doc bm25 x3 + doc dense + passage MaxP dense
Ld = bm25("docs", 3)
Dmix = 0.5 * Dd + 0.5 * todoc(P, unit)
print("  doc-bm25 + (0.5 doc dense + 0.5 MaxP dense):", wsum_grid(Ld, Dmix, hows=("zscore",), depths=(1000,), wgrid=WG), flush=True)
# stage 2 in passage space
for rm in [(3, 20, 0.3), (5, 20, 0.3), (5, 20, 0.5)]:
    for roc in (None, (3, 0.5)):
        Lx, Dx, _ = stage2(unit, Lp, P, H0p, seq=seq, rm=rm, rocchio_mb=roc)
        bb = None
        for w2 in WG:
            n = ev(todoc(wsum_apply(Lx, Dx, w2, d, "zscore"), unit))[0]
            if bb is None or n > bb[0]:
                bb = (n, float(w2))
        print(f"  passage stage2 rm3={rm} rocchio={roc}: {bb}", flush=True)
