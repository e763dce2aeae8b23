"""The Milvus store against a real Milvus Lite (a file in a temporary folder): the same retrieval as the index
folder, collection management, kill-safety, shards, and the messages when the store is wrong or missing."""
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import IndexStateError, RagError
from core.settings import Settings
from tests.conftest import DEV, ROOT, SEEDS

pytest.importorskip("pymilvus", reason="the Milvus extra: pip install -e .[milvus]")
pytestmark = pytest.mark.slow

RGB = ROOT.parent / "shared" / "eval" / "rgb_dev"


def small_corpus(folder: Path, n: int = 6) -> Path:
    """``n`` short articles of a few passages each (cheap to embed), with dates in the catalog."""
    folder.mkdir(parents=True)
    catalog = {}
    for i in range(n):
        body = " ".join(f"Report {i} sentence {j} tells of harbour {i * 7 + j} and the council of town {i}."
                        for j in range(14))
        (folder / f"art_{i:02d}.txt").write_text(f"Article {i}\n\n{body}\n", encoding="utf-8")
        catalog[f"art_{i:02d}.txt"] = {"title": f"Article {i}", "date": f"202{i % 3}-0{1 + i % 9}-01"}
    (folder / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    return folder


def expected_passages(settings: Settings) -> int:
    from embeddings.chunking import chunk_text
    from embeddings.reader import read_corpus

    docs, _ = read_corpus(settings.corpus_dirs)
    return sum(len(chunk_text(d, settings.chunk_chars, settings.chunk_overlap)) for d in docs)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The seeds indexed in the folder and in Milvus Lite (each through its own ``sync``)."""
    from embeddings.backends import open_store

    tmp = tmp_path_factory.mktemp("both")
    out = []
    for store, sub in (("folder", "f"), (f"milvus:{tmp / 'seeds.db'}", "m")):
        s = Settings.load(corpus_dirs=(SEEDS,), index_dir=tmp / sub, store=store)
        st = open_store(s)
        st.sync(s)
        out.append((s, st.load(s)))
    return out


OWN_QUESTIONS = ["Which Russian warship visited Yangon in October 2021?", "What agreements were signed in March?",
                 "Who marched in the Victory Day parade?", "Why does the junta buy Russian aircraft?",
                 "Did China recognise the coup?", "What did Rosatom plan near Naypyitaw?"]


def test_same_passages_hits_and_evidence_as_the_folder(both):
    from embeddings.embedder import load_embedder
    from core.text import estimate_tokens
    from rag import evidence
    from rag.retrieve import retrieve

    (sf, fi), (sm, mi) = both
    assert set(fi.documents) == set(mi.documents) and list(fi.chunks) == list(mi.chunks)
    embedder = load_embedder()
    questions = ([json.loads(line)["question"] for line in DEV.read_text().splitlines()] if DEV.exists() else
                 OWN_QUESTIONS)  # a clone without ../shared beside it
    for q in questions:
        for dates in (None, ("2021-01", "2021-12"), (None, "2022")):
            a, b = (retrieve(q, idx, embedder, s, date_range=dates) for s, idx in both)
            assert [h.chunk.chunk_id for h in a.hits] == [h.chunk.chunk_id for h in b.hits], (q, dates)
            assert a.decline_reason == b.decline_reason
        ea = evidence.select(q, a.query_vector, a.hits, fi, embedder, a.dates, sf.evidence_tokens, estimate_tokens)
        eb = evidence.select(q, b.query_vector, b.hits, mi, embedder, b.dates, sm.evidence_tokens, estimate_tokens)
        assert [e.text for e in ea] == [e.text for e in eb]


def test_hybrid_search_with_a_date_range(both):
    """Milvus's own hybrid search (RRFRanker) keeps to the dates, and finds what the folder's fusion finds."""
    from embeddings.embedder import embed_query, load_embedder

    (_, fi), (_, mi) = both
    q = "Which Russian warship visited Yangon?"
    qv = embed_query(load_embedder(), q)
    for dates in [None, ("2021-10", "2021-10"), ("2025", None)]:
        got = mi.hybrid_search(qv, q, 8, dates)
        assert got and set(got) == set(fi.hybrid_search(qv, q, 8, dates))
        if dates:
            assert all(mi.chunks[r].date and dates[0] <= mi.chunks[r].date[:7] for r in got)
    assert mi.dense_search(qv, 5, ("1990", "1991")) == [] and mi.lexical_search(q, 5, ("1990", "1991")) == []


def test_add_redate_and_remove_through_the_service(tmp_path):
    from rag.service import Service

    s = Settings.load(corpus_dirs=(small_corpus(tmp_path / "c", 2),), index_dir=tmp_path / "i",
                      store=f"milvus:{tmp_path / 'a.db'}")
    service = Service(s, tmp_path / "added")
    service.start()
    from ui.app import _collection_text

    assert "Index: Milvus Lite (a.db)." in _collection_text(service)  # the page's header says which store
    added = service.add_text("Lighthouse keepers strike", "2024-05", "The lighthouse keepers of Quillport went on "
                             "strike on Monday over pay.\n")
    name = added.added[0]
    found = service.find("Why did the lighthouse keepers of Quillport strike?")
    assert found.retrieval.hits[0].chunk.source == name
    service.set_meta(name, date="2019-02")
    assert service.documents()[name].date == "2019-02"
    index = service.engine.index
    assert {index.chunks[r].source for r in index.dense_search(found.retrieval.query_vector, 10, ("2019-01", "2019-12"))} \
        == {name}
    assert [r.passages for r in service.articles() if r.source == name] == [1]
    service.remove(name)
    assert name not in service.documents()
    assert all(c.source != name for c in service.engine.index.chunks)


CHILD = """
import sys, time
from core.settings import Settings
from embeddings import milvus_store as ms
from embeddings.backends import open_store
ms.BATCH, ms.UPSERT_ROWS = 1, 1  # one article a batch, one passage an upsert
rows = ms.MilvusStore._passage_rows
def slow(*a):
    print("passage", flush=True)
    time.sleep(0.3)
    return rows(*a)
ms.MilvusStore._passage_rows = staticmethod(slow)
s = Settings.load(corpus_dirs=(sys.argv[1],), index_dir=sys.argv[2], store=sys.argv[3])
open_store(s).sync(s)
"""


def test_killed_ingest_leaves_no_half_article_and_the_next_run_completes_it(tmp_path):
    from embeddings.backends import open_store

    corpus = small_corpus(tmp_path / "c")
    s = Settings.load(corpus_dirs=(corpus,), index_dir=tmp_path / "i", store=f"milvus:{tmp_path / 'a.db'}")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(corpus), str(tmp_path / "i"), s.store], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env=os.environ | {"PYTHONPATH": str(ROOT)})
    for _ in range(8):  # the 8th passage: the first articles live, one of them half written
        assert child.stdout.readline(), "the ingest ended before it was killed"
    child.send_signal(signal.SIGKILL)
    child.wait()
    store = open_store(s)
    index = store.load(s)
    assert index.pending, "the kill should have left an article half written"
    assert 0 < len(index.documents) < 6
    per_article = {src: sum(c.source == src for c in index.chunks) for src in index.documents}
    assert per_article == {src: f["chunks"] for src, f in index.manifest["files"].items()}
    report = store.sync(s)
    assert report.n_chunks == expected_passages(s) and len(report.added) == 6 - len(index.documents)
    after = store.load(s)
    assert len(after.documents) == 6 and len(after.chunks) == expected_passages(s) and not after.pending


def test_shards_fill_one_collection_like_one_process(tmp_path):
    from embeddings.backends import open_store
    from embeddings.store import in_shard
    from rag import cli

    names = [f"art_{i:04d}" for i in range(200)]
    parts = [{n for n in names if in_shard(n, (i, 3))} for i in (1, 2, 3)]
    assert set().union(*parts) == set(names) and sum(map(len, parts)) == len(names) and all(parts)

    corpus = small_corpus(tmp_path / "c")
    store = f"milvus:{tmp_path / 'a.db'}"
    common = [str(corpus), "--index-dir", str(tmp_path / "i"), "--store", store]
    for part in ("1/2", "2/2", "1/2"):  # one after another (Milvus Lite takes one process at a time); a re-run
        assert cli.main(["index", *common, "--shard", part]) == 0
    s = Settings.load(corpus_dirs=(corpus,), index_dir=tmp_path / "i", store=store)
    st = open_store(s)
    index = st.load(s)
    assert len(index.documents) == 6 and len(index.chunks) == expected_passages(s)
    assert len(set(index.pks)) == len(index.pks)
    client, names_ = st.client(), st.names(s)
    assert client.query(names_[0], filter="", output_fields=["count(*)"])[0]["count(*)"] == expected_passages(s)
    assert not st.sync(s).wrote  # the whole folder, in one process: nothing left to do
    with pytest.raises(RagError, match="rebuild once without --shard"):
        st.sync(s, rebuild=True, shard=(1, 2))
    with pytest.raises(RagError, match="--store milvus"):
        open_store(s.with_(store="folder")).sync(s.with_(store="folder"), shard=(1, 2))


def test_a_store_other_than_the_one_built_is_refused_with_what_to_do(tmp_path, capsys):
    from rag import cli

    corpus = small_corpus(tmp_path / "c", 1)
    common = [str(corpus), "--index-dir", str(tmp_path / "i")]
    assert cli.main(["index", *common]) == 0
    assert cli.main(["index", *common, "--store", f"milvus:{tmp_path / 'a.db'}"]) == 2
    err = capsys.readouterr().err
    assert "in folder" in err and "--store folder" in err and "rag index --rebuild" in err
    assert cli.main(["index", *common, "--store", f"milvus:{tmp_path / 'a.db'}", "--rebuild"]) == 0
    assert cli.main(["list", "--corpus", str(corpus), "--index-dir", str(tmp_path / "i")]) == 2
    assert "RAG_STORE=milvus:" in capsys.readouterr().err
    with pytest.raises(RagError, match="store must be"):
        Settings.load(store="milvus")


def test_without_the_extra_the_message_names_it(tmp_path, monkeypatch):
    from embeddings.backends import open_store

    monkeypatch.setitem(sys.modules, "pymilvus", None)  # as if not installed
    with pytest.raises(RagError, match=r"pip install -e \.\[milvus\]"):
        open_store(Settings.load(store=f"milvus:{tmp_path / 'a.db'}"))


def test_rgb_dev_top_k_overlap(tmp_path):
    """rgb_dev's corpus: dense top 8 identical to the folder's, BM25 top 8 overlapping >= 0.95."""
    from embeddings.backends import open_store
    from embeddings.embedder import embed_query, load_embedder

    if not RGB.is_dir():
        pytest.skip("no rgb_dev eval set beside the checkout")
    corpus = tmp_path / "rgb"
    corpus.mkdir()
    for p in sorted((RGB / "corpus").iterdir()):
        shutil.copy(p, corpus / p.name)
    sf = Settings.load(corpus_dirs=(corpus,), index_dir=tmp_path / "f")
    open_store(sf).sync(sf)
    fi = open_store(sf).load(sf)
    sm = sf.with_(store=f"milvus:{tmp_path / 'a.db'}", index_dir=tmp_path / "m")
    ms = open_store(sm)  # the folder's vectors copied: the searches compared, not the embedder run twice
    ms.build_from(sm, list(fi.documents.values()), list(fi.chunks), fi.vectors_of(range(len(fi.chunks))))
    mi = ms.load(sm)
    embedder = load_embedder()
    questions = [json.loads(line)["question"] for line in (RGB / "questions.jsonl").read_text().splitlines()]
    lexical = []
    for q in questions:
        qv = embed_query(embedder, q)
        assert [fi.chunks[r] for r in fi.dense_search(qv, 8)] == [mi.chunks[r] for r in mi.dense_search(qv, 8)]
        a, b = fi.lexical_search(q, 8), mi.lexical_search(q, 8)
        lexical.append(len(set(a) & set(b)) / max(1, len(a)))
    print(f"rgb_dev: BM25 top-8 overlap {sum(lexical) / len(lexical):.3f} over {len(questions)} questions")
    assert sum(lexical) / len(lexical) >= 0.95


def test_a_pending_article_of_a_writer_still_running_is_left_alone(tmp_path):
    """Cleaning up after killed runs never deletes an article another process is writing at that moment."""
    import socket
    import time

    from embeddings.backends import open_store
    from embeddings.milvus_schema import STALE_S, abandoned

    host = socket.gethostname()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert not abandoned({"writer": f"{host}:{running.pid}", "since": time.time()})
        assert not abandoned({"writer": f"elsewhere:{running.pid}", "since": time.time()})
        assert abandoned({"writer": f"elsewhere:1", "since": time.time() - STALE_S - 1})
        s = Settings.load(corpus_dirs=(small_corpus(tmp_path / "c", 1),), index_dir=tmp_path / "i",
                          store=f"milvus:{tmp_path / 'a.db'}")
        st = open_store(s)
        st.sync(s)
        client, names = st.client(), st.names(s)
        row = {"pk": "k.0", "article": "k", "part": 0, "state": "pending", "source": "other", "text": "",
               "v": [0.0, 0.0], "meta": {"writer": f"{host}:{running.pid}", "since": time.time()}}
        client.upsert(names[1], [row])
        client.flush(names[1])
        st.sync(s)
        assert client.get(names[1], ids=["k.0"], output_fields=["state"])  # still there
        assert "k" in st.load(s).pending
    finally:
        running.kill()
        running.wait()
    st.sync(s)  # its writer gone: now it is cleaned
    assert not client.get(names[1], ids=["k.0"], output_fields=["state"])
