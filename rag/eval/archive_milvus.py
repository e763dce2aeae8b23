"""``rag bench archive --store milvus:FILE``: the archive benchmark (``rag.eval.archive``) on Milvus side by side
with the index folder, in the same run: the same synthetic articles, passages and vectors written into both
(build time), 10 real articles added and removed through each store's ``sync``, then in a fresh process per
store: loading, hybrid search p50 / p95 (the folder's fusion of FAISS and its BM25; Milvus's ``hybrid_search``
with ``RRFRanker``), the whole retrieval for real questions, and peak memory.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from core.settings import Settings
from rag.eval import archive
from rag.eval.perf import synthetic_vectors


def _settings(workdir: Path, store: str) -> Settings:
    sub = "folder" if store == "folder" else "milvus"
    return Settings.load(corpus_dirs=(workdir / "corpus",), index_dir=workdir / f"index-{sub}", store=store)


def build_milvus(settings: Settings) -> dict:
    """The archive written into Milvus through ``MilvusStore.build_from``: the folder's passages and vectors."""
    from embeddings.backends import open_store

    docs, chunks, read_s = archive.passages_of(settings)
    vectors = synthetic_vectors(len(chunks))
    t = time.perf_counter()
    open_store(settings).build_from(settings, docs, chunks, vectors)
    return {"articles": len(docs), "passages": len(chunks), "read_s": read_s, "write_s": time.perf_counter() - t}


def search(settings: Settings, n_queries: int = 100, k: int = 10) -> dict:
    """Load the index; hybrid search (a synthetic vector and three archive words) p50 / p95; the whole
    retrieval of real questions; peak memory of this process."""
    from embeddings.backends import open_store
    from embeddings.embedder import load_embedder
    from rag.retrieve import retrieve

    t = time.perf_counter()
    index = open_store(settings).load(settings)
    load_s = time.perf_counter() - t
    rng = np.random.default_rng(2)
    queries = synthetic_vectors(n_queries, seed=1)
    words = [" ".join(f"w{int(i)}" for i in rng.integers(0, 300, 3)) for _ in range(n_queries)]
    index.hybrid_search(queries[0], words[0], k)  # the first search pays for loading (Milvus) or paging in
    times = []
    for q, w in zip(queries, words):
        t = time.perf_counter()
        index.hybrid_search(q, w, k)
        times.append(time.perf_counter() - t)
    embedder = load_embedder()
    retrieve(archive.QUESTIONS[0], index, embedder, settings)  # term statistics made on first use
    full = []
    for q in archive.QUESTIONS * 3:
        t = time.perf_counter()
        retrieve(q, index, embedder, settings)
        full.append(time.perf_counter() - t)
    return {"load_s": load_s, "hybrid_p50_ms": 1000 * statistics.median(times),
            "hybrid_p95_ms": 1000 * float(np.percentile(times, 95)), "retrieve_p50_ms": 1000 * statistics.median(full),
            "passages": len(index.chunks), "peak_rss_mb": archive._rss_mb()}


def main(out: Path, workdir: Path, n_passages: int, store: str) -> dict:
    """Build (or reuse) the archive for both stores in ``workdir``, measure, write ``archive-milvus.json/.md``."""
    out.mkdir(parents=True, exist_ok=True)
    corpus = workdir / "corpus"
    folder, milvus = _settings(workdir, "folder"), _settings(workdir, store)
    result: dict = {"passages_target": n_passages, "store": milvus.store}
    if not (folder.resolved_index_dir / "CURRENT").is_file():
        t = time.perf_counter()
        archive.write_archive(corpus, n_passages)
        result["files_s"] = time.perf_counter() - t
        result["build_folder"] = archive.build(folder)
        result["build_milvus"] = build_milvus(milvus)
        print(f"built: {result['build_folder']} / {result['build_milvus']}", file=sys.stderr)
    from embeddings.backends import open_store

    for name, s in (("folder", folder), ("milvus", milvus)):
        result[f"grow_{name}"] = archive.grow(s, corpus)
        if name == "milvus":
            open_store(s).close()  # Milvus Lite: one process a file; the search runs in its own
        print(f"grow {name}: {result[f'grow_{name}']}", file=sys.stderr)
        proc = subprocess.run([sys.executable, "-m", "rag.eval.archive_milvus", str(workdir), s.store],
                              capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
        if proc.returncode:
            raise RuntimeError(f"search on {name} failed: {proc.stderr[-2000:]}")
        result[f"search_{name}"] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"search {name}: {result[f'search_{name}']}", file=sys.stderr)
    (out / "archive-milvus.json").write_text(json.dumps(result, indent=2))
    md = ["| store | build | add 10 articles | remove them | hybrid p50 / p95 | retrieve p50 | load | peak memory |",
          "|---|---|---|---|---|---|---|---|"]
    for name in ("folder", "milvus"):
        b, g, s = result.get(f"build_{name}", {}), result[f"grow_{name}"], result[f"search_{name}"]
        md.append(f"| {name} | {b.get('write_s', float('nan')):.1f} s | {g['add_s']:.1f} s | {g['remove_s']:.1f} s | "
                  f"{s['hybrid_p50_ms']:.1f} / {s['hybrid_p95_ms']:.1f} ms | {s['retrieve_p50_ms']:.0f} ms | "
                  f"{s['load_s']:.1f} s | {s['peak_rss_mb']:.0f} MB |")
    (out / "archive-milvus.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return result


if __name__ == "__main__":  # one store's search phase, in a process of its own (its own peak memory)
    print(json.dumps(search(_settings(Path(sys.argv[1]), sys.argv[2]))))
