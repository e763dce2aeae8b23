"""Sentence-aware chunking with exact character offsets into the source text."""
from __future__ import annotations

import re

from rag.records import Chunk, Document

# a sentence ends at . ! ? (optionally followed by quotes/brackets) before whitespace, or at a line break
_SENT_END = re.compile(r"""[.!?]+["'”’)\]]*(?=\s)|\n+""")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of sentences in ``text[start:end]``, whitespace trimmed: "A b. C d." -> [(0, 4), (5, 9)]."""
    end = len(text) if end is None else end
    spans = []
    pos = start
    for m in _SENT_END.finditer(text, start, end):
        spans.append((pos, m.end()))
        pos = m.end()
    spans.append((pos, end))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


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
