"""BM25 over chunk texts (bm25s), with the tokenizer of ``core.text``."""
from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from core.text import tokenize


class BM25:
    """Okapi BM25 backed by bm25s; ``top(query, n)`` -> (row ids, scores), zero-score rows left out."""

    def __init__(self, texts: list[str] | None = None):
        import bm25s

        _quiet()
        texts = texts or []
        self._n = len(texts)
        self._model = bm25s.BM25()
        tokens = [tokenize(t) or ["\u2205"] for t in texts]
        self._df = Counter(w for toks in tokens for w in set(toks))
        self._vocab = set(self._df)
        if tokens:
            self._model.index(tokens, show_progress=False)

    @property
    def size(self) -> int:
        """The number of rows (chunks) indexed."""
        return self._n

    def save(self, folder: Path) -> None:
        """bm25s's arrays (``*.npy``, memory-mappable) and the document frequencies (``df.json``) in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        self._model.save(str(folder), show_progress=False)
        (folder / "df.json").write_text(json.dumps({"n": self._n, "df": self._df}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "BM25":
        """What ``save`` wrote, its arrays memory-mapped: loading, not re-tokenising every chunk."""
        import bm25s

        _quiet()
        out = cls.__new__(cls)
        meta = json.loads((folder / "df.json").read_text(encoding="utf-8"))
        out._n, out._df = meta["n"], Counter(meta["df"])
        out._vocab = set(out._df)
        out._model = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        return out

    def knows(self, word: str) -> bool:
        """The token occurs in some chunk."""
        return word in self._vocab

    def idf(self, word: str) -> float:
        """log(1 + n / df): 1 chunk in 93 holding the word -> 4.5; every chunk -> 0.7; unknown words -> the rarest."""
        return math.log(1 + self._n / max(1, self._df.get(word, 1)))

    def top(self, query: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` best rows for ``query`` and their scores, best first."""
        q = [w for w in tokenize(query) if w in self._vocab]
        if not q or not self._n:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ids, scores = self._model.retrieve([q], k=min(n, self._n), show_progress=False)
        ids, scores = ids[0], scores[0]
        keep = scores > 0
        return ids[keep].astype(np.int64), scores[keep].astype(np.float32)


def _quiet() -> None:
    import logging

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
