"""BM25 variants on SciFact train (doc-level and passage-level MaxP)."""
import itertools
from common import *

corpus, queries, qrels = load()
doc_ids = [d["_id"] for d in corpus]
tr = list(qrels["train"])
qtok = {}
for stem, sw in [(True, "en"), (True, None), (False, "en")]:
    qtok[(stem, sw)] = tokenize([queries[q] for q in tr], stem, sw)

res = []


def run(name, doc_texts, stem=True, sw="en", owner=None, **kw):
    idx = BM25Index(tokenize(doc_texts, stem, sw), **kw)
    S = idx.scores(qtok[(stem, sw)])
    if owner is not None:
        S = maxp(S, owner, len(corpus))
    n, r, m = evaluate(S, tr, doc_ids, qrels["train"])
    res.append((n, name, kw))
    print(f"{n:.4f} R@100={r:.4f} MRR={m:.4f} {name} {kw}", flush=True)


T = lambda d, rep=1: " ".join([d["title"]] * rep + [d["text"]])
base = [T(d) for d in corpus]
# tokenisation
run("title+text stem+sw", base)
run("title+text stem nosw", base, sw=None)
run("title+text nostem sw", base, stem=False)
# methods
for meth in ["robertson", "atire", "bm25l", "bm25+"]:
    run("title+text", base, method=meth)
# k1/b grid lucene
for k1, b in itertools.product([0.6, 0.9, 1.2, 1.5, 2.0], [0.4, 0.6, 0.75, 0.9, 1.0]):
    run("title+text", base, k1=k1, b=b)
# title boost
for rep in (2, 3):
    for k1, b in [(1.2, 0.75), (0.9, 0.9), (1.5, 0.9)]:
        run(f"title x{rep}+text", [T(d, rep) for d in corpus], k1=k1, b=b)
# passage level
for mw in (100, 150, 200, 250):
    t, ti, o = build_passages(corpus, mw)
    for k1, b in [(1.2, 0.75), (0.9, 0.9), (1.5, 0.9), (1.2, 0.5)]:
        run(f"passages{mw} title+passage MaxP", [a + " " + p for a, p in zip(ti, t)], owner=o, k1=k1, b=b)
res.sort(key=lambda x: -x[0])
print("BEST", res[:8])
