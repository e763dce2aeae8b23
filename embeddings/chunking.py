"""Sentence-aware chunking with exact character offsets into the source text."""
from __future__ import annotations

from core.records import Chunk, Document
from core.text import sentence_spans


def _split_long(span: tuple[int, int], text: str, limit: int) -> list[tuple[int, int]]:
    """A sentence longer than ``limit`` is cut at spaces (or hard) into pieces of at most ``limit``."""
    s, e = span
    pieces = []
    while e - s > limit:
        cut = text.rfind(" ", s + limit // 2, s + limit)
        cut = cut if cut > s else s + limit
        pieces.append((s, cut))
        s = cut
        while s < e and text[s].isspace():
            s += 1
    if e > s:
        pieces.append((s, e))
    return pieces


def chunk_text(doc: Document, chunk_chars: int = 700, overlap: int = 1) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``chunk_chars`` characters.

    The last ``overlap`` sentences of a chunk start the next one. ``doc.text[c.start:c.end] == c.text``.
    """
    text = doc.text
    sents = [p for span in sentence_spans(text) for p in _split_long(span, text, chunk_chars)]
    chunks: list[Chunk] = []
    i = 0
    while i < len(sents):
        j = i
        while j + 1 < len(sents) and sents[j + 1][1] - sents[i][0] <= chunk_chars:
            j += 1
        start, end = sents[i][0], sents[j][1]
        chunks.append(Chunk(f"{doc.source}#{len(chunks)}", doc.source, start, end, text[start:end], doc.title, doc.date))
        if j + 1 >= len(sents):
            break
        i = max(i + 1, j + 1 - overlap)
    return chunks
