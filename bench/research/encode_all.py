"""Encode queries, whole docs and passage sets with MiniLM; cached to /tmp/scifact_cache."""
import sys
from common import *

corpus, queries, qrels = load()


def tt(title, text):
    return f"{title.rstrip('.')}. {text}" if title else text


qids = list(queries)
encode([queries[q] for q in qids], 256, "queries")
jobs = [("docs", 256), ("p150", 256), ("p200", 256), ("docs", 512), ("p200", 512), ("p100", 256), ("p250", 512)]
for name, seq in jobs:
    if name == "docs":
        texts = [tt(d["title"], d["text"]) for d in corpus]
    else:
        t, ti, o = build_passages(corpus, int(name[1:]))
        texts = [tt(a, b) for a, b in zip(ti, t)]
    encode(texts, seq, name)
print("done")
