"""``rag bench perf``: ingestion throughput, retrieval latency/recall against size, pipeline overhead over llama.cpp.

Writes perf.json and perf.md (with an SVG plot of latency against collection size) to the output folder.
"""
from __future__ import annotations

import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from core.settings import DEFAULT_CORPUS
from rag.eval.plots import latency_svg

# one ingest in a child process (argv: corpus folder, index folder): "started", then a JSON line of the result.
# Also the process that the fault suite (tests/stress.py) kills at random moments.
INGEST_CHILD = """
import json, sys, time
from pathlib import Path
from core.errors import RagError
from core.settings import Settings
from embeddings.ingest import ingest
print("started", flush=True)
t = time.perf_counter()
try:
    r = ingest(Settings.load(corpus_dirs=(Path(sys.argv[1]),), index_dir=Path(sys.argv[2])))
except RagError as exc:
    print("error:", exc, file=sys.stderr)
    sys.exit(2)
print(json.dumps({"chunks": r.n_chunks, "seconds": time.perf_counter() - t}), flush=True)
"""


def synthetic_corpus(folder: Path, scale: int) -> int:
    """``scale`` copies of each seed article, each made unique by a numbered first line."""
    folder.mkdir(parents=True, exist_ok=True)
    seeds = sorted(DEFAULT_CORPUS.glob("*.txt"))
    for i in range(scale):
        for p in seeds:
            (folder / f"{p.stem}_{i:04d}.txt").write_text(f"Copy {i} of {p.stem}.\n" + p.read_text(encoding="utf-8"),
                                                          encoding="utf-8")
    return scale * len(seeds)


def ingestion(scales: list[int]) -> list[dict]:
    """Chunks per second and peak memory of a cold ``ingest`` (its own process) per collection size."""
    rows = []
    for scale in scales:
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(tmp) / "corpus"
            n_docs = synthetic_corpus(corpus, scale) if scale > 1 else len(list(shutil.copytree(DEFAULT_CORPUS, corpus).glob("*.txt")))
            proc = subprocess.run([sys.executable, "-c", INGEST_CHILD, str(corpus), str(Path(tmp) / "index")],
                                  capture_output=True, text=True, check=True)
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # MB, max over children so far
            rows.append({"scale": scale, "articles": n_docs, "chunks": out["chunks"], "seconds": out["seconds"],
                         "chunks_per_s": out["chunks"] / out["seconds"], "peak_mb": peak})
            print(f"ingest x{scale}: {rows[-1]}", file=sys.stderr)
    return rows


def synthetic_vectors(n: int, d: int = 384, rank: int = 48, seed: int = 0) -> np.ndarray:
    """Unit vectors of low intrinsic dimension, like real embeddings: a fixed random (rank x d) map of Gaussian
    points plus small noise. The seeds' MiniLM vectors need 40 components for 90% of their variance; these need
    about 35. (Isotropic 384-d noise is the worst case for any graph index: HNSW recall@10 0.77 at 1e5.)"""
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(12345).standard_normal((rank, d)).astype(np.float32)
    x = rng.standard_normal((n, rank)).astype(np.float32) @ basis + 0.3 * rng.standard_normal((n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def _timed_search(index, queries: np.ndarray, k: int) -> tuple[list[float], list[np.ndarray]]:
    from embeddings import vectors as vec

    times, ids = [], []
    for q in queries:
        t = time.perf_counter()
        _, i = vec.search(index, q[None, :], k)
        times.append(time.perf_counter() - t)
        ids.append(i[0])
    return times, ids


def retrieval(sizes: list[int], n_queries: int = 200, k: int = 10, ef_values=(128, 256, 512)) -> list[dict]:
    """Single-query latency (p50, p95) of the exact and HNSW indexes, and HNSW recall@10 against exact, for
    several HNSW search depths (efSearch; the app uses ``vectors.HNSW_EF_SEARCH``)."""
    import faiss

    from embeddings import vectors as vec

    rows = []
    for n in sizes:
        data = synthetic_vectors(n)
        queries = synthetic_vectors(n_queries, seed=1)
        row = {"vectors": n}
        faiss.omp_set_num_threads(2)  # builds use both cores
        t = time.perf_counter()
        exact = vec.build_index(data, exact_max=n)
        row["exact_build_s"] = time.perf_counter() - t
        faiss.omp_set_num_threads(1)  # one query at a time, as the app serves them
        times, truth = _timed_search(exact, queries, k)
        row["exact_p50_ms"], row["exact_p95_ms"] = 1000 * statistics.median(times), 1000 * float(np.percentile(times, 95))
        del exact
        faiss.omp_set_num_threads(2)
        t = time.perf_counter()
        hnsw = vec.build_index(data, exact_max=0)
        row["hnsw_build_s"] = time.perf_counter() - t
        faiss.omp_set_num_threads(1)
        for ef in ef_values:
            hnsw.hnsw.efSearch = ef
            times, ids = _timed_search(hnsw, queries, k)
            suffix = "" if ef == vec.HNSW_EF_SEARCH else f"_ef{ef}"
            row[f"hnsw{suffix}_p50_ms"] = 1000 * statistics.median(times)
            row[f"hnsw{suffix}_p95_ms"] = 1000 * float(np.percentile(times, 95))
            row[f"hnsw{suffix}_recall_at_10"] = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, truth)]))
        del hnsw
        rows.append(row)
        print(f"retrieval {n}: {row}", file=sys.stderr)
    return rows


def generation(n_questions: int = 3) -> dict:
    """The same prompts through ``ask`` and through llama.cpp directly; the ratio is the pipeline's overhead."""
    from core.settings import Settings
    from rag import evidence
    from rag.pipeline import ask, estimate_tokens, open_engine
    from rag.prompt import build_messages
    from rag.retrieve import retrieve

    engine, _ = open_engine(Settings.load())
    llm = engine.llm
    raw = llm._llm
    questions = ["Which Russian warship visited Yangon in October 2021?", "Who is Morgan Michaels?",
                 "Which project in Tanintharyi Region did Russia agree to help restart?"][:n_questions]
    ask(engine, questions[0])  # warm up
    pipe, direct = [], []
    for q in questions:
        r = retrieve(q, engine.index, engine.embedder, engine.settings)
        found = evidence.select(q, r.query_vector, r.hits, engine.index, engine.embedder, r.dates,
                                engine.settings.evidence_tokens, estimate_tokens)
        messages = build_messages(q, found)
        raw.reset()
        t = time.perf_counter()
        ask(engine, q)
        pipe.append(time.perf_counter() - t)
        raw.reset()
        t = time.perf_counter()
        for _ in raw.create_chat_completion(messages=messages, max_tokens=engine.settings.max_tokens, temperature=0.0,
                                            seed=engine.settings.seed, stream=True):
            pass
        direct.append(time.perf_counter() - t)
    return {"questions": questions, "pipeline_s": pipe, "llama_cpp_s": direct,
            "overhead": sum(pipe) / sum(direct) - 1.0}


def main(out: Path, quick: bool = False, scales: list[int] | None = None, sizes: list[int] | None = None,
         gen: bool = True) -> dict:
    """Run the suite; write perf.json, perf.md and retrieval.svg into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    scales = scales or ([1, 10] if quick else [1, 10, 100])
    sizes = sizes or ([1_000, 10_000] if quick else [1_000, 10_000, 100_000, 1_000_000])
    result = {"ingestion": ingestion(scales), "retrieval": retrieval(sizes)}
    if gen:
        result["generation"] = generation()
    (out / "perf.json").write_text(json.dumps(result, indent=2))
    md = ["# Performance", "", "| collection | articles | chunks | seconds | chunks/s | peak MB |", "|---|---|---|---|---|---|"]
    md += [f"| seeds x{r['scale']} | {r['articles']} | {r['chunks']} | {r['seconds']:.1f} | {r['chunks_per_s']:.0f} | "
           f"{r['peak_mb']:.0f} |" for r in result["ingestion"]]
    md += ["", "| vectors | exact p50 ms | exact p95 ms | HNSW p50 ms | HNSW p95 ms | HNSW recall@10 | HNSW build s | "
               "other efSearch: recall@10 (p50 ms) |", "|---|---|---|---|---|---|---|---|"]
    for r in result["retrieval"]:
        others = ", ".join(f"ef {k.split('_ef')[1].split('_')[0]}: {r[k]:.3f} ({r[k.replace('recall_at_10', 'p50_ms')]:.2f})"
                           for k in r if k.startswith("hnsw_ef") and k.endswith("recall_at_10"))
        md.append(f"| {r['vectors']:,} | {r['exact_p50_ms']:.2f} | {r['exact_p95_ms']:.2f} | {r['hnsw_p50_ms']:.2f} | "
                  f"{r['hnsw_p95_ms']:.2f} | {r['hnsw_recall_at_10']:.3f} | {r['hnsw_build_s']:.1f} | {others} |")
    if gen:
        g = result["generation"]
        md += ["", f"Pipeline over llama.cpp on the same prompts: {sum(g['pipeline_s']):.2f} s vs "
                   f"{sum(g['llama_cpp_s']):.2f} s, overhead {100 * g['overhead']:+.1f}%"]
    (out / "perf.md").write_text("\n".join(md) + "\n")
    (out / "retrieval.svg").write_text(latency_svg(result["retrieval"], {"exact_p50_ms": "exact (flat IP)",
                                                  "hnsw_p50_ms": "HNSW (M=32, app efSearch)"},
                                                  "p50 query latency against vectors"))
    print("\n".join(md))
    return result
