"""Final: evaluate train-chosen configurations on train and test (nDCG@10, Recall@100, MRR@10)."""
import json, sys
from pipeline import *

unit = sys.argv[1] if len(sys.argv) > 1 else "docs"
cfg = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
rep, w, w2 = cfg.get("rep", 3), cfg.get("w", 0.5), cfg.get("w2", 0.5)
rm = tuple(cfg.get("rm", (3, 20, 0.3)))
depth = cfg.get("depth", 1000)
roc = cfg.get("roc")
rows = []


def show(name, S):
    S = todoc(S, unit)
    a, b = ev(S, "train"), ev(S, "test")
    rows.append((name, a, b))
    print(f"| {name} | {a[0]:.4f} | {b[0]:.4f} | {b[1]:.4f} | {b[2]:.4f} |", flush=True)


print(f"unit={unit} cfg={cfg}")
print("| config | train nDCG@10 | test nDCG@10 | test R@100 | test MRR@10 |")
L, D, H0 = stage1(unit, rep=rep, w=w, depth=depth)
show(f"BM25 title x{rep} k1=1.2 b=.75", L)
show("dense MiniLM", D)
show("RRF k=60 depth 1000", rrf([L, D], 60, 1000))
show("RRF k=5 depth 1000 (train-best k)", rrf([L, D], 5, 1000))
show(f"zscore wsum w_lex={w} depth {depth}", H0)
if roc:
    V = demb(unit, 256)
    Dr = rocchio(qemb(), H0, V, m=roc[0], beta=roc[1]) @ V.T
    show(f"+ Rocchio m={roc[0]} beta={roc[1]} (w_lex={cfg.get('wr', 0.4)})", wsum_apply(L, Dr, cfg.get("wr", 0.4), depth, "zscore"))
Lx, Dx, H1 = stage2(unit, L, D, H0, rep=rep, rm=rm, w2=w2, depth=depth)
show(f"RM3 lexical alone (m={rm[0]}, terms={rm[1]}, lam={rm[2]})", Lx)
show(f"FINAL: RM3-BM25 + dense, zscore w_lex={w2}", H1)
