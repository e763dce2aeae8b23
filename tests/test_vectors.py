import numpy as np

from embeddings import vectors as vec


def unit(n, d=384, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_index_equals_numpy_brute_force():
    data, queries = unit(2000), unit(20, seed=1)
    index = vec.build_index(data, exact_max=50_000)
    scores, ids = vec.search(index, queries, 10)
    brute = queries @ data.T
    expect = np.argsort(-brute, axis=1)[:, :10]
    assert np.array_equal(ids, expect)
    assert np.allclose(scores, np.take_along_axis(brute, expect, 1), atol=1e-5)


def test_hnsw_past_threshold_has_high_recall(tmp_path):
    data, queries = unit(5000), unit(50, seed=2)
    index = vec.build_index(data, exact_max=1000)
    assert vec.index_kind(len(data), 1000) == "hnsw-sq8-ip" and hasattr(index, "hnsw")
    vec.save_index(index, tmp_path / "i.faiss")
    index = vec.load_index(tmp_path / "i.faiss")
    scores, ids = vec.search(index, queries, 10, vectors=data)  # the 8-bit graph proposes, float32 re-ranks
    truth = np.argsort(-(queries @ data.T), axis=1)[:, :10]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth)])
    assert recall >= 0.95
    assert np.allclose(scores, np.einsum("qd,qkd->qk", queries, data[ids]), atol=1e-5)  # exact, best first
    assert (np.diff(scores, axis=1) <= 0).all()


def test_seed_index_matches_brute_force(seed_engine):
    from embeddings.embedder import embed_query

    idx = seed_engine.index
    q = embed_query(seed_engine.embedder, "Which warship visited Yangon?")
    every = idx.vectors_of(range(len(idx.chunks)))
    assert idx.dense_top(q, 5) == list(np.argsort(-(every @ q))[:5])


def test_dense_search_within_articles_equals_brute_force_over_them(seed_engine):
    from embeddings.embedder import embed_query

    idx = seed_engine.index
    q = embed_query(seed_engine.embedder, "Which warship visited Yangon?")
    only = idx.rows_of_articles(lambda d: (d.date or "") < "2024")
    kept = np.flatnonzero(only)
    assert 0 < len(kept) < len(idx.chunks)
    assert all((idx.chunks[int(r)].date or "") < "2024" for r in kept)
    every = idx.vectors_of(kept)
    assert idx.dense_top(q, 5, only) == [int(kept[i]) for i in np.argsort(-(every @ q))[:5]]
