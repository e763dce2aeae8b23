"""Index persistence: manifest, incremental updates, rebuilds, damage, and kills mid-write."""
import json
import os
import shutil

import numpy as np
import pytest

from embeddings.diskformat import current_version
from embeddings.ingest import ingest, load_index
from core.errors import CorpusError, Hint, IndexStateError
from rag.cli import error_line


def test_build_then_rerun_embeds_nothing(corpus, settings_for):
    s = settings_for(corpus)
    first = ingest(s)
    assert len(first.added) == 5 and first.n_chunks > 20
    idx = load_index(s)
    m = idx.manifest
    assert m["embedder"] == {"name": "all-MiniLM-L6-v2", "dim": 384, "backend": "torch"}
    assert m["chunking"]["chunk_chars"] == s.chunk_chars
    assert set(m["files"]) == {p.stem for p in corpus.glob("*.txt")}
    assert all(len(f["sha256"]) == 64 for f in m["files"].values())
    for c in idx.chunks:  # offsets round-trip through the saved files
        assert idx.documents[c.source].text[c.start:c.end] == c.text
    again = ingest(s)
    assert not again.wrote and again.version == first.version
    assert again.unchanged and not again.added


def test_incremental_add_change_delete(corpus, settings_for, monkeypatch):
    s = settings_for(corpus)
    ingest(s)
    before = load_index(s)
    (corpus / "new.txt").write_text("Myanmar signed a rice deal with Laos. It was small.", encoding="utf-8")
    changed = corpus / "001_ca0daf8963f53742.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\nA new closing sentence.", encoding="utf-8")
    (corpus / "004_6442ee56b40e60eb.txt").unlink()

    embedded = []
    import embeddings.ingest as store

    real = store.embed_texts
    monkeypatch.setattr(store, "embed_texts", lambda m, texts, **kw: embedded.extend(texts) or real(m, texts, **kw))
    r = ingest(s)
    assert r.added == ["new"] and r.changed == ["001_ca0daf8963f53742"] and r.removed == ["004_6442ee56b40e60eb"]
    after = load_index(s)
    assert {c.source for c in after.chunks} == {p.stem for p in corpus.glob("*.txt")}
    # only the new and changed articles were embedded
    assert set(embedded) == {c.text for c in after.chunks if c.source in ("new", "001_ca0daf8963f53742")}
    # unchanged articles kept their vectors
    old = {c.chunk_id: before.vectors_of([i])[0] for i, c in enumerate(before.chunks)}
    for i, c in enumerate(after.chunks):
        if c.source == "000_33c356039679306b":
            assert np.array_equal(after.vectors_of([i])[0], old[c.chunk_id])
    assert len(list(s.resolved_index_dir.glob("v-*"))) == 1  # old version cleaned up
    # 2 of the first segment's 5 articles gone (over a quarter of its passages): rewritten without them
    assert [len(dead) for _, dead in after.parts] == [0, 0] and after.parts[0][0].path != before.parts[0][0].path


def test_removing_marks_the_articles_and_rewrites_nothing(corpus, settings_for):
    s = settings_for(corpus)
    ingest(s)
    before = load_index(s)
    (corpus / "001_ca0daf8963f53742.txt").unlink()  # 15 of 100 passages
    r = ingest(s)
    after = load_index(s)
    assert r.removed == ["001_ca0daf8963f53742"] and len(after.chunks) == r.n_chunks < len(before.chunks)
    assert [(seg.path, dead) for seg, dead in after.parts] == [(before.parts[0][0].path, {"001_ca0daf8963f53742"})]
    assert "001_ca0daf8963f53742" not in after.documents and "001_ca0daf8963f53742" not in {
        c.source for c in after.chunks}


def test_files_unchanged_on_disk_are_not_read_again(corpus, settings_for, monkeypatch):
    from embeddings import reader

    s = settings_for(corpus)
    ingest(s)
    read = []
    real = reader._read
    monkeypatch.setattr(reader, "_read", lambda path: read.append(path.name) or real(path))
    assert not ingest(s).wrote and read == []  # size and modification time as recorded: nothing read
    one = sorted(corpus.glob("*.txt"))[0]
    st = one.stat()
    os.utime(one, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched, same text
    r = ingest(s)
    assert read == [one.name] and not r.wrote and one.stem in r.unchanged
    text = one.read_text(encoding="utf-8")
    one.write_text(text.replace("Myanmar", "Burma!!"[:7], 1), encoding="utf-8")  # same size, new text
    read.clear()
    r = ingest(s)
    assert read == [one.name] and r.changed == [one.stem]
    doc = load_index(s).documents[one.stem]
    assert "Burma!!" in doc.text and load_index(s).manifest["files"][one.stem]["mtime_ns"] == one.stat().st_mtime_ns
    read.clear()
    assert not ingest(s).wrote and read == []


def test_other_chunking_rebuilds_and_says_why(corpus, settings_for):
    ingest(settings_for(corpus))
    s2 = settings_for(corpus, chunk_chars=400)
    with pytest.raises(IndexStateError, match="outdated"):
        load_index(s2)
    r = ingest(s2)
    assert r.rebuilt_because and "chunk_chars" in r.rebuilt_because
    assert load_index(s2).manifest["chunking"]["chunk_chars"] == 400


@pytest.mark.parametrize("key,value", [("name", "some-other-model"), ("backend", "onnx")])
def test_index_built_by_another_embedder_or_backend_is_rebuilt_with_a_message(corpus, settings_for, key, value):
    s = settings_for(corpus)
    ingest(s)
    path = current_version(s.resolved_index_dir) / "manifest.json"
    m = json.loads(path.read_text())
    m["embedder"][key] = value
    path.write_text(json.dumps(m))
    with pytest.raises(IndexStateError, match=f'"{key}": "{value}".*Index the articles again'):
        load_index(s)
    r = ingest(s)
    assert f'"{value}"' in r.rebuilt_because and "rebuilt" in r.summary()
    assert load_index(s).manifest["embedder"] == {"name": "all-MiniLM-L6-v2", "dim": 384, "backend": "torch"}


def test_index_of_an_earlier_format_is_called_outdated_not_damaged(corpus, settings_for):
    s = settings_for(corpus)
    ingest(s)
    path = current_version(s.resolved_index_dir) / "manifest.json"
    m = json.loads(path.read_text())
    path.write_text(json.dumps({k: v for k, v in m.items() if k != "segments"} | {"format_version": 1}))
    with pytest.raises(IndexStateError, match="outdated: the index was built with format_version=1"):
        load_index(s)
    r = ingest(s)
    assert "format_version=1" in r.rebuilt_because and "unreadable" not in r.rebuilt_because
    assert len(load_index(s).chunks) == r.n_chunks


def _segment(s):
    live = current_version(s.resolved_index_dir)
    return s.resolved_index_dir / json.loads((live / "manifest.json").read_text())["segments"][0]["name"]


@pytest.mark.parametrize("damage", ["truncate_faiss", "passages_outside_article", "garbage_vectors", "bad_pointer",
                                    "bad_json"])
def test_damaged_index_is_reported_then_rebuilt(corpus, settings_for, damage):
    s = settings_for(corpus)
    ingest(s)
    v, seg = current_version(s.resolved_index_dir), _segment(s)
    if damage == "truncate_faiss":
        data = (seg / "index.faiss").read_bytes()
        (seg / "index.faiss").write_bytes(data[: len(data) // 2])
    elif damage == "passages_outside_article":  # same size, so only the load's cross-check can tell
        table = np.load(seg / "passages.npy")
        table[-1, 3] += 10_000
        np.save(seg / "passages.npy", table)
    elif damage == "garbage_vectors":
        (seg / "vectors.npy").write_bytes(b"\x00" * 100)
    elif damage == "bad_pointer":
        (s.resolved_index_dir / "CURRENT").write_text("v-missing\n")
    elif damage == "bad_json":
        (v / "manifest.json").write_text("{not json")
    with pytest.raises(IndexStateError) as err:
        load_index(s)
    assert "Rebuild it from the articles" in str(err.value) and err.value.hint is Hint.REBUILD_INDEX
    assert "run `rag index --rebuild`" in error_line(err.value)  # the terminal names its command
    if damage == "passages_outside_article":  # sizes right: ingest plans from them, so the hint's rebuild does it
        r = ingest(s, rebuild=True)
        assert r.rebuilt_because == "requested"
    else:
        r = ingest(s)
        assert r.rebuilt_because and "unreadable" in r.rebuilt_because
    assert len(load_index(s).chunks) == r.n_chunks


def test_missing_and_empty_folders(tmp_path, settings_for):
    with pytest.raises(CorpusError, match="does not exist"):
        ingest(settings_for(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="No articles found"):
        ingest(settings_for(tmp_path / "empty"))


def test_bad_files_are_skipped_and_named(corpus, settings_for):
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(b"\x89PNG\x00\x00\x01\x02" * 10)
    (corpus / "latin1.md").write_bytes("Caf\xe9 in Yangon".encode("latin-1"))
    (corpus / "blank.md").write_text("   \n\n  ")
    r = ingest(settings_for(corpus))
    reasons = {os.path.basename(sk.path): sk.reason for sk in r.skipped}
    assert set(reasons) == {"empty.txt", "binary.txt", "latin1.md", "blank.md"}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.md"]
    assert len(r.added) == 5


def test_only_bad_files_is_a_clear_error(tmp_path, settings_for):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CorpusError, match="None of the articles .* could be read"):
        ingest(settings_for(folder))


def test_failed_write_keeps_previous_index(corpus, settings_for, monkeypatch):
    s = settings_for(corpus)
    ingest(s)
    before = current_version(s.resolved_index_dir)
    (corpus / "new.txt").write_text("A brand new article about rice exports.", encoding="utf-8")
    import embeddings.ingest as store

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.segs.vec, "save_index", disk_full)
    with pytest.raises(IndexStateError, match="No space left on device.*previous index is unchanged"):
        ingest(s)
    assert current_version(s.resolved_index_dir) == before
    assert not list(s.resolved_index_dir.glob(".tmp-*"))
    assert "new" not in load_index(s).documents


def test_lexical_index_is_loaded_from_the_segment_not_rebuilt(corpus, settings_for, monkeypatch):
    from embeddings import lexical

    s = settings_for(corpus)
    ingest(s)
    assert (_segment(s) / "lexical" / "terms.json").is_file()
    built = lexical.BM25.over([f"{c.title}\n{c.text}" for c in load_index(s).chunks])
    monkeypatch.setattr(lexical.Postings, "build", lambda texts: pytest.fail("rebuilt instead of loaded"))
    loaded = load_index(s).lexical
    for q in ("Rosatom nuclear power plant", "Victory Day parade Moscow", "Morgan Michaels"):
        assert [list(x) for x in loaded.top(q, 10)] == [list(x) for x in built.top(q, 10)]
    shutil.rmtree(_segment(s) / "lexical")  # a segment that lost its lexical index is damaged: rebuilt
    monkeypatch.undo()
    with pytest.raises(IndexStateError, match="damaged"):
        load_index(s)
    assert ingest(s).rebuilt_because
