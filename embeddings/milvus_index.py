"""A Milvus collection opened for searching: the ``store.Index`` that ``rag/`` sees, over Milvus's searches.

Dense search is Milvus's exact inner product (FLAT) over the ``dense`` field; BM25 is Milvus's own BM25 function
over the ``terms`` field (our tokens, so its scores are ours times (k1 + 1) = 2.5: the same ranking); a date
range is a scalar filter on each passage's ``month``; passages of articles not yet live (an ingest killed
midway) are filtered out. Each result is re-ordered by (score, row) like the folder's, so ties break alike.
The live articles and the passage table are read once when opened (the page server holds the article texts,
as with the folder); the term statistics the question check needs (``lexical``) are made from them when first
asked for.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from core.records import Chunk, Document
from embeddings.lexical import BM25, EMPTY
from embeddings.store import DateRange, SentenceCache
from core.text import tokenize

_PLAIN = re.compile(r"[a-z0-9]{1,40}")
_DATE = re.compile(r"[0-9]{4}(-[0-9]{2})?")


def term(token: str) -> str:
    """A token as one word for Milvus's standard tokenizer: "agreement" stays; "2.3bn" and "o'neil" become a
    fixed hex word ("x" + 16 hex digits), so Milvus counts exactly our tokens."""
    if _PLAIN.fullmatch(token):
        return token
    import hashlib

    return "x" + hashlib.blake2b(token.encode(), digest_size=8).hexdigest()


def terms_of(text: str) -> str:
    """The ``terms`` field of a passage (its title and text, as the folder's BM25 indexes them)."""
    return " ".join(term(t) for t in tokenize(text) or [EMPTY])


def date_filter(date_range: DateRange) -> str:
    """``in_range`` as a Milvus filter on ``month`` (the article date's first 7 characters): undated articles
    pass only without a range."""
    if not date_range or not any(date_range):
        return ""
    parts = ['month != ""']
    for op, bound in ((">=", date_range[0]), ("<=", date_range[1])):
        if bound:
            bound = bound[:7]
            if not _DATE.fullmatch(bound):
                return 'month == "never"'  # not a date: nothing is in range, as in_range finds
            parts.append(f'month {op} "{bound}"')
    return " and ".join(parts)


@dataclass
class MilvusIndex(SentenceCache):
    """The live articles of a collection and searches over it; row ``r`` is ``chunks[r]`` (sorted by article
    and passage number, as a folder index built in one go numbers them)."""

    client: object
    collection: str
    documents: dict[str, Document]
    chunks: list[Chunk]
    pks: list[str]
    pending: frozenset[str]  # article keys written but not live: their passages are never returned
    manifest: dict = field(default_factory=dict)
    dim_: int = 384

    @property
    def dim(self) -> int:
        return self.dim_

    @property
    def version(self) -> str:
        return f"milvus:{self.collection}"

    @cached_property
    def rows(self) -> dict[str, int]:
        return {pk: r for r, pk in enumerate(self.pks)}

    @cached_property
    def lexical(self) -> BM25:
        return BM25.over([f"{c.title}\n{c.text}" for c in self.chunks])

    def _filter(self, date_range: DateRange) -> str:
        parts = [f"not (article in {sorted(self.pending)!r})".replace("'", '"')] if self.pending else []
        dated = date_filter(date_range)
        return " and ".join(parts + ([dated] if dated else []))

    def _ranked(self, hits, n: int) -> list[int]:
        """Milvus's hits as rows, best first, ties by row (BM25 "distances" are negative: larger magnitude
        is better)."""
        got = [(abs(h["distance"]) if h["distance"] < 0 else h["distance"], self.rows.get(h["pk"])) for h in hits]
        got = [(round(float(s), 5), r) for s, r in got if r is not None]
        return [r for _, r in sorted(got, key=lambda x: (-x[0], x[1]))][:n]

    def dense_search(self, query: np.ndarray, n: int, date_range: DateRange = None) -> list[int]:
        if not self.chunks or n <= 0:
            return []
        res = self.client.search(self.collection, data=[np.asarray(query, np.float32).tolist()], anns_field="dense",
                                 limit=min(len(self.chunks), n + 10), filter=self._filter(date_range),
                                 search_params={"metric_type": "IP"})
        return self._ranked(res[0], n)

    def lexical_search(self, query: str, n: int, date_range: DateRange = None) -> list[int]:
        words = tokenize(query)
        if not words or not self.chunks or n <= 0:
            return []
        res = self.client.search(self.collection, data=[" ".join(map(term, words))], anns_field="sparse",
                                 limit=min(len(self.chunks), n + 10), filter=self._filter(date_range))
        return self._ranked(res[0], n)

    def hybrid_search(self, query_vector: np.ndarray, query: str, n: int, date_range: DateRange = None
                      ) -> list[int]:
        """Dense and BM25 fused by Milvus (``hybrid_search`` with ``RRFRanker(60)``), best ``n``."""
        from pymilvus import AnnSearchRequest, RRFRanker

        words = [term(w) for w in tokenize(query)]
        where = self._filter(date_range)
        reqs = [AnnSearchRequest(data=[np.asarray(query_vector, np.float32).tolist()], anns_field="dense",
                                 param={"metric_type": "IP"}, limit=n, expr=where)]
        if words:
            reqs.append(AnnSearchRequest(data=[" ".join(words)], anns_field="sparse", param={}, limit=n, expr=where))
        res = self.client.hybrid_search(self.collection, reqs, ranker=RRFRanker(60), limit=n)
        return [self.rows[h["pk"]] for h in res[0] if h["pk"] in self.rows]

    def vectors_of(self, rows) -> np.ndarray:
        """The stored vectors of rows ``rows``, as (len(rows), dim) float32 (zeros for one removed since)."""
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        if len(rows):
            got = self.client.get(self.collection, ids=[self.pks[r] for r in rows], output_fields=["dense"])
            by_pk = {g["pk"]: g["dense"] for g in got}
            for i, r in enumerate(rows):
                if self.pks[r] in by_pk:
                    out[i] = by_pk[self.pks[r]]
        return out

