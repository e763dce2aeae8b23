"""``rag bench archive``: a newsroom-sized collection (1e6 passages by default) and what it costs to grow it.

Embedding a million passages takes hours on 2 cores, so the archive is built as the index would hold it, without
the embedder: synthetic articles written as files (so ``ingest`` reads and plans over them as over any
collection), one passage per paragraph, low-rank synthetic vectors (``perf.synthetic_vectors``) and the real
segment writer. Then, through the product's own code: adding 10 real articles (chunked and embedded, the
embedder already loaded as in the page), removing them, searching (against exact search), loading the index,
and ``rag chat`` on it with the default model: start-up to a usable page and peak memory while answering.
"""
from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from core.settings import DEFAULT_CORPUS, Settings
from rag.eval.perf import synthetic_vectors

PARAGRAPHS = 20  # passages per synthetic article
QUESTIONS = ["Which Russian warship visited Yangon in October 2021?", "Who is Morgan Michaels?",
             "What did Rosatom plan to build in Myanmar?"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_archive(corpus: Path, n_passages: int, seed: int = 0) -> int:
    """``n_passages / 21`` article files (a title and ``PARAGRAPHS`` paragraphs) of Zipf-distributed words (a 30,000-word vocabulary)."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(30_000)])
    corpus.mkdir(parents=True, exist_ok=True)
    n_articles = n_passages // (PARAGRAPHS + 1)  # the title line is a passage too
    for a in range(n_articles):
        ids = np.minimum(rng.zipf(1.3, size=(PARAGRAPHS, 60)), 30_000) - 1
        body = "\n\n".join(" ".join(words[row]) + "." for row in ids)
        (corpus / f"arch_{a:07d}.txt").write_text(f"Archive report {a}\n\n{body}\n", encoding="utf-8")
    return n_articles


def passages_of(settings: Settings) -> tuple[list, list, float]:
    """The archive's articles and passages (one per paragraph, title included) and the seconds reading took."""
    from core.records import Chunk
    from embeddings.reader import read_corpus

    t = time.perf_counter()
    docs, _ = read_corpus(settings.corpus_dirs)
    read_s = time.perf_counter() - t
    chunks = []
    for d in docs:
        start = 0
        for i, para in enumerate(p for p in d.text.split("\n\n") if p.strip()):
            start = d.text.index(para, start)
            chunks.append(Chunk(f"{d.source}#{i}", d.source, start, start + len(para), para, d.title, d.date))
            start += len(para)
    return docs, chunks, read_s


def build(settings: Settings) -> dict:
    """Index the archive as ``ingest`` would, without embedding: one segment, synthetic vectors."""
    from embeddings import ingest as ing

    docs, chunks, read_s = passages_of(settings)
    vectors = synthetic_vectors(len(chunks))
    t = time.perf_counter()
    p = ing.Plan(docs, None, "benchmark", [d.source for d in docs], [], [], [], [])
    with ing.disk.locked(settings.resolved_index_dir):
        ing.write(settings.resolved_index_dir, ing.build_spec(settings), settings, p, (docs, chunks, vectors))
    return {"articles": len(docs), "passages": len(chunks), "read_s": read_s, "write_s": time.perf_counter() - t}


def grow(settings: Settings, corpus: Path, n: int = 10) -> dict:
    """Add ``n`` real articles (copies of the seeds, each made unique), then remove them, through the store's
    ``sync`` (``ingest`` for the folder)."""
    from embeddings.backends import open_store
    from embeddings.embedder import load_embedder

    def ingest(s: Settings):
        return open_store(s).sync(s)

    load_embedder()  # loaded once, as in the page
    seeds = sorted(DEFAULT_CORPUS.glob("*.txt"))
    added = []
    for i in range(n):
        src = seeds[i % len(seeds)]
        added.append(corpus / f"new_{i:02d}_{src.name}")
        added[-1].write_text(f"Update {i}.\n" + src.read_text(encoding="utf-8"), encoding="utf-8")
    t = time.perf_counter()
    add = ingest(settings)
    add_s = time.perf_counter() - t
    for path in added:
        path.unlink()
    t = time.perf_counter()
    remove = ingest(settings)
    return {"add_s": add_s, "added": len(add.added), "add_summary": add.summary(), "remove_s": time.perf_counter() - t,
            "removed": len(remove.removed), "remove_summary": remove.summary()}


def search(settings: Settings, n_queries: int = 200, k: int = 10) -> dict:
    """Load the index; dense search p50/p95 and recall@10 against exact search over the stored vectors; the
    whole retrieval (embedding, dense, BM25, fusion) for real questions."""
    import faiss

    from embeddings.embedder import load_embedder
    from embeddings.ingest import load_index
    from rag.retrieve import retrieve

    faiss.omp_set_num_threads(1)  # one query at a time, as the app serves them
    t = time.perf_counter()
    idx = load_index(settings)
    load_s = time.perf_counter() - t
    queries = synthetic_vectors(n_queries, seed=1)
    times, recall = [], []
    for q in queries:
        t = time.perf_counter()
        got = idx.dense_top(q, k)
        times.append(time.perf_counter() - t)
        scores = np.concatenate([np.asarray(seg.vectors) @ q for seg, _ in idx.parts])  # all live: no removals
        truth = np.argpartition(-scores, k)[:k]
        recall.append(len(set(got) & set(truth.tolist())) / k)
    embedder = load_embedder()
    full = []
    for q in QUESTIONS * 3:
        t = time.perf_counter()
        retrieve(q, idx, embedder, settings)
        full.append(time.perf_counter() - t)
    return {"load_s": load_s, "dense_p50_ms": 1000 * statistics.median(times),
            "dense_p95_ms": 1000 * float(np.percentile(times, 95)), "recall_at_10": float(np.mean(recall)),
            "retrieve_p50_ms": 1000 * statistics.median(full), "segments": len(idx.parts), "peak_rss_mb": _rss_mb()}


def chat(corpus: Path, index_dir: Path, port: int = 7871) -> dict:
    """``rag chat`` on the archive: start to a page that answers HTTP (with the second each line the page printed
    on the way), then peak memory after 3 answers."""
    from gradio_client import Client

    root = Path(__file__).resolve().parents[2]
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "rag", "chat", "--port", str(port), "--corpus", str(corpus),
                             "--index-dir", str(index_dir)], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(f"{time.perf_counter() - t:5.1f} s  {x.rstrip()}"
                                                 for x in proc.stdout), daemon=True).start()
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("rag chat exited")
                time.sleep(0.2)
        start_s = time.perf_counter() - t
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        answers = [client.predict(q, 0, api_name="/ask")["answer"][:80] for q in QUESTIONS]
        status = open(f"/proc/{proc.pid}/status").read()
        peak = int(next(x.split()[1] for x in status.splitlines() if x.startswith("VmHWM"))) / 1024
    finally:
        proc.terminate()
        proc.wait()
    return {"start_s": start_s, "peak_mb": peak, "answers": answers, "printed": lines[:8]}


def main(out: Path, workdir: Path, n_passages: int = 1_000_000, page: bool = True) -> dict:
    """Build (or reuse) the archive in ``workdir``, measure, write ``archive.json`` and ``archive.md``. The page
    is measured with the 5 seed articles added (and removed after), so its answers come from the model."""
    from embeddings.ingest import ingest

    out.mkdir(parents=True, exist_ok=True)
    corpus, index_dir = workdir / "corpus", workdir / "index"
    settings = Settings.load(corpus_dirs=(corpus,), index_dir=index_dir)
    result = {"passages_target": n_passages}
    if not (index_dir / "CURRENT").is_file():
        t = time.perf_counter()
        write_archive(corpus, n_passages)
        result["files_s"] = time.perf_counter() - t
        result["build"] = build(settings)
        print(f"archive built: {result['build']}", file=sys.stderr)
    result["grow"] = grow(settings, corpus)
    print(f"grow: {result['grow']}", file=sys.stderr)
    result["search"] = search(settings)
    print(f"search: {result['search']}", file=sys.stderr)
    if page:
        seeds = [corpus / f"seed_{p.name}" for p in sorted(DEFAULT_CORPUS.glob("*.txt"))]
        for src, dst in zip(sorted(DEFAULT_CORPUS.glob("*.txt")), seeds):  # so the questions reach the model
            dst.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
        ingest(settings)
        try:
            result["chat"] = chat(corpus, index_dir)
        finally:
            for path in seeds:
                path.unlink()
            ingest(settings)
    (out / "archive.json").write_text(json.dumps(result, indent=2))
    g, s = result["grow"], result["search"]
    md = [f"| passages | add 10 articles | remove them | dense p50 / p95 | recall@10 | retrieve p50 | load |",
          "|---|---|---|---|---|---|---|",
          f"| {n_passages:,} | {g['add_s']:.1f} s | {g['remove_s']:.1f} s | {s['dense_p50_ms']:.1f} / "
          f"{s['dense_p95_ms']:.1f} ms | {s['recall_at_10']:.3f} | {s['retrieve_p50_ms']:.0f} ms | {s['load_s']:.1f} s |"]
    if page:
        md.append(f"\n`rag chat` on it: usable page after {result['chat']['start_s']:.1f} s, "
                  f"peak memory {result['chat']['peak_mb']:.0f} MB after 3 answers")
    (out / "archive.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return result
