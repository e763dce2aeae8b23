"""The index grown by adding and removing articles answers searches as one built from scratch does."""
import math
import random
import shutil

import numpy as np

from embeddings import segments
from embeddings.ingest import ingest, load_index
from embeddings.lexical import BM25
from rag.retrieve import retrieve

QUESTIONS = ["Which warship visited Yangon?", "nuclear power plant agreement", "Who is Morgan Michaels?",
             "rice exports to Laos in 2024", "ferry accident"]


def _article(rng: random.Random, i: int) -> str:
    words = ["rice", "ferry", "Laos", "harbour", "minister", "Yangon", "trade", "festival", "monsoon", "bridge"]
    body = " ".join(f"{rng.choice(words).capitalize()} news {i} reached the {rng.choice(words)} desk."
                    for _ in range(rng.randint(2, 6)))
    return f"Local report {i}\n\n{body}\n"


def _searches(s, embedder):
    idx = load_index(s)
    out = {}
    for q in QUESTIONS:
        r = retrieve(q, idx, embedder, s, k=8)
        lex_ids, lex_scores = idx.lexical.top(q, 10)
        out[q] = ([h.chunk.chunk_id for h in r.hits], [round(h.dense_score, 5) for h in r.hits],
                  [idx.chunks[i].chunk_id for i in lex_ids], [round(float(x), 4) for x in lex_scores])
    return out, len(idx.chunks), {s: d.sha256 for s, d in idx.documents.items()}


def test_added_and_removed_one_by_one_equals_a_build_from_scratch(corpus, settings_for, tmp_path, seed_engine):
    s = settings_for(corpus)
    ingest(s)
    rng = random.Random(3)
    for i in range(12):  # 12 updates: more segments than MAX_SEGMENTS, so merges happen on the way
        (corpus / f"local_{i:02d}.txt").write_text(_article(rng, i), encoding="utf-8")
        if i % 4 == 3:
            (corpus / f"local_{i - 2:02d}.txt").unlink()
        if i == 6:
            (corpus / "002_c6698e118ed4b897.txt").unlink()
        ingest(s)
    grown = load_index(s)
    assert len(grown.parts) <= segments.MAX_SEGMENTS and len(grown.parts) > 1
    fresh_dir = tmp_path / "fresh"
    shutil.copytree(corpus, fresh_dir)
    fresh = settings_for(fresh_dir, index_dir=tmp_path / "fresh-index")
    ingest(fresh)
    assert len(load_index(fresh).parts) == 1
    a, b = _searches(s, seed_engine.embedder), _searches(fresh, seed_engine.embedder)
    assert a[1] == b[1] and a[2] == b[2]  # the same live passages and articles
    for q in QUESTIONS:  # the same hits, dense scores, lexical ranking and BM25 scores (global statistics)
        assert a[0][q] == b[0][q], q


def test_a_graph_segment_with_removals_answers_as_an_exact_build(corpus, settings_for, tmp_path, seed_engine):
    s = settings_for(corpus, exact_index_max=20)  # the seeds' ~100 passages go to an HNSW (8-bit) segment
    ingest(s)
    assert segments.check_files(load_index(s).parts[0][0].path)["index"] == "hnsw-sq8-ip"
    (corpus / "local_00.txt").write_text(_article(random.Random(5), 0), encoding="utf-8")
    (corpus / "002_c6698e118ed4b897.txt").unlink()
    ingest(s)
    fresh = settings_for(corpus, index_dir=tmp_path / "flat-index")
    ingest(fresh)
    a, b = _searches(s, seed_engine.embedder), _searches(fresh, seed_engine.embedder)
    assert a[1] == b[1] and a[2] == b[2]
    for q in QUESTIONS:  # re-ranked by the stored vectors: the exact hits and scores
        assert a[0][q] == b[0][q], q


def test_bm25_scores_are_the_lucene_formula_over_live_rows():
    texts = ["ferry sank near Yangon", "ferry ferry harbour", "rice exports", "Yangon harbour rice rice"]
    whole = BM25.over(texts)
    n, avg = 4, sum(len(t.split()) for t in texts) / 4
    df = 2  # "ferry" is in rows 0 and 1
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    ids, scores = whole.top("ferry", 5)
    want = [idf * tf / (tf + 1.5 * (1 - 0.75 + 0.75 * ln / avg)) for tf, ln in ((2, 3), (1, 4))]
    assert list(ids) == [1, 0] and np.allclose(scores, want, rtol=1e-5)
    # the same rows split into two segments with a removed row: scores as if the removed row never existed
    a, b = BM25.over(texts[:2]), None
    from embeddings.lexical import Postings

    parts = [(Postings.build(texts[:2]), np.array([0, 1])),
             (Postings.build(texts[2:] + ["ferry ferry ferry"]), np.array([2, 3, -1]))]
    b = BM25(parts)
    for q in ("ferry", "rice harbour", "Yangon ferry"):
        assert [list(x) for x in b.top(q, 5)] == [list(x) for x in whole.top(q, 5)], q
    assert b.size == 4 and a.size == 2 and b.knows("rice") and not BM25(parts[:1]).knows("rice")


def test_merges_only_what_the_policy_names():
    big = (1000, 750)  # a quarter of it removed: not over the limit
    small = [(20, 20)] * segments.MAX_SEGMENTS
    assert segments.plan_merges([big] + small) == [[1, 2, 3, 4, 5]]  # 9 segments: the 5 smallest become one
    assert segments.plan_merges([(1000, 500), (20, 20), (20, 20)]) == [[0]]  # half removed: rewritten alone
    assert segments.plan_merges([big] + small[:3]) == []
