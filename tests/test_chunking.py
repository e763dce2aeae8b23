import hashlib

import pytest
from hypothesis import given, settings, strategies as st

from core.text import sentence_spans
from embeddings.chunking import chunk_text
from core.records import Document


def doc(text, source="a"):
    return Document(source, f"/x/{source}.txt", text, hashlib.sha256(text.encode()).hexdigest(), source)


def test_sentence_spans_trim_whitespace():
    text = "  One two. Three four!\n\nFive six?  "
    assert [text[s:e] for s, e in sentence_spans(text)] == ["One two.", "Three four!", "Five six?"]


def test_decimal_point_is_not_a_sentence_end():
    text = "It sold US$2.3 billion of arms. Then it left."
    assert [text[s:e] for s, e in sentence_spans(text)] == ["It sold US$2.3 billion of arms.", "Then it left."]


@pytest.mark.parametrize("size", [100, 300, 700])
def test_offsets_round_trip_on_seeds(size):
    from pathlib import Path

    for path in sorted(Path("seeds").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        chunks = chunk_text(doc(text, path.stem), size, 1)
        assert chunks, path
        for c in chunks:
            assert text[c.start:c.end] == c.text
            assert len(c.text) <= size
        # every sentence is in some chunk
        covered = set()
        for c in chunks:
            covered.update(range(c.start, c.end))
        assert all(i in covered for s, e in sentence_spans(text) for i in range(s, e) if not text[i].isspace())


def test_overlap_repeats_last_sentence():
    text = " ".join(f"Sentence number {i} is here." for i in range(20))
    chunks = chunk_text(doc(text), 120, 1)
    assert len(chunks) > 2
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end  # overlapping
        assert b.start > a.start  # progressing


def test_a_sentence_longer_than_a_chunk_is_cut():
    text = "word " * 1000
    chunks = chunk_text(doc(text.strip()), 200, 0)
    assert all(len(c.text) <= 200 for c in chunks)
    assert chunks[-1].end == len(text.strip())


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=3000),
       st.integers(100, 800), st.integers(0, 2))
def test_offsets_round_trip_any_text(text, size, overlap):
    chunks = chunk_text(doc(text), size, overlap)
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert 0 < len(c.text) <= size
    if text.strip():
        assert chunks
