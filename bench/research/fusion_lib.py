"""Grid helpers for fusing doc-level score matrices, tuned on train."""
from data import *

WGRID = np.round(np.arange(0.0, 1.0001, 0.05), 2)


def rrf_grid(mats, ks=(1, 5, 10, 20, 30, 60, 100), depths=(100, 1000), split="train"):
    best = None
    rows = []
    for d in depths:
        for k in ks:
            n = ev(rrf(mats, k=k, depth=d), split)[0]
            rows.append((n, k, d))
            if best is None or n > best[0]:
                best = (n, k, d)
    return best, rows


def wsum_grid(a, b, hows=("minmax", "zscore"), depths=(100, 1000), wgrid=WGRID):
    """score = w*norm(a) + (1-w)*norm(b); returns best (ndcg, w, depth, how)."""
    best = None
    for how in hows:
        for d in depths:
            Na, Ma = normalise(a, d, how)
            Nb, Mb = normalise(b, d, how)
            anyM = Ma | Mb
            for w in wgrid:
                S = np.where(anyM, w * Na + (1 - w) * Nb, -1e9)
                n = ev(S)[0]
                if best is None or n > best[0]:
                    best = (n, float(w), d, how)
    return best


def wsum_apply(a, b, w, d, how):
    Na, Ma = normalise(a, d, how)
    Nb, Mb = normalise(b, d, how)
    return np.where(Ma | Mb, w * Na + (1 - w) * Nb, -1e9)


def fmt(e):
    return f"nDCG@10={e[0]:.4f} R@100={e[1]:.4f} MRR@10={e[2]:.4f}"
