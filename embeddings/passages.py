"""A segment's passages as a table of offsets into its articles; a ``Chunk`` record is made only when asked for.

``passages.npy`` is an (n, 4) int64 array, one row per passage: (article row in ``documents.jsonl``, passage
number within the article, start, end). The passage's text is ``article.text[start:end]``, its id
``"<source>#<number>"``, its title and date the article's. Worked number: 1e6 passages are a 32 MB table read in
~0.05 s, where a million ``Chunk`` records parsed from JSON lines took 8 s and ~650 MB.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.records import Chunk, Document

COLUMNS = ("article", "number", "start", "end")


def table_of(docs: list[Document], chunks: list[Chunk]) -> np.ndarray:
    """The (n, 4) table of ``chunks``; ``ValueError`` for a passage that is not its article's text at its offsets,
    with its article's title and date, and numbered ``<source>#<k>``."""
    row_of = {d.source: i for i, d in enumerate(docs)}
    table = np.zeros((len(chunks), len(COLUMNS)), dtype=np.int64)
    for i, c in enumerate(chunks):
        source, _, number = c.chunk_id.rpartition("#")
        d = docs[row_of[c.source]] if c.source in row_of else None
        if (d is None or source != c.source or not number.isdigit() or d.text[c.start:c.end] != c.text
                or (c.title, c.date) != (d.title, d.date)):
            raise ValueError(f"passage {c.chunk_id} does not match its article")
        table[i] = (row_of[c.source], int(number), c.start, c.end)
    return table


class Passages(Sequence):
    """The passages of one segment, in row order: ``passages[i]`` is a ``Chunk`` made from the table."""

    def __init__(self, table: np.ndarray, docs: tuple[Document, ...]):
        self.table = table
        self.docs = docs

    @classmethod
    def load(cls, path: Path, docs: tuple[Document, ...]) -> Passages:
        table = np.load(path, allow_pickle=False)
        if table.ndim != 2 or table.shape[1] != len(COLUMNS) or table.dtype != np.int64:
            raise ValueError(f"{path.name} is {table.dtype} {table.shape}, expected (n, {len(COLUMNS)}) int64")
        return cls(table, docs)

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        a, number, start, end = (int(x) for x in self.table[i])
        d = self.docs[a]
        return Chunk(f"{d.source}#{number}", d.source, start, end, d.text[start:end], d.title, d.date)

    @property
    def article_rows(self) -> np.ndarray:
        """Per passage, the row of its article in ``docs``."""
        return self.table[:, 0]

    def rows_of(self, sources: set[str] | frozenset[str]) -> np.ndarray:
        """The passage rows of the articles ``sources``, in order."""
        hit = np.array([d.source in sources for d in self.docs], dtype=bool)
        return np.flatnonzero(hit[self.article_rows]) if len(self.docs) else np.zeros(0, np.int64)

    def problems(self) -> list[str]:
        """Rows that point outside their article (a table that does not belong to these articles)."""
        if not len(self.table):
            return []
        a, s, e = self.table[:, 0], self.table[:, 2], self.table[:, 3]
        if a.min() < 0 or a.max() >= len(self.docs):
            return ["passages.npy names articles that documents.jsonl does not have"]
        lengths = np.array([len(d.text) for d in self.docs], dtype=np.int64)
        if (s < 0).any() or (e < s).any() or (e > lengths[a]).any():
            return ["passages.npy has offsets outside their articles"]
        return []


class Joined(Sequence):
    """Several segments' live passages in one numbering: row ``r`` is ``parts[where[r, 0]][where[r, 1]]``."""

    def __init__(self, parts: tuple[Passages, ...], where: np.ndarray):
        self.parts = parts
        self.where = where

    def __len__(self) -> int:
        return len(self.where)

    def __getitem__(self, r):
        if isinstance(r, slice):
            return [self[j] for j in range(*r.indices(len(self)))]
        k, local = self.where[r]
        return self.parts[k][int(local)]
