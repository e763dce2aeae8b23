"""BM25 over chunk texts, with the tokenizer of ``core.text``: postings stored per segment, statistics global.

Each segment of the index keeps its own postings (``Postings``: for every term, the rows holding it and how
often), written once as ``.npy`` files and memory-mapped when loaded. ``BM25`` scores a query over all live
segments with the document count, document frequencies and mean length of the live rows together, so an index
grown by adding and removing articles scores exactly as one built from scratch (bm25s's "lucene" variant:
idf = ln(1 + (N - df + 0.5) / (df + 0.5)), tf part = tf / (tf + k1 (1 - b + b len / avg len))).
"""
from __future__ import annotations

import json
import math
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.text import tokenize

K1, B = 1.5, 0.75
EMPTY = "\u2205"  # the token of a row with no words, so every row has a length


@dataclass(frozen=True)
class Postings:
    """One segment's inverted index: term ``t`` (``terms[t]``) occurs in ``rows[starts[t]:starts[t + 1]]``,
    ``counts`` times each; ``lengths[r]`` tokens in row ``r``."""

    terms: dict[str, int]
    starts: np.ndarray
    rows: np.ndarray
    counts: np.ndarray
    lengths: np.ndarray

    @classmethod
    def build(cls, texts: list[str]) -> "Postings":
        """Postings of ``texts`` (row r = texts[r]); compact arrays, ~0.6 GB of them for 1e6 passages."""
        vocab: dict[str, int] = {}
        term, row, count = array("i"), array("i"), array("i")
        lengths = np.zeros(len(texts), dtype=np.int32)
        for r, text in enumerate(texts):
            toks = tokenize(text) or [EMPTY]
            lengths[r] = len(toks)
            seen = Counter(toks)
            term.extend(vocab.setdefault(w, len(vocab)) for w in seen)
            count.extend(seen.values())
            row.extend([r] * len(seen))
        term_a, row_a = np.frombuffer(term, dtype=np.int32), np.frombuffer(row, dtype=np.int32)
        order = np.lexsort((row_a, term_a))
        starts = np.searchsorted(term_a[order], np.arange(len(vocab) + 1)).astype(np.int64)
        return cls(vocab, starts, row_a[order].copy(), np.frombuffer(count, dtype=np.int32)[order].copy(), lengths)

    def save(self, folder: Path) -> None:
        """``terms.json`` (the terms in id order) and ``starts/rows/counts/lengths.npy`` in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        terms = sorted(self.terms, key=self.terms.get)
        (folder / "terms.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        for name in ("starts", "rows", "counts", "lengths"):
            np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> "Postings":
        """What ``save`` wrote; the arrays memory-mapped, so loading costs the term list only."""
        terms = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                  for name in ("starts", "rows", "counts", "lengths")}
        out = cls({t: i for i, t in enumerate(terms)}, **arrays)
        if len(out.starts) != len(terms) + 1 or len(out.rows) != len(out.counts):
            raise ValueError(f"the lexical index in {folder} is inconsistent")
        return out

    def live_df(self, live: np.ndarray | None) -> np.ndarray:
        """Rows holding each term, counting live rows only (``live``: a mask, None for all)."""
        if live is None:
            return np.diff(self.starts)
        alive = np.concatenate([[0], np.cumsum(live[self.rows], dtype=np.int64)])
        return alive[self.starts[1:]] - alive[self.starts[:-1]]


class BM25:
    """BM25 over segments' postings; ``top(query, n)`` -> (global row ids, scores), zero-score rows left out.

    ``parts``: (postings, the global row of each of its rows, -1 for a row no longer live)."""

    def __init__(self, parts: list[tuple[Postings, np.ndarray]]):
        self._parts = [(post, to_global, None if (to_global >= 0).all() else to_global >= 0)
                       for post, to_global in parts]
        self._df: dict[str, int] = {}
        lengths, n = 0, 0
        for post, _, live in self._parts:
            df = post.live_df(live)
            for term, t in post.terms.items():
                if df[t]:
                    self._df[term] = self._df.get(term, 0) + int(df[t])
            lens = post.lengths if live is None else post.lengths[live]
            n += len(lens)
            lengths += int(lens.sum())
        self._n = n
        self._avg = lengths / n if n else 1.0

    @classmethod
    def over(cls, texts: list[str]) -> "BM25":
        """One segment of ``texts``, every row live (row ids = positions)."""
        return cls([(Postings.build(texts), np.arange(len(texts), dtype=np.int64))])

    @property
    def size(self) -> int:
        """The number of live rows (chunks) indexed."""
        return self._n

    def knows(self, word: str) -> bool:
        """The token occurs in some live chunk."""
        return word in self._df

    def misspelt(self, word: str) -> str | None:
        """A known word that ``word`` of 7+ letters is a slip of (at most two letters added, dropped or changed,
        the first letter kept): "definite" -> "definitive", "vladivostock" -> "vladivostok"; else None. Shorter
        words are left alone: "india" is not a slip of "indian"."""
        if len(word) < 7 or not word.isalpha():
            return None
        for known in self._df:
            if known[0] == word[0] and abs(len(known) - len(word)) <= 2 and edits(word, known, 2) <= 2:
                return known
        return None

    def idf(self, word: str) -> float:
        """log(1 + n / df): 1 chunk in 93 holding the word -> 4.5; every chunk -> 0.7; unknown words -> the rarest."""
        return math.log(1 + self._n / max(1, self._df.get(word, 1)))

    def top(self, query: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` best live rows for ``query`` and their scores, best first (ties: lower row first)."""
        q = [w for w in tokenize(query) if w in self._df]
        if not q or not self._n:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ids, scores = [], []
        for post, to_global, live in self._parts:
            s = self._segment_scores(post, q)
            hit = np.flatnonzero(s > 0) if live is None else np.flatnonzero((s > 0) & live)
            ids.append(to_global[hit])
            scores.append(s[hit])
        ids, scores = np.concatenate(ids), np.concatenate(scores)
        best = np.lexsort((ids, -scores))[:n]
        return ids[best].astype(np.int64), scores[best].astype(np.float32)

    def _segment_scores(self, post: Postings, q: list[str]) -> np.ndarray:
        scores = np.zeros(len(post.lengths), dtype=np.float32)
        for w in q:  # a word the query repeats counts again, as in bm25s
            t = post.terms.get(w)
            if t is None:
                continue
            df = self._df[w]
            idf = math.log(1 + (self._n - df + 0.5) / (df + 0.5))
            rows = np.asarray(post.rows[post.starts[t]:post.starts[t + 1]])
            tf = np.asarray(post.counts[post.starts[t]:post.starts[t + 1]], dtype=np.float32)
            norm = K1 * (1 - B + B * np.asarray(post.lengths[rows], dtype=np.float32) / np.float32(self._avg))
            scores[rows] += (np.float32(idf) * tf / (tf + norm)).astype(np.float32)
        return scores


def edits(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` once it must exceed ``limit``:
    edits("definite", "definitive", 2) -> 2."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
        if min(row) > limit:
            return limit + 1
    return row[-1]
