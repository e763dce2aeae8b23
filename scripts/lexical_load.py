"""BM25 postings over the seeds' chunks x100 and x1000: building them (once, when a segment is written) vs
loading the stored ones (memory-mapped) with a first query.

    .venv/bin/python scripts/lexical_load.py
"""
import time, tempfile
import numpy as np
from pathlib import Path
from embeddings.lexical import BM25, Postings
from embeddings.reader import read_corpus
from embeddings.chunking import chunk_text
from core.settings import Settings
s = Settings.load(); docs, _ = read_corpus(s.corpus_dirs)
base = [f"{c.title}\n{c.text}" for d in docs for c in chunk_text(d, s.chunk_chars, s.chunk_overlap)]
for mult in (100, 1000):  # 10,000 and 100,000 passages
    texts = [f"{t} v{i}" for i in range(mult) for t in base]
    rows = np.arange(len(texts))
    t = time.perf_counter(); p = Postings.build(texts); build = time.perf_counter() - t
    d = Path(tempfile.mkdtemp()); t = time.perf_counter(); p.save(d); save = time.perf_counter() - t
    t = time.perf_counter(); l = BM25([(Postings.load(d), rows)]); l.top("agreements signed in March", 10)
    load = time.perf_counter() - t
    b = BM25([(p, rows)])
    same = (b.top("Rosatom nuclear plant", 10)[0] == l.top("Rosatom nuclear plant", 10)[0]).all()
    print(len(texts), f"build {build:.2f} s, save {save:.2f} s, load+first query {load:.2f} s, same top-10 {same}", flush=True)
