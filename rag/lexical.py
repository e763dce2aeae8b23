"""BM25 over chunk texts (bm25s), plus the word tokenizer shared with the citation check."""
from __future__ import annotations

import re

import numpy as np

_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
nor not now of off on once only or other our ours out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself said says say yes
""".split())


def tokenize(text: str) -> list[str]:
    """Lower-case words and numbers minus stop words, crudely singular: "The Agreements, 2.3bn" -> ['agreement', '2.3bn']."""
    out = []
    for w in _WORD.findall(text.lower().replace("’", "'")):
        if w in STOPWORDS or (len(w) == 1 and not w.isdigit()):
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss") and not w[0].isdigit():
            w = w[:-1]
        out.append(w)
    return out


class BM25:
    """Okapi BM25 backed by bm25s; ``top(query, n)`` -> (row ids, scores), zero-score rows left out."""

    def __init__(self, texts: list[str]):
        import logging

        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
        self._n = len(texts)
        self._model = bm25s.BM25()
        tokens = [tokenize(t) or ["\u2205"] for t in texts]
        self._vocab = {w for toks in tokens for w in toks}
        self._model.index(tokens, show_progress=False)

    def knows(self, word: str) -> bool:
        return word in self._vocab

    def top(self, query: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        q = [w for w in tokenize(query) if w in self._vocab]
        if not q or not self._n:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ids, scores = self._model.retrieve([q], k=min(n, self._n), show_progress=False)
        ids, scores = ids[0], scores[0]
        keep = scores > 0
        return ids[keep].astype(np.int64), scores[keep].astype(np.float32)
